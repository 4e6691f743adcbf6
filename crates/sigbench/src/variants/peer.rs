//! `peer-signal-hook`: `signal_hook::iterator::Signals` on a thread of its own,
//! forwarding to a worker over a crossbeam channel.
//!
//! signal-hook runs a handler that writes to a pipe its iterator reads, so the
//! signal must be unblocked somewhere. It gets its best case: unblocked only in
//! the iterator thread, so the handler runs on the thread that reads the pipe
//! (with the default mask the kernel would pick the main thread first and add a
//! wake-up).

use std::sync::Arc;

use crossbeam_channel::bounded;
use signal_hook::iterator::Signals;

use crate::variants::floor::send_ping;
use crate::variants::pingpong::{Arrivals, PingPong};
use crate::variants::{failed, join, spawn, Params, PING};
use crate::LatencyStats;

pub(crate) fn signal_hook(params: Params) -> Result<LatencyStats, String> {
    let arrivals = Arrivals::new(1);
    let total = params.warmup + params.rounds;
    let mut signals = Signals::new([PING.number()]).map_err(failed("signal-hook"))?;
    let (tx, rx) = bounded::<i32>(sigbus::DEFAULT_MAILBOX);
    let (ready_tx, ready) = bounded::<()>(1);
    let iterator = {
        let arrivals = Arc::clone(&arrivals);
        spawn("signal-hook".into(), move || {
            if let Err(e) = sigcore::unblock(PING) {
                return arrivals.fail(format!("unblocking in the iterator thread: {e}"));
            }
            let _ = ready_tx.send(());
            for signal in signals.forever().take(total) {
                if tx.try_send(signal).is_err() {
                    return arrivals.fail("the worker's channel was full or closed".into());
                }
            }
        })?
    };
    let worker = {
        let arrivals = Arc::clone(&arrivals);
        spawn("worker".into(), move || {
            for _ in 0..total {
                match rx.recv() {
                    Ok(_) => arrivals.arrived(0),
                    Err(_) => return,
                }
            }
        })?
    };
    ready
        .recv()
        .map_err(failed("starting the iterator thread"))?;
    let stats = PingPong::new(arrivals).run(params, send_ping())?;
    join(iterator)?;
    join(worker)?;
    Ok(stats)
}
