//! Test-only support for code that changes process-wide signal state.
//!
//! Signal masks, dispositions and pending signals belong to the whole process, and
//! libtest runs tests on threads that exist before a test starts and block nothing: a
//! process-directed signal can land on one of them and kill the test binary. So a
//! signal test binary here is a `harness = false` program whose `main` calls
//! [`run`], which re-executes the binary once per scenario. Each scenario starts in a
//! fresh process, on its main thread, with no other thread alive: it can block its
//! set first and then spawn what it needs, exactly like a real program.
//!
//! ```no_run
//! fn delivers_usr1() { /* block, start the waiter, send, assert */ }
//!
//! fn main() {
//!     sigtest::run(&[sigtest::scenario!(delivers_usr1)]);
//! }
//! ```
//!
//! The parent prints libtest-style lines (`test NAME ... ok`, `test result: ...`),
//! accepts a substring filter and `--ignored`/`--include-ignored`, kills a scenario
//! that runs past its deadline, and exits non-zero when any scenario failed.
#![deny(missing_docs)]

mod child;
mod os;
mod runner;

pub use child::{exit_status_of, run_helper, Child, WaitOutcome};
pub use os::{
    become_nobody, forge_sigqueue, let_nobody_signal_me, limit_signal_queue, park_until_full,
    provoke_sigio, running_as_root, set_thread_name, signal_queue, tgkill, NOBODY,
};
pub use runner::{run, Scenario};

/// `scenario!(function)` is `Scenario::new("function", function)`.
#[macro_export]
macro_rules! scenario {
    ($body:ident) => {
        $crate::Scenario::new(stringify!($body), $body)
    };
}

/// Names of this process's threads, from `/proc/self/task/*/comm`.
pub fn thread_names() -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|name| name.trim_end().to_owned())
        .collect()
}

/// Polls `check` every millisecond until it holds or `timeout` passes; returns
/// its last answer. For facts the kernel makes true a moment later than the call
/// that caused them: a joined thread can linger in `/proc` briefly, because the
/// kernel wakes the joiner before it removes the task.
pub fn eventually(timeout: std::time::Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Milliseconds as a `Duration`, for readable timeouts.
pub fn ms(millis: u64) -> std::time::Duration {
    std::time::Duration::from_millis(millis)
}
