//! Graceful shutdown on SIGINT/SIGTERM, the way Unix parents expect.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{after, bounded, never, select, unbounded, Receiver, Sender};
use log::{debug, warn};
use sigcore::{Signal, SignalSet, Signals};

use crate::notify::Notify;
use crate::{Bus, BusError};
use sigcore::{RecvError, RecvTimeoutError, TryRecvError};

/// Sent to every actor when shutdown begins (see [`crate::Actor::on_shutdown`]),
/// and to every [`ShutdownCoordinator::notice`] receiver.
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

/// What a SIGINT or SIGTERM does once a shutdown has begun.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecondSignal {
    /// End the process by that signal at once ([`sigcore::exit_by_signal`]) if
    /// it comes at least this long after the first. Signals closer together are
    /// one burst (a terminal's process group, a supervisor or a script that
    /// signals every process at once) and count as the first.
    ForceAfter(Duration),
    /// Never: only the grace period ends a stuck shutdown (Go's `NotifyContext`).
    Ignore,
}

impl Default for SecondSignal {
    /// `ForceAfter(500 ms)`: a person pressing Ctrl-C twice, not a burst.
    fn default() -> SecondSignal {
        SecondSignal::ForceAfter(Duration::from_millis(500))
    }
}

/// Builds a [`ShutdownCoordinator`]; see [`Bus::coordinator`].
#[must_use = "a builder does nothing until `start` is called"]
pub struct CoordinatorBuilder<'a> {
    bus: &'a Bus,
    grace: Duration,
    second: SecondSignal,
}

impl CoordinatorBuilder<'_> {
    /// How long actors get to stop after the first signal (default 5 s;
    /// `Duration::MAX`: as long as it takes).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// What a further SIGINT/SIGTERM does (default [`SecondSignal::default`]).
    pub fn second_signal(mut self, second: SecondSignal) -> Self {
        self.second = second;
        self
    }

    /// Starts the coordinator thread.
    ///
    /// # Errors
    ///
    /// As for [`Bus::subscribe`] (SIGINT/SIGTERM must be servable: another
    /// library's handler on them is `sigcore::Error::ForeignHandler`), plus
    /// [`BusError::Spawn`].
    pub fn start(self) -> Result<ShutdownCoordinator, BusError> {
        let signals = Signals::with_capacity(SignalSet::from([Signal::INT, Signal::TERM]), 16)?;
        let (trigger, triggered) = bounded(1);
        let (escalate_tx, escalations) = unbounded();
        *self
            .bus
            .inner
            .escalations
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(escalate_tx);
        let (outcome_tx, outcome) = bounded(1);
        let shared = Arc::new(Shared {
            notices: Mutex::new(Notices::default()),
            armed: AtomicBool::new(true),
            disarm: bounded(1),
        });
        let run = Run {
            bus: self.bus.clone(),
            signals,
            grace: self.grace,
            second: self.second,
            shared: Arc::clone(&shared),
        };
        let builder = thread::Builder::new().name("sigbus-shutdown".into());
        sigcore::spawn_blocked(builder, move || run.run(triggered, escalations, outcome_tx))
            .map_err(BusError::Spawn)?;
        Ok(ShutdownCoordinator {
            outcome,
            finished: Mutex::new(None),
            trigger,
            shared,
        })
    }
}

/// Runs graceful shutdown for a bus; see [`Bus::shutdown_coordinator`].
///
/// After a clean shutdown its **escape hatch** stays armed until the process
/// exits or [`ShutdownCoordinator::disarm`] is called, even once the coordinator
/// is dropped: a further SIGINT/SIGTERM (per its [`SecondSignal`] policy) ends
/// the process at once, so a user can still interrupt the drain `main` does
/// after [`ShutdownCoordinator::wait`].
///
/// # Examples
///
/// A server actor finishes its work when told, within the grace period; the
/// first SIGTERM (raised here; `kill PID` in real life) starts it all.
///
/// ```
/// use std::time::Duration;
/// use sigbus::{Actor, Context, ShutdownNotice, Signal, SignalEvent};
///
/// struct Server;
///
/// impl Actor for Server {
///     type Msg = ();
///     fn handle_signal(&mut self, _ctx: &mut Context<()>, _event: SignalEvent) {}
///     fn on_shutdown(&mut self, ctx: &mut Context<()>, notice: &ShutdownNotice) {
///         assert_eq!(notice.signal, Some(Signal::TERM));
///         // ... finish in-flight requests before notice.deadline ...
///         ctx.stop();
///     }
/// }
///
/// sigbus::block(Signal::INT | Signal::TERM)?; // in main, before any thread
/// let bus = sigbus::Bus::new();
/// bus.actor("server").spawn(|| Server)?;
/// let coordinator = bus.shutdown_coordinator(Duration::from_secs(5))?;
/// sigbus::raise(Signal::TERM)?;
/// let outcome = coordinator.wait().expect("a clean shutdown");
/// assert_eq!(outcome.signal, Some(Signal::TERM));
/// assert!(bus.is_closed());
/// // Drain here: a second SIGTERM or Ctrl-C would still end the process.
/// coordinator.disarm(); // done draining
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ShutdownCoordinator {
    outcome: Receiver<ShutdownOutcome>,
    /// The outcome once received (`wait` may be called more than once).
    finished: Mutex<Option<Option<ShutdownOutcome>>>,
    trigger: Sender<()>,
    shared: Arc<Shared>,
}

struct Shared {
    notices: Mutex<Notices>,
    /// The escape hatch: cleared by `disarm`.
    armed: AtomicBool,
    disarm: (Sender<()>, Receiver<()>),
}

/// The notice, once sent, and the receivers still waiting for it.
#[derive(Default)]
struct Notices {
    sent: Option<ShutdownNotice>,
    waiting: Vec<(Sender<ShutdownNotice>, Arc<Notify>)>,
}

/// Receives the [`ShutdownNotice`] once, when the shutdown begins (see
/// [`ShutdownCoordinator::notice`]); then it reports the coordinator gone.
/// With the `async` feature it is also a `futures_core::Stream` of that one
/// notice, and has [`NoticeReceiver::recv_async`].
pub struct NoticeReceiver {
    receiver: Receiver<ShutdownNotice>,
    #[cfg_attr(not(feature = "async"), allow(dead_code))]
    notify: Arc<Notify>,
}

impl NoticeReceiver {
    /// Waits for the notice. Errors if the coordinator ended without one (the
    /// bus was shut down some other way).
    pub fn recv(&self) -> Result<ShutdownNotice, RecvError> {
        Ok(self.receiver.recv()?)
    }

    /// The notice if shutdown has begun.
    pub fn try_recv(&self) -> Result<ShutdownNotice, TryRecvError> {
        Ok(self.receiver.try_recv()?)
    }

    /// Waits at most `timeout` for the notice.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<ShutdownNotice, RecvTimeoutError> {
        Ok(self.receiver.recv_timeout(timeout)?)
    }

    /// The underlying channel, for `crossbeam_channel::select!`.
    pub fn receiver(&self) -> &Receiver<ShutdownNotice> {
        &self.receiver
    }

    /// Polls for the notice, registering the task's waker (feature `async`).
    #[cfg(feature = "async")]
    pub fn poll_recv(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<ShutdownNotice, RecvError>> {
        use std::task::Poll;
        let look = || match self.try_recv() {
            Ok(notice) => Some(Ok(notice)),
            Err(TryRecvError::Closed) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        };
        if let Some(ready) = look() {
            return Poll::Ready(ready);
        }
        self.notify.register(cx.waker());
        look().map_or(Poll::Pending, Poll::Ready)
    }

    /// Waits for the notice without blocking the thread (feature `async`).
    #[cfg(feature = "async")]
    pub async fn recv_async(&self) -> Result<ShutdownNotice, RecvError> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }
}

/// The notice, then the end (feature `async`).
#[cfg(feature = "async")]
impl futures_core::Stream for NoticeReceiver {
    type Item = ShutdownNotice;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<ShutdownNotice>> {
        self.poll_recv(cx).map(Result::ok)
    }
}

impl Bus {
    /// Starts a coordinator thread that turns SIGINT and SIGTERM into a graceful
    /// shutdown, with the given grace period and the default [`SecondSignal`]
    /// policy ([`Bus::coordinator`] chooses both):
    ///
    /// 1. the first one sends every actor a [`ShutdownNotice`] (their
    ///    `on_shutdown` hook), and every [`ShutdownCoordinator::notice`]
    ///    receiver, and starts a `grace` period;
    /// 2. when every actor has stopped within it, the bus shuts down and
    ///    [`ShutdownCoordinator::wait`] returns: drain what is left and return
    ///    from `main` to exit 0;
    /// 3. a second SIGINT/SIGTERM (at least 500 ms after the first: a burst is
    ///    one signal), during the shutdown or the drain after it, or the end of
    ///    the grace period, ends the process by that signal
    ///    ([`sigcore::exit_by_signal`]): the parent sees "killed by SIGTERM" (a
    ///    shell shows 143, or 130 for SIGINT). As a pid namespace's init (a
    ///    container), where the kernel drops that re-raise, it exits with status
    ///    128 + n at once.
    ///
    /// An actor with [`crate::Supervision::Escalate`] that fails starts the same
    /// sequence, as does [`ShutdownCoordinator::trigger`]. The coordinator takes
    /// SIGINT and SIGTERM through a sigcore registration of its own, so a
    /// [`Bus::shutdown`] does not disarm it.
    ///
    /// # Errors
    ///
    /// As for [`CoordinatorBuilder::start`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use sigbus::Signal;
    ///
    /// sigbus::block(Signal::INT | Signal::TERM)?;
    /// let bus = sigbus::Bus::new();
    /// // ... spawn actors ...
    /// let coordinator = bus.shutdown_coordinator(Duration::from_secs(5))?;
    /// if let Some(outcome) = coordinator.wait() { // returns after a clean shutdown
    ///     println!("stopped by {:?} in {:?}", outcome.signal, outcome.took);
    ///     // ... drain: a second Ctrl-C here still ends the process at once ...
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown_coordinator(&self, grace: Duration) -> Result<ShutdownCoordinator, BusError> {
        self.coordinator().grace(grace).start()
    }

    /// A builder for a [`ShutdownCoordinator`] with a chosen grace period and
    /// [`SecondSignal`] policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigbus::SecondSignal;
    ///
    /// # sigbus::block(sigbus::Signal::INT | sigbus::Signal::TERM)?;
    /// let bus = sigbus::Bus::new();
    /// let coordinator = bus
    ///     .coordinator()
    ///     .grace(Duration::from_secs(30))
    ///     .second_signal(SecondSignal::Ignore) // only the grace period forces
    ///     .start()?;
    /// coordinator.trigger();
    /// assert!(coordinator.wait().is_some());
    /// coordinator.disarm();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn coordinator(&self) -> CoordinatorBuilder<'_> {
        CoordinatorBuilder {
            bus: self,
            grace: Duration::from_secs(5),
            second: SecondSignal::default(),
        }
    }
}

impl ShutdownCoordinator {
    /// Starts the shutdown sequence as if a signal had come.
    pub fn trigger(&self) {
        let _ = self.trigger.try_send(());
    }

    /// Waits until the shutdown has finished cleanly; the process is ended by a
    /// signal otherwise, so this does not return then. `None` when the bus was
    /// shut down some other way ([`Bus::shutdown`]) before any shutdown signal.
    pub fn wait(&self) -> Option<ShutdownOutcome> {
        let mut finished = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        if finished.is_none() {
            *finished = Some(self.outcome.recv().ok());
        }
        finished.clone().flatten()
    }

    /// Waits at most `timeout`; `None` if the shutdown has not finished by then
    /// (or never started).
    pub fn wait_timeout(&self, timeout: Duration) -> Option<ShutdownOutcome> {
        let mut finished = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        if finished.is_none() {
            match self.outcome.recv_timeout(timeout) {
                Ok(outcome) => *finished = Some(Some(outcome)),
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => *finished = Some(None),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => return None,
            }
        }
        finished.clone().flatten()
    }

    /// A receiver that gets the [`ShutdownNotice`] once, when shutdown begins
    /// (at once if it already has): for threads that are not actors (a server's
    /// accept loop, a worker pool) to `recv` or `select!` on, and for async
    /// tasks (feature `async`).
    ///
    /// # Examples
    ///
    /// ```
    /// # sigbus::block(sigbus::Signal::INT | sigbus::Signal::TERM)?;
    /// let bus = sigbus::Bus::new();
    /// let coordinator = bus.shutdown_coordinator(std::time::Duration::from_secs(5))?;
    /// let notice = coordinator.notice();
    /// let worker = std::thread::spawn(move || {
    ///     // ... work, checking `notice.try_recv()` or selecting over
    ///     // `notice.receiver()` ...
    ///     notice.recv().unwrap().signal
    /// });
    /// coordinator.trigger();
    /// assert_eq!(worker.join().unwrap(), None); // triggered by code, no signal
    /// # coordinator.disarm();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn notice(&self) -> NoticeReceiver {
        let (tx, receiver) = bounded(1);
        let notify = Arc::new(Notify::new());
        let mut notices = self
            .shared
            .notices
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match &notices.sent {
            Some(notice) => {
                let _ = tx.send(notice.clone());
            }
            None => notices.waiting.push((tx, Arc::clone(&notify))),
        }
        NoticeReceiver { receiver, notify }
    }

    /// Disarms the escape hatch: after a clean shutdown, further SIGINT/SIGTERM
    /// no longer end the process at once (sigcore releases them: their previous
    /// disposition comes back, or they stay pending if the program blocked them
    /// with `sigcore::block`). Before the shutdown has begun, a second signal
    /// during it still forces.
    pub fn disarm(&self) {
        self.shared.armed.store(false, Ordering::SeqCst);
        let _ = self.shared.disarm.0.try_send(());
    }
}

/// The coordinator thread.
struct Run {
    bus: Bus,
    signals: Signals,
    grace: Duration,
    second: SecondSignal,
    shared: Arc<Shared>,
}

impl Run {
    fn run(
        self,
        triggered: Receiver<()>,
        escalations: Receiver<()>,
        outcome: Sender<ShutdownOutcome>,
    ) {
        let down = self.bus.inner.down();
        let (mut triggered, mut escalations) = (triggered, escalations);
        let first = loop {
            select! {
                recv(self.signals.receiver()) -> event => match event {
                    Ok(event) => break Some(event.signal),
                    Err(_) => return,
                },
                // A dropped coordinator can trigger nothing more; it must not
                // start a shutdown (its notices and escape hatch live on).
                recv(triggered) -> request => match request {
                    Ok(()) => break None,
                    Err(_) => triggered = never(),
                },
                recv(escalations) -> request => match request {
                    Ok(()) => break None,
                    Err(_) => escalations = never(),
                },
                // The bus was shut down some other way: nothing to coordinate.
                recv(down) -> _ => return,
            }
        };
        let started = Instant::now();
        // A grace of Duration::MAX means "wait as long as it takes".
        let far = Duration::from_secs(100 * 365 * 24 * 3600);
        let deadline = started.checked_add(self.grace).unwrap_or(started + far);
        let timeout = after(self.grace.min(far));
        let name = first.map_or("a request", Signal::name);
        debug!(
            "sigbus: {name}: shutting down, {} actor(s), grace {:?}",
            self.bus.live_actors(),
            self.grace
        );
        self.announce(ShutdownNotice {
            signal: first,
            deadline,
        });
        let exits = self.bus.inner.exits.1.clone();
        while self.bus.live_actors() > 0 {
            select! {
                recv(self.signals.receiver()) -> event => {
                    if let Ok(event) = event {
                        self.second_signal(event.signal, started, "during the shutdown");
                    }
                },
                recv(exits) -> _ => {},
                recv(timeout) -> _ => {
                    let signal = first.unwrap_or(Signal::TERM);
                    warn!(
                        "sigbus: {} actor(s) still running after {:?}; ending by {signal}",
                        self.bus.live_actors(),
                        self.grace
                    );
                    sigcore::exit_by_signal(signal);
                },
            }
        }
        self.bus.shutdown();
        let _ = outcome.send(ShutdownOutcome {
            signal: first,
            took: started.elapsed(),
        });
        self.escape_hatch(started);
    }

    /// Tells the actors and every notice receiver.
    fn announce(&self, notice: ShutdownNotice) {
        self.bus.broadcast_shutdown(&notice);
        let mut notices = self
            .shared
            .notices
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for (waiting, notify) in notices.waiting.drain(..) {
            let _ = waiting.send(notice.clone());
            notify.sent();
        }
        notices.sent = Some(notice);
    }

    /// A SIGINT/SIGTERM after the first: ends the process, per the policy.
    fn second_signal(&self, signal: Signal, started: Instant, when: &str) {
        match self.second {
            SecondSignal::ForceAfter(burst) if started.elapsed() >= burst => {
                warn!("sigbus: second {signal} {when}: ending now");
                sigcore::exit_by_signal(signal);
            }
            SecondSignal::ForceAfter(_) => {
                debug!("sigbus: {signal} {when}, in the first one's burst: ignored");
            }
            SecondSignal::Ignore => debug!("sigbus: {signal} {when}: ignored (policy)"),
        }
    }

    /// After a clean shutdown: keeps serving SIGINT/SIGTERM until the process
    /// exits or `disarm`, so a second one during `main`'s drain still ends it.
    fn escape_hatch(self, started: Instant) {
        if self.second == SecondSignal::Ignore {
            return; // nothing to force: release the signals now
        }
        let disarm = self.shared.disarm.1.clone();
        while self.shared.armed.load(Ordering::SeqCst) {
            select! {
                recv(self.signals.receiver()) -> event => match event {
                    Ok(event) => self.second_signal(event.signal, started, "after the shutdown"),
                    Err(_) => break,
                },
                recv(disarm) -> _ => break,
            }
        }
        debug!("sigbus: escape hatch disarmed");
    }
}
