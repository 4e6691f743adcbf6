//! A bare level-triggered epoll set: what a plain event loop does with a
//! subscription's readiness fd, for the `sigbus-fd` variant.
//!
//! One of the three modules with `unsafe` (with [`crate::raw`] and
//! [`crate::alloc`]): `epoll_create1`, `epoll_ctl` and `epoll_wait` straight from
//! libc, so the variant measures sigbus's fd and nothing of a reactor crate.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// An epoll instance, closed on drop.
pub(crate) struct Epoll(OwnedFd);

/// One ready descriptor as `epoll_wait` reports it (the caller's token).
pub(crate) type Ready = libc::epoll_event;

/// An empty slot for [`Epoll::wait`] to fill.
pub(crate) const NOTHING: Ready = libc::epoll_event { events: 0, u64: 0 };

impl Epoll {
    /// A new instance (close-on-exec).
    pub(crate) fn new() -> io::Result<Epoll> {
        // SAFETY: takes no pointers; returns a new descriptor or -1.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and nothing else owns it.
        Ok(Epoll(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Watches `fd` for reading, level-triggered, reported with `token`. The
    /// kernel drops the watch when `fd` closes.
    pub(crate) fn add_readable(&self, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: both descriptors are open; `event` is valid for the call.
        let ret = unsafe {
            libc::epoll_ctl(
                self.0.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                fd.as_raw_fd(),
                &mut event,
            )
        };
        if ret < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits without a timeout until a watched descriptor is ready; returns how
    /// many of `ready` were filled (retried on `EINTR`).
    pub(crate) fn wait(&self, ready: &mut [Ready]) -> io::Result<usize> {
        let max = ready.len().min(i32::MAX as usize) as i32;
        loop {
            // SAFETY: `ready` is valid for writes of `max` events during the call.
            let n = unsafe { libc::epoll_wait(self.0.as_raw_fd(), ready.as_mut_ptr(), max, -1) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(e);
            }
        }
    }
}
