use rustix::io::Errno;
use sigcore::{Error, Pidfd, Signal};

use crate::args::{SendArgs, SendSignal};
use crate::error::CliError;

/// Sends to every pid; reports each failure on its own line and fails (exit 1)
/// if any did, like kill(1). Signal 0 sends nothing and fails for a pid that
/// does not exist or may not be signalled, like `kill -0`.
pub fn run(args: &SendArgs) -> Result<(), CliError> {
    if args.signal == SendSignal::Probe && (args.value.is_some() || args.pidfd) {
        return Err(CliError::Usage(
            "signal 0 sends nothing, so --value and --pidfd do not apply to it".into(),
        ));
    }
    let mut failures = Vec::new();
    for &pid in &args.pids {
        let sent = match args.signal {
            SendSignal::Probe => probe(pid),
            SendSignal::Signal(signal) => send(args, pid, signal),
        };
        match sent {
            Ok(()) => log::debug!("sent {:?} to {pid}", args.signal),
            Err(e @ (Error::Unsupported(_) | Error::InvalidPid { .. })) => return Err(e.into()),
            Err(e) => failures.push(match args.signal {
                SendSignal::Probe => e.to_string(),
                SendSignal::Signal(signal) => format!("cannot send {signal}: {e}"),
            }),
        }
    }
    match failures.len() {
        0 => Ok(()),
        1 => Err(CliError::Failed(failures.remove(0))),
        _ => {
            let last = failures.pop().unwrap_or_default();
            for failure in failures {
                eprintln!("sigbus: {failure}");
            }
            Err(CliError::Failed(last))
        }
    }
}

fn send(args: &SendArgs, pid: i32, signal: Signal) -> Result<(), Error> {
    if args.pidfd {
        Pidfd::open(pid).and_then(|fd| fd.send(signal))
    } else if let Some(value) = args.value {
        sigcore::sigqueue(pid, signal, value)
    } else {
        sigcore::kill(pid, signal)
    }
}

/// `kill(pid, 0)`: the checks of a send, without the signal. sigcore has no
/// call for it (`sigcore::process_exists` counts a process this user may not
/// signal as existing, which is right for its purpose and wrong for `kill -0`),
/// so rustix's safe wrapper makes the system call.
fn probe(pid: i32) -> Result<(), Error> {
    // Checked first: rustix asserts a non-negative pid in debug builds.
    let target = Some(pid)
        .filter(|&pid| pid > 0)
        .and_then(rustix::process::Pid::from_raw)
        .ok_or(Error::InvalidPid { pid })?;
    rustix::process::test_kill_process(target).map_err(|e| match e {
        Errno::SRCH => Error::NoSuchProcess { pid },
        Errno::PERM => Error::PermissionDenied { pid },
        other => Error::Io {
            call: "kill",
            source: other.into(),
        },
    })
}
