use std::io;

use serde_json::json;
use sigcore::{ProcSignals, Signal};

use crate::args::InspectArgs;
use crate::error::CliError;
use crate::output;

pub fn run(args: &InspectArgs) -> Result<(), CliError> {
    let process = ProcSignals::of_process(args.pid).map_err(|e| not_found(args.pid, e))?;
    show(&process, args, None);
    if args.threads {
        let threads = ProcSignals::of_threads(args.pid).map_err(|e| not_found(args.pid, e))?;
        for thread in &threads {
            show(thread, args, Some(thread.pid));
        }
    }
    Ok(())
}

fn not_found(pid: i32, e: io::Error) -> CliError {
    if e.kind() == io::ErrorKind::NotFound {
        CliError::Failed(format!("no such process: {pid}"))
    } else {
        CliError::Failed(format!("cannot read /proc/{pid}: {e}"))
    }
}

fn show(status: &ProcSignals, args: &InspectArgs, tid: Option<i32>) {
    if args.json {
        output::json(&json!({
            "pid": args.pid,
            "tid": tid,
            "name": status.name.to_string_lossy(),
            "blocked": output::names(status.blocked),
            "ignored": output::names(status.ignored),
            "caught": output::names(status.caught),
            "pending": output::names(status.thread_pending),
            "shared_pending": output::names(status.shared_pending),
        }));
        return;
    }
    let title = match tid {
        None => format!("process {} ({})", args.pid, status.name),
        Some(tid) => format!("thread {tid} ({})", status.name),
    };
    output::line(&format!("{title}:"));
    output::line(&format!(
        "  {:<13} {:>3}  {:<9} {:<7} {:<7} {:<6} {}",
        "SIGNAL", "NUM", "HANDLING", "BLOCKED", "PENDING", "SHARED", "DEFAULT"
    ));
    let mut shown = 0;
    for signal in Signal::all() {
        let row = Row::of(status, signal);
        if !args.all && !row.notable() {
            continue;
        }
        shown += 1;
        output::line(&format!(
            "  {:<13} {:>3}  {:<9} {:<7} {:<7} {:<6} {}",
            signal.name(),
            signal.number(),
            row.handling,
            yes(row.blocked),
            yes(row.pending),
            yes(row.shared),
            signal.default_action()
        ));
    }
    if shown == 0 {
        output::line("  every signal at its default, none blocked or pending");
    }
}

struct Row {
    handling: &'static str,
    blocked: bool,
    pending: bool,
    shared: bool,
}

impl Row {
    fn of(status: &ProcSignals, signal: Signal) -> Row {
        let handling = if status.caught.contains(signal) {
            "caught"
        } else if status.ignored.contains(signal) {
            "ignored"
        } else {
            "default"
        };
        Row {
            handling,
            blocked: status.blocked.contains(signal),
            pending: status.thread_pending.contains(signal),
            shared: status.shared_pending.contains(signal),
        }
    }

    fn notable(&self) -> bool {
        self.handling != "default" || self.blocked || self.pending || self.shared
    }
}

fn yes(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "-"
    }
}
