//! `sigbus-fd`: one subscription woken through its readiness fd in a plain
//! level-triggered epoll loop, drained with `try_recv` until `Empty`.
//!
//! The router raises the subscription's eventfd (a `write`) after putting the
//! event in the mailbox; `epoll_wait` returns in the loop's thread, and
//! `try_recv` takes the event, lowering the fd (a `read`) before it returns
//! because the mailbox is empty again. Compared with `sigbus` (a thread
//! blocked in `recv`).

use std::sync::Arc;

use sigbus::{Bus, TryRecvError};

use crate::epoll::{self, Epoll};
use crate::variants::floor::send_ping;
use crate::variants::pingpong::{Arrivals, PingPong};
use crate::variants::{failed, join, spawn, Params, PING};
use crate::LatencyStats;

pub(crate) fn subscription(params: Params) -> Result<LatencyStats, String> {
    let bus = Bus::new();
    let arrivals = Arrivals::new(1);
    let total = params.warmup + params.rounds;
    let subscription = bus.subscribe(PING).map_err(failed("subscribing"))?;
    let epoll = Epoll::new().map_err(failed("epoll_create1"))?;
    let fd = subscription.ready_fd().map_err(failed("ready_fd"))?;
    epoll.add_readable(fd, 0).map_err(failed("epoll_ctl"))?;
    let worker = {
        let arrivals = Arc::clone(&arrivals);
        spawn("epoll-loop".into(), move || {
            let mut ready = [epoll::NOTHING; 8];
            let mut taken = 0;
            while taken < total {
                if let Err(e) = epoll.wait(&mut ready) {
                    return arrivals.fail(format!("epoll_wait: {e}"));
                }
                // The drain protocol: until Empty, which leaves the fd unreadable.
                loop {
                    match subscription.try_recv() {
                        Ok(_) => {
                            arrivals.arrived(0);
                            taken += 1;
                        }
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Closed) => {
                            return arrivals.fail("the mailbox closed".into())
                        }
                    }
                }
            }
        })?
    };
    let stats = PingPong::new(arrivals).run(params, send_ping())?;
    join(worker)?;
    bus.shutdown();
    Ok(stats)
}
