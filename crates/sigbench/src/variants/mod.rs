//! The variants, by name, and what each one runs in its child process.

mod bus;
mod bus_async;
mod bus_fd;
mod floor;
mod memory;
mod peer;
mod peer_tokio;
mod pingpong;
mod throughput;
mod waiter;

use std::fmt::Display;
use std::thread::{Builder, JoinHandle};

use sigcore::Signal;

use crate::{BenchError, Outcome};

/// A variant and its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Variant {
    Floor,
    FloorHop,
    Sigcore,
    Sigbus,
    SigbusChannel,
    SigbusAsync,
    SigbusFd,
    SigbusActor,
    FloorFanout(usize),
    SigbusFanout(usize),
    Peer,
    PeerTokio,
    FloorHopThroughput,
    RtThroughput(usize),
    Alloc,
    AllocAsync,
}

/// Every variant in run order: baselines just before what they are compared with.
const ALL: &[(&str, Variant)] = &[
    ("floor", Variant::Floor),
    ("floor-hop", Variant::FloorHop),
    ("sigcore", Variant::Sigcore),
    ("sigbus", Variant::Sigbus),
    ("sigbus-async", Variant::SigbusAsync),
    ("sigbus-fd", Variant::SigbusFd),
    ("sigbus-channel", Variant::SigbusChannel),
    ("sigbus-actor", Variant::SigbusActor),
    ("floor-fanout-4", Variant::FloorFanout(4)),
    ("sigbus-fanout-4", Variant::SigbusFanout(4)),
    ("floor-fanout-16", Variant::FloorFanout(16)),
    ("sigbus-fanout-16", Variant::SigbusFanout(16)),
    ("floor-fanout-64", Variant::FloorFanout(64)),
    ("sigbus-fanout-64", Variant::SigbusFanout(64)),
    ("floor-fanout-256", Variant::FloorFanout(256)),
    ("sigbus-fanout-256", Variant::SigbusFanout(256)),
    ("peer-signal-hook", Variant::Peer),
    ("peer-tokio", Variant::PeerTokio),
    ("floor-hop-throughput", Variant::FloorHopThroughput),
    ("rt-throughput-1", Variant::RtThroughput(1)),
    ("rt-throughput-4", Variant::RtThroughput(4)),
    ("alloc", Variant::Alloc),
    ("alloc-async", Variant::AllocAsync),
];

/// Fan-out at or above this many receivers runs a tenth of the rounds.
pub(crate) const SCALE_FANOUT_FROM: usize = 64;

/// Throughput variants stream at least this many events.
pub(crate) const MIN_STREAM: usize = 20_000;

/// The signal of the latency variants.
pub(crate) const PING: Signal = Signal::USR1;

/// The signal the idle subscriptions of `alloc` take (never sent).
pub(crate) const IDLE: Signal = Signal::USR2;

/// The real-time signal of the throughput variants: `SIGRTMIN+1`.
pub(crate) fn stream_signal() -> Result<Signal, String> {
    Signal::realtime(1).map_err(failed("SIGRTMIN+1"))
}

/// Every variant name, in the order a full run takes them.
///
/// # Examples
///
/// ```
/// let names = sigbench::variant_names();
/// assert_eq!(names[0], "floor");
/// assert!(names.contains(&"sigbus-fanout-256"));
/// ```
pub fn variant_names() -> Vec<&'static str> {
    ALL.iter().map(|(name, _)| *name).collect()
}

/// Checks that every name is a variant.
///
/// # Errors
///
/// [`BenchError::UnknownVariant`] naming the first unknown one.
///
/// # Examples
///
/// ```
/// assert!(sigbench::check_variants(&["floor".to_string()]).is_ok());
/// let err = sigbench::check_variants(&["flour".to_string()]).unwrap_err();
/// assert!(matches!(err, sigbench::BenchError::UnknownVariant { .. }));
/// ```
pub fn check_variants(names: &[String]) -> Result<(), BenchError> {
    match names.iter().find(|name| Variant::find(name).is_none()) {
        Some(name) => Err(BenchError::UnknownVariant { name: name.clone() }),
        None => Ok(()),
    }
}

/// Rounds for one child: the requested ones, scaled down for wide fan-out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Params {
    pub rounds: usize,
    pub warmup: usize,
}

impl Variant {
    pub(crate) fn find(name: &str) -> Option<Variant> {
        ALL.iter()
            .find(|(known, _)| *known == name)
            .map(|(_, variant)| *variant)
    }

    /// The baseline a fan-out row is compared with.
    pub(crate) fn fanout_baseline(self) -> Option<String> {
        match self {
            Variant::SigbusFanout(k) => Some(format!("floor-fanout-{k}")),
            _ => None,
        }
    }

    /// Rounds and warm-up actually run, and whether they were scaled down.
    pub(crate) fn scaled(self, requested: Params) -> (Params, bool) {
        match self {
            Variant::FloorFanout(k) | Variant::SigbusFanout(k) if k >= SCALE_FANOUT_FROM => (
                Params {
                    rounds: (requested.rounds / 10).max(1),
                    warmup: requested.warmup / 10,
                },
                true,
            ),
            _ => (requested, false),
        }
    }

    /// Runs the variant in this (child) process.
    pub(crate) fn run(self, requested: Params) -> Result<Outcome, String> {
        let (params, scaled) = self.scaled(requested);
        let stream = params.rounds.max(MIN_STREAM);
        let outcome = match self {
            Variant::Floor => Outcome::Latency(floor::floor(params)?),
            Variant::FloorHop => Outcome::Latency(floor::floor_hop(params)?),
            Variant::Sigcore => Outcome::Latency(waiter::sigcore(params)?),
            Variant::Sigbus => Outcome::Latency(bus::subscription(params)?),
            Variant::SigbusChannel => Outcome::Latency(bus::channel(params)?),
            Variant::SigbusAsync => Outcome::Latency(bus_async::subscription(params)?),
            Variant::SigbusFd => Outcome::Latency(bus_fd::subscription(params)?),
            Variant::SigbusActor => Outcome::Latency(bus::actor(params)?),
            Variant::FloorFanout(k) => Outcome::Latency(floor::fanout(params, k)?),
            Variant::SigbusFanout(k) => Outcome::Latency(bus::fanout(params, k)?),
            Variant::Peer => Outcome::Latency(peer::signal_hook(params)?),
            Variant::PeerTokio => Outcome::Latency(peer_tokio::tokio_signal(params)?),
            Variant::FloorHopThroughput => Outcome::Throughput(throughput::floor_hop(stream)?),
            Variant::RtThroughput(k) => Outcome::Throughput(throughput::bus(stream, k)?),
            Variant::Alloc => Outcome::Alloc(memory::alloc(params, memory::Reader::Thread)?),
            Variant::AllocAsync => Outcome::Alloc(memory::alloc(params, memory::Reader::Task)?),
        };
        Ok(match outcome {
            Outcome::Latency(mut stats) => {
                stats.scaled = scaled;
                Outcome::Latency(stats)
            }
            other => other,
        })
    }
}

/// Maps an error to a message naming what failed.
pub(crate) fn failed<E: Display>(what: &'static str) -> impl FnOnce(E) -> String {
    move |e| format!("{what}: {e}")
}

/// Spawns a receiving thread. It inherits the caller's mask: the child's main
/// thread blocked the benchmark's signals before anything else ran. Stacks are
/// small because fan-out spawns hundreds of these.
pub(crate) fn spawn<T: Send + 'static>(
    name: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<JoinHandle<T>, String> {
    Builder::new()
        .name(name)
        .stack_size(256 * 1024)
        .spawn(f)
        .map_err(failed("spawning a thread"))
}

/// The runtime of `sigbus-async`, `peer-tokio` and `alloc-async`: tokio's
/// current-thread scheduler on the calling thread, with its IO driver (which
/// `tokio::signal` needs, and which an application's runtime has), so it parks
/// in `epoll_wait` and is unparked through an eventfd.
pub(crate) fn current_thread_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(failed("building the tokio runtime"))
}

/// Joins a receiving thread, turning its panic into an error.
pub(crate) fn join<T>(handle: JoinHandle<T>) -> Result<T, String> {
    handle
        .join()
        .map_err(|_| "a receiving thread panicked".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        let names = variant_names();
        for (i, name) in names.iter().enumerate() {
            assert!(!names[..i].contains(name), "{name} twice");
            assert!(Variant::find(name).is_some());
        }
        assert!(Variant::find("floor-fanout-5").is_none());
    }

    #[test]
    fn receiving_paths_sit_next_to_their_baselines() {
        let names = variant_names();
        let at = |name: &str| names.iter().position(|n| *n == name).unwrap();
        assert_eq!(at("sigbus-async"), at("sigbus") + 1);
        assert_eq!(at("sigbus-fd"), at("sigbus") + 2);
        assert_eq!(at("peer-tokio"), at("peer-signal-hook") + 1);
        assert_eq!(at("alloc-async"), at("alloc") + 1);
        assert_eq!(Variant::find("sigbus-async"), Some(Variant::SigbusAsync));
        assert_eq!(Variant::find("sigbus-fd"), Some(Variant::SigbusFd));
        assert_eq!(Variant::find("peer-tokio"), Some(Variant::PeerTokio));
        assert_eq!(Variant::find("alloc-async"), Some(Variant::AllocAsync));
    }

    #[test]
    fn only_wide_fanout_is_scaled() {
        let requested = Params {
            rounds: 20_000,
            warmup: 1_000,
        };
        assert_eq!(Variant::Sigbus.scaled(requested), (requested, false));
        assert!(!Variant::SigbusFanout(16).scaled(requested).1);
        let (params, scaled) = Variant::FloorFanout(64).scaled(requested);
        assert!(scaled);
        assert_eq!((params.rounds, params.warmup), (2_000, 100));
    }
}
