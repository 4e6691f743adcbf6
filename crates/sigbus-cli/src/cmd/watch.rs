use std::time::Duration;

use crossbeam_channel::{after, never, select, unbounded, Sender};
use serde_json::{json, Map, Value};
use sigbus::{Actor, Bus, Context, Overflow};
use sigcore::{Signal, SignalEvent, SignalSet};

use crate::args::WatchArgs;
use crate::clock;
use crate::error::CliError;
use crate::output;

/// How long workers get to finish after the first Ctrl-C before the second
/// signal (or this deadline) ends the process by SIGINT/SIGTERM.
const GRACE: Duration = Duration::from_secs(5);

pub fn run(args: &WatchArgs) -> Result<(), CliError> {
    let watched: SignalSet = args.signals.iter().copied().collect();
    for signal in watched {
        signal.check_waitable()?;
    }
    // Before any thread exists: block what we watch and the shutdown signals.
    sigcore::block(watched.union([Signal::INT, Signal::TERM].into()))?;

    let bus = Bus::new();
    let (done, finished) = unbounded();
    let workers = (1..=args.workers)
        .map(|i| {
            let index = i as usize - 1;
            let done = done.clone();
            let (limit, json) = (args.count, args.json);
            // Backpressure: a worker that falls behind (a slow terminal or pipe)
            // holds the signals in the kernel rather than dropping them.
            bus.actor(format!("worker-{i}"))
                .signals(watched)
                .capacity(4096)
                .overflow(Overflow::Backpressure)
                .spawn(move || Watcher {
                    index,
                    limit,
                    seen: 0,
                    json,
                    done: done.clone(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let coordinator = bus.shutdown_coordinator(GRACE)?;

    // Printed once every worker is subscribed: a script (or a test) that reads
    // the pid line may send at once.
    let pid = std::process::id();
    if args.json {
        output::json(&json!({ "pid": pid }));
    } else {
        output::line(&format!("pid {pid}"));
        let example = watched
            .iter()
            .next()
            .map_or("USR1", |s| s.name().strip_prefix("SIG").unwrap_or(s.name()));
        output::line(&format!(
            "watching {watched} with {} worker(s); try: kill -s {example} {pid}, or \
             sigbus send {example} {pid} --value 42",
            args.workers
        ));
    }

    let timeout = args
        .timeout
        .map(|secs| after(Duration::from_secs_f64(secs)))
        .unwrap_or_else(never);
    let mut running = workers.len();
    let mut seen = vec![0; workers.len()];
    let mut timed_out = false;
    while running > 0 {
        select! {
            recv(finished) -> report => {
                if let Ok((index, count)) = report {
                    seen[index] = count;
                }
                running -= 1;
            }
            recv(timeout) -> _ => {
                timed_out = true;
                for worker in &workers {
                    worker.stop();
                }
            }
        }
    }
    let stats = bus.stats();
    bus.shutdown();
    drop(coordinator);
    // Read from the workers themselves: a stopped actor's mailbox has left the bus.
    let dropped: u64 = workers.iter().map(|w| w.stats().dropped).sum();

    if args.json {
        let counts: Map<String, Value> = watched
            .iter()
            .map(|s| (s.name().to_owned(), stats.accepted(s).into()))
            .collect();
        output::json(&json!({ "summary": counts, "dropped": dropped }));
    } else {
        let counts: Vec<String> = watched
            .iter()
            .map(|s| format!("{} {}", s.name(), stats.accepted(s)))
            .collect();
        output::line(&format!(
            "summary: {}; dropped {dropped}",
            counts.join(", ")
        ));
    }
    match (args.count, args.timeout) {
        (Some(limit), Some(secs)) if timed_out && seen.iter().any(|&n| n < limit) => {
            Err(CliError::Failed(short_of(limit, secs, &seen)))
        }
        _ => Ok(()),
    }
}

/// The one line that says the timeout came first, and how far each worker got.
fn short_of(limit: u64, secs: f64, seen: &[u64]) -> String {
    let each: Vec<String> = seen
        .iter()
        .enumerate()
        .map(|(i, n)| format!("worker-{} saw {n} of {limit}", i + 1))
        .collect();
    format!(
        "timed out after {secs} s before every worker saw {limit} event(s): {}",
        each.join(", ")
    )
}

/// One worker: prints each event with its own thread name, stops after
/// `limit`, and says how many it saw when it stops.
struct Watcher {
    index: usize,
    limit: Option<u64>,
    seen: u64,
    json: bool,
    done: Sender<(usize, u64)>,
}

impl Actor for Watcher {
    type Msg = ();

    fn handle_signal(&mut self, ctx: &mut Context<()>, event: SignalEvent) {
        let printed = if self.json {
            output::json(&event_json(&event, ctx.name()))
        } else {
            output::line(&event_line(&event, ctx.name()))
        };
        self.seen += 1;
        if !printed || self.limit.is_some_and(|limit| self.seen >= limit) {
            ctx.stop();
        }
    }

    fn post_stop(&mut self, _: &mut Context<()>) {
        let _ = self.done.send((self.index, self.seen));
    }
}

pub fn event_json(event: &SignalEvent, worker: &str) -> Value {
    json!({
        "seq": event.seq,
        "signal": event.signal.name(),
        "number": event.signal.number(),
        "origin": event.origin.kind(),
        "pid": event.origin.pid(),
        "uid": event.origin.uid(),
        "value": event.origin.value(),
        "worker": worker,
        "time": clock::epoch_seconds(clock::epoch_millis(event.at)),
    })
}

pub fn event_line(event: &SignalEvent, worker: &str) -> String {
    let mut text = format!(
        "seq={} signal={}({}) origin={}",
        event.seq,
        event.signal.name(),
        event.signal.number(),
        event.origin.kind()
    );
    if let Some(pid) = event.origin.pid() {
        text.push_str(&format!(" pid={pid}"));
    }
    if let Some(uid) = event.origin.uid() {
        text.push_str(&format!(" uid={uid}"));
    }
    if let Some(value) = event.origin.value() {
        text.push_str(&format!(" value={value}"));
    }
    match event.origin {
        sigcore::Origin::Child { status, .. } | sigcore::Origin::Reaped { status, .. } => {
            text.push_str(&format!(" status=\"{status}\""))
        }
        sigcore::Origin::Io { event, fd } => {
            if let Some(event) = event {
                text.push_str(&format!(" event={}", event.name()));
            }
            if let Some(fd) = fd {
                text.push_str(&format!(" fd={fd}"));
            }
        }
        _ => {}
    }
    text.push_str(&format!(" worker={worker}"));
    text.push_str(&format!(
        " at={}",
        clock::rfc3339(clock::epoch_millis(event.at))
    ));
    text
}
