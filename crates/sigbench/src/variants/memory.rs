//! `alloc` and `alloc-async`: allocations per routed event, read by a thread
//! blocked in `recv` or by a task awaiting `recv_async` on a current-thread
//! runtime (the `sigbus-async` path), and memory per idle subscription.

use std::sync::Arc;
use std::thread::JoinHandle;

use sigbus::{Bus, Subscription};
use tokio::runtime::Runtime;

use crate::alloc::{allocations, is_counting, live_bytes};
use crate::raw;
use crate::variants::floor::send_ping;
use crate::variants::pingpong::{Arrivals, PingPong};
use crate::variants::{bus_async, failed, join, spawn, Params, IDLE, PING};
use crate::AllocStats;

/// Who reads the routed events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reader {
    /// A thread blocked in `recv` (`alloc`).
    Thread,
    /// A task awaiting `recv_async` on a current-thread runtime (`alloc-async`).
    Task,
}

/// Idle subscriptions opened for the memory figure.
const IDLE_SUBSCRIPTIONS: usize = 1_000;

pub(crate) fn alloc(params: Params, reader: Reader) -> Result<AllocStats, String> {
    if !is_counting() {
        return Err(
            "sigbench::CountingAlloc is not this binary's global allocator; \
                    declare it with #[global_allocator] to measure allocations"
                .into(),
        );
    }
    let bus = Bus::new();
    let (events, allocations) = routed(&bus, params, reader)?;
    let (rss, heap) = idle_subscriptions(&bus)?;
    bus.shutdown();
    Ok(AllocStats {
        events,
        allocations,
        allocs_per_event: allocations as f64 / events.max(1) as f64,
        rss_kib_per_1000_subs: rss * 1000.0 / IDLE_SUBSCRIPTIONS as f64,
        heap_kib_per_1000_subs: heap * 1000.0 / IDLE_SUBSCRIPTIONS as f64,
    })
}

/// Routes warm-up rounds, then counts the process's allocations across
/// `params.rounds` more: kill → waiter → router → mailbox → worker (or waker →
/// runtime → task), plus the benchmark's own ping-pong, which allocates nothing
/// once its histograms exist.
fn routed(bus: &Bus, params: Params, reader: Reader) -> Result<(u64, u64), String> {
    let arrivals = Arrivals::new(1);
    let total = params.warmup + params.rounds;
    let subscription = bus.subscribe(PING).map_err(failed("subscribing"))?;
    // The subscription comes back to be dropped here after counting: its
    // closing allocates (a new routing table), which must not be counted.
    let worker = if reader == Reader::Task {
        // The same thread, runtime and task as `sigbus-async`, built before the
        // first round; the runtime comes back too (its shutdown allocates).
        let worker = bus_async::spawn_task_thread(subscription, Arc::clone(&arrivals), total)?;
        Worker::Task(worker)
    } else {
        let arrivals = Arc::clone(&arrivals);
        Worker::Thread(spawn("subscriber".into(), move || {
            for _ in 0..total {
                if subscription.recv().is_err() {
                    arrivals.fail("the mailbox closed".into());
                    break;
                }
                arrivals.arrived(0);
            }
            subscription
        })?)
    };
    let mut pingpong = PingPong::new(arrivals);
    let mut send = send_ping();
    pingpong.rounds(params.warmup, false, &mut send)?;
    let before = allocations();
    pingpong.rounds(params.rounds, true, &mut send)?;
    let counted = allocations() - before;
    match worker {
        Worker::Thread(worker) => drop(join(worker)?),
        Worker::Task(worker) => drop(join(worker)?),
    }
    Ok((params.rounds as u64, counted))
}

/// The receiving thread, and what it hands back to be dropped after counting.
enum Worker {
    Thread(JoinHandle<Subscription>),
    Task(JoinHandle<Option<(Subscription, Runtime)>>),
}

/// Resident and heap growth (KiB) while opening idle subscriptions on `bus`.
fn idle_subscriptions(bus: &Bus) -> Result<(f64, f64), String> {
    let mut subscriptions: Vec<Subscription> = Vec::with_capacity(IDLE_SUBSCRIPTIONS);
    let (rss_before, heap_before) = (resident_bytes()?, live_bytes());
    for _ in 0..IDLE_SUBSCRIPTIONS {
        subscriptions.push(bus.subscribe(IDLE).map_err(failed("subscribing"))?);
    }
    let (rss_after, heap_after) = (resident_bytes()?, live_bytes());
    drop(subscriptions);
    let kib = |bytes: f64| bytes / 1024.0;
    Ok((
        kib(rss_after as f64 - rss_before as f64),
        kib((heap_after - heap_before) as f64),
    ))
}

/// Resident set size from `/proc/self/statm` (second field, in pages).
fn resident_bytes() -> Result<u64, String> {
    let statm = std::fs::read_to_string("/proc/self/statm").map_err(failed("/proc/self/statm"))?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .ok_or_else(|| format!("/proc/self/statm: unexpected content {statm:?}"))?;
    Ok(pages * raw::page_size())
}
