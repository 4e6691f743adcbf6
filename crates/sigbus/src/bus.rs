use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};

use crossbeam_channel::{bounded, Receiver, Sender};
use log::{debug, warn};
use sigcore::{ForeignHandlers, Registration, Signal, SignalEvent, SignalSet, TaskName};

use crate::actor::{ActorBuilder, ActorControl};
use crate::inbox::Inbox;
use crate::mailbox::{Counters, Mailbox, MailboxInfo, MailboxKind, Offer, Overflow};
use crate::notify::Notify;
use crate::registry::Registry;
use crate::router::{Router, RouterSink};
use crate::stats::{BusStats, Listener, MailboxStats, Route, SignalStats};
use crate::{blocks, hold};
use crate::{BusError, DeliverError, SenderFilter, ShutdownNotice, Subscription, SubscriptionId};

/// Default mailbox capacity of subscriptions and actors.
pub const DEFAULT_MAILBOX: usize = 256;

/// Routes signal events to subscriptions and actors on any thread.
///
/// Cheap to clone (`Arc` inside), `Send + Sync`. Subscribing to a signal makes
/// sigcore serve it (blocking it in the calling thread first); when the last
/// subscription of a signal goes, sigcore releases it and its previous
/// disposition comes back. See the crate docs for a walk-through.
///
/// Subscriptions and running actors keep the routing they need alive: dropping
/// every `Bus` handle releases nothing they still hold (like signal-hook's
/// `Signals` or tokio's `Signal`); [`Bus::shutdown`] closes everything now.
#[derive(Clone)]
pub struct Bus {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) router: Arc<Router>,
    control: Mutex<Control>,
    closed: AtomicBool,
    pub(crate) live_actors: AtomicUsize,
    /// Signalled when an actor thread ends; the shutdown coordinator waits on it.
    pub(crate) exits: (Sender<()>, Receiver<()>),
    /// Set by a shutdown coordinator: where actor escalations go.
    pub(crate) escalations: Mutex<Option<Sender<()>>>,
    /// The process that made the bus. In a child forked without exec the bus is
    /// inert: the actor threads and the waiter stayed in the parent.
    owner: u32,
    /// How far [`Bus::shutdown`] has got; concurrent callers wait for `Down`.
    phase: Mutex<Phase>,
    phase_changed: Condvar,
    /// Dropped when the bus is down: its receivers then disconnect.
    down_tx: Mutex<Option<Sender<()>>>,
    down_rx: Receiver<()>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Up,
    GoingDown,
    Down,
}

struct Control {
    registration: Option<Registration>,
    /// The authoritative table; the router has a published copy.
    registry: Registry,
    actors: Vec<Arc<dyn ActorControl>>,
}

/// Everything needed to open a mailbox.
#[derive(Clone, Debug)]
pub(crate) struct MailboxSpec {
    pub signals: SignalSet,
    pub capacity: usize,
    pub overflow: Overflow,
    pub filter: SenderFilter,
    pub name: Option<String>,
    pub kind: MailboxKind,
    pub foreign: ForeignHandlers,
    pub direct: bool,
}

impl MailboxSpec {
    pub(crate) fn new(signals: SignalSet, kind: MailboxKind) -> MailboxSpec {
        MailboxSpec {
            signals,
            capacity: DEFAULT_MAILBOX,
            overflow: Overflow::DropNewest,
            filter: SenderFilter::Any,
            name: None,
            kind,
            foreign: ForeignHandlers::Refuse,
            direct: kind == MailboxKind::Subscription,
        }
    }
}

thread_local! {
    /// The name of the actor running on this thread, for targeted deliveries.
    pub(crate) static CURRENT_ACTOR: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

impl Default for Bus {
    fn default() -> Bus {
        Bus::new()
    }
}

impl Bus {
    /// A bus with no subscriptions. It serves no signal until something
    /// subscribes.
    ///
    /// # Examples
    ///
    /// ```
    /// let bus = sigbus::Bus::new();
    /// assert!(bus.routes().is_empty());
    /// ```
    pub fn new() -> Bus {
        let (down_tx, down_rx) = bounded(0);
        Bus {
            inner: Arc::new(Inner {
                router: Arc::new(Router::new()),
                control: Mutex::new(Control {
                    registration: None,
                    registry: Registry::new(),
                    actors: Vec::new(),
                }),
                closed: AtomicBool::new(false),
                live_actors: AtomicUsize::new(0),
                exits: bounded(1),
                escalations: Mutex::new(None),
                owner: std::process::id(),
                phase: Mutex::new(Phase::Up),
                phase_changed: Condvar::new(),
                down_tx: Mutex::new(Some(down_tx)),
                down_rx,
            }),
        }
    }

    /// Subscribes the calling thread (or whoever gets the result) to `signals`,
    /// with a mailbox of [`DEFAULT_MAILBOX`] events that drops the newest on
    /// overflow. See [`Bus::subscription`] for the other settings.
    ///
    /// # Errors
    ///
    /// [`BusError::Signal`] for signals that cannot be served (SIGKILL, SIGSEGV…),
    /// [`BusError::Closed`] after [`Bus::shutdown`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sigbus::Signal;
    ///
    /// sigbus::block(Signal::USR1)?; // in main, before spawning threads
    /// let bus = sigbus::Bus::new();
    /// let sub = bus.subscribe(Signal::USR1)?;
    /// sigbus::raise(Signal::USR1)?;
    /// assert_eq!(sub.recv().unwrap().signal, Signal::USR1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscribe(&self, signals: impl Into<SignalSet>) -> Result<Subscription, BusError> {
        self.subscription(signals).open()
    }

    /// A builder for a subscription with a chosen capacity, overflow policy,
    /// sender filter or name.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigbus::{Overflow, SenderFilter};
    /// use sigbus::Signal;
    ///
    /// # sigbus::block(Signal::HUP)?;
    /// let bus = sigbus::Bus::new();
    /// let reloads = bus
    ///     .subscription(Signal::HUP)
    ///     .name("reload")
    ///     .capacity(1)
    ///     .overflow(Overflow::Coalesce)
    ///     .filter(SenderFilter::SameUser)
    ///     .open()?;
    /// assert_eq!(reloads.name(), "reload");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscription(&self, signals: impl Into<SignalSet>) -> SubscriptionBuilder<'_> {
        SubscriptionBuilder {
            bus: self,
            spec: MailboxSpec::new(signals.into(), MailboxKind::Subscription),
        }
    }

    /// A builder for an actor named `name` (also its thread's name).
    pub fn actor(&self, name: impl Into<String>) -> ActorBuilder<'_> {
        ActorBuilder::new(self, name.into())
    }

    /// Sends an event for `signal` to one subscription or actor only, like
    /// `pthread_kill` but without touching any process signal state. The event's
    /// origin is [`sigcore::Origin::Local`], naming the sending actor (or thread).
    /// Sender filters do not apply: the event comes from this process.
    ///
    /// # Errors
    ///
    /// [`DeliverError::NoSuchTarget`] for an unknown or closed id;
    /// [`DeliverError::Dropped`] when the target's mailbox dropped it.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigbus::Signal;
    ///
    /// let bus = sigbus::Bus::new();
    /// let a = bus.subscribe(Signal::USR2)?;
    /// let b = bus.subscribe(Signal::USR2)?;
    /// bus.send_to(b.id(), Signal::USR2)?;
    /// assert_eq!(b.recv().unwrap().origin.kind(), "local");
    /// assert!(a.try_recv().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_to(&self, target: SubscriptionId, signal: Signal) -> Result<(), DeliverError> {
        let registry = self.inner.router.load();
        let mailbox = registry.get(target).ok_or(DeliverError::NoSuchTarget)?;
        let event = SignalEvent::local(signal, sender_name());
        debug!("sigbus: targeted {event} to {}", mailbox.info.name);
        match mailbox.enqueue(&event) {
            Offer::Delivered => Ok(()),
            _ => Err(DeliverError::Dropped),
        }
    }

    /// Delivers an event made in this process to every mailbox of its signal
    /// but `except` (no sender filter: it comes from here).
    pub(crate) fn publish(&self, event: &SignalEvent, except: SubscriptionId) {
        let registry = self.inner.router.load();
        for mailbox in registry.route(event.signal) {
            if mailbox.info.id != except {
                mailbox.enqueue(event);
            }
        }
    }

    /// Which subscriptions and actors listen to which signal (the bus-level
    /// `getsignal`), lowest signal first.
    pub fn routes(&self) -> Vec<Route> {
        let registry = self.inner.router.load();
        registry
            .signals()
            .iter()
            .map(|signal| Route {
                signal,
                listeners: registry
                    .route(signal)
                    .iter()
                    .map(|m| Listener {
                        id: m.info.id,
                        name: Arc::clone(&m.info.name),
                        kind: m.info.kind,
                    })
                    .collect(),
            })
            .collect()
    }

    /// Counters per signal and per mailbox. Lock-free: reads atomics from the
    /// published table, so a monitoring thread can call it often.
    pub fn stats(&self) -> BusStats {
        let router = &self.inner.router;
        let registry = router.load();
        let signals = Signal::all()
            .filter(|s| router.accepted(*s) > 0 || !registry.route(*s).is_empty())
            .map(|signal| SignalStats {
                signal,
                accepted: router.accepted(signal),
                unrouted: router.unrouted(signal),
            })
            .collect();
        let mut mailboxes: Vec<MailboxStats> = registry
            .mailboxes()
            .map(|m| MailboxStats::read(&m.info, m.queued(), m.inbox.grown()))
            .collect();
        mailboxes.sort_by_key(|m| m.id);
        BusStats {
            signals,
            mailboxes,
            safety_net: sigcore::safety_net_stats(),
        }
    }

    /// Whether [`Bus::shutdown`] has run.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// Actors whose threads are still running.
    pub fn live_actors(&self) -> usize {
        self.inner.live_actors.load(Ordering::SeqCst)
    }

    /// Stops the bus: asks every actor to stop and joins its thread, releases
    /// every signal (previous dispositions come back), closes every mailbox
    /// (receivers blocked in `recv` wake with an error), and unblocks in the
    /// calling thread the signals this bus blocked there. Idempotent; a second,
    /// concurrent call returns only once the bus is fully down.
    ///
    /// # Caveats
    ///
    /// Joins actors: an actor stuck in its handler holds this call up. Called
    /// from an actor's own thread, that actor is not joined (and while another
    /// thread's shutdown is joining it, the call returns at once). Called from a
    /// sigcore [`sigcore::Sink`] (on the waiter thread, which must not wait for
    /// itself), the shutdown runs on a thread of its own and this returns at
    /// once. In a child forked without `exec`, where the actor threads do not
    /// exist, it only closes the mailboxes.
    ///
    /// # Examples
    ///
    /// ```
    /// # sigbus::block(sigbus::Signal::USR1)?;
    /// let bus = sigbus::Bus::new();
    /// let sub = bus.subscribe(sigbus::Signal::USR1)?;
    /// bus.shutdown();
    /// assert!(sub.recv().is_err());
    /// assert!(bus.subscribe(sigbus::Signal::USR1).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown(&self) {
        if sigcore::on_waiter_thread() {
            let bus = self.clone();
            let builder = std::thread::Builder::new().name("sigbus-shutdown".into());
            if let Err(e) = sigcore::spawn_blocked(builder, move || bus.shutdown()) {
                warn!("sigbus: cannot start a thread to shut the bus down from a sink: {e}");
            }
            return;
        }
        if !self.inner.begin_shutdown() {
            return;
        }
        self.inner.closed.store(true, Ordering::SeqCst);
        let forked = self.inner.forked();
        let (actors, registration) = {
            let mut control = self.inner.lock();
            (
                std::mem::take(&mut control.actors),
                control.registration.take(),
            )
        };
        if !forked {
            for actor in &actors {
                actor.request_stop();
            }
            for actor in &actors {
                actor.join();
            }
        }
        let released = registration
            .as_ref()
            .map_or(SignalSet::empty(), Registration::signals);
        self.inner.release_directs();
        drop(registration);
        {
            let mut control = self.inner.lock();
            for mailbox in control.registry.mailboxes() {
                hold::release(&mailbox.info);
            }
            control.registry.clear();
            self.inner.router.publish(Registry::new());
        }
        blocks::undo_here(released);
        debug!("sigbus: bus shut down ({} actor(s) joined)", actors.len());
        self.inner.end_shutdown();
    }

    /// Sends a shutdown notice to every actor (their `on_shutdown` hook).
    pub(crate) fn broadcast_shutdown(&self, notice: &ShutdownNotice) {
        let actors: Vec<_> = self.inner.lock().actors.clone();
        for actor in actors {
            actor.notify_shutdown(notice);
        }
    }

    pub(crate) fn downgrade(&self) -> Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    pub(crate) fn inner(&self) -> Arc<Inner> {
        Arc::clone(&self.inner)
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Bus {
        Bus { inner }
    }

    pub(crate) fn open(
        &self,
        spec: MailboxSpec,
    ) -> Result<(Arc<MailboxInfo>, Arc<Inbox>), BusError> {
        for signal in spec.signals {
            signal.check_waitable()?;
        }
        if sigcore::on_waiter_thread() {
            return Err(BusError::Signal(sigcore::Error::InSink));
        }
        let inner = &*self.inner;
        let mut control = inner.lock();
        if self.is_closed() {
            return Err(BusError::Closed);
        }
        let id = control.registry.next_id();
        let capacity = spec.capacity.max(1);
        // Backpressure: room for what arrives before a hold takes effect.
        let room = match spec.overflow {
            Overflow::Backpressure => capacity + hold::RESERVE,
            _ => capacity,
        };
        // Actors wait in `select!` on their ports: a channel from the start.
        let channel = spec.kind == MailboxKind::Actor;
        let inbox = Arc::new(Inbox::new(
            room,
            control.registry.bell_for(spec.signals),
            channel,
        ));
        let info = Arc::new(MailboxInfo {
            id,
            name: Arc::from(spec.name.unwrap_or_else(|| format!("subscription {id}"))),
            kind: spec.kind,
            signals: spec.signals,
            overflow: spec.overflow,
            capacity,
            filter: spec.filter,
            my_uid: sigcore::current_uid(),
            counters: Counters::default(),
            notify: Notify::new(),
            direct: spec.direct,
        });
        let served = control.registry.signals();
        let mut registry = control.registry.clone();
        registry.insert(Mailbox::new(Arc::clone(&info), Arc::clone(&inbox)));
        // Publish before arming, so the first signal after arming finds its mailbox.
        inner.router.publish(registry.clone());
        // A subscription that took these signals directly has company now:
        // they go back to the waiter, which routes them to both.
        for signal in spec.signals {
            for mailbox in registry.route(signal) {
                if let Some(direct) = mailbox.inbox.direct().filter(|d| d.is_held()) {
                    direct.release();
                }
            }
        }
        control.registry = registry;
        if let Err(e) = inner.arm(
            &mut control,
            spec.signals,
            spec.signals.difference(served),
            spec.foreign,
        ) {
            control.registry.remove(id);
            inner.router.publish(control.registry.clone());
            return Err(e);
        }
        debug!("sigbus: opened {} for {}", info.name, info.signals);
        Ok((info, inbox))
    }

    pub(crate) fn register_actor(&self, actor: Arc<dyn ActorControl>) {
        self.inner.lock().actors.push(actor);
    }
}

impl Inner {
    /// Gives every signal taken directly back to the waiter and waits (at most
    /// a second) until no reader is inside such a wait: before the signals
    /// are released, none may be taken on a reader's thread any more.
    fn release_directs(&self) {
        let registry = self.router.load();
        let directs: Vec<&sigcore::Direct> = registry
            .mailboxes()
            .filter_map(|m| m.inbox.direct())
            .collect();
        for direct in &directs {
            direct.release();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        while directs.iter().any(|d| d.is_waiting()) && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Control> {
        // Control is only edited in short sections that cannot panic halfway.
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether this is a child forked (without exec) from the process that made
    /// the bus.
    pub(crate) fn forked(&self) -> bool {
        std::process::id() != self.owner
    }

    /// Claims the shutdown. `false` when it is done, or when another thread is
    /// doing it: then this waits until it is done, unless the caller is an
    /// actor thread (which the other thread may be joining).
    fn begin_shutdown(&self) -> bool {
        let mut phase = self.phase.lock().unwrap_or_else(|p| p.into_inner());
        match *phase {
            Phase::Up => {
                *phase = Phase::GoingDown;
                true
            }
            Phase::Down => false,
            Phase::GoingDown => {
                if CURRENT_ACTOR.with(|a| a.borrow().is_none()) {
                    while *phase != Phase::Down {
                        phase = self
                            .phase_changed
                            .wait(phase)
                            .unwrap_or_else(|p| p.into_inner());
                    }
                }
                false
            }
        }
    }

    fn end_shutdown(&self) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner()) = Phase::Down;
        self.phase_changed.notify_all();
        drop(
            self.down_tx
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
    }

    /// Whether mailbox `id` is the only one taking each of `signals`.
    pub(crate) fn sole_consumer(&self, id: SubscriptionId, signals: SignalSet) -> bool {
        let registry = self.router.load();
        signals.iter().all(|signal| match registry.route(signal) {
            [only] => only.info.id == id,
            _ => false,
        })
    }

    /// A [`sigcore::Direct`] on `signals` of the bus's registration, unless
    /// the bus is down or forked.
    pub(crate) fn make_direct(&self, signals: SignalSet) -> Option<sigcore::Direct> {
        if self.forked() || self.closed.load(Ordering::SeqCst) {
            return None;
        }
        let control = self.lock();
        control.registration.as_ref()?.direct(signals).ok()
    }

    /// A receiver that disconnects once the bus is down.
    pub(crate) fn down(&self) -> Receiver<()> {
        self.down_rx.clone()
    }

    fn arm(
        &self,
        control: &mut Control,
        wanted: SignalSet,
        new: SignalSet,
        foreign: ForeignHandlers,
    ) -> Result<(), BusError> {
        // Block in the calling thread even for signals already served: this thread
        // (and those it spawns) must not take the signal's disposition.
        blocks::block_here(wanted)?;
        // Chaining applies to signals already served too; refusing only matters
        // for the new ones (the others' dispositions are sigcore's already).
        let arming = if foreign == ForeignHandlers::Chain {
            wanted
        } else {
            new
        };
        if arming.is_empty() {
            return Ok(());
        }
        let armed = match control.registration.as_mut() {
            Some(registration) => registration.add_with(arming, foreign),
            None => {
                let sink = RouterSink(Arc::clone(&self.router));
                Registration::builder(arming)
                    .foreign_handlers(foreign)
                    .sink(sink)
                    .map(|registration| control.registration = Some(registration))
            }
        };
        if let Err(e) = armed {
            // Refused (another library's handler, say): that library's signal
            // must not stay blocked here because of us.
            blocks::undo_here(new);
            return Err(e.into());
        }
        Ok(())
    }

    /// Closes a mailbox. Signals nobody else takes are released first: one that
    /// arrives meanwhile still reaches this mailbox; after the release it takes
    /// its restored disposition. Nothing is routed to the mailbox once this
    /// returns. Returns the signals released. Not on the waiter thread (see
    /// [`Inner::close_from_anywhere`]).
    pub(crate) fn close(&self, id: SubscriptionId) -> SignalSet {
        let mut control = self.lock();
        let Some(mailbox) = control.registry.get(id) else {
            return SignalSet::empty();
        };
        let name = Arc::clone(&mailbox.info.name);
        let mut registry = control.registry.clone();
        let removed = registry.remove(id).map_or(SignalSet::empty(), |m| {
            hold::release(&m.info);
            m.info.signals
        });
        let released = removed.difference(registry.signals());
        if !released.is_empty() && !self.forked() {
            if let Some(registration) = control.registration.as_mut() {
                if let Err(e) = registration.remove(released) {
                    warn!("sigbus: releasing {released} failed: {e}");
                }
            }
        }
        self.router.publish(registry.clone());
        control.registry = registry;
        control.actors.retain(|a| a.id() != id);
        debug!(
            "sigbus: closed {}; released {released}",
            TaskName::new(name.as_bytes())
        );
        released
    }

    /// Closes a mailbox from any thread, the waiter's included: there (a sink
    /// dropped a subscription) the close, which waits for the router, runs on a
    /// thread of its own. The calling thread undoes its own blocks of what is
    /// released.
    pub(crate) fn close_from_anywhere(self: &Arc<Inner>, id: SubscriptionId) {
        if sigcore::on_waiter_thread() {
            let inner = Arc::clone(self);
            let builder = std::thread::Builder::new().name("sigbus-close".into());
            if let Err(e) = sigcore::spawn_blocked(builder, move || inner.close(id)) {
                warn!("sigbus: cannot start a thread to close {id} from a sink: {e}");
            }
            return;
        }
        let released = self.close(id);
        blocks::undo_here(released);
    }
}

/// The name targeted deliveries carry: the running actor's, else the thread's.
fn sender_name() -> Option<Arc<str>> {
    CURRENT_ACTOR
        .with(|a| a.borrow().clone())
        .or_else(|| std::thread::current().name().map(Arc::from))
}

/// Builds a [`Subscription`]; see [`Bus::subscription`].
///
/// # Examples
///
/// A SIGHUP "reload" that only root's or our own user's `kill` may trigger,
/// where one queued reload is enough:
///
/// ```
/// use sigbus::{Overflow, SenderFilter, Signal};
///
/// sigbus::block(Signal::HUP)?;
/// let bus = sigbus::Bus::new();
/// let reloads = bus
///     .subscription(Signal::HUP)
///     .name("reloader")
///     .capacity(4)
///     .overflow(Overflow::Coalesce)
///     .filter(SenderFilter::AnyOf(vec![SenderFilter::Root, SenderFilter::SameUser]))
///     .open()?;
/// sigbus::kill(std::process::id() as i32, Signal::HUP)?; // from our own uid: accepted
/// let event = reloads.recv_timeout(std::time::Duration::from_secs(10))?;
/// assert_eq!(event.origin.uid(), Some(sigbus::sigcore::current_uid()));
/// assert_eq!(reloads.name(), "reloader");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a builder does nothing until `open` is called"]
pub struct SubscriptionBuilder<'a> {
    bus: &'a Bus,
    spec: MailboxSpec,
}

impl SubscriptionBuilder<'_> {
    /// Mailbox capacity in events (at least 1; default [`DEFAULT_MAILBOX`]).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.spec.capacity = capacity;
        self
    }

    /// What a full mailbox does (default [`Overflow::DropNewest`]).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.spec.overflow = overflow;
        self
    }

    /// Which senders to accept (default [`SenderFilter::Any`]).
    pub fn filter(mut self, filter: SenderFilter) -> Self {
        self.spec.filter = filter;
        self
    }

    /// A name for logs, [`Bus::routes`] and [`Bus::stats`].
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.spec.name = Some(name.into());
        self
    }

    /// What to do when a signal already has another library's handler
    /// (signal-hook, tokio, a C library): refuse with
    /// `sigcore::Error::ForeignHandler` (the default), or
    /// [`ForeignHandlers::Chain`]: deliver each event to that handler too, also
    /// to one installed later. See [`sigcore::ForeignHandlers`].
    pub fn foreign_handlers(mut self, foreign: ForeignHandlers) -> Self {
        self.spec.foreign = foreign;
        self
    }

    /// Whether `recv` may take the subscription's signals on the receiving
    /// thread, with one wake-up from the kernel, while it is their only
    /// consumer in the process (default `true`; see the crate docs,
    /// "Delivery"). With `false` every event goes through sigcore's waiter
    /// thread first: two wake-ups, and the signals never wait in the kernel
    /// while the reader is busy.
    pub fn direct(mut self, direct: bool) -> Self {
        self.spec.direct = direct;
        self
    }

    /// Opens the subscription; signals sent after this returns are delivered.
    ///
    /// # Errors
    ///
    /// As for [`Bus::subscribe`].
    pub fn open(self) -> Result<Subscription, BusError> {
        let (info, inbox) = self.bus.open(self.spec)?;
        Ok(Subscription::new(info, inbox, self.bus.inner()))
    }
}
