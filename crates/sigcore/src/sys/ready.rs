use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::check;

/// A non-blocking `eventfd` used as a readiness flag: readable after `raise`,
/// not after `lower`. Carries no data.
pub(crate) struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    pub(crate) fn new() -> io::Result<EventFd> {
        // SAFETY: no pointers; returns a new descriptor or -1.
        let fd = check(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
        Ok(EventFd {
            // SAFETY: a fresh descriptor that nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Makes the descriptor readable.
    pub(crate) fn raise(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live local to our own eventfd; the only
        // possible failure (the counter overflowing) cannot happen, as `lower`
        // resets it.
        let _ = unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Makes the descriptor unreadable (resets the counter; a no-op if zero).
    pub(crate) fn lower(&self) {
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes into a live local; EAGAIN (already zero) is fine.
        let _ = unsafe { libc::read(self.fd.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
    }

    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.fd
    }
}

/// Whether `fd` is readable now (a zero-timeout poll), for tests.
#[cfg(test)]
pub(crate) fn readable_now(fd: std::os::fd::RawFd) -> bool {
    let mut poll = [libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: one valid pollfd; a zero timeout never blocks.
    unsafe { libc::poll(poll.as_mut_ptr(), 1, 0) == 1 }
}

/// Empties the eventfd `fd` whatever a flag says, for tests.
#[cfg(test)]
pub(crate) fn drain_now(fd: std::os::fd::RawFd) {
    let mut count: u64 = 0;
    // SAFETY: reads 8 bytes into a live local; EAGAIN (already zero) is fine.
    let _ = unsafe { libc::read(fd, (&mut count as *mut u64).cast(), 8) };
}
