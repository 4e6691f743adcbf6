//! Waking the waiter thread with its wake signal, in a way the kernel cannot
//! refuse.
//!
//! The waiter blocks in one `read` of its signalfd, the cheapest wait there is
//! (an epoll-based wait measured about 1.1 µs more per signal). Only a signal
//! ends that read, so commands and safety-net records wake the waiter by sending
//! the *wake signal* to its thread:
//!
//! 1. with `tgkill`, the fast way. But a real-time `tgkill` needs an entry in the
//!    signal queue and fails with `EAGAIN` when this user's `RLIMIT_SIGPENDING`
//!    count is full (design fact 14), which any process allowed to signal us can
//!    arrange in well under a second;
//! 2. then through a POSIX timer made for the waiter thread (`SIGEV_THREAD_ID`),
//!    armed to expire at once. A timer's queue entry is allocated when the timer
//!    is created, so its expiry is never refused; an expiry while the last one is
//!    still pending only counts an overrun, which is all a doorbell needs.
//!
//! `tgkill` and `timer_settime` are async-signal-safe (POSIX lists
//! `pthread_kill` and `timer_settime`), so the safety-net handler rings too.
//! Linux hands out timer ids cyclically, so an id that a late ring still holds
//! after the timer is deleted does not name someone else's timer; a forked child
//! (which inherits no timers) never rings: the target's pid must be the caller's.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use super::check_long;

static PID: AtomicI32 = AtomicI32::new(0);
static TID: AtomicI32 = AtomicI32::new(0);
static SIGNO: AtomicI32 = AtomicI32::new(0);
/// The kernel id of the waiter's wake timer; -1 when it has none.
static TIMER: AtomicI32 = AtomicI32::new(-1);
/// A ring is on its way and the waiter has not looked yet: don't send another.
static RINGING: AtomicBool = AtomicBool::new(false);

/// Creates the POSIX timer that delivers `signo` to thread `tid` of this
/// process; returns its kernel id.
///
/// # Errors
///
/// `EAGAIN` when the signal queue is full right now (the timer's entry is
/// allocated here), and any other error of `timer_create`.
pub(crate) fn create_timer(tid: i32, signo: i32) -> io::Result<i32> {
    // SAFETY: a zeroed sigevent is valid (the private padding included).
    let mut event: libc::sigevent = unsafe { std::mem::zeroed() };
    event.sigev_notify = libc::SIGEV_THREAD_ID;
    event.sigev_signo = signo;
    event.sigev_notify_thread_id = tid;
    let mut id: libc::c_int = -1;
    // SAFETY: the raw system call reads `event` and writes the kernel's timer id
    // (an int) to `id`; both outlive the call.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_timer_create,
            libc::CLOCK_MONOTONIC,
            &mut event as *mut libc::sigevent,
            &mut id as *mut libc::c_int,
        )
    })?;
    Ok(id)
}

/// Arms a timer made by [`create_timer`] to expire once, `after` from now
/// (a zero `after` disarms it). Async-signal-safe.
pub(crate) fn arm_timer(id: i32, after: std::time::Duration) -> io::Result<()> {
    let value = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: after.as_secs().min(i32::MAX as u64) as libc::time_t,
            tv_nsec: after.subsec_nanos() as libc::c_long,
        },
    };
    // SAFETY: the raw system call reads `value`, which outlives it, and takes a
    // null old-value pointer; an unknown id fails with EINVAL.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_timer_settime,
            id,
            0,
            &value as *const libc::itimerspec,
            std::ptr::null_mut::<libc::itimerspec>(),
        )
    })
    .map(drop)
}

/// Deletes a timer made by [`create_timer`].
pub(crate) fn delete_timer(id: i32) {
    // SAFETY: a raw system call on an integer id; an unknown id is EINVAL.
    let _ = unsafe { libc::syscall(libc::SYS_timer_delete, id) };
}

/// Says where rings go; `tid` 0 stops them (no waiter runs).
pub(crate) fn set_target(pid: i32, tid: i32, signo: i32, timer: i32) {
    TID.store(0, Ordering::SeqCst);
    SIGNO.store(signo, Ordering::SeqCst);
    TIMER.store(timer, Ordering::SeqCst);
    PID.store(pid, Ordering::SeqCst);
    TID.store(tid, Ordering::SeqCst);
    RINGING.store(false, Ordering::SeqCst);
}

/// The waiter's wake timer, made late (it could not be made at start).
pub(crate) fn set_timer(timer: i32) {
    TIMER.store(timer, Ordering::SeqCst);
}

/// The process whose waiter serves signals (0 when none runs): a forked child
/// inherits the value, not the waiter.
pub(crate) fn serving_pid() -> i32 {
    if TID.load(Ordering::SeqCst) == 0 {
        return 0;
    }
    PID.load(Ordering::SeqCst)
}

/// The waiter thread's kernel id, 0 when none runs.
pub(crate) fn target_tid() -> i32 {
    TID.load(Ordering::SeqCst)
}

/// Wakes the waiter, at most one ring in flight. Async-signal-safe.
pub(crate) fn ring() {
    let tid = TID.load(Ordering::SeqCst);
    if tid == 0 || RINGING.swap(true, Ordering::SeqCst) {
        return;
    }
    let (pid, signo) = (PID.load(Ordering::SeqCst), SIGNO.load(Ordering::SeqCst));
    // A forked child inherits these statics but not the waiter: never ring the
    // parent from it. getpid is a system call (glibc caches nothing), so this
    // holds inside a signal handler too.
    if pid != super::getpid() {
        RINGING.store(false, Ordering::SeqCst);
        return;
    }
    // SAFETY: tgkill takes three integers and touches no memory.
    if unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, signo) } == 0 {
        return;
    }
    let timer = TIMER.load(Ordering::SeqCst);
    let at_once = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: 0,
            tv_nsec: 1,
        },
    };
    // SAFETY: the raw system call reads `at_once`, which outlives it, and takes a
    // null old-value pointer; an unknown id fails with EINVAL and writes nothing.
    let armed = timer >= 0
        // SAFETY: `at_once` outlives the call; a null old value; a bad id is EINVAL.
        && unsafe {
            libc::syscall(
                libc::SYS_timer_settime,
                timer,
                0,
                &at_once as *const libc::itimerspec,
                std::ptr::null_mut::<libc::itimerspec>(),
            )
        } == 0;
    if !armed {
        // The thread is gone (stopping) or has no timer: the next ring retries.
        RINGING.store(false, Ordering::SeqCst);
    }
}

/// Queues a caught signal to the waiter thread exactly as it came, with
/// `rt_tgsigqueueinfo`, so that the waiter reads it like any other: for the
/// safety net when its ring is full. The kernel accepts this only for codes a
/// sender writes itself (negative, not `SI_TKILL`: `sigqueue`, POSIX timers,
/// message queues), so nothing is forged. `false` when it could not (no waiter,
/// another code, or a full signal queue). Async-signal-safe: atomics, `getpid`
/// and one system call.
pub(crate) fn forward(signo: i32, info: *const libc::siginfo_t) -> bool {
    let tid = TID.load(Ordering::SeqCst);
    let pid = PID.load(Ordering::SeqCst);
    if tid == 0 || pid != super::getpid() || info.is_null() {
        return false;
    }
    // SAFETY: `info` is the kernel's siginfo for this delivery (checked non-null);
    // the kernel copies it and refuses codes a process may not send.
    unsafe { libc::syscall(libc::SYS_rt_tgsigqueueinfo, pid, tid, signo, info) == 0 }
}

/// The waiter is about to look for work: later rings must be sent again.
pub(crate) fn clear() {
    RINGING.store(false, Ordering::SeqCst);
}

/// The wake signal's own handler. It runs only when the wake signal reaches a
/// thread that does not block it: never one of ours (rings aim at the waiter,
/// which blocks everything), so a `kill -s RTMAX` from outside. Doing nothing
/// makes that harmless instead of fatal (the default action terminates).
pub(super) extern "C" fn on_wake_signal(
    _signo: libc::c_int,
    _info: *mut libc::siginfo_t,
    _context: *mut libc::c_void,
) {
}
