use sigcore::{Error, Pidfd};

use crate::args::SendArgs;
use crate::error::CliError;

/// Sends to every pid; reports each failure on its own line and fails (exit 1)
/// if any did, like kill(1).
pub fn run(args: &SendArgs) -> Result<(), CliError> {
    let mut failures = Vec::new();
    for &pid in &args.pids {
        let sent = if args.pidfd {
            Pidfd::open(pid).and_then(|fd| fd.send(args.signal))
        } else if let Some(value) = args.value {
            sigcore::sigqueue(pid, args.signal, value)
        } else {
            sigcore::kill(pid, args.signal)
        };
        match sent {
            Ok(()) => log::debug!("sent {} to {pid}", args.signal),
            Err(e @ (Error::Unsupported(_) | Error::InvalidPid { .. })) => return Err(e.into()),
            Err(e) => failures.push(format!("cannot send {}: {e}", args.signal)),
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
