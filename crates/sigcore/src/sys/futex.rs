//! Sleeping on a 32-bit word until another thread changes it (`futex(2)`).

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Sleeps while `*word == expected`, at most `timeout` (forever with `None`),
/// until a [`wake`] whose `bits` share one with these. Returns on a wake, a
/// changed word, a timeout, a signal, or spuriously: the caller looks again
/// either way.
pub(crate) fn wait(word: &AtomicU32, expected: u32, bits: u32, timeout: Option<Duration>) {
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline.
    let deadline = timeout.map(|timeout| {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is valid for writes; CLOCK_MONOTONIC always exists.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
        let nanos = now.tv_nsec as u64 + u64::from(timeout.subsec_nanos());
        let secs = (timeout.as_secs() + nanos / 1_000_000_000).min(i32::MAX as u64);
        libc::timespec {
            tv_sec: now.tv_sec.saturating_add(secs as libc::time_t),
            tv_nsec: (nanos % 1_000_000_000) as libc::c_long,
        }
    });
    let deadline_ptr = deadline
        .as_ref()
        .map_or(std::ptr::null(), |s| s as *const libc::timespec);
    // SAFETY: `word` is a valid, aligned u32 that outlives the call (an
    // AtomicU32 has the layout of a u32); the kernel only reads it.
    // `deadline_ptr` is null or points at `deadline`, alive until the call
    // returns. Errors (EAGAIN: the word changed; ETIMEDOUT; EINTR) all mean
    // "look again".
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG,
            expected,
            deadline_ptr,
            std::ptr::null::<u32>(),
            bits,
        );
    }
}

/// Wakes at most `count` threads sleeping on `word` in [`wait`] with a bit
/// of `bits`; returns how many it woke.
pub(crate) fn wake(word: &AtomicU32, count: i32, bits: u32) -> usize {
    // SAFETY: `word` is a valid, aligned u32; FUTEX_WAKE_BITSET reads no
    // memory but the word's address, and cannot fail for a private mapping we
    // own.
    let woken = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE_BITSET | libc::FUTEX_PRIVATE_FLAG,
            count,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            bits,
        )
    };
    woken.max(0) as usize
}
