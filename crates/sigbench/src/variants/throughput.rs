//! Streams of queued real-time signals: `sigqueue(SIGRTMIN+1, n)` for n = 0, 1,
//! 2…, as fast as the kernel queue takes them, through a bus to 1 or K
//! subscribers (`rt-throughput-K`) or through the raw `sigwaitinfo` + crossbeam
//! path (`floor-hop-throughput`). Each receiver checks that every payload came
//! exactly once, in order.

use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use sigbus::Bus;

use crate::raw::{self, SigSet};
use crate::variants::{failed, join, spawn, stream_signal};
use crate::ThroughputStats;

/// Mailbox (or channel) capacity of each receiver: room for the whole stream.
///
/// The router runs on the waiter thread and never waits for a slow reader: it
/// drains the kernel queue in batches faster than a reader takes events one by
/// one, and a full mailbox drops (by design). With the default 256 slots most
/// of a 20,000-event burst would be dropped at the mailbox, and the rate would
/// be the sender's. Room for the whole stream makes `lost` count real losses
/// only and the rate the pipeline's.
fn capacity(count: usize) -> usize {
    count.max(sigbus::DEFAULT_MAILBOX)
}

/// A receiver that gets nothing for this long decides the stream is over (its
/// tail was lost); the wait is not counted in the rate.
const IDLE_END: Duration = Duration::from_secs(5);

/// What one receiver saw.
#[derive(Default)]
struct Check {
    lost: u64,
    violations: u64,
    /// Nanoseconds since the shared base when its last event arrived.
    last_at: u64,
}

/// Follows a stream of payloads `0..count` until the last one (or the end).
fn check_stream(count: u64, base: Instant, mut next: impl FnMut() -> Option<i32>) -> Check {
    let mut check = Check::default();
    let mut expected = 0u64;
    while expected < count {
        let Some(value) = next() else { break };
        check.last_at = base.elapsed().as_nanos() as u64;
        let Ok(value) = u64::try_from(value) else {
            check.violations += 1;
            continue;
        };
        if value >= expected {
            check.lost += value - expected;
            expected = value + 1;
        } else {
            check.violations += 1;
        }
    }
    check.lost += count - expected;
    check
}

/// Sends `0..count` with `sigqueue`, yielding while the kernel queue is full;
/// returns how many sends were refused for that.
fn stream(count: usize) -> Result<u64, String> {
    let signal = stream_signal()?;
    let pid = std::process::id() as i32;
    let mut queue_full = 0;
    for value in 0..count {
        loop {
            match sigcore::sigqueue(pid, signal, value as i32) {
                Ok(()) => break,
                Err(sigcore::Error::QueueFull { .. }) => {
                    queue_full += 1;
                    thread::yield_now();
                }
                Err(e) => return Err(format!("sigqueue: {e}")),
            }
        }
    }
    Ok(queue_full)
}

fn stats(
    count: usize,
    subscribers: usize,
    start: u64,
    checks: &[Check],
    queue_full: u64,
) -> ThroughputStats {
    let end = checks.iter().map(|c| c.last_at).max().unwrap_or(start);
    let seconds = end.saturating_sub(start) as f64 / 1e9;
    ThroughputStats {
        subscribers: subscribers as u64,
        events: count as u64,
        events_per_s: if seconds > 0.0 {
            count as f64 / seconds
        } else {
            0.0
        },
        lost: checks.iter().map(|c| c.lost).sum(),
        violations: checks.iter().map(|c| c.violations).sum(),
        capacity: capacity(count) as u64,
        queue_full,
    }
}

/// `rt-throughput-K`: a bus with K subscriptions, each read on its own thread.
pub(crate) fn bus(count: usize, subscribers: usize) -> Result<ThroughputStats, String> {
    let signal = stream_signal()?;
    let bus = Bus::new();
    let base = Instant::now();
    let mut workers = Vec::with_capacity(subscribers);
    for k in 0..subscribers {
        let subscription = bus
            .subscription(signal)
            .capacity(capacity(count))
            .open()
            .map_err(failed("subscribing"))?;
        workers.push(spawn(format!("subscriber-{k}"), move || {
            check_stream(count as u64, base, || {
                let event = subscription.recv_timeout(IDLE_END).ok()?;
                Some(event.origin.value().unwrap_or(-1))
            })
        })?);
    }
    let start = base.elapsed().as_nanos() as u64;
    let queue_full = stream(count)?;
    let checks = workers
        .into_iter()
        .map(join)
        .collect::<Result<Vec<_>, _>>()?;
    bus.shutdown();
    Ok(stats(count, subscribers, start, &checks, queue_full))
}

/// `floor-hop-throughput`: `sigwaitinfo` on one thread, `try_send` over a
/// crossbeam channel of the same capacity to a worker.
pub(crate) fn floor_hop(count: usize) -> Result<ThroughputStats, String> {
    let signal = stream_signal()?;
    let base = Instant::now();
    let (tx, rx) = bounded::<i32>(capacity(count));
    let forwarder = spawn("floor-forwarder".into(), move || {
        let set = SigSet::of(&[signal.number()]);
        for _ in 0..count {
            let event = raw::wait_timeout(&set, IDLE_END)
                .map_err(failed("sigtimedwait"))?
                .ok_or("the stream stopped early")?;
            // A full channel drops, as a bus mailbox does; the worker counts it.
            let _ = tx.try_send(event.value);
        }
        Ok::<(), String>(())
    })?;
    let worker = spawn("worker".into(), move || {
        check_stream(count as u64, base, || rx.recv_timeout(IDLE_END).ok())
    })?;
    let start = base.elapsed().as_nanos() as u64;
    let queue_full = stream(count)?;
    join(forwarder)??;
    let check = join(worker)?;
    Ok(stats(count, 1, start, &[check], queue_full))
}
