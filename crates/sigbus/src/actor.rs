//! Actors: named threads with a mailbox for signal events and one for their own
//! messages, supervised: a panic in a handler is caught and the actor restarted,
//! stopped, or the bus shut down, as its [`Supervision`] says.

use std::any::Any;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, select_biased, unbounded, Receiver, Sender};
use log::{debug, error, warn};
use sigcore::{Signal, SignalEvent, SignalSet, TaskName, ThreadHandle};

use crate::bus::{Inner, MailboxSpec, CURRENT_ACTOR};
use crate::mailbox::{MailboxInfo, MailboxKind};
use crate::stats::MailboxStats;
use crate::{
    Bus, BusError, DeliverError, Overflow, SendError, SenderFilter, ShutdownNotice, SubscriptionId,
    TrySendError,
};

/// How often an idle actor looks thoroughly for stranded thread-directed signals.
const STRANDED_CHECK: Duration = Duration::from_secs(1);

/// Default capacity of an actor's message queue.
pub const DEFAULT_MESSAGES: usize = 1024;

/// The behaviour of an actor. Only [`Actor::handle_signal`] is required.
///
/// Each hook runs on the actor's own thread. A panic in any hook is caught and
/// handled by the actor's [`Supervision`]; other actors and the bus go on.
///
/// # Examples
///
/// A reloader: SIGHUP reloads its configuration, a message asks for it.
///
/// ```
/// use std::time::Duration;
/// use sigbus::{Actor, Context, Signal, SignalEvent};
/// use sigbus::crossbeam_channel::{bounded, Sender};
///
/// struct Reloader {
///     version: u32,
/// }
///
/// enum Msg {
///     Version(Sender<u32>),
/// }
///
/// impl Actor for Reloader {
///     type Msg = Msg;
///
///     fn handle_signal(&mut self, _ctx: &mut Context<Msg>, event: SignalEvent) {
///         assert_eq!(event.signal, Signal::HUP);
///         self.version += 1; // read the new configuration here
///     }
///
///     fn handle(&mut self, _ctx: &mut Context<Msg>, msg: Msg) {
///         let Msg::Version(reply) = msg;
///         let _ = reply.send(self.version);
///     }
/// }
///
/// sigbus::block(Signal::HUP)?; // in main, before any thread exists
/// let bus = sigbus::Bus::new();
/// let reloader = bus
///     .actor("reloader")
///     .signals(Signal::HUP)
///     .spawn(|| Reloader { version: 1 })?;
/// sigbus::raise(Signal::HUP)?;
/// // Messages and events are separate queues: poll until the reload is seen.
/// let deadline = std::time::Instant::now() + Duration::from_secs(10);
/// loop {
///     let (tx, rx) = bounded(1);
///     reloader.send(Msg::Version(tx)).unwrap();
///     if rx.recv_timeout(Duration::from_secs(10))? == 2 {
///         break;
///     }
///     assert!(std::time::Instant::now() < deadline, "no reload");
///     std::thread::sleep(Duration::from_millis(1));
/// }
/// bus.shutdown(); // stops and joins the actor
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Actor: Send + 'static {
    /// The actor's own message type (use `()` for signal-only actors).
    type Msg: Send + 'static;

    /// Runs before the first event, and again after each restart.
    fn pre_start(&mut self, ctx: &mut Context<Self::Msg>) {
        let _ = ctx;
    }

    /// One signal event (from the kernel, or targeted at this actor).
    fn handle_signal(&mut self, ctx: &mut Context<Self::Msg>, event: SignalEvent);

    /// One message sent with [`ActorRef::send`].
    fn handle(&mut self, ctx: &mut Context<Self::Msg>, msg: Self::Msg) {
        let _ = (ctx, msg);
    }

    /// The bus is shutting down (a coordinator got SIGINT/SIGTERM). Finish up and
    /// call [`Context::stop`] before `notice.deadline`; the default stops at once.
    fn on_shutdown(&mut self, ctx: &mut Context<Self::Msg>, notice: &ShutdownNotice) {
        let _ = notice;
        ctx.stop();
    }

    /// Runs once when the actor stops for good.
    fn post_stop(&mut self, ctx: &mut Context<Self::Msg>) {
        let _ = ctx;
    }
}

/// What happens when an actor's hook panics.
///
/// # Examples
///
/// An actor that panics on its first event is rebuilt and handles the next;
/// its mailbox, and the event queued behind the crash, are kept.
///
/// ```
/// use std::time::Duration;
/// use sigbus::{ActorExit, Signal, Supervision};
///
/// # std::panic::set_hook(Box::new(|_| {})); // keep the doc-test's output quiet
/// let bus = sigbus::Bus::new();
/// let (seen, handled) = sigbus::crossbeam_channel::unbounded();
/// let fragile = bus
///     .actor("fragile")
///     .supervision(Supervision::Restart { max: 3, within: Duration::from_secs(60) })
///     .spawn_fn(move |ctx, event| {
///         if ctx.restarts() == 0 {
///             panic!("first event: crash");
///         }
///         seen.send(event.signal).unwrap();
///     })?;
/// fragile.signal(sigbus::Signal::USR1)?; // targeted: no process signal state
/// fragile.signal(sigbus::Signal::USR2)?;
/// assert_eq!(handled.recv_timeout(Duration::from_secs(10))?, Signal::USR2);
/// assert_eq!(fragile.stats().restarts, 1);
/// fragile.stop();
/// assert_eq!(fragile.join(), Some(ActorExit::Stopped));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Supervision {
    /// Build a fresh actor with the factory and go on, up to `max` times within
    /// `within`; past that, stop. The mailbox and its queued events are kept.
    Restart {
        /// Restarts allowed in the window.
        max: u32,
        /// The sliding window.
        within: Duration,
    },
    /// Stop the actor.
    Stop,
    /// Stop the actor and shut the whole bus down (through its shutdown
    /// coordinator, if it has one).
    Escalate,
}

impl Default for Supervision {
    /// Five restarts a minute.
    fn default() -> Supervision {
        Supervision::Restart {
            max: 5,
            within: Duration::from_secs(60),
        }
    }
}

/// Why an actor's thread ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorExit {
    /// It stopped itself, was asked to stop, or the bus shut down.
    Stopped,
    /// A panic, and its supervision said stop (or the restart limit was reached).
    Failed,
    /// A panic escalated to a bus shutdown.
    Escalated,
}

/// What a running actor can see and do.
///
/// # Examples
///
/// ```
/// use sigbus::{Actor, Context, SignalEvent};
///
/// struct OneShot;
///
/// impl Actor for OneShot {
///     type Msg = ();
///     fn handle_signal(&mut self, ctx: &mut Context<()>, event: SignalEvent) {
///         println!("{} (restarted {} times) got {}", ctx.name(), ctx.restarts(), event.signal);
///         ctx.stop(); // after this hook returns
///     }
/// }
///
/// let bus = sigbus::Bus::new();
/// let actor = bus.actor("one-shot").spawn(|| OneShot)?;
/// actor.signal(sigbus::Signal::USR1)?;
/// assert_eq!(actor.join(), Some(sigbus::ActorExit::Stopped));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Context<M: Send + 'static> {
    myself: ActorRef<M>,
    stop: bool,
}

impl<M: Send + 'static> Context<M> {
    /// The actor's name (its thread's name).
    pub fn name(&self) -> &str {
        &self.myself.shared.info.name
    }

    /// The actor's id, for [`Bus::send_to`].
    pub fn id(&self) -> SubscriptionId {
        self.myself.id()
    }

    /// A handle to this actor.
    pub fn myself(&self) -> &ActorRef<M> {
        &self.myself
    }

    /// Stops the actor after the current hook returns.
    pub fn stop(&mut self) {
        self.stop = true;
    }

    /// The bus, unless it is gone.
    pub fn bus(&self) -> Option<Bus> {
        self.myself.shared.bus.upgrade().map(Bus::from_inner)
    }

    /// How many times the actor has been restarted.
    pub fn restarts(&self) -> u64 {
        self.myself
            .shared
            .info
            .counters
            .restarts
            .load(Ordering::Relaxed)
    }
}

enum Control {
    Stop,
    Shutdown(ShutdownNotice),
}

struct ActorShared<M> {
    info: Arc<MailboxInfo>,
    messages: Sender<M>,
    control: Sender<Control>,
    thread: Mutex<Option<JoinHandle<ActorExit>>>,
    exit: Mutex<Option<ActorExit>>,
    running: AtomicBool,
    tid: AtomicI32,
    bus: Weak<Inner>,
}

/// A handle to an actor: send it messages and targeted signals, stop it, join it.
/// Cheap to clone.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sigbus::{ActorExit, Signal};
///
/// let bus = sigbus::Bus::new();
/// let (seen, handled) = sigbus::crossbeam_channel::unbounded();
/// let worker = bus.actor("worker").spawn_fn(move |_ctx, event| {
///     seen.send(event.signal).unwrap();
/// })?;
/// // A targeted event: only this actor gets it, as with pthread_kill, but
/// // without touching the process's signal state.
/// worker.signal(Signal::USR1)?;
/// assert_eq!(handled.recv_timeout(Duration::from_secs(10))?, Signal::USR1);
/// assert!(worker.is_running());
/// assert_eq!(worker.thread().map(|t| t.tid()), Some(worker.tid()));
/// worker.stop();
/// assert_eq!(worker.join(), Some(ActorExit::Stopped));
/// assert!(worker.thread().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ActorRef<M> {
    shared: Arc<ActorShared<M>>,
}

impl<M> Clone for ActorRef<M> {
    fn clone(&self) -> Self {
        ActorRef {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<M: Send + 'static> ActorRef<M> {
    /// The actor's id on its bus.
    pub fn id(&self) -> SubscriptionId {
        self.shared.info.id
    }

    /// The actor's name.
    pub fn name(&self) -> &str {
        &self.shared.info.name
    }

    /// Sends a message, waiting for room in the queue.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message when the actor has stopped.
    pub fn send(&self, msg: M) -> Result<(), SendError<M>> {
        self.shared.messages.send(msg).map_err(|e| SendError(e.0))
    }

    /// Sends a message if there is room now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Disconnected`], with the message.
    pub fn try_send(&self, msg: M) -> Result<(), TrySendError<M>> {
        self.shared.messages.try_send(msg).map_err(|e| match e {
            crossbeam_channel::TrySendError::Full(m) => TrySendError::Full(m),
            crossbeam_channel::TrySendError::Disconnected(m) => TrySendError::Disconnected(m),
        })
    }

    /// Delivers an event for `signal` to this actor only (see [`Bus::send_to`]).
    ///
    /// # Errors
    ///
    /// As for [`Bus::send_to`].
    pub fn signal(&self, signal: Signal) -> Result<(), DeliverError> {
        let bus = self
            .shared
            .bus
            .upgrade()
            .ok_or(DeliverError::NoSuchTarget)?;
        Bus::from_inner(bus).send_to(self.id(), signal)
    }

    /// Asks the actor to stop after its current hook (control messages come
    /// before queued events).
    pub fn stop(&self) {
        let _ = self.shared.control.send(Control::Stop);
    }

    /// Waits for the actor's thread to end and says why it did. Returns at once
    /// when called from the actor itself or after an earlier join.
    pub fn join(&self) -> Option<ActorExit> {
        join_shared(&*self.shared)
    }

    /// Whether the actor's thread is still running.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::SeqCst)
    }

    /// The kernel id of the actor's thread (0 before it starts).
    pub fn tid(&self) -> i32 {
        self.shared.tid.load(Ordering::SeqCst)
    }

    /// The actor's thread, for thread-directed signals from sigcore
    /// ([`ThreadHandle::send`]); `None` before it starts and once it has
    /// ended. (To reach the actor, [`ActorRef::signal`] needs no kernel round
    /// trip; a `tgkill` is for code that must go through the kernel.)
    pub fn thread(&self) -> Option<ThreadHandle> {
        if !self.is_running() {
            return None;
        }
        ThreadHandle::of_thread(self.tid()).ok()
    }

    /// The actor's mailbox counters (including restarts).
    pub fn stats(&self) -> MailboxStats {
        let queued = self.shared.bus.upgrade().map_or(0, |bus| {
            bus.router.load().get(self.id()).map_or(0, |m| m.queued())
        });
        // An actor's mailbox is a channel from the start: it never grows.
        MailboxStats::read(&self.shared.info, queued, 0)
    }
}

fn join_shared<M>(shared: &ActorShared<M>) -> Option<ActorExit> {
    if shared.tid.load(Ordering::SeqCst) == ThreadHandle::current().tid() {
        return None;
    }
    // Hold the handle's lock while joining: a second joiner waits here for the
    // first instead of returning before the thread has ended.
    let mut handle = shared.thread.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(thread) = handle.take() {
        let exit = thread.join().unwrap_or(ActorExit::Failed);
        *shared.exit.lock().unwrap_or_else(|p| p.into_inner()) = Some(exit);
    }
    drop(handle);
    *shared.exit.lock().unwrap_or_else(|p| p.into_inner())
}

/// The bus's type-erased view of an actor.
pub(crate) trait ActorControl: Send + Sync {
    fn id(&self) -> SubscriptionId;
    fn request_stop(&self);
    fn notify_shutdown(&self, notice: &ShutdownNotice);
    fn join(&self);
}

impl<M: Send + 'static> ActorControl for ActorShared<M> {
    fn id(&self) -> SubscriptionId {
        self.info.id
    }
    fn request_stop(&self) {
        let _ = self.control.send(Control::Stop);
    }
    fn notify_shutdown(&self, notice: &ShutdownNotice) {
        let _ = self.control.send(Control::Shutdown(notice.clone()));
    }
    fn join(&self) {
        join_shared(self);
    }
}

/// Builds and spawns an actor; see [`Bus::actor`].
#[must_use = "a builder does nothing until `spawn` is called"]
pub struct ActorBuilder<'a> {
    bus: &'a Bus,
    spec: MailboxSpec,
    supervision: Supervision,
    messages: usize,
}

impl<'a> ActorBuilder<'a> {
    pub(crate) fn new(bus: &'a Bus, name: String) -> ActorBuilder<'a> {
        let mut spec = MailboxSpec::new(SignalSet::empty(), MailboxKind::Actor);
        spec.name = Some(name);
        ActorBuilder {
            bus,
            spec,
            supervision: Supervision::default(),
            messages: DEFAULT_MESSAGES,
        }
    }

    /// Signals the actor subscribes to (none by default: it can still get
    /// targeted events and messages).
    pub fn signals(mut self, signals: impl Into<SignalSet>) -> Self {
        self.spec.signals = signals.into();
        self
    }

    /// Signal mailbox capacity (default [`crate::DEFAULT_MAILBOX`]).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.spec.capacity = capacity;
        self
    }

    /// Overflow policy of the signal mailbox.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.spec.overflow = overflow;
        self
    }

    /// Sender filter of the signal mailbox.
    pub fn filter(mut self, filter: SenderFilter) -> Self {
        self.spec.filter = filter;
        self
    }

    /// What to do about other libraries' handlers of its signals (see
    /// [`crate::SubscriptionBuilder::foreign_handlers`]).
    pub fn foreign_handlers(mut self, foreign: sigcore::ForeignHandlers) -> Self {
        self.spec.foreign = foreign;
        self
    }

    /// What a panic does (default: [`Supervision::default`]).
    pub fn supervision(mut self, supervision: Supervision) -> Self {
        self.supervision = supervision;
        self
    }

    /// Message queue capacity (default [`DEFAULT_MESSAGES`]).
    pub fn message_capacity(mut self, capacity: usize) -> Self {
        self.messages = capacity.max(1);
        self
    }

    /// Spawns the actor on a thread of its own (named after it, with every
    /// signal blocked). `factory` builds the actor, and builds it again on each
    /// restart.
    ///
    /// # Errors
    ///
    /// As for [`Bus::subscribe`], plus [`BusError::Spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sigbus::{Actor, Context};
    /// use sigbus::{Signal, SignalEvent};
    ///
    /// struct Counter(u32);
    ///
    /// impl Actor for Counter {
    ///     type Msg = ();
    ///     fn handle_signal(&mut self, ctx: &mut Context<()>, event: SignalEvent) {
    ///         self.0 += 1;
    ///         println!("{} got {} (#{})", ctx.name(), event.signal, self.0);
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// sigbus::block(Signal::USR1)?;
    /// let bus = sigbus::Bus::new();
    /// let counter = bus.actor("counter").signals(Signal::USR1).spawn(|| Counter(0))?;
    /// sigbus::raise(Signal::USR1)?;
    /// assert_eq!(counter.join(), Some(sigbus::ActorExit::Stopped));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn<A, F>(self, factory: F) -> Result<ActorRef<A::Msg>, BusError>
    where
        A: Actor,
        F: FnMut() -> A + Send + 'static,
    {
        let bus = self.bus;
        let (info, inbox) = bus.open(self.spec)?;
        // Opened as a channel: the actor waits on it in `select!`.
        let signals = inbox.channel().clone();
        let (messages_tx, messages) = bounded(self.messages);
        // Unbounded: stop and shutdown requests must never wait for a busy actor.
        let (control_tx, control) = unbounded();
        let shared = Arc::new(ActorShared {
            info: Arc::clone(&info),
            messages: messages_tx,
            control: control_tx,
            thread: Mutex::new(None),
            exit: Mutex::new(None),
            running: AtomicBool::new(true),
            tid: AtomicI32::new(0),
            bus: bus.downgrade(),
        });
        let myself = ActorRef {
            shared: Arc::clone(&shared),
        };
        let ports = Ports {
            signals,
            messages,
            control,
        };
        let runner = Runner {
            ctx: Context {
                myself: myself.clone(),
                stop: false,
            },
            factory,
            supervision: self.supervision,
            recent_restarts: VecDeque::new(),
            not_mine: SignalSet::empty(),
            bus: bus.inner(),
        };
        // Registered before its thread starts, so an actor that ends at once is
        // also removed at once (its exit closes the mailbox and deregisters it).
        bus.inner.live_actors.fetch_add(1, Ordering::SeqCst);
        bus.register_actor(Arc::clone(&shared) as Arc<dyn ActorControl>);
        let builder = thread::Builder::new().name(info.name.to_string());
        // Held while spawning: a join from elsewhere waits until the handle is in.
        let mut thread_slot = shared.thread.lock().unwrap_or_else(|p| p.into_inner());
        match sigcore::spawn_blocked(builder, move || runner.run(ports)) {
            Ok(handle) => {
                *thread_slot = Some(handle);
                Ok(myself)
            }
            Err(e) => {
                bus.inner.live_actors.fetch_sub(1, Ordering::SeqCst);
                bus.inner.close(info.id);
                Err(BusError::Spawn(e))
            }
        }
    }

    /// Spawns a signal-only actor from a closure (cloned afresh on each restart).
    ///
    /// # Errors
    ///
    /// As for [`ActorBuilder::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sigbus::Signal;
    ///
    /// sigbus::block(Signal::USR2)?;
    /// let bus = sigbus::Bus::new();
    /// let worker = bus.actor("worker").signals(Signal::USR2).spawn_fn(|ctx, event| {
    ///     println!("{} handled {}", ctx.name(), event.signal);
    ///     ctx.stop();
    /// })?;
    /// sigbus::raise(Signal::USR2)?;
    /// worker.join();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn_fn<F>(self, f: F) -> Result<ActorRef<()>, BusError>
    where
        F: FnMut(&mut Context<()>, SignalEvent) + Clone + Send + 'static,
    {
        self.spawn(move || FnActor(f.clone()))
    }
}

struct FnActor<F>(F);

impl<F> Actor for FnActor<F>
where
    F: FnMut(&mut Context<()>, SignalEvent) + Send + 'static,
{
    type Msg = ();

    fn handle_signal(&mut self, ctx: &mut Context<()>, event: SignalEvent) {
        (self.0)(ctx, event)
    }
}

struct Ports<M> {
    signals: Receiver<SignalEvent>,
    messages: Receiver<M>,
    control: Receiver<Control>,
}

struct Runner<A: Actor, F> {
    ctx: Context<A::Msg>,
    factory: F,
    supervision: Supervision,
    recent_restarts: VecDeque<Instant>,
    /// Pending signals last found to be process-wide, none this thread's own.
    not_mine: SignalSet,
    /// Held strongly while the actor runs: a live actor keeps its routing alive.
    bus: Arc<Inner>,
}

/// Every signal a waiter could serve: what a thread can take for itself.
fn takeable() -> SignalSet {
    static TAKEABLE: std::sync::OnceLock<SignalSet> = std::sync::OnceLock::new();
    *TAKEABLE.get_or_init(|| {
        Signal::all()
            .filter(|s| s.check_waitable().is_ok())
            .collect()
    })
}

enum Verdict {
    GoOn,
    Exit(ActorExit),
}

impl<A: Actor, F: FnMut() -> A> Runner<A, F> {
    fn run(mut self, ports: Ports<A::Msg>) -> ActorExit {
        let shared = Arc::clone(&self.ctx.myself.shared);
        shared
            .tid
            .store(ThreadHandle::current().tid(), Ordering::SeqCst);
        CURRENT_ACTOR.with(|a| *a.borrow_mut() = Some(Arc::clone(&shared.info.name)));
        debug!("sigbus: actor {} started", shared.info.name);
        let (mut actor, mut exit) = self.start();
        while exit.is_none() {
            let Some(current) = actor.as_mut() else { break };
            let mut timed_out = false;
            let outcome = select_biased! {
                recv(ports.control) -> control => match control {
                    Ok(Control::Shutdown(notice)) => {
                        guarded(|| current.on_shutdown(&mut self.ctx, &notice))
                    }
                    Ok(Control::Stop) | Err(_) => break,
                },
                recv(ports.signals) -> event => match event {
                    Ok(event) => {
                        shared.info.taken(&event, ports.signals.len());
                        guarded(|| current.handle_signal(&mut self.ctx, event))
                    }
                    // The bus closed the mailbox: it is shutting down.
                    Err(_) => break,
                },
                recv(ports.messages) -> msg => match msg {
                    Ok(msg) => guarded(|| current.handle(&mut self.ctx, msg)),
                    Err(_) => break,
                },
                default(STRANDED_CHECK) => {
                    timed_out = true;
                    Ok(())
                }
            };
            // About to wait again: look for thread-directed signals stuck on this
            // thread. Skipped while work is queued, so bursts pay nothing.
            let idle =
                ports.signals.is_empty() && ports.messages.is_empty() && ports.control.is_empty();
            if idle && outcome.is_ok() {
                self.rescue_stranded(timed_out);
            }
            if let Err(panic) = outcome {
                match self.failed(&panic) {
                    Verdict::GoOn => {
                        let (fresh, failure) = self.start();
                        actor = fresh;
                        exit = failure;
                    }
                    Verdict::Exit(why) => {
                        actor = None;
                        exit = Some(why);
                    }
                }
            }
            if self.ctx.stop {
                break;
            }
        }
        if let Some(mut actor) = actor {
            if let Err(panic) = guarded(|| actor.post_stop(&mut self.ctx)) {
                error!(
                    "sigbus: actor {} panicked in post_stop: {}",
                    self.ctx.name(),
                    message(&panic)
                );
            }
        }
        let exit = exit.unwrap_or(ActorExit::Stopped);
        self.finish(exit);
        exit
    }

    /// Builds the actor and runs `pre_start`, retrying per supervision.
    fn start(&mut self) -> (Option<A>, Option<ActorExit>) {
        loop {
            let factory = &mut self.factory;
            let ctx = &mut self.ctx;
            match guarded(|| {
                let mut actor = factory();
                actor.pre_start(ctx);
                actor
            }) {
                Ok(actor) => return (Some(actor), None),
                Err(panic) => match self.failed(&panic) {
                    Verdict::GoOn => continue,
                    Verdict::Exit(why) => return (None, Some(why)),
                },
            }
        }
    }

    fn failed(&mut self, panic: &Panic) -> Verdict {
        let name = self.ctx.name().to_owned();
        error!("sigbus: actor {name} panicked: {}", message(panic));
        match self.supervision {
            Supervision::Stop => {
                warn!("sigbus: actor {name} stops (supervision: stop)");
                Verdict::Exit(ActorExit::Failed)
            }
            Supervision::Escalate => {
                warn!("sigbus: actor {name} escalates: shutting the bus down");
                escalate(Bus::from_inner(Arc::clone(&self.bus)));
                Verdict::Exit(ActorExit::Escalated)
            }
            Supervision::Restart { max, within } => {
                let now = Instant::now();
                while self
                    .recent_restarts
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > within)
                {
                    self.recent_restarts.pop_front();
                }
                if self.recent_restarts.len() >= max as usize {
                    warn!("sigbus: actor {name} hit its limit of {max} restarts in {within:?}; stopping");
                    return Verdict::Exit(ActorExit::Failed);
                }
                self.recent_restarts.push_back(now);
                let n = self
                    .ctx
                    .myself
                    .shared
                    .info
                    .counters
                    .restarts
                    .fetch_add(1, Ordering::Relaxed)
                    + 1;
                warn!("sigbus: restarting actor {name} (restart {n})");
                Verdict::GoOn
            }
        }
    }

    /// Thread-directed signals (`tgkill`, `pthread_kill`, libc `raise`, or raised
    /// by the kernel for this thread) stay pending here, where no waiter can take
    /// them. Take them and route them as the kernel path does: into this actor's
    /// own mailbox, through its sender filter, overflow policy and counters.
    ///
    /// Telling them from process-wide pending signals takes a /proc read. When
    /// not `thorough` (after an event), that read is skipped while the pending set
    /// is one already found to hold none of this thread's own, so a signal that
    /// stays pending for the whole process (blocked everywhere, served by nobody)
    /// costs a `sigpending` per event, not a /proc read. The idle timer looks
    /// thoroughly.
    fn rescue_stranded(&mut self, thorough: bool) {
        let pending = || {
            sigcore::pending()
                .unwrap_or_default()
                .intersection(takeable())
        };
        let first = pending();
        if first.is_empty() || (!thorough && first.is_subset(self.not_mine)) {
            self.not_mine = first;
            return;
        }
        // Process-wide signals the waiter is about to take: give it a moment or
        // three before paying for /proc.
        let mut now = first;
        for _ in 0..3 {
            thread::yield_now();
            now = pending();
            if now.is_empty() || (!thorough && now.is_subset(self.not_mine)) {
                self.not_mine = now;
                return;
            }
        }
        let shared = &self.ctx.myself.shared;
        let events = match sigcore::take_thread_directed(now) {
            Ok(events) => events,
            Err(e) => {
                debug!(
                    "sigbus: actor {}: {e}",
                    TaskName::new(shared.info.name.as_bytes())
                );
                return;
            }
        };
        self.not_mine = pending();
        if events.is_empty() {
            return;
        }
        let registry = self.bus.router.load();
        for event in &events {
            match registry.get(shared.info.id) {
                Some(mailbox) if shared.info.signals.contains(event.signal) => {
                    debug!(
                        "sigbus: thread-directed {event} for actor {}",
                        TaskName::new(shared.info.name.as_bytes())
                    );
                    mailbox.offer(event);
                }
                _ => shared.info.count_drop(
                    event,
                    "sent to the actor's thread, which does not subscribe to it (tgkill/raise); \
                     Bus::send_to or ActorRef::signal target an actor",
                ),
            }
        }
    }

    fn finish(&mut self, exit: ActorExit) {
        let shared = &self.ctx.myself.shared;
        shared.running.store(false, Ordering::SeqCst);
        debug!("sigbus: actor {} ended ({exit:?})", shared.info.name);
        self.bus.close(shared.info.id);
        self.bus.live_actors.fetch_sub(1, Ordering::SeqCst);
        // An edge, not a count: the coordinator re-reads live_actors.
        let _ = self.bus.exits.0.try_send(());
    }
}

type Panic = Box<dyn Any + Send + 'static>;

fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Panic> {
    catch_unwind(AssertUnwindSafe(f))
}

fn message(panic: &Panic) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)")
}

/// Shuts the bus down on behalf of a failing actor, from a thread of its own
/// (the actor cannot join itself).
fn escalate(bus: Bus) {
    let coordinator = bus
        .inner
        .escalations
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if let Some(coordinator) = coordinator {
        if coordinator.send(()).is_ok() {
            return;
        }
    }
    let builder = thread::Builder::new().name("sigbus-escalation".into());
    let spawned = sigcore::spawn_blocked(builder, move || bus.shutdown());
    if let Err(e) = spawned {
        error!("sigbus: cannot start the escalation thread: {e}");
    }
}
