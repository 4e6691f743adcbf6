//! The baselines: a raw `sigwaitinfo` loop (one kernel wake-up), and the same
//! forwarding over `crossbeam-channel` to one or K worker threads (the wake-ups
//! a bus cannot avoid).

use std::sync::Arc;

use crossbeam_channel::{bounded, Sender};

use crate::raw::{self, RawEvent, SigSet};
use crate::variants::pingpong::{Arrivals, PingPong};
use crate::variants::{failed, join, spawn, Params, PING};
use crate::LatencyStats;

/// Sends the ping signal to this process, as `kill(1)` from outside would.
pub(crate) fn send_ping() -> impl FnMut() -> Result<(), String> {
    let pid = std::process::id() as i32;
    move || sigcore::kill(pid, PING).map_err(failed("kill"))
}

/// `floor`: the receiving thread itself records.
pub(crate) fn floor(params: Params) -> Result<LatencyStats, String> {
    let arrivals = Arrivals::new(1);
    let total = params.warmup + params.rounds;
    let set = SigSet::of(&[PING.number()]);
    let receiver = {
        let arrivals = Arc::clone(&arrivals);
        spawn("floor".into(), move || {
            for _ in 0..total {
                match raw::wait(&set) {
                    Ok(_) => arrivals.arrived(0),
                    Err(e) => return arrivals.fail(format!("sigwaitinfo: {e}")),
                }
            }
        })?
    };
    let stats = PingPong::new(arrivals).run(params, send_ping())?;
    join(receiver)?;
    Ok(stats)
}

/// `floor-hop`: one hop to one worker.
pub(crate) fn floor_hop(params: Params) -> Result<LatencyStats, String> {
    hop(params, 1)
}

/// `floor-fanout-K`: one hop to each of K workers.
pub(crate) fn fanout(params: Params, receivers: usize) -> Result<LatencyStats, String> {
    hop(params, receivers)
}

fn hop(params: Params, receivers: usize) -> Result<LatencyStats, String> {
    let arrivals = Arrivals::new(receivers);
    let total = params.warmup + params.rounds;
    let mut senders = Vec::with_capacity(receivers);
    let mut workers = Vec::with_capacity(receivers);
    for k in 0..receivers {
        // The same capacity as a bus mailbox, so both channels behave alike.
        let (tx, rx) = bounded::<RawEvent>(sigbus::DEFAULT_MAILBOX);
        senders.push(tx);
        let arrivals = Arc::clone(&arrivals);
        workers.push(spawn(format!("worker-{k}"), move || {
            for _ in 0..total {
                match rx.recv() {
                    Ok(_) => arrivals.arrived(k),
                    Err(_) => return,
                }
            }
        })?);
    }
    let forwarder = {
        let arrivals = Arc::clone(&arrivals);
        spawn("floor-forwarder".into(), move || {
            forward(&arrivals, total, &senders)
        })?
    };
    let stats = PingPong::new(arrivals).run(params, send_ping())?;
    join(forwarder)?;
    for worker in workers {
        join(worker)?;
    }
    Ok(stats)
}

/// Takes `total` signals with `sigwaitinfo` and offers each to every channel,
/// never waiting on a full one (as a bus router does not).
fn forward(arrivals: &Arrivals, total: usize, senders: &[Sender<RawEvent>]) {
    let set = SigSet::of(&[PING.number()]);
    for _ in 0..total {
        let event = match raw::wait(&set) {
            Ok(event) => event,
            Err(e) => return arrivals.fail(format!("sigwaitinfo: {e}")),
        };
        for tx in senders {
            if tx.try_send(event).is_err() {
                return arrivals.fail("a worker's channel was full or closed".into());
            }
        }
    }
}
