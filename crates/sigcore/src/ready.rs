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
            // A raise between the swap and the read had its write eaten by
            // the read, and its flag is up: the descriptor must be readable.
            if self.up.load(Ordering::SeqCst) {
                self.fd.raise();
            }
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;

    fn readable(ready: &ReadyFd) -> bool {
        let mut poll = [libc::pollfd {
            fd: ready.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: one valid pollfd; a zero timeout never blocks.
        unsafe { libc::poll(poll.as_mut_ptr(), 1, 0) == 1 }
    }

    /// A raise racing a lower, round after round: once both are done, a
    /// raised flag must mean a readable descriptor (a raise whose write the
    /// lower's read ate left it raised and unreadable for good).
    #[test]
    fn a_raise_racing_a_lower_never_leaves_it_raised_and_unreadable() {
        let ready = Arc::new(ReadyFd::new().unwrap());
        // Round n starts when `go` is 2n + 1; the raiser reports it with `done`.
        let go = Arc::new(AtomicU32::new(0));
        let done = Arc::new(AtomicU32::new(0));
        let raiser = {
            let (ready, go, done) = (Arc::clone(&ready), Arc::clone(&go), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut round = 0;
                loop {
                    let start = 2 * round + 1;
                    while go.load(Ordering::SeqCst) < start {
                        std::hint::spin_loop();
                    }
                    if go.load(Ordering::SeqCst) == u32::MAX {
                        return;
                    }
                    ready.raise();
                    done.store(round + 1, Ordering::SeqCst);
                    round += 1;
                }
            })
        };
        let end = Instant::now() + Duration::from_secs(2);
        let mut round = 0;
        let mut stranded = 0;
        while Instant::now() < end && round < 200_000 {
            ready.raise(); // the flag is up before the lower races the raise
            go.store(2 * round + 1, Ordering::SeqCst);
            ready.lower();
            while done.load(Ordering::SeqCst) < round + 1 {
                std::hint::spin_loop();
            }
            if ready.is_raised() && !readable(&ready) {
                stranded += 1;
                ready.lower();
            }
            ready.lower();
            round += 1;
        }
        go.store(u32::MAX, Ordering::SeqCst);
        raiser.join().unwrap();
        assert_eq!(
            stranded, 0,
            "{stranded} of {round} rounds left it raised and unreadable"
        );
    }
}
