//! The one waiter thread per process, and the commands that reshape what it serves.
//!
//! The waiter owns every piece of routing state: the registrations, the per-signal
//! sink lists, the saved dispositions, its signalfd. Other threads change them only
//! by sending a [`Command`] and waiting for the reply, so the hot path (signalfd →
//! event → sinks) takes no lock and allocates nothing.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use log::{debug, error, trace, warn};

use crate::direct::{self, Lease, Leases};
use crate::event::{RawInfo, CODE_TIMER, CODE_UNKNOWN};
use crate::neighbours::{self, Neighbours};
use crate::sys::{self, SavedAction, SignalFd, BATCH};
use crate::{Error, Result, Signal, SignalEvent, SignalSet};

/// Receives the events of a [`crate::Registration`], on the waiter thread.
///
/// `deliver` runs on the one thread that serves every signal of the process: it
/// must return quickly and never block (use `try_send` on a bounded channel, an
/// atomic, a lock-free queue). A panic in it is caught and logged; the event is
/// lost for that sink only.
pub trait Sink: Send + Sync + 'static {
    /// Called once per event of a signal the registration holds.
    fn deliver(&self, event: &SignalEvent);
}

impl<F: Fn(&SignalEvent) + Send + Sync + 'static> Sink for F {
    fn deliver(&self, event: &SignalEvent) {
        self(event)
    }
}

pub(crate) type SinkRef = Arc<dyn Sink>;

/// Signals currently served (armed) by the waiter.
static ARMED: AtomicU64 = AtomicU64::new(0);
/// Signals held in the kernel (see [`crate::hold`]): armed, but not read.
static HELD: AtomicU64 = AtomicU64::new(0);
/// Signals a registration blocked in some thread (sigcore's own change).
static BLOCKED_WHILE_SERVED: AtomicU64 = AtomicU64::new(0);
/// Signals blocked with [`crate::block`]: the program's choice, kept on release.
static BLOCKED_EXPLICITLY: AtomicU64 = AtomicU64::new(0);
/// Armed signals whose replaced disposition was SIG_IGN (to restore in children).
static ORIGINALLY_IGNORED: AtomicU64 = AtomicU64::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Without a wake timer, how long the waiter may sleep before it looks for
/// commands by itself.
const DEGRADED_LOOK: std::time::Duration = std::time::Duration::from_millis(100);

thread_local! {
    static ON_WAITER: Cell<bool> = const { Cell::new(false) };
    /// Registrations dropped on the waiter thread itself (a sink that owned one):
    /// applied after the current command or batch, without touching SERVICE,
    /// which the thread waiting for this waiter's reply may hold.
    static DROPPED_ON_WAITER: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Asks the waiter to grant `lease` (see `direct`); waits for its answer.
pub(crate) fn grant(lease: &Arc<Lease>) -> Result<bool> {
    if on_waiter() {
        return Err(from_sink());
    }
    let guard = service();
    let Some(service) = guard.as_ref() else {
        return Ok(false);
    };
    let (reply, answer) = bounded(1);
    service.send(Command::Lease {
        lease: Arc::clone(lease),
        reply,
    })?;
    drop(guard);
    await_reply(&answer)
}

/// Whether the calling thread is sigcore's waiter thread: code running there is
/// inside a [`Sink`], and must not wait for anything the waiter does.
pub fn on_waiter_thread() -> bool {
    ON_WAITER.with(Cell::get)
}

fn on_waiter() -> bool {
    on_waiter_thread()
}

fn from_sink() -> Error {
    Error::InSink
}

/// Waits for the waiter's reply, ringing again now and then: cheap insurance, as
/// a ring cannot be refused (see `sys::wake`).
fn await_reply<T>(answer: &Receiver<T>) -> Result<T> {
    loop {
        match answer.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(value) => return Ok(value),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => sys::wake_waiter(),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Err(gone()),
        }
    }
}

/// Signals sigcore serves right now. In a child forked without exec, what the
/// parent served (see [`serving_here`]).
pub(crate) fn armed() -> SignalSet {
    SignalSet::from_bits(ARMED.load(Ordering::SeqCst))
}

/// Whether this process has the waiter: not a child forked without exec,
/// which inherits the parent's state but not its thread.
pub(crate) fn serving_here() -> bool {
    sys::serving_pid() == sys::getpid()
}

/// What sigcore replaced when it started serving `signal`, if it ever did.
pub(crate) fn original(signal: Signal) -> Option<sys::RawDisposition> {
    saved()[signal.number() as usize].as_ref().map(|s| s.kind())
}

/// Signals held in the kernel.
pub(crate) fn held() -> SignalSet {
    SignalSet::from_bits(HELD.load(Ordering::SeqCst))
}

/// Holds or resumes `set`. The waiter applies it after its current batch; a
/// hold from another thread waits until it has.
pub(crate) fn set_held(set: SignalSet, hold: bool) {
    if hold {
        HELD.fetch_or(set.bits(), Ordering::SeqCst);
    } else {
        HELD.fetch_and(!set.bits(), Ordering::SeqCst);
    }
    // From a sink (on the waiter, or on a thread delivering directly, whose
    // signals the waiter does not read) there is nothing to wait for, and a
    // sink must not block on the waiter.
    if on_waiter() || crate::direct::delivering_directly() {
        return;
    }
    if !hold {
        sys::wake_waiter();
        return;
    }
    let guard = service();
    if let Some(service) = guard.as_ref() {
        let (reply, answer) = bounded(1);
        if service.send(Command::Sync { reply }).is_ok() {
            let _ = await_reply(&answer);
        }
    }
}

/// Signals blocked in some thread through sigcore, for whatever reason: what a
/// child should get unblocked.
pub(crate) fn blocked_by_sigcore() -> SignalSet {
    SignalSet::from_bits(
        BLOCKED_WHILE_SERVED.load(Ordering::SeqCst)
            | BLOCKED_EXPLICITLY.load(Ordering::SeqCst)
            | sys::net_blocked(),
    )
}

/// Signals whose blocking sigcore undoes on release (by leaving the waiter
/// unblocked): blocked for serving, not by an explicit [`crate::block`].
fn blocked_for_serving_only() -> SignalSet {
    let implicit = BLOCKED_WHILE_SERVED.load(Ordering::SeqCst) | sys::net_blocked();
    SignalSet::from_bits(implicit & !BLOCKED_EXPLICITLY.load(Ordering::SeqCst))
}

pub(crate) fn record_blocked_while_served(set: SignalSet) {
    BLOCKED_WHILE_SERVED.fetch_or(set.bits(), Ordering::SeqCst);
}

pub(crate) fn record_explicit_block(set: SignalSet, blocked: bool) {
    if blocked {
        BLOCKED_EXPLICITLY.fetch_or(set.bits(), Ordering::SeqCst);
    } else {
        BLOCKED_EXPLICITLY.fetch_and(!set.bits(), Ordering::SeqCst);
    }
}

pub(crate) fn originally_ignored() -> SignalSet {
    SignalSet::from_bits(ORIGINALLY_IGNORED.load(Ordering::SeqCst))
}

enum Command {
    Register {
        id: u64,
        set: SignalSet,
        sink: SinkRef,
        /// Deliver to foreign handlers of these signals too.
        chain: bool,
        reply: Sender<Result<SignalSet>>,
    },
    Change {
        id: u64,
        add: SignalSet,
        remove: SignalSet,
        /// Deliver to foreign handlers of the added signals too.
        chain: bool,
        reply: Sender<Result<SignalSet>>,
    },
    Unregister {
        id: u64,
        /// `true` in the reply: nothing left to serve, the thread may stop.
        reply: Sender<bool>,
    },
    /// Asks whether the thread may stop (nothing registered, no default to take).
    Idle {
        reply: Sender<bool>,
    },
    /// Replies once the held signals are applied.
    Sync {
        reply: Sender<()>,
    },
    /// Grants a lease (see `direct`) if its signals may be taken directly.
    Lease {
        lease: Arc<Lease>,
        reply: Sender<bool>,
    },
    Stop,
}

struct Service {
    /// The process that started it: a forked child must not talk to it.
    pid: i32,
    commands: Sender<Command>,
    thread: JoinHandle<()>,
}

static SERVICE: Mutex<Option<Service>> = Mutex::new(None);

/// Per signal, the disposition sigcore replaced when it started serving it. Kept
/// outside the waiter so that a forked child's new waiter restores the original,
/// not the parent's safety-net handler.
static SAVED: Mutex<Vec<Option<SavedAction>>> = Mutex::new(Vec::new());

fn saved() -> MutexGuard<'static, Vec<Option<SavedAction>>> {
    let mut saved = SAVED.lock().unwrap_or_else(|p| p.into_inner());
    if saved.is_empty() {
        saved.resize(Signal::rtmax().number() as usize + 1, None);
    }
    saved
}

fn service() -> MutexGuard<'static, Option<Service>> {
    // A panic while holding the lock cannot leave the Option half-written.
    let mut guard = SERVICE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if guard.as_ref().is_some_and(|s| s.pid != sys::getpid()) {
        // This is the child of a fork without exec: the waiter thread stayed in
        // the parent. Forget it (its thread handle means nothing here) and start
        // afresh on the next registration; dispositions saved by the parent stay
        // in SAVED, so releases still restore the originals.
        debug!("sigcore: forked child; the parent's waiter is not here");
        std::mem::forget(guard.take());
        sys::set_wake_target(0, 0, 0, -1);
    }
    guard
}

/// The signal that wakes the waiter thread for commands and safety-net records,
/// sent to that thread only. Reserved: no registration may serve it.
///
/// SIGRTMAX, unless something else holds it when sigcore first needs it (another
/// library's handler, or valgrind, which keeps SIGRTMAX for itself): then the
/// highest real-time signal below it that is free. Chosen once; its do-nothing
/// handler stays for the life of the process, so a stray one is harmless.
pub(crate) fn wake_signal() -> Signal {
    static WAKE: OnceLock<Signal> = OnceLock::new();
    *WAKE.get_or_init(|| {
        let top = Signal::rtmax().number();
        let candidates = (top.saturating_sub(7).max(Signal::rtmin().number())..=top)
            .rev()
            .filter_map(|n| Signal::new(n).ok());
        sys::claim_wake_signal(candidates).unwrap_or_else(Signal::rtmax)
    })
}

impl Service {
    fn start() -> Result<Service> {
        let wake = wake_signal();
        let sfd = SignalFd::new(wake.into()).map_err(|e| Error::io("signalfd", e))?;
        let (commands, receiver) = unbounded();
        // The thread must start with every signal blocked: set the mask here, let
        // the new thread inherit it, then restore ours.
        let previous = sys::block_all_in_thread().map_err(|e| Error::io("pthread_sigmask", e))?;
        let (ready_tx, ready_rx) = bounded(1);
        let spawned = thread::Builder::new()
            .name("sigcore-waiter".into())
            .spawn(move || {
                ON_WAITER.with(|w| w.set(true));
                let tid = sys::gettid();
                // The timer must be this thread's. Its queue entry is allocated
                // now: with this user's queue full, there is none to be had, and
                // the waiter starts without it (see `Waiter::run`).
                let timer = sys::create_wake_timer(tid, wake.number()).ok();
                // The second guards direct leases; without it none is granted.
                let gap = sys::create_wake_timer(tid, wake.number()).ok();
                direct::set_gap_timer(gap.unwrap_or(-1));
                let _ = ready_tx.send((tid, timer));
                Waiter::new(sfd, receiver, timer, gap).run();
            });
        let _ = sys::thread_set_mask(previous);
        let thread = spawned.map_err(|e| Error::io("spawning the waiter thread", e))?;
        let Ok((tid, timer)) = ready_rx.recv() else {
            let _ = thread.join();
            return Err(gone());
        };
        sys::set_wake_target(sys::getpid(), tid, wake.number(), timer.unwrap_or(-1));
        debug!("sigcore: waiter thread started (tid {tid}, wake signal {wake}, timer {timer:?})");
        Ok(Service {
            pid: sys::getpid(),
            commands,
            thread,
        })
    }

    fn send(&self, command: Command) -> Result<()> {
        self.commands
            .send(command)
            .map_err(|_| Error::io("waiter", std::io::Error::other("waiter thread is gone")))?;
        sys::wake_waiter();
        Ok(())
    }

    fn stop(self) {
        let _ = self.send(Command::Stop);
        let _ = self.thread.join();
        // No more wake-ups: the thread id may be reused.
        sys::set_wake_target(0, 0, 0, -1);
        debug!("sigcore: waiter thread stopped");
    }
}

fn gone() -> Error {
    Error::io("waiter", std::io::Error::other("waiter thread exited"))
}

/// Starts serving `set` for `sink`; returns the registration id and the signals
/// that were not served before.
pub(crate) fn register(set: SignalSet, sink: SinkRef, chain: bool) -> Result<(u64, SignalSet)> {
    if on_waiter() {
        return Err(from_sink());
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut guard = service();
    if guard.is_none() {
        *guard = Some(Service::start()?);
    }
    let (reply, answer) = bounded(1);
    guard
        .as_ref()
        .expect("started above")
        .send(Command::Register {
            id,
            set,
            sink,
            chain,
            reply,
        })?;
    let newly = await_reply(&answer)??;
    Ok((id, newly))
}

/// Adds and removes signals of a registration; returns the newly served ones.
pub(crate) fn change(id: u64, add: SignalSet, remove: SignalSet, chain: bool) -> Result<SignalSet> {
    if on_waiter() {
        return Err(from_sink());
    }
    let guard = service();
    let service = guard.as_ref().ok_or_else(gone)?;
    let (reply, answer) = bounded(1);
    service.send(Command::Change {
        id,
        add,
        remove,
        chain,
        reply,
    })?;
    await_reply(&answer)?
}

/// Ends a registration; stops the waiter when nothing is left for it to do.
pub(crate) fn unregister(id: u64) {
    if on_waiter() {
        // Dropped inside a sink or while the waiter rearranged its routes: it
        // applies this itself once the current step is done. (It cannot join
        // itself, so it stays up even if nothing is left.)
        DROPPED_ON_WAITER.with(|d| d.borrow_mut().push(id));
        return;
    }
    ask_then_stop_if_idle(|reply| Command::Unregister { id, reply });
}

/// Stops a waiter that serves nothing and is no longer needed to take a released
/// signal's default action (called after a thread unblocks signals).
pub(crate) fn stop_if_idle() {
    if !on_waiter() {
        ask_then_stop_if_idle(|reply| Command::Idle { reply });
    }
}

/// Sends a command whose reply says whether the waiter may stop, and stops it
/// if so, all under the service lock so no registration slips in between.
fn ask_then_stop_if_idle(command: impl FnOnce(Sender<bool>) -> Command) {
    let mut guard = service();
    let Some(service) = guard.as_ref() else {
        return;
    };
    let (reply, answer) = bounded(1);
    if service.send(command(reply)).is_err() {
        return;
    }
    if await_reply(&answer).unwrap_or(false) {
        if let Some(service) = guard.take() {
            service.stop();
        }
    }
}

struct Registered {
    id: u64,
    set: SignalSet,
    sink: SinkRef,
    /// The part of `set` whose foreign handlers get each event too.
    chain: SignalSet,
}

struct Waiter {
    sfd: SignalFd,
    /// The wake timer (see `sys::wake`); `None` while this user's signal queue
    /// was full when one was needed, and the waiter looks for commands every
    /// `DEGRADED_LOOK` instead of sleeping until woken.
    timer: Option<i32>,
    commands: Receiver<Command>,
    /// This process's id, to recognise our own wake-ups.
    pid: i32,
    registrations: Vec<Registered>,
    /// Per signal number, the sinks to call, in registration order.
    routes: Vec<Vec<SinkRef>>,
    armed: SignalSet,
    /// Armed signals left out of the signalfd's set: held in the kernel.
    held: SignalSet,
    /// Other handlers of the served signals.
    neighbours: Neighbours,
    /// Released signals this thread unblocked so that their default action (or the
    /// restored handler) runs again even though the other threads block them.
    released: SignalSet,
    /// Leases on signals other threads take directly (see `direct`), and the
    /// signals under a held one, which the waiter leaves alone.
    leases: Leases,
    leased: SignalSet,
    /// While a lease is held the waiter waits with `sigtimedwait` (a blocked
    /// signalfd read would be woken by every signal, the leased included) and
    /// takes the rest of a batch through this non-blocking descriptor.
    nonblocking: Option<SignalFd>,
    /// The timer that makes the waiter look at leases (see `direct::DIRECT_GAP`).
    gap_timer: Option<i32>,
}

impl Waiter {
    fn new(
        sfd: SignalFd,
        commands: Receiver<Command>,
        timer: Option<i32>,
        gap_timer: Option<i32>,
    ) -> Waiter {
        let slots = Signal::rtmax().number() as usize + 1;
        Waiter {
            sfd,
            timer,
            leases: Leases::default(),
            leased: SignalSet::empty(),
            nonblocking: None,
            gap_timer,
            commands,
            pid: sys::getpid(),
            registrations: Vec::new(),
            routes: vec![Vec::new(); slots],
            armed: SignalSet::empty(),
            held: SignalSet::empty(),
            neighbours: Neighbours::new(),
            released: SignalSet::empty(),
        }
    }

    fn run(mut self) {
        let mut batch = [RawInfo::default(); BATCH];
        let wake = wake_signal().number();
        loop {
            self.refresh_leases();
            let count = if self.leased.is_empty() {
                self.read_batch(&mut batch)
            } else {
                self.wait_batch(&mut batch)
            };
            let mut gap_fired = false;
            for raw in &batch[..count] {
                if raw.signo != wake {
                    self.dispatch(raw);
                } else if raw.code == CODE_TIMER && Some(raw.timer_id) == self.gap_timer {
                    gap_fired = true;
                } else if raw.pid != self.pid && raw.code != CODE_TIMER {
                    debug!(
                        "sigcore: ignored {} from pid {}: reserved for the waiter",
                        wake_signal(),
                        raw.pid
                    );
                }
            }
            // Look for work after every batch, woken or not: cheap when there is
            // none (a few atomic loads). Cleared first, so a ring sent after the
            // look is not lost.
            sys::clear_wake();
            self.leases.lapse_due(gap_fired);
            self.drain_safety_net();
            if !self.run_commands() {
                break;
            }
            self.apply_holds();
        }
        self.leases.revoke_where(|_| true);
        for signal in self.armed {
            self.disarm(signal);
        }
        direct::set_gap_timer(-1);
        for timer in [self.timer, self.gap_timer].into_iter().flatten() {
            sys::delete_wake_timer(timer);
        }
    }

    /// The hot path without leases: one blocking read of the signalfd.
    fn read_batch(&mut self, batch: &mut [RawInfo; BATCH]) -> usize {
        // Without a wake timer a ring may not get through: never sleep for
        // longer than a moment then (and try for the timer again).
        let readable = self.timer.is_some() || self.degraded_wait();
        match readable.then(|| self.sfd.read(batch)) {
            None => 0,
            Some(Ok(count)) => count,
            Some(Err(e)) => {
                // Not expected from a signalfd; pause rather than spin, and
                // still look at the commands (a Stop must get through).
                error!("sigcore: reading the signalfd failed: {e}");
                thread::sleep(std::time::Duration::from_millis(10));
                0
            }
        }
    }

    /// With leases held: `sigtimedwait` for the first signal, which wakes no
    /// thread waiting for a leased one, then the rest of the batch without
    /// waiting.
    fn wait_batch(&mut self, batch: &mut [RawInfo; BATCH]) -> usize {
        let timeout = if self.timer.is_some() || self.degraded_timer() {
            None
        } else {
            Some(DEGRADED_LOOK)
        };
        let first = match sys::timed_wait(self.reading(self.armed), timeout) {
            Ok(Some(raw)) => raw,
            Ok(None) => return 0,
            Err(e) => {
                error!("sigcore: sigtimedwait failed: {e}");
                thread::sleep(std::time::Duration::from_millis(10));
                return 0;
            }
        };
        batch[0] = first;
        let rest = self
            .nonblocking
            .as_ref()
            .map_or(Ok(0), |fd| fd.read(&mut batch[1..]));
        1 + rest.unwrap_or(0)
    }

    /// Forgets dropped leases and brings the signalfds' set in line with the
    /// held ones: a few atomic loads when nothing changed.
    fn refresh_leases(&mut self) {
        self.leases.prune();
        let leased = self.leases.held();
        if leased == self.leased {
            return;
        }
        // A lease given back or taken: a refused one may fit now.
        direct::new_generation();
        self.leased = leased;
        if !leased.is_empty() && self.nonblocking.is_none() {
            match SignalFd::nonblocking(self.reading(self.armed)) {
                Ok(fd) => self.nonblocking = Some(fd),
                Err(e) => error!("sigcore: making a non-blocking signalfd failed: {e}"),
            }
        }
        self.set_masks();
    }

    /// Applies the set the waiter reads to its signalfds.
    fn set_masks(&self) {
        let reading = self.reading(self.armed);
        for fd in std::iter::once(&self.sfd).chain(self.nonblocking.as_ref()) {
            if let Err(e) = fd.set_mask(reading) {
                error!("sigcore: updating the signalfd failed: {e}");
            }
        }
    }

    /// Grants `lease` when its signals have no other consumer here: armed,
    /// served for its registration alone, chained to no other handler, under
    /// no other lease; and the gap timer exists to guard it.
    fn grant(&mut self, lease: &Arc<Lease>) -> bool {
        let sole = self
            .registrations
            .iter()
            .filter(|r| !r.set.intersection(lease.set).is_empty())
            .all(|r| r.id == lease.registration && r.chain.intersection(lease.set).is_empty());
        let ok = self.gap_timer.is_some()
            && lease.set.is_subset(self.armed)
            && sole
            && !self.leases.overlaps(lease);
        if !ok {
            return false;
        }
        self.leases.add(lease);
        let granted = lease.grant();
        self.refresh_leases();
        granted
    }

    /// After the registrations changed: revokes the leases whose signals have
    /// another consumer now, or are no longer served for them.
    fn revoke_conflicting_leases(&self) {
        // The registrations changed: a refused lease may be granted now.
        direct::new_generation();
        let registrations = &self.registrations;
        let armed = self.armed;
        self.leases.revoke_where(|lease| {
            !lease.set.is_subset(armed)
                || registrations.iter().any(|r| {
                    let shares = !r.set.intersection(lease.set).is_empty();
                    shares
                        && (r.id != lease.registration
                            || !r.chain.intersection(lease.set).is_empty())
                })
                || !registrations.iter().any(|r| r.id == lease.registration)
        });
    }

    /// Without a wake timer, in `sigtimedwait` mode: tries to make one.
    fn degraded_timer(&mut self) -> bool {
        match sys::create_wake_timer(sys::gettid(), wake_signal().number()) {
            Ok(timer) => {
                debug!("sigcore: the wake timer is made; the waiter sleeps until woken again");
                sys::set_wake_timer(timer);
                self.timer = Some(timer);
                true
            }
            Err(_) => false,
        }
    }

    /// Without a wake timer: tries to make one (this user's signal queue may
    /// have room again), else waits for signals at most `DEGRADED_LOOK`.
    /// Returns whether to read the signalfd; otherwise the loop only looks for
    /// commands and safety-net records, so commands complete within that time
    /// whatever the queue's state.
    fn degraded_wait(&mut self) -> bool {
        if let Ok(timer) = sys::create_wake_timer(sys::gettid(), wake_signal().number()) {
            debug!("sigcore: the wake timer is made; the waiter sleeps until woken again");
            sys::set_wake_timer(timer);
            self.timer = Some(timer);
            return true;
        }
        self.sfd.readable_within(DEGRADED_LOOK).unwrap_or(true)
    }

    /// The signals the waiter takes: armed, neither held nor leased, and the
    /// wake signal.
    fn reading(&self, armed: SignalSet) -> SignalSet {
        armed
            .difference(self.held)
            .difference(self.leased)
            .union(wake_signal().into())
    }

    /// Brings the signalfd's set in line with the held signals: one atomic load
    /// when nothing changed.
    fn apply_holds(&mut self) {
        let held = held().intersection(self.armed);
        if held == self.held {
            return;
        }
        self.held = held;
        self.set_masks();
    }

    fn drain_safety_net(&mut self) {
        sys::drain_net(|raw| self.dispatch(&raw));
        sys::take_overflows(|signo, lost| {
            let raw = RawInfo {
                signo,
                code: CODE_UNKNOWN,
                ..RawInfo::default()
            };
            for _ in 0..lost {
                self.dispatch(&raw);
            }
            // Sampled: the first time, then each time the total passes a power of two.
            let total = crate::safety_net_stats().senders_lost;
            let before = total.saturating_sub(u64::from(lost));
            if before == 0 || before.ilog2() != total.ilog2() {
                warn!(
                    "sigcore: the safety net's ring was full: {lost} {} arrived without its \
                     sender ({total} so far). Some thread keeps served signals unblocked under a \
                     storm (sigsuspend or ppoll with an empty mask?); block them there",
                    Signal::new(signo).map_or("signal", Signal::name)
                );
            }
        });
    }

    fn dispatch(&mut self, raw: &RawInfo) {
        let Ok(signal) = Signal::new(raw.signo) else {
            return;
        };
        let sinks = &self.routes[signal.number() as usize];
        if sinks.is_empty() {
            // Caught by the safety net just before it was released: let the
            // restored disposition have it, as if it had come a moment later.
            debug!("sigcore: {signal} arrived after its release; re-raising it");
            let _ = sys::kill(sys::getpid(), signal.number());
            return;
        }
        let Some(event) = raw.accept() else {
            return;
        };
        trace!("sigcore: {event}");
        for sink in sinks {
            if catch_unwind(AssertUnwindSafe(|| sink.deliver(&event))).is_err() {
                error!("sigcore: a sink panicked while handling {event}; event lost for it");
            }
        }
        self.neighbours
            .after_dispatch(signal, raw, event.at, || saved()[signal.number() as usize]);
    }

    /// Applies pending commands; returns false on `Stop`.
    fn run_commands(&mut self) -> bool {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Register {
                    id,
                    set,
                    sink,
                    chain,
                    reply,
                } => {
                    let chain = if chain { set } else { SignalSet::empty() };
                    self.registrations.push(Registered {
                        id,
                        set,
                        sink,
                        chain,
                    });
                    let result = self.rearm();
                    if result.is_err() {
                        // Leave nothing behind: the caller gets no Registration.
                        self.registrations.retain(|r| r.id != id);
                        let _ = self.rearm();
                    }
                    self.revoke_conflicting_leases();
                    let _ = reply.send(result);
                }
                Command::Change {
                    id,
                    add,
                    remove,
                    chain,
                    reply,
                } => {
                    let before = self
                        .registrations
                        .iter()
                        .find(|r| r.id == id)
                        .map(|r| (r.set, r.chain));
                    if let Some(r) = self.registrations.iter_mut().find(|r| r.id == id) {
                        r.set = r.set.union(add).difference(remove);
                        r.chain = if chain {
                            r.chain.union(add)
                        } else {
                            r.chain.difference(add)
                        }
                        .intersection(r.set);
                    }
                    let result = self.rearm();
                    if let (Err(_), Some((set, chain))) = (&result, before) {
                        if let Some(r) = self.registrations.iter_mut().find(|r| r.id == id) {
                            r.set = set;
                            r.chain = chain;
                        }
                        let _ = self.rearm();
                    }
                    self.revoke_conflicting_leases();
                    let _ = reply.send(result);
                }
                Command::Unregister { id, reply } => {
                    self.registrations.retain(|r| r.id != id);
                    if let Err(e) = self.rearm() {
                        error!("sigcore: releasing signals failed: {e}");
                    }
                    self.revoke_conflicting_leases();
                    let _ = reply.send(self.may_stop());
                }
                Command::Idle { reply } => {
                    let _ = reply.send(self.may_stop());
                }
                Command::Sync { reply } => {
                    self.apply_holds();
                    let _ = reply.send(());
                }
                Command::Lease { lease, reply } => {
                    let granted = self.grant(&lease);
                    let _ = reply.send(granted);
                }
                Command::Stop => return false,
            }
            self.unregister_dropped();
        }
        self.unregister_dropped();
        true
    }

    /// Applies unregistrations of registrations that were dropped on this thread
    /// (their sinks owned them and went away in `rearm`, or a sink dropped one).
    fn unregister_dropped(&mut self) {
        loop {
            let dropped = DROPPED_ON_WAITER.with(|d| std::mem::take(&mut *d.borrow_mut()));
            if dropped.is_empty() {
                return;
            }
            self.registrations.retain(|r| !dropped.contains(&r.id));
            if let Err(e) = self.rearm() {
                error!("sigcore: releasing signals failed: {e}");
            }
            self.revoke_conflicting_leases();
        }
    }

    /// Makes the armed set and the routes match the registrations; returns the
    /// signals armed by this call. On failure the registrations stay as they are
    /// and the failing signal is left unarmed.
    fn rearm(&mut self) -> Result<SignalSet> {
        let wanted: SignalSet = self
            .registrations
            .iter()
            .fold(SignalSet::empty(), |all, r| all.union(r.set));
        let chained: SignalSet = self
            .registrations
            .iter()
            .fold(SignalSet::empty(), |all, r| all.union(r.chain));
        for signal in self.armed.difference(wanted) {
            self.disarm(signal);
        }
        let mut newly = SignalSet::empty();
        let mut result = Ok(());
        for signal in wanted.difference(self.armed) {
            match self.arm(signal, chained.contains(signal)) {
                Ok(()) => {
                    newly.insert(signal);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.neighbours
            .set_chained(chained.intersection(self.armed));
        for sinks in &mut self.routes {
            sinks.clear();
        }
        for r in &self.registrations {
            for signal in r.set.intersection(self.armed) {
                self.routes[signal.number() as usize].push(Arc::clone(&r.sink));
            }
        }
        result.map(|()| newly)
    }

    fn arm(&mut self, signal: Signal, chain: bool) -> Result<()> {
        let current = sys::current(signal).map_err(|e| Error::io("sigaction", e))?;
        Neighbours::may_take(signal, &current, chain)?;
        // Served before the handler goes in: a signal it catches at once is kept.
        sys::set_served(self.armed.union(signal.into()).bits());
        let replaced = match sys::install_net_handler(signal) {
            Ok(replaced) => replaced,
            Err(e) => {
                sys::set_served(self.armed.bits());
                return Err(Error::io("sigaction", e));
            }
        };
        // Already set: a forked child re-arming what its parent served, whose
        // current handler is sigcore's own. Keep the original.
        let first = {
            let mut originals = saved();
            let slot = &mut originals[signal.number() as usize];
            let first = slot.is_none();
            if first {
                // For the handler too: a delivery it gets after the release, or
                // in a forked child, goes on to this.
                replaced.remember_as_original(signal);
                *slot = Some(replaced);
            }
            first
        };
        if self.released.remove(signal) {
            let _ = sys::thread_block(signal.into());
        }
        if let Err(e) = self
            .sfd
            .set_mask(self.reading(self.armed.union(signal.into())))
        {
            // Undo: the signal is not served, so its disposition goes back.
            if first {
                if let Some(original) = saved()[signal.number() as usize].take() {
                    let _ = sys::restore(signal, &original);
                }
            }
            sys::set_served(self.armed.bits());
            return Err(Error::io("signalfd", e));
        }
        if first && replaced.kind() == sys::RawDisposition::Ignore {
            ORIGINALLY_IGNORED.fetch_or(SignalSet::from(signal).bits(), Ordering::SeqCst);
        }
        self.armed.insert(signal);
        ARMED.store(self.armed.bits(), Ordering::SeqCst);
        if let Some(fd) = &self.nonblocking {
            if let Err(e) = fd.set_mask(self.reading(self.armed)) {
                error!("sigcore: updating the signalfd failed: {e}");
            }
        }
        debug!("sigcore: now serving {signal}");
        Ok(())
    }

    fn disarm(&mut self, signal: Signal) {
        // A hold lasts while the signal is served.
        HELD.fetch_and(!SignalSet::from(signal).bits(), Ordering::SeqCst);
        self.held.remove(signal);
        self.armed.remove(signal);
        ARMED.store(self.armed.bits(), Ordering::SeqCst);
        self.set_masks();
        let original = saved()[signal.number() as usize].take();
        match original {
            // Someone installed a handler over sigcore's: theirs stays.
            Some(_) if !neighbours::still_ours(signal) => {
                debug!("sigcore: {signal} has another handler now; leaving it in place");
            }
            Some(saved) => {
                if let Err(e) = sys::restore(signal, &saved) {
                    error!("sigcore: restoring the disposition of {signal} failed: {e}");
                }
            }
            None => {}
        }
        // After the restore: a delivery in between still finds the handler
        // serving, and the waiter passes it on to the restored disposition.
        sys::set_served(self.armed.bits());
        self.neighbours.forget(signal);
        ORIGINALLY_IGNORED.fetch_and(!SignalSet::from(signal).bits(), Ordering::SeqCst);
        // A pending instance now meets the restored disposition here.
        if blocked_for_serving_only().contains(signal) && sys::thread_unblock(signal.into()).is_ok()
        {
            self.released.insert(signal);
        }
        debug!("sigcore: released {signal}");
    }

    /// Whether the thread can go: nothing registered, and every released signal is
    /// unblocked in some other thread (else nobody would take its default action).
    fn may_stop(&self) -> bool {
        if !self.registrations.is_empty() {
            return false;
        }
        if self.released.is_empty() {
            return true;
        }
        let me = sys::gettid();
        match crate::ProcSignals::of_threads(sys::getpid()) {
            Ok(threads) => {
                let others: Vec<_> = threads.iter().filter(|t| t.pid != me).collect();
                let keep = self
                    .released
                    .iter()
                    .any(|s| others.iter().all(|t| t.blocked.contains(s)));
                if keep {
                    debug!(
                        "sigcore: every thread blocks some of {}; the waiter stays to take \
                         their default action",
                        self.released
                    );
                }
                !keep
            }
            Err(_) => false,
        }
    }
}

/// Logs threads that leave some of `newly` unblocked (other than the caller and
/// the waiter): a signal landing there is caught by the safety net, slower.
pub(crate) fn warn_unblocked_threads(newly: SignalSet) {
    if newly.is_empty() {
        return;
    }
    let skip = [sys::gettid(), sys::wake_target_tid()];
    let Ok(threads) = crate::ProcSignals::of_threads(sys::getpid()) else {
        return;
    };
    let open: Vec<String> = threads
        .iter()
        .filter(|t| !skip.contains(&t.pid) && !newly.is_subset(t.blocked))
        .map(|t| format!("{} (tid {})", t.name, t.pid))
        .collect();
    if !open.is_empty() {
        warn!(
            "sigcore: {} thread(s) do not block {newly}: {}. Signals landing there are caught \
             by the safety net and then blocked in that thread; call sigcore::block in main \
             before spawning threads to avoid this",
            open.len(),
            open.join(", ")
        );
    }
}
