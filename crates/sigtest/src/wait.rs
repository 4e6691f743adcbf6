//! Waiting for a child with a deadline, then cleaning up after it: its process
//! group, its escaped descendants, and its output pipes.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::capture::Capture;
use crate::{os, proc};

/// How long output may keep coming once a child has ended and its processes are
/// dead. Only a process outside its tree can still hold a pipe by then.
const OUTPUT_GRACE: Duration = Duration::from_millis(500);
/// How often a running child's state is checked (between reads of its output).
const TICK: Duration = Duration::from_millis(2);
/// How long killing what a scenario left behind may take.
const ORPHAN_BUDGET: Duration = Duration::from_secs(2);

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// It called `exit` with this code.
    Exited(i32),
    /// A signal (this number) ended it.
    Signaled(i32),
    /// It was still running at the deadline and was killed.
    TimedOut,
}

/// Turns a std exit status into a [`WaitOutcome`].
pub fn exit_status_of(status: ExitStatus) -> WaitOutcome {
    match (status.code(), status.signal()) {
        (Some(code), _) => WaitOutcome::Exited(code),
        (None, Some(sig)) => WaitOutcome::Signaled(sig),
        (None, None) => WaitOutcome::Exited(-1),
    }
}

pub(crate) fn describe(outcome: &WaitOutcome) -> String {
    match outcome {
        WaitOutcome::Exited(code) => format!("scenario process exited with code {code}"),
        WaitOutcome::Signaled(sig) => format!("scenario process was killed by signal {sig}"),
        WaitOutcome::TimedOut => "scenario process ran past its deadline and was killed".into(),
    }
}

/// What became of a supervised child.
pub(crate) struct Ended {
    pub(crate) outcome: WaitOutcome,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// What the cleanup could not do: processes it could not kill, pipes still
    /// held open. Empty when all went well.
    pub(crate) problems: Vec<String>,
}

/// Waits for `child`, the leader of its own process group, reading its output,
/// for at most `deadline`; past that kills it with its group and descendants.
/// When it ends by itself, kills what is left in its group. With `reaper` (we
/// are a subreaper and have no other children), also kills and reaps every
/// process it left elsewhere, now re-parented to us. Then reads the output
/// that is left, for a short grace at most.
pub(crate) fn supervise(mut child: std::process::Child, deadline: Duration, reaper: bool) -> Ended {
    let pid = child.id() as i32;
    let mut output = Capture::new(child.stdout.take(), child.stderr.take());
    let mut problems = Vec::new();
    let mut lost = None;
    let end = Instant::now() + deadline;
    let timed_out = loop {
        match os::has_exited(pid) {
            Ok(true) => break false,
            Ok(false) => {}
            Err(e) => {
                lost = Some(e);
                break false;
            }
        }
        let now = Instant::now();
        if now >= end {
            break true;
        }
        output.pump((end - now).min(TICK));
    };
    // The leader is not reaped yet (a zombie at worst), so its pid, which is the
    // group id, cannot have been reused; unless someone else reaped it.
    match (&lost, timed_out) {
        (Some(e), _) => problems.push(format!(
            "lost track of process {pid} ({e}): reaped elsewhere (a waitpid(-1), or \
             SIGCHLD ignored); its process group was left alone"
        )),
        (None, true) => proc::kill_tree(pid, Some(pid)),
        (None, false) => proc::kill_group(pid),
    }
    let outcome = match child.wait() {
        _ if timed_out => WaitOutcome::TimedOut,
        Ok(status) => exit_status_of(status),
        Err(_) if lost.is_some() => WaitOutcome::Exited(-1),
        Err(e) => {
            problems.push(format!("cannot reap process {pid}: {e}"));
            WaitOutcome::Exited(-1)
        }
    };
    if reaper {
        let stuck = proc::reap_orphans(ORPHAN_BUDGET);
        if !stuck.is_empty() {
            problems.push(format!(
                "processes it left behind could not be killed: {stuck:?}"
            ));
        }
    }
    if !output.drain_until(Instant::now() + OUTPUT_GRACE) {
        problems.push(format!(
            "its output pipes were still open {OUTPUT_GRACE:?} after it ended and its \
             processes were killed: a process outside its tree holds them; output may be \
             cut short"
        ));
    }
    let (stdout, stderr) = output.into_text();
    Ended {
        outcome,
        stdout,
        stderr,
        problems,
    }
}
