//! The signal state the process started with, captured before `main`.
//!
//! Dispositions that a parent leaves ignored (`nohup` ignores SIGHUP, a shell
//! ignores SIGINT in background jobs) and the mask a process inherits are the
//! program's starting point; Go's `signal.Reset` goes back to them. By the time
//! `main` runs, the Rust runtime has already set SIGPIPE to ignored, so the
//! state is read earlier, by a constructor in `.init_array`, which the dynamic
//! loader (or the C runtime, for a static executable) runs before `main`. Were
//! it not run (a platform without `.init_array`), the first query reads the
//! state then instead.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Bit `n - 1`: signal `n` was ignored at start.
static IGNORED: AtomicU64 = AtomicU64::new(0);
/// Bit `n - 1`: signal `n` was blocked in the main thread at start.
static BLOCKED: AtomicU64 = AtomicU64::new(0);
static CAPTURED: AtomicBool = AtomicBool::new(false);

#[used]
#[link_section = ".init_array"]
static CAPTURE_AT_LOAD: extern "C" fn() = capture_at_load;

extern "C" fn capture_at_load() {
    capture();
}

fn capture() {
    let mut ignored = 0u64;
    for signo in 1..=64 {
        let mut old = std::mem::MaybeUninit::<libc::sigaction>::uninit();
        // SAFETY: a null new action only reads the current one into `old`;
        // invalid numbers (32, 33 in glibc) fail and are skipped.
        if unsafe { libc::sigaction(signo, std::ptr::null(), old.as_mut_ptr()) } == 0 {
            // SAFETY: filled by the successful call.
            if unsafe { old.assume_init() }.sa_sigaction == libc::SIG_IGN {
                ignored |= 1 << (signo - 1);
            }
        }
    }
    let mut mask = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    let mut blocked = 0u64;
    // SAFETY: a null new mask only reads the calling thread's into `mask`.
    if unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), mask.as_mut_ptr()) } == 0 {
        for signo in 1..=64 {
            // SAFETY: `mask` was filled above; the number is in range.
            if unsafe { libc::sigismember(mask.as_ptr(), signo) } == 1 {
                blocked |= 1 << (signo - 1);
            }
        }
    }
    IGNORED.store(ignored, Ordering::SeqCst);
    BLOCKED.store(blocked, Ordering::SeqCst);
    CAPTURED.store(true, Ordering::SeqCst);
}

fn ensure_captured() {
    if !CAPTURED.load(Ordering::SeqCst) {
        capture();
    }
}

/// Signals ignored when the process started (bits).
pub(crate) fn ignored_at_start() -> u64 {
    ensure_captured();
    IGNORED.load(Ordering::SeqCst)
}

/// Signals blocked in the main thread when the process started (bits).
pub(crate) fn blocked_at_start() -> u64 {
    ensure_captured();
    BLOCKED.load(Ordering::SeqCst)
}
