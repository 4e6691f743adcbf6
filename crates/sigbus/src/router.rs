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
    /// their signals directly); lets an unsubscription wait until nothing can
    /// still be delivering to what it removed.
    in_flight: AtomicU64,
    accepted: Vec<AtomicU64>,
    unrouted: Vec<AtomicU64>,
}

impl Router {
    pub(crate) fn new() -> Router {
        let slots = Signal::rtmax().number() as usize + 1;
        Router {
            registry: ArcSwap::from_pointee(Registry::new()),
            in_flight: AtomicU64::new(0),
            accepted: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            unrouted: (0..slots).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub(crate) fn route(&self, event: &SignalEvent) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
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
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    pub(crate) fn load(&self) -> arc_swap::Guard<Arc<Registry>> {
        self.registry.load()
    }

    /// Publishes a new table and waits until no delivery that could have seen the
    /// old one is still running: once none is under way, every later one
    /// loads the new table.
    pub(crate) fn publish(&self, registry: Registry) {
        self.registry.store(Arc::new(registry));
        while self.in_flight.load(Ordering::SeqCst) != 0 {
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
