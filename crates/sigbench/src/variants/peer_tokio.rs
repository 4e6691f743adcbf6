//! `peer-tokio`: `tokio::signal::unix::signal(SignalKind::user_defined1())`
//! awaited by a task on a tokio current-thread runtime, on one thread of its
//! own: tokio's own signal handling, as a peer.
//!
//! tokio runs a handler (through signal-hook-registry) that notes the signal
//! and writes a byte to a pipe its signal driver watches in the runtime's
//! `epoll_wait`; the driver drains the pipe and wakes the tasks awaiting that
//! signal. So the signal must be unblocked somewhere. It gets its best case,
//! as `peer-signal-hook` does: SIGUSR1 stays blocked in the sender (the main
//! thread, blocked before any thread exists) and is unblocked only in the
//! runtime's thread, so the kernel delivers it there, interrupting
//! `epoll_wait`, and the handler runs on the thread that reads its pipe: one
//! wake-up. With the default mask the kernel would run the handler on the
//! sending main thread, and the pipe write would wake the runtime's thread.

use std::sync::Arc;

use crossbeam_channel::bounded;
use tokio::signal::unix::{signal, SignalKind};

use crate::variants::floor::send_ping;
use crate::variants::pingpong::{Arrivals, PingPong};
use crate::variants::{current_thread_runtime, failed, join, spawn, Params, PING};
use crate::LatencyStats;

pub(crate) fn tokio_signal(params: Params) -> Result<LatencyStats, String> {
    let arrivals = Arrivals::new(1);
    let total = params.warmup + params.rounds;
    let (ready_tx, ready) = bounded::<Result<(), String>>(1);
    let worker = {
        let arrivals = Arc::clone(&arrivals);
        spawn("tokio-current-thread".into(), move || {
            let runtime = match current_thread_runtime() {
                Ok(runtime) => runtime,
                Err(e) => return drop(ready_tx.send(Err(e))),
            };
            // Installs tokio's handler; needs the runtime's signal driver.
            let listening = {
                let _context = runtime.enter();
                signal(SignalKind::user_defined1())
            };
            let mut usr1 = match listening {
                Ok(usr1) => usr1,
                Err(e) => return drop(ready_tx.send(Err(format!("tokio::signal: {e}")))),
            };
            // The handler is in place: take the signal on this thread only.
            if let Err(e) = sigcore::unblock(PING) {
                let message = format!("unblocking in the runtime's thread: {e}");
                return drop(ready_tx.send(Err(message)));
            }
            let _ = ready_tx.send(Ok(()));
            let task = {
                let arrivals = Arc::clone(&arrivals);
                runtime.spawn(async move {
                    for _ in 0..total {
                        match usr1.recv().await {
                            Some(()) => arrivals.arrived(0),
                            None => return arrivals.fail("tokio's signal stream ended".into()),
                        }
                    }
                })
            };
            if runtime.block_on(task).is_err() {
                arrivals.fail("the receiving task panicked".into());
            }
        })?
    };
    ready
        .recv()
        .map_err(failed("starting the runtime's thread"))??;
    let stats = PingPong::new(arrivals).run(params, send_ping())?;
    join(worker)?;
    Ok(stats)
}
