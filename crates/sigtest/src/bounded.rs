//! Waits with a deadline for what tests usually wait for forever: a thread to
//! end, a child process to exit, a forked child to be reaped, a command's
//! output. Each one panics (after killing what it waited for, where it can)
//! instead of hanging, so a broken library fails a test rather than stalling
//! the run until the harness's own deadline.

use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::wait::{supervise, WaitOutcome};

/// How often the waits below look again.
const POLL: Duration = Duration::from_millis(1);

/// Joins `handle`, waiting at most `timeout`. A panic in the thread is
/// re-raised here, as `join().unwrap()` would.
///
/// # Panics
///
/// When the thread is still running after `timeout` (it is left running: the
/// scenario's process ends soon after), or when it panicked.
///
/// # Examples
///
/// ```
/// let worker = std::thread::spawn(|| 6 * 7);
/// assert_eq!(sigtest::join_within(worker, sigtest::ms(5000)), 42);
/// ```
pub fn join_within<T>(handle: JoinHandle<T>, timeout: Duration) -> T {
    let end = Instant::now() + timeout;
    while !handle.is_finished() {
        assert!(
            Instant::now() < end,
            "thread {:?} still running after {timeout:?}",
            handle.thread().name().unwrap_or("(unnamed)")
        );
        std::thread::sleep(POLL);
    }
    match handle.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Waits at most `timeout` for `child` to exit and reaps it.
///
/// # Panics
///
/// When it is still running after `timeout`: it is killed (SIGKILL) and reaped
/// first, so no process is left behind. Also when waiting fails.
///
/// # Examples
///
/// ```
/// let mut child = std::process::Command::new("true").spawn().unwrap();
/// assert!(sigtest::wait_within(&mut child, sigtest::ms(5000)).success());
/// ```
pub fn wait_within(child: &mut std::process::Child, timeout: Duration) -> ExitStatus {
    let end = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child failed") {
            return status;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "child {} still running after {timeout:?}; killed",
                child.id()
            );
        }
        std::thread::sleep(POLL);
    }
}

/// `waitpid(pid)` for a child made with a raw `fork`, waiting at most
/// `timeout`; returns the raw wait status (read it with `libc::WIFEXITED` and
/// friends).
///
/// # Panics
///
/// When it has not ended after `timeout`: it is killed (SIGKILL) and reaped
/// first. Also when `waitpid` fails (`pid` is no child of ours).
pub fn waitpid_within(pid: i32, timeout: Duration) -> i32 {
    let end = Instant::now() + timeout;
    loop {
        match crate::os::waitpid_nohang(pid) {
            Ok(Some(status)) => return status,
            Ok(None) => {}
            Err(e) => assert_eq!(
                e.kind(),
                std::io::ErrorKind::Interrupted,
                "waitpid({pid}): {e}"
            ),
        }
        if Instant::now() >= end {
            // Our own unreaped child: the pid cannot have been reused.
            crate::os::kill_and_reap(pid);
            panic!("forked child {pid} still running after {timeout:?}; killed");
        }
        std::thread::sleep(POLL);
    }
}

/// Runs `command` with its stdout and stderr captured, in a process group of
/// its own, for at most `deadline`: past it the command is killed with its
/// group and descendants ([`WaitOutcome::TimedOut`]). When it ends by itself,
/// what is left in its group is killed too. The output is read as it comes,
/// never waited for to the end (a descendant that escaped could hold the pipes
/// forever).
///
/// # Panics
///
/// When the command cannot be started.
///
/// # Examples
///
/// ```
/// use std::process::Command;
///
/// let (outcome, stdout, _) =
///     sigtest::output_within(Command::new("echo").arg("hi"), sigtest::ms(10_000));
/// assert_eq!(outcome, sigtest::WaitOutcome::Exited(0));
/// assert_eq!(stdout, "hi\n");
/// ```
pub fn output_within(command: &mut Command, deadline: Duration) -> (WaitOutcome, String, String) {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let ended = supervise(child, deadline, false);
    let mut stderr = ended.stderr;
    for problem in ended.problems {
        stderr.push_str(&format!("sigtest: {problem}\n"));
    }
    (ended.outcome, ended.stdout, stderr)
}
