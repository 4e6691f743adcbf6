use std::io;

use serde_json::{json, Value};
use sigcore::{ProcSignals, Signal, SignalSet};

use crate::args::InspectArgs;
use crate::error::CliError;
use crate::output;
use crate::procinfo::{self, Zombie};
use crate::users;

/// What holds for a whole process rather than one of its threads.
struct ProcessFacts {
    namespace_init: bool,
    zombies: Vec<Zombie>,
    blocked_unhandled: SignalSet,
}

pub fn run(args: &InspectArgs) -> Result<(), CliError> {
    let process = ProcSignals::of_process(args.pid).map_err(|e| not_found(args.pid, e))?;
    // Every thread's mask decides whether a signal can be delivered at all.
    let threads = match ProcSignals::of_threads(args.pid) {
        Ok(threads) => threads,
        Err(e) if args.threads => return Err(not_found(args.pid, e)),
        Err(_) => Vec::new(),
    };
    let facts = ProcessFacts {
        namespace_init: procinfo::namespace_init(&process),
        zombies: procinfo::zombie_children(args.pid),
        // Without the threads (they could not be read) nothing can be said.
        blocked_unhandled: if threads.is_empty() {
            SignalSet::empty()
        } else {
            procinfo::blocked_unhandled(args.pid, &process, &threads)
        },
    };
    show(&process, args, None, Some(&facts));
    if args.threads {
        for thread in &threads {
            show(thread, args, Some(thread.pid), None);
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

/// One process (`facts` given) or one thread (`tid` given).
fn show(status: &ProcSignals, args: &InspectArgs, tid: Option<i32>, facts: Option<&ProcessFacts>) {
    if args.json {
        output::json(&as_json(status, args.pid, tid, facts));
        return;
    }
    let title = match tid {
        None => format!("process {} ({})", args.pid, status.name),
        Some(tid) => format!("thread {tid} ({})", status.name),
    };
    output::line(&format!("{title}:"));
    let owner = match users::name(status.uid) {
        Some(name) => format!("uid {} ({name})", status.uid),
        None => format!("uid {}", status.uid),
    };
    output::line(&format!(
        "  state: {} ({}); owner: {owner}; parent: {}",
        status.state,
        procinfo::state_name(status.state),
        status.ppid
    ));
    if let Some(facts) = facts {
        show_facts(facts);
    }
    if status.kernel_thread {
        output::line("  kernel thread: signal state does not apply");
        return;
    }
    show_table(status, args.all);
}

fn show_facts(facts: &ProcessFacts) {
    if facts.namespace_init {
        output::line(
            "  pid namespace init: the kernel delivers it only the signals it has a handler for",
        );
    }
    if !facts.zombies.is_empty() {
        let zombies: Vec<String> = facts
            .zombies
            .iter()
            .map(|z| format!("{} ({})", z.pid, z.name))
            .collect();
        output::line(&format!(
            "  zombie children (exited, not reaped): {}",
            zombies.join(", ")
        ));
    }
    if !facts.blocked_unhandled.is_empty() {
        output::line(&format!(
            "  warning: {} blocked in every thread, with no handler and no waiter: sent to this \
             process, they stay pending for ever (a signal mask inherited from the program that \
             started it?)",
            facts.blocked_unhandled
        ));
    }
}

fn as_json(
    status: &ProcSignals,
    pid: i32,
    tid: Option<i32>,
    facts: Option<&ProcessFacts>,
) -> Value {
    let zombies = facts.map(|f| {
        f.zombies
            .iter()
            .map(|z| json!({ "pid": z.pid, "name": z.name.to_string_lossy() }))
            .collect::<Vec<_>>()
    });
    json!({
        "pid": pid,
        "tid": tid,
        "name": status.name.to_string_lossy(),
        "state": procinfo::state_name(status.state),
        "uid": status.uid,
        "user": users::name(status.uid),
        "kernel_thread": status.kernel_thread,
        "namespace_init": facts.map(|f| f.namespace_init),
        "zombie_children": zombies,
        "blocked_unhandled": facts.map(|f| output::names(f.blocked_unhandled)),
        "blocked": output::names(status.blocked),
        "ignored": output::names(status.ignored),
        "caught": output::names(status.caught),
        "pending": output::names(status.thread_pending),
        "shared_pending": output::names(status.shared_pending),
    })
}

fn show_table(status: &ProcSignals, all: bool) {
    output::line(&format!(
        "  {:<13} {:>3}  {:<9} {:<7} {:<7} {:<6} {}",
        "SIGNAL", "NUM", "HANDLING", "BLOCKED", "PENDING", "SHARED", "DEFAULT"
    ));
    let mut shown = 0;
    for signal in Signal::all() {
        let row = Row::of(status, signal);
        if !all && !row.notable() {
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
