use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::runner::SCENARIO_VAR;

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

/// A running helper process started by [`run_helper`].
pub struct Child {
    inner: std::process::Child,
}

impl Child {
    /// The child's process id.
    pub fn pid(&self) -> i32 {
        self.inner.id() as i32
    }

    /// Waits for the child for at most `deadline`, killing it past that.
    /// Returns how it ended and everything it printed (stdout, stderr).
    pub fn wait(self, deadline: Duration) -> (WaitOutcome, String, String) {
        wait_with_deadline(self.inner, deadline)
    }
}

/// Starts the scenario `name` (usually one marked [`crate::Scenario::helper`]) in a
/// new process of this test binary, with `extra_env` added to its environment.
///
/// # Panics
///
/// Panics when the binary cannot be re-executed: a test cannot go on without it.
pub fn run_helper(name: &str, extra_env: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().expect("cannot find the test binary");
    let mut command = Command::new(exe);
    command
        .env(SCENARIO_VAR, name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in extra_env {
        command.env(key, value);
    }
    Child {
        inner: command.spawn().expect("cannot start helper process"),
    }
}

pub(crate) fn wait_with_deadline(
    mut child: std::process::Child,
    deadline: Duration,
) -> (WaitOutcome, String, String) {
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let outcome = loop {
        match child.try_wait() {
            Ok(Some(status)) => break exit_status_of(status),
            Ok(None) if started.elapsed() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break WaitOutcome::TimedOut;
            }
            // A short sleep is the simplest portable way to wait with a deadline for a
            // child; test code only.
            Ok(None) => thread::sleep(Duration::from_millis(2)),
            Err(e) => panic!("waiting for child failed: {e}"),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    (outcome, stdout, stderr)
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}
