//! Graceful shutdown on SIGINT/SIGTERM, the way Unix parents expect.

use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{after, bounded, select, unbounded, Receiver, Sender};
use log::{debug, warn};
use sigcore::{Signal, SignalSet};

use crate::{Bus, BusError, Overflow};

/// Sent to every actor when shutdown begins (see [`crate::Actor::on_shutdown`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShutdownNotice {
    /// The signal that started it, or `None` when triggered by code or by an
    /// escalating actor.
    pub signal: Option<Signal>,
    /// When the grace period ends and the process is ended by that signal.
    pub deadline: Instant,
}

/// How a graceful shutdown ended, when it ended well.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShutdownOutcome {
    /// The signal that started it (`None`: triggered by code or escalation).
    pub signal: Option<Signal>,
    /// From the first signal until every actor had stopped and the bus was down.
    pub took: Duration,
}

/// Runs graceful shutdown for a bus; see [`Bus::shutdown_coordinator`].
pub struct ShutdownCoordinator {
    outcome: Receiver<ShutdownOutcome>,
    trigger: Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Bus {
    /// Starts a coordinator thread that turns SIGINT and SIGTERM into a graceful
    /// shutdown:
    ///
    /// 1. the first one sends every actor a [`ShutdownNotice`] (their
    ///    `on_shutdown` hook) and starts a `grace` period;
    /// 2. when every actor has stopped within it, the bus shuts down and
    ///    [`ShutdownCoordinator::wait`] returns: return from `main` to exit 0;
    /// 3. a second SIGINT/SIGTERM, or the end of the grace period, ends the
    ///    process by that signal ([`sigcore::exit_by_signal`]): the parent sees
    ///    "killed by SIGTERM" (a shell shows 143, or 130 for SIGINT).
    ///
    /// An actor with [`crate::Supervision::Escalate`] that fails starts the same
    /// sequence, as does [`ShutdownCoordinator::trigger`].
    ///
    /// # Errors
    ///
    /// As for [`Bus::subscribe`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use sigcore::Signal;
    ///
    /// sigcore::block([Signal::INT, Signal::TERM].into())?;
    /// let bus = sigbus::Bus::new();
    /// // ... spawn actors ...
    /// let coordinator = bus.shutdown_coordinator(Duration::from_secs(5))?;
    /// if let Some(outcome) = coordinator.wait() { // returns after a clean shutdown
    ///     println!("stopped by {:?} in {:?}", outcome.signal, outcome.took);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown_coordinator(&self, grace: Duration) -> Result<ShutdownCoordinator, BusError> {
        let signals = SignalSet::from([Signal::INT, Signal::TERM]);
        let subscription = self
            .subscription(signals)
            .name("shutdown-coordinator")
            .capacity(8)
            .overflow(Overflow::DropNewest)
            .open()?;
        let (trigger, triggered) = bounded(1);
        let (escalate_tx, escalations) = unbounded();
        *self
            .inner
            .escalations
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(escalate_tx);
        let (outcome_tx, outcome) = bounded(1);
        let bus = self.clone();
        let builder = thread::Builder::new().name("sigbus-shutdown".into());
        let thread = sigcore::spawn_blocked(builder, move || {
            let first = select! {
                recv(subscription.receiver()) -> event => match event {
                    Ok(event) => Some(event.signal),
                    Err(_) => return, // the bus shut down some other way
                },
                recv(triggered) -> _ => None,
                recv(escalations) -> _ => None,
            };
            let started = Instant::now();
            // A grace of Duration::MAX means "wait as long as it takes".
            let far = Duration::from_secs(100 * 365 * 24 * 3600);
            let deadline = started.checked_add(grace).unwrap_or(started + far);
            let timeout = after(grace.min(far));
            let name = first.map_or("a request", Signal::name);
            debug!(
                "sigbus: {name}: shutting down, {} actor(s), grace {grace:?}",
                bus.live_actors()
            );
            bus.broadcast_shutdown(&crate::ShutdownNotice {
                signal: first,
                deadline,
            });
            let exits = bus.inner.exits.1.clone();
            while bus.live_actors() > 0 {
                select! {
                    recv(subscription.receiver()) -> event => {
                        if let Ok(event) = event {
                            warn!("sigbus: second {}: ending now", event.signal);
                            sigcore::exit_by_signal(event.signal);
                        }
                    },
                    recv(exits) -> _ => {},
                    recv(timeout) -> _ => {
                        let signal = first.unwrap_or(Signal::TERM);
                        warn!(
                            "sigbus: {} actor(s) still running after {grace:?}; ending by {signal}",
                            bus.live_actors()
                        );
                        sigcore::exit_by_signal(signal);
                    },
                }
            }
            drop(subscription);
            bus.shutdown();
            let _ = outcome_tx.send(ShutdownOutcome {
                signal: first,
                took: started.elapsed(),
            });
        })
        .map_err(BusError::Spawn)?;
        Ok(ShutdownCoordinator {
            outcome,
            trigger,
            thread: Some(thread),
        })
    }
}

impl ShutdownCoordinator {
    /// Starts the shutdown sequence as if a signal had come.
    pub fn trigger(&self) {
        let _ = self.trigger.try_send(());
    }

    /// Waits until the shutdown has finished cleanly; the process is ended by a
    /// signal otherwise, so this does not return then. `None` when the bus was
    /// shut down some other way (`Bus::shutdown`) before any shutdown signal.
    pub fn wait(mut self) -> Option<ShutdownOutcome> {
        let outcome = self.outcome.recv().ok();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        outcome
    }

    /// Waits at most `timeout`; `None` if the shutdown has not finished by then
    /// (or never started).
    pub fn wait_timeout(&self, timeout: Duration) -> Option<ShutdownOutcome> {
        self.outcome.recv_timeout(timeout).ok()
    }
}
