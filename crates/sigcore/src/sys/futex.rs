//! Sleeping on a 32-bit word until another thread changes it (`futex(2)`).

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Sleeps while `*word == expected`, at most `timeout` (forever with `None`).
/// Returns on a wake, a changed word, a timeout, a signal, or spuriously: the
/// caller looks again either way.
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let spec = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let spec_ptr = spec
        .as_ref()
        .map_or(std::ptr::null(), |s| s as *const libc::timespec);
    // SAFETY: `word` is a valid, aligned u32 that outlives the call (an
    // AtomicU32 has the layout of a u32); the kernel only reads it. `spec_ptr`
    // is null or points at `spec`, alive until the call returns. A relative
    // timeout with FUTEX_WAIT. Errors (EAGAIN: the word changed; ETIMEDOUT;
    // EINTR) all mean "look again".
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            spec_ptr,
        );
    }
}

/// Wakes every thread sleeping on `word` in [`wait`].
pub(crate) fn wake_all(word: &AtomicU32) {
    // SAFETY: `word` is a valid, aligned u32; FUTEX_WAKE reads no memory but
    // the word's address, and cannot fail for a private mapping we own.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            i32::MAX,
        );
    }
}
