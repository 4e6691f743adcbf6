//! The PID-1 tier: a scenario or helper that runs as PID 1 of a fresh pid
//! namespace, as a container's init does, without a container.
//!
//! The harness starts it under `unshare --pid --fork --mount-proc --kill-child`
//! (design fact 16 calls this a faithful test bed): `unshare` forks, and its
//! child, the scenario, is PID 1 of the new namespace with a `/proc` of its
//! own. It needs root or user namespaces: [`pid_namespaces`] probes once, and
//! a scenario marked [`crate::Scenario::as_pid1`] is reported
//! `ignored, skipped: no pid namespace` where the probe fails.
//!
//! The deadline still holds: `unshare` leads the process group the harness
//! kills, the scenario is found as its child, and a SIGSTOP or SIGKILL sent
//! from the harness's (ancestor) namespace reaches even PID 1. When PID 1
//! dies, the kernel kills everything left in its namespace; `--kill-child`
//! kills PID 1 when `unshare` dies.

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Whether this process is PID 1 of its pid namespace (a scenario run with
/// [`crate::Scenario::as_pid1`], or a helper run with
/// [`crate::run_helper_as_pid1`]).
///
/// # Examples
///
/// ```no_run
/// fn runs_as_init() {
///     assert!(sigtest::is_pid1());
/// }
/// # fn main() { sigtest::run(&[sigtest::scenario!(runs_as_init).as_pid1()]); }
/// ```
pub fn is_pid1() -> bool {
    std::process::id() == 1
}

/// How long the probe may take before it counts as a failure.
const PROBE_DEADLINE: Duration = Duration::from_secs(10);

/// Whether `unshare --pid --fork --mount-proc true` works here (root, or user
/// namespaces allowed, and `unshare` installed). Probed once per process.
///
/// # Examples
///
/// ```no_run
/// if !sigtest::pid_namespaces() {
///     println!("skipped: no pid namespace");
///     return;
/// }
/// ```
pub fn pid_namespaces() -> bool {
    static PROBE: OnceLock<bool> = OnceLock::new();
    *PROBE.get_or_init(|| {
        let Ok(mut probe) = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            return false;
        };
        let deadline = Instant::now() + PROBE_DEADLINE;
        loop {
            match probe.try_wait() {
                Ok(Some(status)) => return status.success(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => {
                    let _ = probe.kill();
                    let _ = probe.wait();
                    return false;
                }
            }
        }
    })
}

/// `program` run as PID 1 of a new pid namespace (with its own `/proc`), the
/// namespace killed with `unshare` (`--kill-child`). Add arguments,
/// environment and standard streams as for any command.
///
/// # Examples
///
/// ```no_run
/// let status = sigtest::in_pid_namespace("sh").args(["-c", "test $$ = 1"]).status()?;
/// assert!(status.success());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn in_pid_namespace(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new("unshare");
    command
        .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .arg(program);
    command
}

/// The pid, as seen from here, of the namespace init that `unshare` process
/// `unshare` started: its child. Waits up to `timeout` for it to appear;
/// `None` if it did not (the probe failed, or `unshare` has exited).
///
/// # Examples
///
/// ```no_run
/// let helper = sigtest::run_helper_as_pid1("_serve", &[]);
/// let init = sigtest::namespace_init(helper.pid(), sigtest::ms(10_000)).expect("started");
/// println!("PID 1 of the helper's namespace is {init} here");
/// ```
pub fn namespace_init(unshare: i32, timeout: Duration) -> Option<i32> {
    let deadline = Instant::now() + timeout;
    loop {
        let children = std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
            .unwrap_or_default();
        if let Some(init) = children.split_whitespace().find_map(|p| p.parse().ok()) {
            return Some(init);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
