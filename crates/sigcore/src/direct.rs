//! Taking a registration's signals on the thread that waits for them, with one
//! wake-up from the kernel instead of two (the waiter's, then a hand-off).
//!
//! A [`Direct`] holds a *lease* on some of a registration's signals. While the
//! lease is held the waiter leaves those signals alone, and a thread blocked in
//! [`Direct::wait`] takes them itself with `sigtimedwait`: the kernel wakes
//! that thread, and only that thread (the waiter then waits with
//! `sigtimedwait` too, never on the signalfd, whose wait queue every signal to
//! the process would wake). Each event still goes to the registration's
//! [`Sink`](crate::Sink), on the taking thread.
//!
//! Between two waits nobody reads the leased signals: they wait in the kernel.
//! The waiter takes them back (the lease lapses) once the holder has been away
//! for [`DIRECT_GAP`]; the next wait asks for the lease again. So a signal waits at
//! most about [`DIRECT_GAP`] longer than it would have, and standard signals that
//! arrive twice while the holder is away coalesce in the kernel, as they would
//! for any reader that is busy.
//!
//! States of a lease, and who moves them:
//!
//! | state | the waiter reads the set | the holder takes it | moved by |
//! | --- | --- | --- | --- |
//! | `IDLE` | yes | no | the waiter (grant: → `AWAY`) |
//! | `AWAY` | no | no (it pends) | the holder (→ `PARKED`), the waiter (lapse, revoke: → `IDLE`) |
//! | `PARKED` | no | yes | the holder (→ `AWAY`) |
//!
//! One thread dequeues the set at any moment, so real-time signals keep their
//! order and each is taken once.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{debug, error};

use crate::sys;
use crate::waiter::{self, SinkRef};
use crate::{Result, SignalSet};

/// How long leased signals may wait in the kernel while their holder is not
/// waiting, before the waiter takes them back.
pub const DIRECT_GAP: Duration = Duration::from_millis(5);

const IDLE: u32 = 0;
const AWAY: u32 = 1;
const PARKED: u32 = 2;

/// The waiter's second timer: it expires [`DIRECT_GAP`] after a holder stopped
/// waiting, so the waiter looks at the leases. -1 when the waiter has none
/// (its signal queue entry could not be had): then no lease is granted.
static GAP_TIMER: AtomicI32 = AtomicI32::new(-1);
/// The gap timer is armed; cleared by the waiter when it fires.
static GAP_ARMED: AtomicBool = AtomicBool::new(false);
/// Bumped by the waiter whenever what a grant depends on may have changed
/// (registrations, chains, other leases): a lease refused in one generation
/// is not asked for again in the same one, so that a subscriber that may
/// not read directly (two buses, a chained handler) does not cost the waiter
/// a round trip on every receive.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The waiter's view changed: refused leases may be asked for again.
pub(crate) fn new_generation() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

pub(crate) fn set_gap_timer(id: i32) {
    GAP_TIMER.store(id, Ordering::SeqCst);
    GAP_ARMED.store(false, Ordering::SeqCst);
}

pub(crate) fn gap_timer() -> Option<i32> {
    Some(GAP_TIMER.load(Ordering::SeqCst)).filter(|&id| id >= 0)
}

/// Arms the gap timer unless it is armed already (a load when it is).
fn ensure_gap_timer(after: Duration) {
    if GAP_ARMED.load(Ordering::SeqCst) {
        return;
    }
    if let Some(id) = gap_timer() {
        if !GAP_ARMED.swap(true, Ordering::SeqCst) && sys::arm_timer(id, after).is_err() {
            GAP_ARMED.store(false, Ordering::SeqCst);
        }
    }
}

/// A coarse monotonic clock in nanoseconds (a few milliseconds' resolution,
/// and cheaper than a precise read): enough to measure [`DIRECT_GAP`].
fn now_nanos() -> u64 {
    sys::coarse_monotonic_nanos()
}

/// One lease, shared by its [`Direct`] and the waiter.
pub(crate) struct Lease {
    pub(crate) registration: u64,
    pub(crate) set: SignalSet,
    state: AtomicU32,
    /// When the holder last stopped waiting ([`now_nanos`]).
    left_at: AtomicU64,
    /// The thread that can be woken: `tid << 32 | (timer + 1)`; 0 while none.
    parked: AtomicU64,
    /// Set by the waiter or the owner: give the signals back at the next
    /// chance and do not take them again until granted afresh.
    revoke: AtomicBool,
    /// The generation in which the waiter last refused it (`u64::MAX`: never).
    refused_in: AtomicU64,
    sink: SinkRef,
}

impl Lease {
    /// Whether the waiter must leave the set alone.
    pub(crate) fn held(&self) -> bool {
        self.state.load(Ordering::SeqCst) != IDLE
    }

    /// The waiter grants the lease (it is between two waits: it dequeues
    /// nothing of the set from now on). `false` when it was not idle.
    pub(crate) fn grant(&self) -> bool {
        self.revoke.store(false, Ordering::SeqCst);
        self.left_at.store(now_nanos(), Ordering::SeqCst);
        let granted = self
            .state
            .compare_exchange(IDLE, AWAY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if granted {
            ensure_gap_timer(DIRECT_GAP);
        }
        granted
    }

    /// The waiter takes the set back if the holder has been away for
    /// [`DIRECT_GAP`] (or a revoke is asked); returns whether it did, and otherwise
    /// how long until it may.
    pub(crate) fn lapse_if_due(&self, now: u64) -> std::result::Result<bool, Duration> {
        if self.state.load(Ordering::SeqCst) != AWAY {
            return Ok(false);
        }
        let away = now.saturating_sub(self.left_at.load(Ordering::SeqCst));
        let due = self.revoke.load(Ordering::SeqCst) || away >= DIRECT_GAP.as_nanos() as u64;
        if !due {
            return Err(DIRECT_GAP - Duration::from_nanos(away));
        }
        Ok(self
            .state
            .compare_exchange(AWAY, IDLE, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok())
    }

    /// Asks for the signals back (another consumer wants them): at once if
    /// the holder is away, at the end of its wait if it waits.
    pub(crate) fn revoke(&self) {
        self.revoke.store(true, Ordering::SeqCst);
        if self
            .state
            .compare_exchange(AWAY, IDLE, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            sys::wake_waiter();
        }
        self.wake();
    }

    /// Ends the holder's wait, if it waits.
    fn wake(&self) {
        let parked = self.parked.load(Ordering::SeqCst);
        if parked == 0 {
            return;
        }
        let (tid, timer) = ((parked >> 32) as i32, (parked & 0xffff_ffff) as i32 - 1);
        let wake = waiter::wake_signal().number();
        // tgkill first; with this user's signal queue full (a real-time tgkill
        // needs an entry) the thread's own timer, whose entry is preallocated.
        if sys::tgkill(sys::getpid(), tid, wake).is_err() && timer >= 0 {
            let _ = sys::arm_timer(timer, Duration::from_nanos(1));
        }
    }

    /// The holder stops waiting; gives the set back if a revoke came.
    fn unpark(&self) {
        self.parked.store(0, Ordering::SeqCst);
        self.left_at.store(now_nanos(), Ordering::SeqCst);
        self.state.store(AWAY, Ordering::SeqCst);
        if self.revoke.load(Ordering::SeqCst)
            && self
                .state
                .compare_exchange(AWAY, IDLE, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            sys::wake_waiter();
        } else {
            // Nobody reads the set now: the waiter must look within DIRECT_GAP.
            ensure_gap_timer(DIRECT_GAP);
        }
    }

    /// Gives the set back for good (the [`Direct`] is dropped).
    fn close(&self) {
        self.revoke.store(true, Ordering::SeqCst);
        if self.state.swap(IDLE, Ordering::SeqCst) != IDLE {
            sys::wake_waiter();
        }
    }
}

/// The calling thread's timer that delivers the wake signal to it: its queue
/// entry is allocated when it is made, so a wake-up through it cannot be
/// refused even with this user's signal queue full. Made on first use,
/// deleted when the thread ends. Kept with the thread's id.
struct ThreadWake {
    /// `tid << 32 | (timer + 1)`.
    packed: u64,
    timer: i32,
}

impl Drop for ThreadWake {
    fn drop(&mut self) {
        sys::delete_wake_timer(self.timer);
    }
}

thread_local! {
    static THREAD_WAKE: RefCell<Option<ThreadWake>> = const { RefCell::new(None) };
    static DELIVERING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the calling code runs inside a sink called by [`Direct::wait`]:
/// the event was taken on this thread, with one wake-up (sigbus counts
/// these).
pub fn delivering_directly() -> bool {
    DELIVERING.with(std::cell::Cell::get)
}

/// `tid << 32 | (timer + 1)` for this thread, or `None` when its timer cannot
/// be made (this user's signal queue is full): it could not be woken for sure.
fn this_thread_wake() -> Option<u64> {
    THREAD_WAKE.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_none() {
            let tid = sys::gettid();
            let timer = sys::create_wake_timer(tid, waiter::wake_signal().number()).ok()?;
            let packed = ((tid as u64) << 32) | (timer as u64 + 1);
            *slot = Some(ThreadWake { packed, timer });
        }
        slot.as_ref().map(|w| w.packed)
    })
}

/// What ended a [`Direct::wait`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Waited {
    /// A signal of the set was taken and handed to the registration's sink,
    /// on this thread.
    Delivered,
    /// [`Direct::wake`] (or `ready` said so before the wait began): look
    /// again.
    Woken,
    /// The deadline passed.
    TimedOut,
    /// The signals cannot be taken directly now (another thread of the
    /// process waits for them directly, another registration serves them, or
    /// the waiter has no timer to guard the lease): wait some other way.
    Unavailable,
}

/// Takes some of a [`Registration`](crate::Registration)'s signals on the
/// thread that calls [`Direct::wait`], with one wake-up from the kernel (see
/// the module docs of `sigcore::direct` for the lease it holds).
///
/// Made with [`Registration::direct`](crate::Registration::direct). sigbus's
/// subscriptions use one in `recv` when they are the only consumer of their
/// signals.
pub struct Direct {
    lease: Arc<Lease>,
}

impl Direct {
    pub(crate) fn new(registration: u64, set: SignalSet, sink: SinkRef) -> Direct {
        Direct {
            lease: Arc::new(Lease {
                registration,
                set,
                state: AtomicU32::new(IDLE),
                left_at: AtomicU64::new(0),
                parked: AtomicU64::new(0),
                revoke: AtomicBool::new(false),
                refused_in: AtomicU64::new(u64::MAX),
                sink,
            }),
        }
    }

    /// The signals it takes.
    pub fn signals(&self) -> SignalSet {
        self.lease.set
    }

    /// Waits until a signal of the set comes, then hands it to the sink;
    /// or until [`Direct::wake`]; or `deadline`. `ready` is asked once this
    /// thread can be woken and before it sleeps: return `true` when there is
    /// something to do already (the wake for it may have come before).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Io`] when `sigtimedwait` fails; [`crate::Error::InSink`]
    /// on the waiter thread.
    pub fn wait(&self, deadline: Option<Instant>, ready: impl Fn() -> bool) -> Result<Waited> {
        let lease = &*self.lease;
        if !self.take_lease()? {
            return Ok(Waited::Unavailable);
        }
        let Some(wake) = this_thread_wake() else {
            lease.unpark();
            return Ok(Waited::Unavailable);
        };
        lease.parked.store(wake, Ordering::SeqCst);
        // After `parked` is visible: work queued before it is seen here, work
        // queued after it wakes this thread (the wake signal stays pending).
        if lease.revoke.load(Ordering::SeqCst) || ready() {
            lease.unpark();
            return Ok(Waited::Woken);
        }
        let timeout = match deadline {
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => {
                    lease.unpark();
                    return Ok(Waited::TimedOut);
                }
            },
            None => None,
        };
        let wake_signal = waiter::wake_signal();
        let taken = sys::timed_wait(lease.set.union(wake_signal.into()), timeout);
        // Not wakeable any more; still the only reader while it delivers.
        lease.parked.store(0, Ordering::SeqCst);
        let waited = match taken {
            Ok(Some(raw)) if raw.signo == wake_signal.number() => Ok(Waited::Woken),
            Ok(Some(raw)) => {
                self.deliver(&raw);
                Ok(Waited::Delivered)
            }
            Ok(None) => Ok(Waited::TimedOut),
            Err(e) => Err(crate::Error::io("rt_sigtimedwait", e)),
        };
        lease.unpark();
        waited
    }

    /// Holds the lease in state `PARKED`, asking the waiter for it if it is
    /// idle. `false` when it cannot be had.
    fn take_lease(&self) -> Result<bool> {
        let lease = &*self.lease;
        for _ in 0..2 {
            match lease
                .state
                .compare_exchange(AWAY, PARKED, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => {
                    if lease.revoke.load(Ordering::SeqCst) {
                        lease.unpark();
                        return Ok(false);
                    }
                    return Ok(true);
                }
                Err(PARKED) => return Ok(false),
                Err(_) => {
                    let generation = GENERATION.load(Ordering::SeqCst);
                    if lease.refused_in.load(Ordering::SeqCst) == generation {
                        return Ok(false);
                    }
                    if !waiter::grant(&self.lease)? {
                        // Read before asking: a change since then is a newer
                        // generation, and the next wait asks again.
                        lease.refused_in.store(generation, Ordering::SeqCst);
                        return Ok(false);
                    }
                }
            }
        }
        // Granted, then lapsed at once (revoked, or the waiter raced): next time.
        Ok(false)
    }

    fn deliver(&self, raw: &crate::event::RawInfo) {
        let Some(event) = raw.accept() else {
            return;
        };
        log::trace!("sigcore: {event} taken directly");
        DELIVERING.with(|d| d.set(true));
        if catch_unwind(AssertUnwindSafe(|| self.lease.sink.deliver(&event))).is_err() {
            error!("sigcore: a sink panicked while handling {event}; event lost for it");
        }
        DELIVERING.with(|d| d.set(false));
    }

    /// Ends a [`Direct::wait`] in progress (from any thread); a no-op when
    /// none waits. Async-signal-safe apart from the atomics it reads.
    pub fn wake(&self) {
        self.lease.wake();
    }

    /// Gives the signals back to the waiter now (and ends a wait in
    /// progress); the next [`Direct::wait`] asks for them again.
    pub fn release(&self) {
        debug!("sigcore: giving {} back to the waiter", self.lease.set);
        self.lease.revoke();
    }

    /// Whether the waiter leaves the signals alone now (a lease is held).
    pub fn is_held(&self) -> bool {
        self.lease.held()
    }

    /// Whether a thread is inside [`Direct::wait`] holding the signals.
    pub fn is_waiting(&self) -> bool {
        self.lease.state.load(Ordering::SeqCst) == PARKED
    }
}

// The lease is atomics, and the sink runs under catch_unwind: a panic cannot
// leave either half-changed for code that catches it.
impl std::panic::UnwindSafe for Direct {}
impl std::panic::RefUnwindSafe for Direct {}

impl Drop for Direct {
    /// Gives the signals back; the waiter forgets the lease once it is the
    /// only one holding it.
    fn drop(&mut self) {
        self.lease.close();
    }
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct")
            .field("signals", &self.lease.set)
            .field("held", &self.lease.held())
            .finish()
    }
}

/// The waiter's view of the leases: which signals to leave alone, and when
/// to look at them again.
#[derive(Default)]
pub(crate) struct Leases {
    leases: Vec<Arc<Lease>>,
}

impl Leases {
    /// Signals under a held lease: the waiter does not read them.
    pub(crate) fn held(&self) -> SignalSet {
        self.leases
            .iter()
            .filter(|l| l.held())
            .fold(SignalSet::empty(), |all, l| all.union(l.set))
    }

    /// Forgets the leases whose [`Direct`] is gone.
    pub(crate) fn prune(&mut self) {
        let before = self.leases.len();
        self.leases.retain(|l| Arc::strong_count(l) > 1);
        if self.leases.len() != before {
            new_generation();
        }
    }

    pub(crate) fn add(&mut self, lease: &Arc<Lease>) {
        if !self.leases.iter().any(|l| Arc::ptr_eq(l, lease)) {
            self.leases.push(Arc::clone(lease));
        }
    }

    /// Whether another lease covers one of `set`'s signals.
    pub(crate) fn overlaps(&self, lease: &Arc<Lease>) -> bool {
        self.leases.iter().any(|l| {
            !Arc::ptr_eq(l, lease) && l.held() && !l.set.intersection(lease.set).is_empty()
        })
    }

    /// Revokes the leases for which `conflicts` says so (another consumer
    /// wants one of their signals, say).
    pub(crate) fn revoke_where(&self, mut conflicts: impl FnMut(&Lease) -> bool) {
        for lease in &self.leases {
            if conflicts(lease) {
                lease.revoke();
            }
        }
    }

    /// Takes back what has waited long enough (the gap timer fired, or any
    /// wake-up); re-arms the timer for the rest. Returns whether the set the
    /// waiter reads changed.
    pub(crate) fn lapse_due(&self, gap_fired: bool) -> bool {
        if gap_fired {
            GAP_ARMED.store(false, Ordering::SeqCst);
        }
        let now = now_nanos();
        let mut changed = false;
        let mut next: Option<Duration> = None;
        for lease in &self.leases {
            match lease.lapse_if_due(now) {
                Ok(lapsed) => {
                    if lapsed {
                        debug!(
                            "sigcore: the lease on {} lapsed; the waiter reads it",
                            lease.set
                        );
                    }
                    changed |= lapsed;
                }
                Err(left) => next = Some(next.map_or(left, |n| n.min(left))),
            }
        }
        if let Some(left) = next {
            ensure_gap_timer(left.max(Duration::from_micros(50)));
        }
        changed
    }
}
