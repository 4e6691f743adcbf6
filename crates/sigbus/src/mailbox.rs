//! The router's end of a subscription: its inbox, overflow policy, sender
//! filter and counters.

use std::fmt;
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::Arc;

use log::warn;
use sigcore::{SignalEvent, SignalSet, TaskName};

use crate::inbox::{Inbox, Refused};
use crate::notify::Notify;
use crate::{hold, SenderFilter, SubscriptionId};

/// What a full mailbox does with a new event. Every dropped event is counted.
///
/// # Examples
///
/// A reader that only cares about the latest state keeps one event and drops
/// the older ones; what was dropped is counted.
///
/// ```
/// use sigbus::{Overflow, Signal};
///
/// let bus = sigbus::Bus::new();
/// # sigbus::block(Signal::USR1 | Signal::USR2 | Signal::HUP)?;
/// let latest = bus
///     .subscription(Signal::USR1 | Signal::USR2 | Signal::HUP)
///     .capacity(1)
///     .overflow(Overflow::DropOldest)
///     .open()?;
/// for signal in [Signal::USR1, Signal::USR2, Signal::HUP] {
///     // Targeted events: queued in this order, no process signal state.
///     bus.send_to(latest.id(), signal)?;
/// }
/// assert_eq!(latest.try_recv()?.signal, Signal::HUP, "the newest is kept");
/// assert_eq!(latest.stats().dropped, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// Keep what is queued, drop the new event.
    #[default]
    DropNewest,
    /// Drop the oldest queued event to make room: the reader sees the latest.
    DropOldest,
    /// At most one queued event per signal, like the kernel's pending set: a new
    /// event for a signal already queued is dropped (and counted), whatever the
    /// room left. With a full mailbox, behaves as `DropNewest`.
    Coalesce,
    /// Never drop: when the mailbox is full, its signals are held in the kernel
    /// ([`sigcore::hold`]) until the reader has taken half of what is queued.
    /// Real-time signals wait there in order, and once the user's
    /// `RLIMIT_SIGPENDING` queue is full, `sigqueue` senders get `EAGAIN`: flow
    /// control end to end. Standard signals coalesce in the kernel meanwhile, as
    /// they would anyway.
    ///
    /// **Holding is per signal, for the whole process**: while one such mailbox
    /// is full, *every* subscriber of its signals (of any bus) waits with it, in
    /// order, losing nothing: one slow reader paces them all. Give a slow
    /// consumer a signal of its own if the others must not wait.
    ///
    /// The mailbox keeps room for 64 events beyond its capacity for what
    /// arrives before the hold takes effect; past that (only when threads leave
    /// the signal unblocked under a storm) events are dropped and counted. Read
    /// through [`crate::Subscription`]'s methods or an actor; with the raw
    /// receiver in `select!`, call [`crate::Subscription::taken`] for each event,
    /// or the signals stay held.
    Backpressure,
}

impl fmt::Display for Overflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Overflow::DropNewest => "drop-newest",
            Overflow::DropOldest => "drop-oldest",
            Overflow::Coalesce => "coalesce",
            Overflow::Backpressure => "backpressure",
        })
    }
}

/// Whether a mailbox belongs to a plain subscription or to an actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MailboxKind {
    /// A [`crate::Subscription`].
    Subscription,
    /// An actor's signal port.
    Actor,
}

/// Counters of one mailbox; read with relaxed loads from any thread.
#[derive(Default)]
pub(crate) struct Counters {
    pub delivered: AtomicU64,
    /// Delivered events that were taken on the receiving thread itself.
    pub direct: AtomicU64,
    pub dropped: AtomicU64,
    pub refused: AtomicU64,
    pub restarts: AtomicU64,
    /// Coalesce policy: bit `n - 1` set while an event of signal `n` is queued.
    pub queued_bits: AtomicU64,
    /// Backpressure policy: the signals this mailbox holds in the kernel.
    pub held: AtomicU64,
}

/// What the bus knows about a mailbox, shared with its owner for statistics.
pub(crate) struct MailboxInfo {
    pub id: SubscriptionId,
    pub name: Arc<str>,
    pub kind: MailboxKind,
    pub signals: SignalSet,
    pub overflow: Overflow,
    pub capacity: usize,
    pub filter: SenderFilter,
    /// This process's uid when the mailbox opened, for `SenderFilter::SameUser`.
    pub my_uid: u32,
    pub counters: Counters,
    /// Readers that poll rather than block: async tasks, event loops.
    pub notify: Notify,
    /// `recv` may take the signals on the receiving thread (see
    /// `Subscription::direct_reader`).
    pub direct: bool,
}

impl MailboxInfo {
    /// The receiving side took `event` and `left` are still queued: under
    /// `Coalesce` its signal may queue again; under `Backpressure`, once half is
    /// taken, held signals are released.
    pub(crate) fn taken(&self, event: &SignalEvent, left: usize) {
        match self.overflow {
            Overflow::Coalesce => {
                let bit = SignalSet::from(event.signal).bits();
                self.counters.queued_bits.fetch_and(!bit, Ordering::AcqRel);
            }
            Overflow::Backpressure if left <= self.capacity / 2 => {
                // Pairs with the fence in `Mailbox::put`: a hold the router
                // makes after this take is seen here, or it sees the take.
                fence(Ordering::SeqCst);
                if self.counters.held.load(Ordering::Acquire) != 0 {
                    hold::release(self);
                }
            }
            _ => {}
        }
    }

    /// Counts a dropped event; logs the first and then at powers of two.
    pub(crate) fn count_drop(&self, event: &SignalEvent, why: &str) {
        if let Some(total) = count_and_sample(&self.counters.dropped) {
            warn!(
                "sigbus: {} dropped {} ({why}); {total} dropped so far",
                TaskName::new(self.name.as_bytes()),
                event.signal
            );
        }
    }
}

/// Adds one to `counter`; returns the new total when it is worth a log line: the
/// first time and then at powers of two, so a storm never becomes a log storm.
fn count_and_sample(counter: &AtomicU64) -> Option<u64> {
    let total = counter.fetch_add(1, Ordering::Relaxed) + 1;
    total.is_power_of_two().then_some(total)
}

/// Result of offering an event to a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    Delivered,
    Dropped,
    Refused,
}

/// The router's handle on a mailbox. Dropping it (when the registry lets go)
/// closes the inbox: the reader sees the mailbox closed once drained.
pub(crate) struct Mailbox {
    pub info: Arc<MailboxInfo>,
    pub inbox: Arc<Inbox>,
}

impl Mailbox {
    pub(crate) fn new(info: Arc<MailboxInfo>, inbox: Arc<Inbox>) -> Mailbox {
        Mailbox { info, inbox }
    }

    /// Routes a kernel event: filter, then enqueue under the overflow policy.
    /// The caller then wakes the readers: [`Notify::sent_after_fence`] after a
    /// fence, and the inbox's bell.
    pub(crate) fn offer(&self, event: &SignalEvent) -> Offer {
        if !self.info.filter.accepts_as(&event.origin, self.info.my_uid) {
            if let Some(total) = count_and_sample(&self.info.counters.refused) {
                warn!(
                    "sigbus: {} refused {} from {} (sender filter {:?}); {total} refused so far",
                    TaskName::new(self.info.name.as_bytes()),
                    event.signal,
                    event.origin,
                    self.info.filter
                );
            }
            return Offer::Refused;
        }
        self.put(event)
    }

    /// Enqueues under the overflow policy, without the sender filter, and
    /// wakes the readers.
    pub(crate) fn enqueue(&self, event: &SignalEvent) -> Offer {
        let offer = self.put(event);
        self.info.notify.sent();
        self.inbox.bell().ring();
        self.inbox.wake_direct();
        offer
    }

    /// Enqueues under the overflow policy; the caller wakes the readers.
    fn put(&self, event: &SignalEvent) -> Offer {
        let info = &*self.info;
        if info.overflow == Overflow::Coalesce {
            let bit = SignalSet::from(event.signal).bits();
            let queued = info.counters.queued_bits.fetch_or(bit, Ordering::AcqRel) & bit != 0;
            // An empty inbox means the reader took the event through the raw
            // receiver without telling us: the bit is stale, send.
            if queued && !self.inbox.is_empty() {
                info.count_drop(event, "coalesced with a queued one");
                return Offer::Dropped;
            }
        }
        let mut event = event.clone();
        loop {
            match self.inbox.push(event) {
                Ok(()) => {
                    info.counters.delivered.fetch_add(1, Ordering::Relaxed);
                    if sigcore::delivering_directly() {
                        info.counters.direct.fetch_add(1, Ordering::Relaxed);
                    }
                    if info.overflow == Overflow::Backpressure && self.inbox.len() >= info.capacity
                    {
                        hold::hold(info);
                        // The reader may have taken half meanwhile, before it
                        // could see the hold: then nobody else would release it.
                        fence(Ordering::SeqCst);
                        if self.inbox.len() <= info.capacity / 2 {
                            hold::release(info);
                        }
                    }
                    return Offer::Delivered;
                }
                Err(Refused::Full(back)) => {
                    if info.overflow == Overflow::DropOldest {
                        if let Some(oldest) = self.inbox.pop() {
                            info.count_drop(&oldest, "oldest dropped for a newer one");
                            event = back;
                            continue;
                        }
                    }
                    if info.overflow == Overflow::Coalesce {
                        info.counters
                            .queued_bits
                            .fetch_and(!SignalSet::from(back.signal).bits(), Ordering::AcqRel);
                    }
                    info.count_drop(&back, "mailbox full");
                    return Offer::Dropped;
                }
                Err(Refused::Closed(back)) => {
                    info.count_drop(&back, "receiver gone");
                    return Offer::Dropped;
                }
            }
        }
    }

    /// Events waiting in the mailbox.
    pub(crate) fn queued(&self) -> usize {
        self.inbox.len()
    }
}

impl Drop for Mailbox {
    /// The reader now sees the mailbox closed, and a reader parked in `recv`,
    /// on a waker or on the fd must wake to see that.
    fn drop(&mut self) {
        self.inbox.close();
        self.info.notify.closed();
    }
}
