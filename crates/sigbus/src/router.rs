//! The bus's sigcore sink: runs on the waiter thread, routes each event to the
//! mailboxes of its signal.

use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use log::debug;
use sigcore::{Signal, SignalEvent, Sink};

use crate::registry::Registry;

pub(crate) struct Router {
    /// The published routing table. Loading it takes no lock and allocates
    /// nothing; the bus swaps in a new one on each (un)subscription.
    registry: ArcSwap<Registry>,
    /// Deliveries under way (on the waiter thread, and on threads that take
    /// their signals directly), counted in the slot of the epoch they began
    /// in; lets an unsubscription wait until nothing can still be delivering
    /// to what it removed. Two slots, flipped by each publication, so that
    /// the wait only drains deliveries that began before it: under a steady
    /// stream of signals a single count may never be seen at zero.
    in_flight: [AtomicU64; 2],
    /// Bumped by each publication; its parity picks the `in_flight` slot.
    epoch: AtomicU64,
    accepted: Vec<AtomicU64>,
    unrouted: Vec<AtomicU64>,
}

impl Router {
    pub(crate) fn new() -> Router {
        let slots = Signal::rtmax().number() as usize + 1;
        Router {
            registry: ArcSwap::from_pointee(Registry::new()),
            in_flight: [AtomicU64::new(0), AtomicU64::new(0)],
            epoch: AtomicU64::new(0),
            accepted: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            unrouted: (0..slots).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub(crate) fn route(&self, event: &SignalEvent) {
        let slot = self.enter();
        let registry = self.registry.load();
        let index = event.signal.number() as usize;
        self.accepted[index].fetch_add(1, Ordering::Relaxed);
        let mailboxes = registry.route(event.signal);
        if mailboxes.is_empty() {
            // Only possible in the instant between the last unsubscription and the
            // release of the signal: counted, never silent.
            self.unrouted[index].fetch_add(1, Ordering::Relaxed);
        }
        debug!("sigbus: routing {event} to {} mailbox(es)", mailboxes.len());
        for mailbox in mailboxes {
            mailbox.offer(event);
        }
        // Once every mailbox has it: one fence for the readers that poll (async
        // tasks, event loops), and one ring per set of signals for all the
        // readers parked in `recv`.
        fence(Ordering::SeqCst);
        for mailbox in mailboxes {
            mailbox.info.notify.sent_after_fence();
            // A reader taking its signals directly waits in sigtimedwait.
            mailbox.inbox.wake_direct();
        }
        for bell in registry.bells(event.signal) {
            bell.ring();
        }
        drop(registry);
        self.in_flight[slot].fetch_sub(1, Ordering::SeqCst);
    }

    /// Counts a delivery in the current epoch's slot; returns the slot. The
    /// epoch is read again after counting: if a publication flipped it in
    /// between, that publication may not wait for this slot, so the delivery
    /// counts itself in the new one instead (and then loads the new table).
    fn enter(&self) -> usize {
        loop {
            let epoch = self.epoch.load(Ordering::SeqCst);
            let slot = (epoch % 2) as usize;
            self.in_flight[slot].fetch_add(1, Ordering::SeqCst);
            if self.epoch.load(Ordering::SeqCst) == epoch {
                return slot;
            }
            self.in_flight[slot].fetch_sub(1, Ordering::SeqCst);
        }
    }

    pub(crate) fn load(&self) -> arc_swap::Guard<Arc<Registry>> {
        self.registry.load()
    }

    /// Publishes a new table and waits until no delivery that could have seen
    /// the old one is still running: those counted in the epoch before the
    /// flip. Later ones load the new table. Callers hold the bus's control
    /// lock, so publications do not overlap.
    pub(crate) fn publish(&self, registry: Registry) {
        self.registry.store(Arc::new(registry));
        let before = self.epoch.fetch_add(1, Ordering::SeqCst);
        let slot = &self.in_flight[(before % 2) as usize];
        while slot.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
    }

    pub(crate) fn accepted(&self, signal: Signal) -> u64 {
        self.accepted[signal.number() as usize].load(Ordering::Relaxed)
    }

    pub(crate) fn unrouted(&self, signal: Signal) -> u64 {
        self.unrouted[signal.number() as usize].load(Ordering::Relaxed)
    }
}

/// The sink handed to sigcore.
pub(crate) struct RouterSink(pub Arc<Router>);

impl Sink for RouterSink {
    fn deliver(&self, event: &SignalEvent) {
        self.0.route(event);
    }
}
