use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::check;
use super::mask::to_sigset;
use crate::event::RawInfo;
use crate::SignalSet;

/// A `signalfd`: a blocking read takes pending signals of its set, exactly like
/// `sigwaitinfo` (one system call per wake-up), but up to [`BATCH`] at a time, its
/// set can be changed from the reading thread between reads, and it keeps the
/// kernel's `si_code` (so `tgkill` stays distinguishable from `kill`).
pub(crate) struct SignalFd {
    fd: OwnedFd,
}

/// How many `signalfd_siginfo` one read takes at most: storms are drained in
/// batches, one syscall per 32 signals.
pub(crate) const BATCH: usize = 32;

impl SignalFd {
    pub(crate) fn new(set: SignalSet) -> io::Result<SignalFd> {
        SignalFd::with_flags(set, libc::SFD_CLOEXEC)
    }

    /// A descriptor whose reads never block: [`SignalFd::read`] returns 0 when
    /// nothing is pending. For taking the rest of a batch after a wait that
    /// took its first signal some other way; reading it never puts the thread
    /// on the signalfd wait queue that every signal to the process wakes.
    pub(crate) fn nonblocking(set: SignalSet) -> io::Result<SignalFd> {
        SignalFd::with_flags(set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK)
    }

    fn with_flags(set: SignalSet, flags: libc::c_int) -> io::Result<SignalFd> {
        let mask = to_sigset(set);
        // SAFETY: -1 asks for a new descriptor; `mask` is an initialised sigset.
        let fd = check(unsafe { libc::signalfd(-1, &mask, flags) })?;
        Ok(SignalFd {
            // SAFETY: a fresh descriptor that nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Replaces the set of signals the descriptor takes.
    pub(crate) fn set_mask(&self, set: SignalSet) -> io::Result<()> {
        let mask = to_sigset(set);
        // SAFETY: the descriptor is a live signalfd owned by self.
        check(unsafe { libc::signalfd(self.fd.as_raw_fd(), &mask, 0) }).map(drop)
    }

    /// Waits for at least one signal of the set (returns 0 at once from a
    /// non-blocking descriptor), then reads up to `out.len()` (at most
    /// [`BATCH`]) into `out`; returns how many.
    pub(crate) fn read(&self, out: &mut [RawInfo]) -> io::Result<usize> {
        let mut buf = [std::mem::MaybeUninit::<libc::signalfd_siginfo>::uninit(); BATCH];
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        let records = out.len().min(BATCH);
        if records == 0 {
            return Ok(0);
        }
        loop {
            let n =
                // SAFETY: the buffer is writable for BATCH >= `records` records; the
                // kernel writes whole records only.
                unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), size * records) };
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
                Some(libc::EINTR) => {}
                // Only from a non-blocking descriptor: nothing pending.
                Some(libc::EAGAIN) => return Ok(0),
                _ => return Err(e),
            }
        }
    }
}

impl SignalFd {
    /// Waits at most `timeout` for a signal of the set to be pending.
    pub(crate) fn readable_within(&self, timeout: std::time::Duration) -> io::Result<bool> {
        let mut poll = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd that outlives the call.
        let ready = check(unsafe { libc::poll(&mut poll, 1, ms) });
        match ready {
            Ok(n) => Ok(n > 0),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl AsRawFd for SignalFd {
    fn as_raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}
