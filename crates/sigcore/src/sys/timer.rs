use std::io;
use std::mem::MaybeUninit;
use std::time::Duration;

use super::check;

/// `alarm(seconds)`: returns the seconds that were left on the previous alarm.
pub(crate) fn alarm(seconds: u32) -> u32 {
    // SAFETY: no pointers; alarm cannot fail.
    unsafe { libc::alarm(seconds) }
}

fn to_timeval(d: Duration) -> libc::timeval {
    libc::timeval {
        tv_sec: d.as_secs() as libc::time_t,
        tv_usec: d.subsec_micros() as libc::suseconds_t,
    }
}

fn from_timeval(t: &libc::timeval) -> Duration {
    Duration::new(t.tv_sec.max(0) as u64, (t.tv_usec.max(0) as u32) * 1000)
}

/// `setitimer(which, {value, interval})`: returns the previous (value, interval).
pub(crate) fn setitimer(
    which: libc::c_int,
    value: Duration,
    interval: Duration,
) -> io::Result<(Duration, Duration)> {
    let new = libc::itimerval {
        it_value: to_timeval(value),
        it_interval: to_timeval(interval),
    };
    let mut old = MaybeUninit::<libc::itimerval>::uninit();
    // SAFETY: both pointers are valid for the call.
    check(unsafe { libc::setitimer(which, &new, old.as_mut_ptr()) })?;
    // SAFETY: filled by the successful call.
    let old = unsafe { old.assume_init() };
    Ok((from_timeval(&old.it_value), from_timeval(&old.it_interval)))
}

/// `getitimer(which)`: (time left, interval).
pub(crate) fn getitimer(which: libc::c_int) -> io::Result<(Duration, Duration)> {
    let mut now = MaybeUninit::<libc::itimerval>::uninit();
    // SAFETY: the pointer is valid and filled on success.
    check(unsafe { libc::getitimer(which, now.as_mut_ptr()) })?;
    // SAFETY: filled by the successful call.
    let now = unsafe { now.assume_init() };
    Ok((from_timeval(&now.it_value), from_timeval(&now.it_interval)))
}

/// `CLOCK_MONOTONIC_COARSE` in nanoseconds: read without a system call, at the
/// resolution of the scheduler tick.
pub(crate) fn coarse_monotonic_nanos() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is valid for writes; the clock always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}
