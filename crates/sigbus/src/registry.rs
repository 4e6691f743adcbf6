//! The routing table: mailboxes in a slab, indexed by signal, and the doorbells
//! their readers sleep on (one per set of signals).
//!
//! A `Registry` is an immutable snapshot as far as the router is concerned: the
//! bus edits a copy under its control lock and publishes it whole, so routing
//! reads it without a lock. It holds no real signals, so it is unit-tested here.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sigcore::{Doorbell, Signal, SignalSet};
use slab::Slab;

use crate::mailbox::Mailbox;

/// Identifies a subscription or an actor. Never reused, and unique across all
/// buses of the process: a stale id (or another bus's) finds nothing rather
/// than someone else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId {
    key: usize,
    serial: u64,
}

impl SubscriptionId {
    /// A number unique among the process's subscriptions, for display.
    pub fn serial(&self) -> u64 {
        self.serial
    }
}

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.serial)
    }
}

/// Serial numbers of subscription ids, process-wide.
static SERIALS: AtomicU64 = AtomicU64::new(1);

#[derive(Clone)]
pub(crate) struct Registry {
    mailboxes: Slab<Arc<Mailbox>>,
    /// Per signal number: the mailboxes that take it, in subscription order.
    by_signal: Vec<Vec<Arc<Mailbox>>>,
    /// Per set of signals: the bell the readers of those mailboxes sleep on.
    /// Every event of a signal reaches all of them, so one ring wakes them all.
    bells: HashMap<u64, Arc<Doorbell>>,
    /// Per signal number: the distinct bells of its mailboxes, rung once each
    /// after an event is routed.
    bells_by_signal: Vec<Vec<Arc<Doorbell>>>,
}

impl Registry {
    pub(crate) fn new() -> Registry {
        let slots = Signal::rtmax().number() as usize + 1;
        Registry {
            mailboxes: Slab::new(),
            by_signal: vec![Vec::new(); slots],
            bells: HashMap::new(),
            bells_by_signal: vec![Vec::new(); slots],
        }
    }

    /// The bell of mailboxes taking exactly `signals`: shared with those
    /// already there, or new.
    pub(crate) fn bell_for(&self, signals: SignalSet) -> Arc<Doorbell> {
        self.bells
            .get(&signals.bits())
            .cloned()
            .unwrap_or_else(|| Arc::new(Doorbell::new()))
    }

    /// Recomputes the bells of `signals` after a mailbox came or went.
    fn rebuild_bells(&mut self, signals: SignalSet) {
        for signal in signals {
            let index = signal.number() as usize;
            let mut bells: Vec<Arc<Doorbell>> = Vec::new();
            for mailbox in &self.by_signal[index] {
                let bell = mailbox.inbox.bell();
                if !bells.iter().any(|b| Arc::ptr_eq(b, bell)) {
                    bells.push(Arc::clone(bell));
                }
            }
            self.bells_by_signal[index] = bells;
        }
    }

    /// A fresh id for the next mailbox inserted into this registry (the caller
    /// holds the bus's control lock, so nothing else inserts in between).
    pub(crate) fn next_id(&self) -> SubscriptionId {
        SubscriptionId {
            key: self.mailboxes.vacant_key(),
            serial: SERIALS.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Adds a mailbox whose info carries an id from `next_id`.
    pub(crate) fn insert(&mut self, mailbox: Mailbox) -> SubscriptionId {
        let id = mailbox.info.id;
        debug_assert_eq!(id.key, self.mailboxes.vacant_key());
        let mailbox = Arc::new(mailbox);
        let signals = mailbox.info.signals;
        for signal in signals {
            self.by_signal[signal.number() as usize].push(Arc::clone(&mailbox));
        }
        self.bells
            .entry(signals.bits())
            .or_insert_with(|| Arc::clone(mailbox.inbox.bell()));
        self.mailboxes.insert(mailbox);
        self.rebuild_bells(signals);
        id
    }

    /// Removes a mailbox; returns it if it was there.
    pub(crate) fn remove(&mut self, id: SubscriptionId) -> Option<Arc<Mailbox>> {
        self.get(id)?;
        let mailbox = self.mailboxes.remove(id.key);
        let signals = mailbox.info.signals;
        for signal in signals {
            self.by_signal[signal.number() as usize].retain(|m| m.info.id != id);
        }
        if !self
            .mailboxes
            .iter()
            .any(|(_, m)| m.info.signals == signals)
        {
            self.bells.remove(&signals.bits());
        }
        self.rebuild_bells(signals);
        Some(mailbox)
    }

    pub(crate) fn get(&self, id: SubscriptionId) -> Option<&Arc<Mailbox>> {
        self.mailboxes.get(id.key).filter(|m| m.info.id == id)
    }

    /// The mailboxes taking `signal`, in subscription order.
    pub(crate) fn route(&self, signal: Signal) -> &[Arc<Mailbox>] {
        &self.by_signal[signal.number() as usize]
    }

    /// The bells to ring after routing an event of `signal`.
    pub(crate) fn bells(&self, signal: Signal) -> &[Arc<Doorbell>] {
        &self.bells_by_signal[signal.number() as usize]
    }

    /// Every signal some mailbox takes.
    pub(crate) fn signals(&self) -> SignalSet {
        Signal::all()
            .filter(|s| !self.by_signal[s.number() as usize].is_empty())
            .collect()
    }

    pub(crate) fn mailboxes(&self) -> impl Iterator<Item = &Arc<Mailbox>> {
        self.mailboxes.iter().map(|(_, m)| m)
    }

    pub(crate) fn clear(&mut self) {
        self.mailboxes.clear();
        for list in &mut self.by_signal {
            list.clear();
        }
        for list in &mut self.bells_by_signal {
            list.clear();
        }
        self.bells.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use crossbeam_channel::Receiver;
    use sigcore::{Origin, SignalEvent};

    use super::*;
    use crate::inbox::Inbox;
    use crate::mailbox::{Counters, MailboxInfo, MailboxKind, Offer, Overflow};
    use crate::notify::Notify;
    use crate::SenderFilter;

    fn add(
        registry: &mut Registry,
        signals: SignalSet,
        capacity: usize,
        overflow: Overflow,
    ) -> (SubscriptionId, Receiver<SignalEvent>) {
        let id = registry.next_id();
        let inbox = Arc::new(Inbox::new(capacity, registry.bell_for(signals), true));
        let rx = inbox.channel().clone();
        let info = Arc::new(MailboxInfo {
            id,
            name: Arc::from(format!("sub{}", id.serial())),
            kind: MailboxKind::Subscription,
            signals,
            overflow,
            capacity,
            filter: SenderFilter::Any,
            my_uid: 0,
            counters: Counters::default(),
            notify: Notify::new(),
            direct: false,
        });
        registry.insert(Mailbox::new(info, inbox));
        (id, rx)
    }

    fn event(signal: Signal, seq: u64) -> SignalEvent {
        SignalEvent {
            signal,
            seq,
            at: Instant::now(),
            origin: Origin::Kernel,
        }
    }

    fn broadcast(registry: &Registry, event: &SignalEvent) -> Vec<Offer> {
        registry
            .route(event.signal)
            .iter()
            .map(|m| m.offer(event))
            .collect()
    }

    #[test]
    fn routes_only_to_subscribers_of_that_signal() {
        let mut registry = Registry::new();
        let (_, usr1) = add(&mut registry, Signal::USR1.into(), 4, Overflow::DropNewest);
        let (_, both) = add(
            &mut registry,
            [Signal::USR1, Signal::HUP].into(),
            4,
            Overflow::DropNewest,
        );
        let (_, hup) = add(&mut registry, Signal::HUP.into(), 4, Overflow::DropNewest);
        assert_eq!(registry.route(Signal::USR1).len(), 2);
        assert_eq!(registry.route(Signal::TERM).len(), 0);
        broadcast(&registry, &event(Signal::HUP, 7));
        assert!(usr1.try_recv().is_err());
        assert_eq!(both.try_recv().unwrap().seq, 7);
        assert_eq!(hup.try_recv().unwrap().seq, 7);
        assert_eq!(registry.signals(), [Signal::USR1, Signal::HUP].into());
    }

    #[test]
    fn removal_unroutes_and_disconnects() {
        let mut registry = Registry::new();
        let (id, rx) = add(&mut registry, Signal::USR1.into(), 4, Overflow::DropNewest);
        assert!(registry.remove(id).is_some());
        assert!(registry.remove(id).is_none());
        assert!(registry.route(Signal::USR1).is_empty());
        assert!(registry.signals().is_empty());
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(5)),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected),
            "the registry held the only sender"
        );
    }

    #[test]
    fn one_bell_per_set_of_signals_rung_once_per_event() {
        let mut registry = Registry::new();
        let (a, _ra) = add(&mut registry, Signal::USR1.into(), 4, Overflow::DropNewest);
        let (b, _rb) = add(&mut registry, Signal::USR1.into(), 4, Overflow::DropNewest);
        let both = SignalSet::from([Signal::USR1, Signal::HUP]);
        let (c, _rc) = add(&mut registry, both, 4, Overflow::DropNewest);
        let bell = |id| Arc::clone(registry.get(id).unwrap().inbox.bell());
        assert!(Arc::ptr_eq(&bell(a), &bell(b)), "same signals, same bell");
        assert!(!Arc::ptr_eq(&bell(a), &bell(c)));
        assert_eq!(registry.bells(Signal::USR1).len(), 2);
        assert_eq!(registry.bells(Signal::HUP).len(), 1);
        assert!(registry.bells(Signal::TERM).is_empty());
        let (usr1_bell, both_bell) = (bell(a), bell(c));
        registry.remove(a);
        registry.remove(b);
        assert_eq!(registry.bells(Signal::USR1).len(), 1);
        assert!(Arc::ptr_eq(&registry.bells(Signal::USR1)[0], &both_bell));
        // The set's last mailbox went: a new one gets a fresh bell.
        assert!(!Arc::ptr_eq(
            &registry.bell_for(Signal::USR1.into()),
            &usr1_bell
        ));
    }

    #[test]
    fn ids_are_never_reused() {
        let mut registry = Registry::new();
        let (first, _rx1) = add(&mut registry, Signal::USR1.into(), 1, Overflow::DropNewest);
        registry.remove(first);
        let (second, _rx2) = add(&mut registry, Signal::USR1.into(), 1, Overflow::DropNewest);
        assert_ne!(first, second);
        assert!(
            registry.get(first).is_none(),
            "a stale id must not find the new mailbox"
        );
        assert!(registry.get(second).is_some());
    }

    #[test]
    fn drop_newest_keeps_the_first_events() {
        let mut registry = Registry::new();
        let (id, rx) = add(&mut registry, Signal::USR1.into(), 2, Overflow::DropNewest);
        let offers: Vec<_> = (1..=4)
            .flat_map(|i| broadcast(&registry, &event(Signal::USR1, i)))
            .collect();
        assert_eq!(
            offers,
            [
                Offer::Delivered,
                Offer::Delivered,
                Offer::Dropped,
                Offer::Dropped
            ]
        );
        let seqs: Vec<u64> = rx.try_iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [1, 2]);
        let counters = &registry.get(id).unwrap().info.counters;
        assert_eq!(counters.dropped.load(Ordering::Relaxed), 2);
        assert_eq!(counters.delivered.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn drop_oldest_keeps_the_latest_events() {
        let mut registry = Registry::new();
        let (id, rx) = add(&mut registry, Signal::USR1.into(), 2, Overflow::DropOldest);
        for i in 1..=5 {
            broadcast(&registry, &event(Signal::USR1, i));
        }
        let seqs: Vec<u64> = rx.try_iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [4, 5]);
        assert_eq!(
            registry
                .get(id)
                .unwrap()
                .info
                .counters
                .dropped
                .load(Ordering::Relaxed),
            3
        );
    }

    #[test]
    fn coalesce_keeps_one_queued_event_per_signal() {
        let mut registry = Registry::new();
        let set = SignalSet::from([Signal::USR1, Signal::USR2]);
        let (id, rx) = add(&mut registry, set, 8, Overflow::Coalesce);
        for i in 1..=3 {
            broadcast(&registry, &event(Signal::USR1, i));
        }
        broadcast(&registry, &event(Signal::USR2, 4));
        let info = Arc::clone(&registry.get(id).unwrap().info);
        let first = rx.try_recv().unwrap();
        info.taken(&first, rx.len());
        assert_eq!((first.signal, first.seq), (Signal::USR1, 1));
        // USR1 was taken, so it may queue again; USR2 is still queued.
        broadcast(&registry, &event(Signal::USR1, 5));
        broadcast(&registry, &event(Signal::USR2, 6));
        let rest: Vec<u64> = rx.try_iter().map(|e| e.seq).collect();
        assert_eq!(rest, [4, 5]);
        assert_eq!(info.counters.dropped.load(Ordering::Relaxed), 3);
    }

    /// Read through the raw receiver (in `select!`), nobody calls `taken`: the
    /// next event must still be delivered once the mailbox is empty.
    #[test]
    fn coalesce_notices_reads_through_the_raw_receiver() {
        let mut registry = Registry::new();
        let (id, rx) = add(&mut registry, Signal::USR1.into(), 4, Overflow::Coalesce);
        for i in 1..=5 {
            let offers = broadcast(&registry, &event(Signal::USR1, i));
            assert_eq!(offers, [Offer::Delivered], "event {i}");
            assert_eq!(rx.try_recv().unwrap().seq, i);
        }
        let counters = &registry.get(id).unwrap().info.counters;
        assert_eq!(counters.dropped.load(Ordering::Relaxed), 0);
    }

    /// Full (capacity 1, another signal queued): the drop counts once.
    #[test]
    fn a_full_coalescing_mailbox_counts_each_drop_once() {
        let mut registry = Registry::new();
        let set = SignalSet::from([Signal::USR1, Signal::USR2]);
        let (id, rx) = add(&mut registry, set, 1, Overflow::Coalesce);
        let info = Arc::clone(&registry.get(id).unwrap().info);
        let dropped = || info.counters.dropped.load(Ordering::Relaxed);
        assert_eq!(
            broadcast(&registry, &event(Signal::USR1, 1)),
            [Offer::Delivered]
        );
        assert_eq!(
            broadcast(&registry, &event(Signal::USR2, 2)),
            [Offer::Dropped]
        );
        assert_eq!(dropped(), 1, "full: one drop");
        assert_eq!(
            broadcast(&registry, &event(Signal::USR1, 3)),
            [Offer::Dropped]
        );
        assert_eq!(dropped(), 2, "coalesced: one more");
        let first = rx.try_recv().unwrap();
        info.taken(&first, rx.len());
        // USR2 was never queued: it may queue now.
        assert_eq!(
            broadcast(&registry, &event(Signal::USR2, 4)),
            [Offer::Delivered]
        );
        assert_eq!(dropped(), 2);
        assert_eq!(info.counters.delivered.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_full_mailbox_does_not_stop_the_others() {
        let mut registry = Registry::new();
        let (_stalled, _never_read) =
            add(&mut registry, Signal::USR1.into(), 1, Overflow::DropNewest);
        let (_, healthy) = add(
            &mut registry,
            Signal::USR1.into(),
            100,
            Overflow::DropNewest,
        );
        for i in 1..=50 {
            broadcast(&registry, &event(Signal::USR1, i));
        }
        assert_eq!(healthy.try_iter().count(), 50);
    }
}
