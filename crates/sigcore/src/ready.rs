//! A readiness flag as a file descriptor, for event loops.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::sys::EventFd;

/// A file descriptor that is readable while a flag is up, and carries nothing
/// else (an `eventfd` underneath): the building block for handing signal events
/// to `epoll`, mio, calloop or glib without putting signal data in a pipe.
///
/// [`ReadyFd::raise`] makes the descriptor readable and costs a system call
/// only when the flag was down; [`ReadyFd::lower`] makes it unreadable again.
/// A consumer that lowers the flag, then looks for work once more, and raises
/// it again if it finds some, can never miss work (sigbus's subscriptions do
/// exactly that; see `sigbus::Subscription`'s `AsFd`).
///
/// # Examples
///
/// ```
/// use std::os::fd::AsRawFd;
///
/// let ready = sigcore::ReadyFd::new()?;
/// let mut poll = [libc::pollfd { fd: ready.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
/// // SAFETY (of the example): one valid pollfd.
/// assert_eq!(unsafe { libc::poll(poll.as_mut_ptr(), 1, 0) }, 0);
/// ready.raise();
/// assert_eq!(unsafe { libc::poll(poll.as_mut_ptr(), 1, 0) }, 1);
/// ready.lower();
/// assert_eq!(unsafe { libc::poll(poll.as_mut_ptr(), 1, 0) }, 0);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ReadyFd {
    fd: EventFd,
    up: AtomicBool,
}

impl ReadyFd {
    /// A new descriptor, not readable (close-on-exec, non-blocking).
    ///
    /// # Errors
    ///
    /// The error of `eventfd(2)` (out of descriptors, say).
    pub fn new() -> io::Result<ReadyFd> {
        Ok(ReadyFd {
            fd: EventFd::new()?,
            up: AtomicBool::new(false),
        })
    }

    /// Raises the flag: the descriptor becomes readable. A system call only
    /// when it was down.
    pub fn raise(&self) {
        if !self.up.swap(true, Ordering::SeqCst) {
            self.fd.raise();
        }
    }

    /// Lowers the flag: the descriptor stops being readable.
    pub fn lower(&self) {
        if self.up.swap(false, Ordering::SeqCst) {
            self.fd.lower();
        }
    }

    /// Whether the flag is up.
    pub fn is_raised(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }
}

impl AsFd for ReadyFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.fd().as_fd()
    }
}

impl AsRawFd for ReadyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.fd().as_raw_fd()
    }
}

impl std::fmt::Debug for ReadyFd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadyFd")
            .field("fd", &self.as_raw_fd())
            .field("raised", &self.is_raised())
            .finish()
    }
}
