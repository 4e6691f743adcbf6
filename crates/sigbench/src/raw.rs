//! The raw libc baseline: `sigwaitinfo`/`sigtimedwait` on a plain `sigset_t`,
//! plus the page size for resident-memory figures.
//!
//! One of the three modules with `unsafe` (with [`crate::alloc`] and
//! [`crate::epoll`]). The floor variants call the kernel directly so that they
//! measure the kernel and nothing of sigcore.

use std::io;
use std::time::Duration;

/// What a receiver gets from the kernel: enough to forward a realistic event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RawEvent {
    pub signo: i32,
    pub code: i32,
    pub pid: i32,
    pub uid: u32,
    /// `sival_int` (meaningful for `sigqueue`).
    pub value: i32,
}

/// A set of signals as libc wants it.
#[derive(Clone, Copy)]
pub(crate) struct SigSet(libc::sigset_t);

impl SigSet {
    pub(crate) fn of(signals: &[i32]) -> SigSet {
        // SAFETY: sigset_t is plain data; sigemptyset initialises it fully.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid, writable sigset_t.
        unsafe { libc::sigemptyset(&mut set) };
        for &signo in signals {
            // SAFETY: as above; an invalid number only makes the call fail.
            unsafe { libc::sigaddset(&mut set, signo) };
        }
        SigSet(set)
    }
}

fn event_from(info: &libc::siginfo_t) -> RawEvent {
    // SAFETY: the kernel filled `info` for a signal sent with kill/sigqueue, for
    // which the pid, uid and value fields are the ones in use.
    let (pid, uid, value) = unsafe { (info.si_pid(), info.si_uid(), info.si_value()) };
    RawEvent {
        signo: info.si_signo,
        code: info.si_code,
        pid,
        uid,
        // `sival_int` overlays the low bytes of `sival_ptr` on little-endian
        // targets; the benchmark only runs on Linux x86_64/aarch64.
        value: value.sival_ptr as usize as i32,
    }
}

/// Waits for one signal of `set`, which must be blocked in every thread
/// (`sigwaitinfo`, retried on `EINTR`).
pub(crate) fn wait(set: &SigSet) -> io::Result<RawEvent> {
    loop {
        // SAFETY: siginfo_t is plain data the kernel overwrites.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are valid for the duration of the call.
        let ret = unsafe { libc::sigwaitinfo(&set.0, &mut info) };
        if ret > 0 {
            return Ok(event_from(&info));
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// Like [`wait`], at most `timeout` (`sigtimedwait`); `Ok(None)` on timeout.
pub(crate) fn wait_timeout(set: &SigSet, timeout: Duration) -> io::Result<Option<RawEvent>> {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    loop {
        // SAFETY: siginfo_t is plain data the kernel overwrites.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: the three pointers are valid for the duration of the call.
        let ret = unsafe { libc::sigtimedwait(&set.0, &mut info, &ts) };
        if ret > 0 {
            return Ok(Some(event_from(&info)));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EAGAIN) => return Ok(None),
            Some(libc::EINTR) => continue,
            _ => return Err(e),
        }
    }
}

/// The size of a memory page, for `/proc/self/statm`.
pub(crate) fn page_size() -> u64 {
    // SAFETY: sysconf takes no pointers.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}
