//! `sigbus`, `sigbus-fanout-K` and `sigbus-actor`: events routed by a bus to
//! subscriptions read on worker threads, or to an actor's mailbox.

use std::sync::Arc;

use sigbus::Bus;

use crate::variants::floor::send_ping;
use crate::variants::pingpong::{Arrivals, PingPong};
use crate::variants::{failed, join, spawn, Params, PING};
use crate::LatencyStats;

/// `sigbus`: one subscription, read on one worker thread.
pub(crate) fn subscription(params: Params) -> Result<LatencyStats, String> {
    fanout(params, 1)
}

/// `sigbus-fanout-K`: K subscriptions of one bus, each read on its own thread.
pub(crate) fn fanout(params: Params, receivers: usize) -> Result<LatencyStats, String> {
    let bus = Bus::new();
    let arrivals = Arrivals::new(receivers);
    let total = params.warmup + params.rounds;
    let mut workers = Vec::with_capacity(receivers);
    for k in 0..receivers {
        let subscription = bus.subscribe(PING).map_err(failed("subscribing"))?;
        let arrivals = Arc::clone(&arrivals);
        workers.push(spawn(format!("subscriber-{k}"), move || {
            for _ in 0..total {
                match subscription.recv() {
                    Ok(_) => arrivals.arrived(k),
                    Err(_) => return arrivals.fail("the mailbox closed".into()),
                }
            }
        })?);
    }
    let stats = PingPong::new(arrivals).run(params, send_ping())?;
    for worker in workers {
        join(worker)?;
    }
    bus.shutdown();
    Ok(stats)
}

/// `sigbus-channel`: one subscription read through its channel
/// (`Subscription::receiver`, as `select!` does): the mailbox as a bounded
/// crossbeam channel, each event one channel send and one channel wake-up.
pub(crate) fn channel(params: Params) -> Result<LatencyStats, String> {
    let bus = Bus::new();
    let arrivals = Arrivals::new(1);
    let total = params.warmup + params.rounds;
    let subscription = bus.subscribe(PING).map_err(failed("subscribing"))?;
    let worker = {
        let arrivals = Arc::clone(&arrivals);
        spawn("subscriber-0".into(), move || {
            let receiver = subscription.receiver();
            for _ in 0..total {
                match receiver.recv() {
                    Ok(_) => arrivals.arrived(0),
                    Err(_) => return arrivals.fail("the mailbox closed".into()),
                }
            }
        })?
    };
    let stats = PingPong::new(arrivals).run(params, send_ping())?;
    join(worker)?;
    bus.shutdown();
    Ok(stats)
}

/// `sigbus-actor`: one actor subscribed to the signal; its handler records.
pub(crate) fn actor(params: Params) -> Result<LatencyStats, String> {
    let bus = Bus::new();
    let arrivals = Arrivals::new(1);
    let handler = {
        let arrivals = Arc::clone(&arrivals);
        move |_: &mut sigbus::Context<()>, _: sigbus::SignalEvent| arrivals.arrived(0)
    };
    let actor = bus
        .actor("bench-actor")
        .signals(PING)
        .spawn_fn(handler)
        .map_err(failed("spawning the actor"))?;
    let stats = PingPong::new(arrivals).run(params, send_ping())?;
    actor.stop();
    bus.shutdown();
    Ok(stats)
}
