//! Helper processes: a scenario starting another scenario of its binary.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::runner::{AS_NOBODY_VAR, SCENARIO_VAR};
use crate::wait::{supervise, WaitOutcome};
use crate::{os, proc};

/// A running helper process started by [`run_helper`].
///
/// The helper leads a process group of its own (its id is the helper's pid).
/// Dropping a `Child` that was not waited for (say, the test panicked first)
/// kills the helper, its group and its descendants.
pub struct Child {
    /// None once waited for.
    inner: Option<std::process::Child>,
    pid: i32,
}

impl Child {
    /// The child's process id, which is also its process group id.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let helper = sigtest::run_helper("_serve", &[]);
    /// sigtest::tgkill(helper.pid(), libc::SIGUSR1); // its main thread
    /// ```
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Waits for the child for at most `deadline`, killing it (with its process
    /// group and descendants) past that. When it ends by itself, whatever is
    /// left in its group is killed. Returns how it ended and everything it
    /// printed (stdout, stderr).
    ///
    /// Output still held open by a process that escaped both (it left the group
    /// and its parent ended before the child did) is waited for half a second
    /// at most; stderr then ends with a `sigtest:` line saying so.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use sigtest::WaitOutcome;
    ///
    /// let (outcome, stdout, stderr) = sigtest::run_helper("_serve", &[]).wait(sigtest::ms(5000));
    /// assert_eq!(outcome, WaitOutcome::Exited(0), "{stdout}{stderr}");
    /// ```
    pub fn wait(mut self, deadline: Duration) -> (WaitOutcome, String, String) {
        let child = self.inner.take().expect("a Child is waited for only once");
        let ended = supervise(child, deadline, false);
        let mut stderr = ended.stderr;
        for problem in ended.problems {
            stderr.push_str(&format!("sigtest: helper {}: {problem}\n", self.pid));
        }
        (ended.outcome, ended.stdout, stderr)
    }

    /// Kills the child now, with its process group and descendants, unless it
    /// has ended already; returns as [`Child::wait`] does ([`WaitOutcome::TimedOut`]
    /// when it had to be killed).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let helper = sigtest::run_helper("_serve_forever", &[]);
    /// let (outcome, _, _) = helper.kill();
    /// assert_eq!(outcome, sigtest::WaitOutcome::TimedOut);
    /// ```
    pub fn kill(self) -> (WaitOutcome, String, String) {
        self.wait(Duration::ZERO)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(mut child) = self.inner.take() {
            // Not reaped yet, so the group id cannot have been reused; unless
            // the test reaped it (waitpid(-1)): then leave the pid alone.
            match os::has_exited(self.pid) {
                Ok(false) => proc::kill_tree(self.pid, Some(self.pid)),
                Ok(true) => proc::kill_group(self.pid),
                Err(_) => {}
            }
            let _ = child.wait();
        }
    }
}

/// Starts the scenario `name` (usually one marked [`crate::Scenario::helper`]) in a
/// new process of this test binary, in a process group of its own, with
/// `extra_env` added to its environment.
///
/// # Panics
///
/// Panics when the binary cannot be re-executed: a test cannot go on without it.
///
/// # Examples
///
/// ```no_run
/// let helper = sigtest::run_helper("_send_to", &[("TARGET", std::process::id().to_string())]);
/// # drop(helper);
/// ```
pub fn run_helper(name: &str, extra_env: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().expect("cannot find the test binary");
    start_helper(Command::new(exe), name, extra_env)
}

/// [`run_helper`], the helper running as PID 1 of a fresh pid namespace (see
/// [`crate::Scenario::as_pid1`]): the returned [`Child`] is `unshare`, whose
/// child is the helper ([`crate::namespace_init`] finds its pid). Waiting,
/// killing and dropping reach the whole namespace. Check
/// [`crate::pid_namespaces`] first: where it is false, the helper never runs
/// (`unshare` fails).
///
/// # Panics
///
/// As for [`run_helper`].
///
/// # Examples
///
/// ```no_run
/// if sigtest::pid_namespaces() {
///     let helper = sigtest::run_helper_as_pid1("_init", &[]);
///     let (outcome, stdout, _) = helper.wait(sigtest::ms(10_000));
///     println!("{outcome:?}: {stdout}");
/// }
/// ```
pub fn run_helper_as_pid1(name: &str, extra_env: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().expect("cannot find the test binary");
    start_helper(crate::in_pid_namespace(exe), name, extra_env)
}

/// A command that runs the helper scenario `name` of this test binary, for a
/// program under test to start (an init, a shell): the helper is then that
/// program's child, not the harness's. Its standard streams, process group
/// and deadline are the caller's business.
///
/// # Panics
///
/// When the test binary cannot be found.
///
/// # Examples
///
/// ```no_run
/// // Here the test itself is the parent; in practice, hand it to the program
/// // under test (say, an init that spawns it).
/// let status = sigtest::helper_command("_exits_3").status()?;
/// assert_eq!(status.code(), Some(3));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn helper_command(name: &str) -> Command {
    let exe = std::env::current_exe().expect("cannot find the test binary");
    let mut command = Command::new(exe);
    command.env(SCENARIO_VAR, name);
    command
}

fn start_helper(mut command: Command, name: &str, extra_env: &[(&str, String)]) -> Child {
    command
        .env(SCENARIO_VAR, name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let child = command.spawn().expect("cannot start helper process");
    Child {
        pid: child.id() as i32,
        inner: Some(child),
    }
}

/// Runs scenario `name` of this binary again, in a new process that drops to
/// `nobody` (`setgroups`, `setgid`, `setuid`: see [`crate::become_nobody`])
/// before the scenario's body starts, and asserts that it passes. For
/// identity-sensitive behaviour (sender filters, permission to signal, what
/// children inherit) that a suite run as root would otherwise check for root
/// only. Not root: prints a `skipped:` line and returns.
///
/// The re-run gets `deadline` (its own [`crate::deadline`] is the scenario's
/// timeout, as usual).
///
/// # Panics
///
/// When the re-run fails: panics, exits non-zero, dies by a signal or runs
/// past `deadline`. Its output is part of the message.
///
/// # Examples
///
/// ```no_run
/// fn filters_judge_by_my_uid() { /* uses sigcore::current_uid() */ }
///
/// fn filters_judge_by_my_uid_as_nobody() {
///     sigtest::rerun_as_nobody("filters_judge_by_my_uid", sigtest::ms(30_000));
/// }
/// ```
pub fn rerun_as_nobody(name: &str, deadline: Duration) {
    if !crate::running_as_root() {
        println!("skipped: needs root to become nobody");
        return;
    }
    let (outcome, stdout, stderr) =
        run_helper(name, &[(AS_NOBODY_VAR, "1".to_owned())]).wait(deadline);
    assert_eq!(
        outcome,
        WaitOutcome::Exited(0),
        "{name} as nobody:\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}"
    );
    assert!(
        !stdout.contains("skipped:"),
        "{name} skipped its checks as nobody:\n{stdout}"
    );
    print!("{stdout}");
}
