//! `sigbus init [OPTIONS] [--] CMD [ARGS...]`: [`sigbus::Init`] with its
//! events written to stderr, as text (`-v`) or one JSON object per line
//! (`--json`). Its exit code is the command's: this subcommand does not go
//! through the 0/1/2 mapping of [`crate::error::CliError`], except that its
//! own usage errors (caught by clap) exit 2 like every other subcommand's.

use std::io::Write;
use std::process::{Command, ExitCode};
use std::time::Duration;

use serde_json::{json, Value};
use sigbus::{ExitRemap, ForwardTo, Init, InitError, InitEvent, SignalRewrites, Target};
use sigcore::{ChildStatus, Signal};

use crate::args::InitArgs;

/// How much to say on stderr.
#[derive(Clone, Copy)]
struct Report {
    verbose: u8,
    json: bool,
}

pub fn run(args: &InitArgs, parent: i32) -> ExitCode {
    let report = Report {
        verbose: args.verbose,
        json: args.json,
    };
    match start(args, parent, report).and_then(Init::wait) {
        Ok(exit) => ExitCode::from(exit.code),
        Err(e) => {
            report.error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

fn start(args: &InitArgs, parent: i32, report: Report) -> Result<Init, InitError> {
    let Some((program, rest)) = args.command.split_first() else {
        // clap requires CMD; an empty one still fails as a missing program.
        return Err(InitError::Exec {
            program: "".into(),
            error: std::io::ErrorKind::NotFound.into(),
        });
    };
    let mut command = Command::new(program);
    command.args(rest);
    let mut rewrites = SignalRewrites::new();
    for (from, to) in &args.rewrites {
        rewrites.set(*from, *to)?;
    }
    let forward_to = if args.session {
        ForwardTo::Session
    } else if args.group {
        ForwardTo::Group
    } else {
        ForwardTo::Child
    };
    let mut builder = Init::builder(command)
        .forward_to(forward_to)
        .rewrites(rewrites)
        .remap_exit(args.remap_exit.iter().copied().collect::<ExitRemap>())
        .subreaper(args.subreaper)
        .wait_all(args.wait_all.map(Duration::from_secs_f64))
        .on_event(move |event| report.event(event));
    if let Some(signal) = args.pdeath {
        builder = builder.parent_death_signal(signal, parent);
    }
    builder.start()
}

/// One line on stderr, flushed at once; a closed stderr is not an error.
fn say(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}").and_then(|()| err.flush());
}

const NOT_A_REAPER: &str = "not running as PID 1 and not a child subreaper: orphaned \
processes will not come to this init and their zombies will not be reaped; use -s \
(--subreaper) or run it as PID 1";

impl Report {
    fn error(&self, e: &InitError) {
        if self.json {
            say(
                &json!({ "event": "error", "message": e.to_string(), "code": e.exit_code() })
                    .to_string(),
            );
        } else {
            say(&format!("sigbus init: {e}"));
        }
    }

    fn event(&self, event: &InitEvent) {
        // Warnings always; failed forwards (but to a command already gone) and
        // the rest with -v.
        let level = match event {
            InitEvent::NotAReaper => 0,
            InitEvent::ForwardFailed { error, .. }
                if !matches!(error, sigcore::Error::NoSuchProcess { .. }) =>
            {
                0
            }
            InitEvent::Spawned { .. } => 2,
            _ => 1,
        };
        // JSON is for programs: every event.
        if !self.json && self.verbose < level {
            return;
        }
        if self.json {
            say(&as_json(event).to_string());
        } else {
            say(&format!("sigbus init: {}", as_text(event)));
        }
    }
}

fn target_json(target: Target) -> (i32, bool) {
    match target {
        Target::Process(pid) => (pid, false),
        Target::Group(pgid) => (pgid, true),
    }
}

fn status_json(status: ChildStatus) -> Value {
    let name = |n: i32| Signal::new(n).ok().map(Signal::name);
    let (kind, code, signal) = match status {
        ChildStatus::Exited(code) => ("exited", Some(code), None),
        ChildStatus::Killed(n) => ("killed", None, name(n)),
        ChildStatus::Dumped(n) => ("dumped", None, name(n)),
        ChildStatus::Trapped(n) => ("trapped", None, name(n)),
        ChildStatus::Stopped(n) => ("stopped", None, name(n)),
        ChildStatus::Continued => ("continued", None, None),
    };
    json!({ "status": kind, "code": code, "signal": signal })
}

fn as_json(event: &InitEvent) -> Value {
    match event {
        InitEvent::Spawned { pid } => json!({ "event": "spawn", "pid": pid }),
        InitEvent::NotAReaper => json!({ "event": "warning", "message": NOT_A_REAPER }),
        InitEvent::Forwarded {
            received,
            sent,
            target,
            origin,
        } => {
            let (to, group) = target_json(*target);
            json!({
                "event": "forward", "signal": received.name(), "number": received.number(),
                "sent": sent.name(), "sent_number": sent.number(), "to": to, "group": group,
                "origin": origin.kind(), "from_pid": origin.pid(),
            })
        }
        InitEvent::Dropped { received, origin } => json!({
            "event": "drop", "signal": received.name(), "number": received.number(),
            "origin": origin.kind(), "from_pid": origin.pid(),
        }),
        InitEvent::ForwardFailed {
            received,
            sent,
            target,
            error,
        } => {
            let (to, group) = target_json(*target);
            json!({
                "event": "forward_failed", "signal": received.name(), "number": received.number(),
                "sent": sent.name(), "to": to, "group": group, "error": error.to_string(),
            })
        }
        InitEvent::Suspended { received } => {
            json!({ "event": "suspend", "signal": received.name() })
        }
        InitEvent::Reaped { exit, main } => {
            let mut value = json!({ "event": "reap", "pid": exit.pid, "main": main });
            if let (Value::Object(map), Value::Object(status)) =
                (&mut value, status_json(exit.status))
            {
                map.extend(status);
            }
            value
        }
        InitEvent::Terminating { pids } => json!({ "event": "terminate", "pids": pids }),
        InitEvent::Killing { pids } => json!({ "event": "kill", "pids": pids }),
        InitEvent::Exiting { code } => json!({ "event": "exit", "code": code }),
        other => json!({ "event": "other", "debug": format!("{other:?}") }),
    }
}

fn pid_list(pids: &[i32]) -> String {
    let shown: Vec<String> = pids.iter().take(20).map(i32::to_string).collect();
    let more = pids.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn as_text(event: &InitEvent) -> String {
    let from = |origin: &sigcore::Origin| match origin.pid() {
        Some(pid) if origin.from_outside_namespace() => {
            format!(" (from pid {pid}: outside this pid namespace)")
        }
        Some(pid) => format!(" (from pid {pid})"),
        None => format!(" ({})", origin.kind()),
    };
    match event {
        InitEvent::Spawned { pid } => format!("started the command as pid {pid}"),
        InitEvent::NotAReaper => format!("warning: {NOT_A_REAPER}"),
        InitEvent::Forwarded {
            received,
            sent,
            target,
            origin,
        } if received == sent => format!("forwarded {received} to {target}{}", from(origin)),
        InitEvent::Forwarded {
            received,
            sent,
            target,
            origin,
        } => format!("forwarded {received} as {sent} to {target}{}", from(origin)),
        InitEvent::Dropped { received, origin } => {
            format!("dropped {received} (rewritten to 0){}", from(origin))
        }
        InitEvent::ForwardFailed {
            received,
            sent,
            target,
            error,
        } => format!("could not forward {received} as {sent} to {target}: {error}"),
        InitEvent::Suspended { received } => {
            format!("stopping itself after forwarding {received} (SIGCONT continues it)")
        }
        InitEvent::Reaped { exit, main: true } => {
            format!("the command (pid {}) {}", exit.pid, exit.status)
        }
        InitEvent::Reaped { exit, main: false } => {
            format!("reaped pid {} ({})", exit.pid, exit.status)
        }
        InitEvent::Terminating { pids } => format!(
            "sent SIGTERM to {} process(es) left: {}",
            pids.len(),
            pid_list(pids)
        ),
        InitEvent::Killing { pids } => format!(
            "grace period over: sent SIGKILL to {} process(es): {}",
            pids.len(),
            pid_list(pids)
        ),
        InitEvent::Exiting { code } => format!("exiting with code {code}"),
        other => format!("{other:?}"),
    }
}
