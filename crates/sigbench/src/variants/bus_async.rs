//! `sigbus-async`: one subscription awaited with `recv_async` by a task on a
//! tokio current-thread runtime, on one thread of its own.
//!
//! The router wakes the task through the subscription's waker slot; tokio
//! queues it and unparks its thread (parked in `epoll_wait`: the runtime has
//! its IO driver, as an application's does), which polls the task, which takes
//! the event from the mailbox. Compared with `sigbus` (a thread blocked in
//! `recv`) and with `peer-tokio` (tokio's own signal handling on the same
//! runtime).

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::bounded;
use sigbus::{Bus, Subscription};
use tokio::runtime::Runtime;

use crate::variants::floor::send_ping;
use crate::variants::pingpong::{Arrivals, PingPong};
use crate::variants::{current_thread_runtime, failed, join, spawn, Params, PING};
use crate::LatencyStats;

pub(crate) fn subscription(params: Params) -> Result<LatencyStats, String> {
    let bus = Bus::new();
    let arrivals = Arrivals::new(1);
    let total = params.warmup + params.rounds;
    let subscription = bus.subscribe(PING).map_err(failed("subscribing"))?;
    let worker = spawn_task_thread(subscription, Arc::clone(&arrivals), total)?;
    let stats = PingPong::new(arrivals).run(params, send_ping())?;
    join(worker)?;
    bus.shutdown();
    Ok(stats)
}

/// A thread running a current-thread runtime whose one spawned task receives
/// `total` events from `subscription`. Returns once the runtime and the task
/// exist. The thread hands the subscription and the runtime back rather than
/// dropping them, so that `alloc-async` drops them after counting: closing a
/// subscription and shutting a runtime down allocate.
pub(crate) fn spawn_task_thread(
    subscription: Subscription,
    arrivals: Arc<Arrivals>,
    total: usize,
) -> Result<JoinHandle<Option<(Subscription, Runtime)>>, String> {
    let (ready_tx, ready) = bounded::<Result<(), String>>(1);
    let thread = spawn("tokio-current-thread".into(), move || {
        let runtime = match current_thread_runtime() {
            Ok(runtime) => runtime,
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return None;
            }
        };
        let task = runtime.spawn(receive(subscription, Arc::clone(&arrivals), total));
        let _ = ready_tx.send(Ok(()));
        match runtime.block_on(task) {
            Ok(subscription) => Some((subscription, runtime)),
            Err(_) => {
                arrivals.fail("the receiving task panicked".into());
                None
            }
        }
    })?;
    ready
        .recv()
        .map_err(failed("starting the runtime's thread"))??;
    Ok(thread)
}

async fn receive(
    subscription: Subscription,
    arrivals: Arc<Arrivals>,
    total: usize,
) -> Subscription {
    for _ in 0..total {
        match subscription.recv_async().await {
            Ok(_) => arrivals.arrived(0),
            Err(_) => {
                arrivals.fail("the mailbox closed".into());
                break;
            }
        }
    }
    subscription
}
