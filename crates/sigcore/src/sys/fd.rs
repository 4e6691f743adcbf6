use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::check;
use super::mask::to_sigset;
use crate::event::RawInfo;
use crate::SignalSet;

/// A non-blocking `signalfd`: reading it takes pending signals of its set, exactly
/// like `sigwaitinfo`, but it can sit in `poll` beside other descriptors and keeps
/// the kernel's `si_code` (so `tgkill` stays distinguishable from `kill`).
pub(crate) struct SignalFd {
    fd: OwnedFd,
}

/// How many `signalfd_siginfo` one read takes at most: storms are drained in
/// batches, one syscall per 32 signals.
pub(crate) const BATCH: usize = 32;

impl SignalFd {
    pub(crate) fn new(set: SignalSet) -> io::Result<SignalFd> {
        let mask = to_sigset(set);
        // SAFETY: -1 asks for a new descriptor; `mask` is an initialised sigset.
        let fd =
            check(unsafe { libc::signalfd(-1, &mask, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) })?;
        // SAFETY: a fresh descriptor that nothing else owns.
        Ok(SignalFd {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Replaces the set of signals the descriptor takes.
    pub(crate) fn set_mask(&self, set: SignalSet) -> io::Result<()> {
        let mask = to_sigset(set);
        // SAFETY: the descriptor is a live signalfd owned by self.
        check(unsafe { libc::signalfd(self.fd.as_raw_fd(), &mask, 0) }).map(drop)
    }

    /// Reads up to [`BATCH`] pending signals into `out`; returns how many (0 when
    /// none is pending).
    pub(crate) fn read(&self, out: &mut [RawInfo; BATCH]) -> io::Result<usize> {
        let mut buf = [std::mem::MaybeUninit::<libc::signalfd_siginfo>::uninit(); BATCH];
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        loop {
            // SAFETY: the buffer is writable for BATCH records; the kernel writes
            // whole records only.
            let n =
                unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), size * BATCH) };
            if n >= 0 {
                let count = n as usize / size;
                for (slot, record) in out.iter_mut().zip(&buf[..count]) {
                    // SAFETY: the first `count` records were written by the kernel.
                    *slot = super::info::raw_from_signalfd(unsafe { record.assume_init_ref() });
                }
                return Ok(count);
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => return Ok(0),
                Some(libc::EINTR) => continue,
                _ => return Err(e),
            }
        }
    }
}

impl AsRawFd for SignalFd {
    fn as_raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}

/// A non-blocking `eventfd` used to wake the waiter: for commands, and from the
/// safety-net handler (a `write` to it is async-signal-safe).
pub(crate) struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    pub(crate) fn new() -> io::Result<EventFd> {
        // SAFETY: creates a new descriptor; no pointers involved.
        let fd = check(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
        // SAFETY: a fresh descriptor that nothing else owns.
        Ok(EventFd {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Makes the descriptor readable.
    pub(crate) fn notify(&self) {
        notify_raw(self.fd.as_raw_fd());
    }

    /// Resets the counter (after a wake-up).
    pub(crate) fn drain(&self) {
        let mut value = 0u64;
        // SAFETY: reads 8 bytes into a u64; EAGAIN (already drained) is harmless.
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}

/// Adds one to an eventfd counter. Async-signal-safe: a single `write(2)`. A full
/// counter (EAGAIN) already means "readable", so errors are ignored.
pub(crate) fn notify_raw(fd: i32) {
    let one = 1u64;
    // SAFETY: writes 8 bytes from a live u64; `fd` is an eventfd or the call fails
    // harmlessly with EBADF.
    unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
}

/// Waits until `a` or `b` is readable; returns which. A signal handler interrupting
/// the wait returns `(false, false)`.
pub(crate) fn poll_two(a: &impl AsRawFd, b: &impl AsRawFd) -> io::Result<(bool, bool)> {
    let mut fds = [
        libc::pollfd {
            fd: a.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: b.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: `fds` is a writable array of two pollfd; -1 waits without timeout.
    let ret = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
    if ret == -1 {
        let e = io::Error::last_os_error();
        return if e.raw_os_error() == Some(libc::EINTR) {
            Ok((false, false))
        } else {
            Err(e)
        };
    }
    Ok((fds[0].revents != 0, fds[1].revents != 0))
}
