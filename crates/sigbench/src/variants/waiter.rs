//! `sigcore`: the waiter thread with the typed event in hand, through a
//! [`sigcore::Registration`] whose sink records on the waiter thread itself.

use std::sync::Arc;

use sigcore::{Registration, SignalEvent};

use crate::variants::floor::send_ping;
use crate::variants::pingpong::{Arrivals, PingPong};
use crate::variants::{failed, Params, PING};
use crate::LatencyStats;

pub(crate) fn sigcore(params: Params) -> Result<LatencyStats, String> {
    let arrivals = Arrivals::new(1);
    let sink = {
        let arrivals = Arc::clone(&arrivals);
        move |_: &SignalEvent| arrivals.arrived(0)
    };
    let registration = Registration::new(PING, sink).map_err(failed("registering"))?;
    let stats = PingPong::new(arrivals).run(params, send_ping())?;
    drop(registration);
    Ok(stats)
}
