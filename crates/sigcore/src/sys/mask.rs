use std::io;
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

use super::{check, check_long};
use crate::event::RawInfo;
use crate::{Signal, SignalSet};

/// Builds a libc `sigset_t` holding exactly `set`.
pub(crate) fn to_sigset(set: SignalSet) -> libc::sigset_t {
    let mut raw = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the whole set; sigaddset only gets numbers of
    // valid signals (a SignalSet holds nothing else), so neither can fail.
    unsafe {
        libc::sigemptyset(raw.as_mut_ptr());
        for signal in set {
            libc::sigaddset(raw.as_mut_ptr(), signal.number());
        }
        raw.assume_init()
    }
}

/// Reads a libc `sigset_t` back into a [`SignalSet`] (libc-reserved numbers are
/// left out).
pub(crate) fn from_sigset(raw: &libc::sigset_t) -> SignalSet {
    Signal::all()
        // SAFETY: `raw` is an initialised sigset and the number is valid.
        .filter(|s| unsafe { libc::sigismember(raw, s.number()) } == 1)
        .collect()
}

fn sigmask(how: libc::c_int, set: Option<&libc::sigset_t>) -> io::Result<SignalSet> {
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    let new = set.map_or(std::ptr::null(), |s| s as *const _);
    // SAFETY: `new` is null or points to an initialised sigset; `old` is writable
    // and pthread_sigmask fills it on success. It only affects the calling thread.
    let ret = unsafe { libc::pthread_sigmask(how, new, old.as_mut_ptr()) };
    if ret != 0 {
        return Err(io::Error::from_raw_os_error(ret));
    }
    // SAFETY: filled by the successful call above.
    Ok(from_sigset(unsafe { old.assume_init_ref() }))
}

/// Adds `set` to the calling thread's mask; returns the previous mask.
pub(crate) fn thread_block(set: SignalSet) -> io::Result<SignalSet> {
    sigmask(libc::SIG_BLOCK, Some(&to_sigset(set)))
}

/// Removes `set` from the calling thread's mask; returns the previous mask.
pub(crate) fn thread_unblock(set: SignalSet) -> io::Result<SignalSet> {
    sigmask(libc::SIG_UNBLOCK, Some(&to_sigset(set)))
}

/// Replaces the calling thread's mask; returns the previous one.
pub(crate) fn thread_set_mask(set: SignalSet) -> io::Result<SignalSet> {
    sigmask(libc::SIG_SETMASK, Some(&to_sigset(set)))
}

/// The calling thread's mask.
pub(crate) fn thread_mask() -> io::Result<SignalSet> {
    sigmask(libc::SIG_BLOCK, None)
}

/// Blocks every signal in the calling thread (libc quietly keeps its own two
/// unblocked); returns the previous mask.
pub(crate) fn block_all_in_thread() -> io::Result<SignalSet> {
    let mut all = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigfillset initialises the set.
    let all = unsafe {
        libc::sigfillset(all.as_mut_ptr());
        all.assume_init()
    };
    sigmask(libc::SIG_SETMASK, Some(&all))
}

/// Signals pending for the calling thread or the process (`sigpending`).
pub(crate) fn pending() -> io::Result<SignalSet> {
    let mut raw = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigpending fills the writable set on success.
    check(unsafe { libc::sigpending(raw.as_mut_ptr()) })?;
    // SAFETY: filled by the successful call above.
    Ok(from_sigset(unsafe { raw.assume_init_ref() }))
}

/// Takes one signal of `set` pending for the calling thread or the process, waiting
/// at most `timeout` (forever with `None`). `Ok(None)` on timeout.
///
/// Calls `rt_sigtimedwait` directly: glibc's wrapper rewrites `SI_TKILL` to
/// `SI_USER`, which would hide a `tgkill` from the caller. `EINTR` (another signal's
/// handler ran) is retried with the time left.
pub(crate) fn timed_wait(set: SignalSet, timeout: Option<Duration>) -> io::Result<Option<RawInfo>> {
    let raw_set = to_sigset(set);
    let deadline = timeout.map(|t| Instant::now().checked_add(t));
    loop {
        let left = match deadline {
            None => None,
            Some(None) => None, // too far in the future to represent: wait forever
            Some(Some(at)) => Some(at.saturating_duration_since(Instant::now())),
        };
        let ts = left.map(|d| libc::timespec {
            tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
        // SAFETY: the set and timespec outlive the call, `info` is a writable
        // siginfo_t, and the last argument is the kernel's sigset size (8 bytes,
        // 64 signals), as the raw syscall requires.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_rt_sigtimedwait,
                &raw_set as *const libc::sigset_t,
                info.as_mut_ptr(),
                ts_ptr,
                8usize,
            )
        };
        match check_long(ret) {
            // SAFETY: zero-initialised and filled by the kernel on success.
            Ok(_) => {
                // SAFETY: zero-initialised, and filled by the kernel on success.
                return Ok(Some(super::raw_from_siginfo(unsafe {
                    info.assume_init_ref()
                })));
            }
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}
