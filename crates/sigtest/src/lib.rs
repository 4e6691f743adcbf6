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
//! accepts substring filters, `--exact`, `--skip`, `--list`, `--ignored` and
//! `--include-ignored`, and exits non-zero when any scenario failed: panicked,
//! exited non-zero, died by a signal, or ran past its deadline.
//!
//! # What the harness guarantees
//!
//! - **A fresh process per scenario**, started with what the harness itself
//!   inherited: an ignored SIGINT (under `nohup`, or in a script's background
//!   job) stays ignored; the harness changes no disposition. Two things differ,
//!   both done by std's `Command`: the signal mask starts empty, and SIGPIPE
//!   starts at its default (std in the scenario's binary then ignores it again).
//! - **No scenario outlives its deadline** ([`Scenario::timeout`], 60 s unless
//!   set; [`deadline`] tells the scenario when). Each scenario, and each
//!   [`run_helper`] child, leads a process group of its own; at the deadline
//!   the harness stops and then SIGKILLs the group, the scenario and every
//!   descendant (found through `/proc/<pid>/task/*/children`, so a child that
//!   left the group with `setsid` or `setpgid` is reached too).
//! - **Nothing is left behind.** When a scenario ends by itself, whatever is
//!   left in its group is killed, and the harness, a child subreaper
//!   (`PR_SET_CHILD_SUBREAPER`), kills and reaps every process the scenario
//!   left anywhere else: orphans come to it instead of to init. A helper's
//!   [`Child`] kills the helper's group when waited for, and its whole tree
//!   when dropped unwaited.
//! - **Reading output never blocks the run.** Output is polled, not read to
//!   end-of-file; once the scenario and its processes are dead, output is
//!   waited for half a second at most. A pipe still open then is held by a
//!   process outside the tree, and the scenario fails saying so.
//!
//! What escapes: processes that are not descendants (started through a daemon:
//! `systemd-run`, `at`, D-Bus activation) and processes that cannot die (stuck
//! in the kernel; reported after 2 s). A helper's descendant that left the
//! helper's group, and whose parent ended before the helper was waited for, is
//! re-parented to the harness and killed only when the scenario ends. If the
//! harness itself is killed (Ctrl-C sends SIGINT to the terminal's foreground
//! group, which no longer holds the scenario), the scenario process gets a
//! SIGKILL (`PR_SET_PDEATHSIG`) but the rest of its group and its helpers are
//! not killed.
//!
//! # The PID-1 tier
//!
//! [`Scenario::as_pid1`] runs a scenario as PID 1 of a fresh pid namespace
//! (`unshare --pid --fork --mount-proc`), as a container's init runs, killed
//! with everything in the namespace at its deadline; [`run_helper_as_pid1`]
//! does the same for a helper, so that a test can signal it from outside the
//! namespace (from "the host", [`namespace_init`] finds its pid). Where no pid
//! namespace can be made ([`pid_namespaces`]), such scenarios are reported
//! `ignored, skipped: no pid namespace`. [`is_pid1`] tells a body where it runs.
//!
//! Having a group of its own, a scenario is not in the terminal's foreground
//! group: it must not read from the terminal (its stdin is `/dev/null`).
//!
//! # Inside a scenario
//!
//! - Waits with a deadline, so that a broken library fails a test instead of
//!   stalling it until the harness kills it: [`join_within`] (threads),
//!   [`wait_within`] (a std `Child`), [`waitpid_within`] (a raw `fork`),
//!   [`output_within`] (a command's output, read as it comes), [`eventually`].
//! - Other identities: [`rerun_as_nobody`] runs a scenario again in a process
//!   that dropped to `nobody` first (the suite usually runs as root, which
//!   hides what a sender filter or a permission check does for anyone else);
//!   [`become_nobody`], [`let_nobody_signal_me`] for helpers.
//! - Hostile senders: [`park_until_full`], [`limit_signal_queue`],
//!   [`forge_sigqueue`], [`provoke_sigio`].
#![deny(missing_docs)]

mod bounded;
mod capture;
mod child;
mod options;
mod os;
mod pid1;
mod proc;
mod runner;
mod wait;

pub use bounded::{join_within, output_within, wait_within, waitpid_within};
pub use child::{helper_command, rerun_as_nobody, run_helper, run_helper_as_pid1, Child};
pub use os::{
    become_nobody, forge_sigqueue, let_nobody_signal_me, limit_signal_queue, park_until_full,
    provoke_sigio, running_as_root, set_thread_name, signal_queue, tgkill, NOBODY,
};
pub use pid1::{in_pid_namespace, is_pid1, namespace_init, pid_namespaces};
pub use runner::{deadline, run, Scenario};
pub use wait::{exit_status_of, WaitOutcome};

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

/// The id of this process's thread named `name`, if there is one.
pub fn thread_named(name: &str) -> Option<i32> {
    std::fs::read_dir("/proc/self/task")
        .ok()?
        .flatten()
        .find(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
        })?
        .file_name()
        .to_str()?
        .parse()
        .ok()
}

/// How often thread `tid` of this process has gone to sleep so far (its
/// voluntary context switches): counts its wake-ups.
pub fn wake_ups(tid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("no voluntary_ctxt_switches for thread {tid}"))
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
