//! Where a mailbox's events wait, and how its readers sleep.
//!
//! A plain queue grown on demand, so an idle subscription holds no event slots
//! (a bounded channel preallocates its whole capacity: 256 events are ~20 KiB).
//! It grows by doubling up to its room and never shrinks, so once a burst has
//! been absorbed, routing allocates nothing. Readers blocked in `recv` sleep on
//! a [`Doorbell`] that every subscription of the same signals on the bus shares:
//! the router rings it once per event, one system call for all of them.
//!
//! A reader that needs a channel (`select!` through `Subscription::receiver`,
//! an actor's ports) switches the inbox to a bounded crossbeam channel, once:
//! the queued events move into it, in order, and everything after goes there.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use sigcore::{Direct, Doorbell, SignalEvent};

/// Slots of a queue's first allocation.
const FIRST_SLOTS: usize = 4;

pub(crate) struct Inbox {
    queue: Mutex<Queue>,
    /// Events in the queue, readable without the lock (queue mode only).
    queued: AtomicUsize,
    /// Set once, under the queue lock, when the inbox becomes a channel.
    receiver: OnceLock<Receiver<SignalEvent>>,
    closed: AtomicBool,
    /// The most events it may hold.
    room: usize,
    /// Allocations made to grow the queue (bursts), for the statistics.
    grown: AtomicU64,
    bell: Arc<Doorbell>,
    /// Made on first use: takes the signals of a subscription that is their
    /// only consumer on the thread blocked in `recv` (see [`Direct`]).
    direct: OnceLock<Direct>,
}

struct Queue {
    events: VecDeque<SignalEvent>,
    /// Channel mode: the sending end, dropped on close so the receiver sees it.
    sender: Option<Sender<SignalEvent>>,
}

/// Why a push did not put the event in.
pub(crate) enum Refused {
    /// At its room; the event is handed back.
    Full(SignalEvent),
    /// Closed.
    Closed(SignalEvent),
}

impl Inbox {
    pub(crate) fn new(room: usize, bell: Arc<Doorbell>, channel: bool) -> Inbox {
        let inbox = Inbox {
            queue: Mutex::new(Queue {
                events: VecDeque::new(),
                sender: None,
            }),
            queued: AtomicUsize::new(0),
            receiver: OnceLock::new(),
            closed: AtomicBool::new(false),
            room: room.max(1),
            grown: AtomicU64::new(0),
            bell,
            direct: OnceLock::new(),
        };
        if channel {
            inbox.channel();
        }
        inbox
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Every section under the lock leaves the queue whole, even on a panic.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The channel the inbox becomes on first use; queued events move into it.
    pub(crate) fn channel(&self) -> &Receiver<SignalEvent> {
        if let Some(receiver) = self.receiver.get() {
            return receiver;
        }
        let mut queue = self.lock();
        if self.receiver.get().is_none() {
            let (sender, receiver) = bounded(self.room);
            for event in queue.events.drain(..) {
                // Cannot fail: the channel holds `room`, the queue at most that.
                let _ = sender.try_send(event);
            }
            self.queued.store(0, Ordering::Release);
            queue.events = VecDeque::new();
            if !self.closed.load(Ordering::Acquire) {
                queue.sender = Some(sender);
            }
            let _ = self.receiver.set(receiver);
        }
        drop(queue);
        self.receiver.get().expect("set above")
    }

    /// Adds an event at the back. The caller rings the bell.
    pub(crate) fn push(&self, event: SignalEvent) -> Result<(), Refused> {
        let mut queue = self.lock();
        if self.closed.load(Ordering::Relaxed) {
            return Err(Refused::Closed(event));
        }
        if self.receiver.get().is_some() {
            let sender = queue
                .sender
                .as_ref()
                .expect("open channel mode has a sender");
            return sender.try_send(event).map_err(|e| match e {
                TrySendError::Full(event) => Refused::Full(event),
                TrySendError::Disconnected(event) => Refused::Closed(event),
            });
        }
        let events = &mut queue.events;
        if events.len() >= self.room {
            return Err(Refused::Full(event));
        }
        if events.len() == events.capacity() {
            // Doubling, within the room: a burst costs a few allocations, and
            // the queue keeps its size for the next one.
            let target = (events.capacity() * 2).max(FIRST_SLOTS).min(self.room);
            events.reserve_exact(target - events.len());
            self.grown.fetch_add(1, Ordering::Relaxed);
        }
        events.push_back(event);
        self.queued.store(events.len(), Ordering::Release);
        Ok(())
    }

    /// Takes the oldest event.
    pub(crate) fn pop(&self) -> Option<SignalEvent> {
        if let Some(receiver) = self.receiver.get() {
            return receiver.try_recv().ok();
        }
        if self.queued.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut queue = self.lock();
        if let Some(receiver) = self.receiver.get() {
            drop(queue);
            return receiver.try_recv().ok();
        }
        let event = queue.events.pop_front();
        self.queued.store(queue.events.len(), Ordering::Release);
        event
    }

    /// Events waiting.
    pub(crate) fn len(&self) -> usize {
        match self.receiver.get() {
            Some(receiver) => receiver.len(),
            None => self.queued.load(Ordering::Acquire),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Nothing more will be pushed; readers wake to see it once drained.
    pub(crate) fn close(&self) {
        let mut queue = self.lock();
        self.closed.store(true, Ordering::Release);
        queue.sender = None;
        drop(queue);
        self.bell.ring();
        self.wake_direct();
    }

    /// Wakes a reader waiting for its signals directly (after a push or a
    /// close): two atomic loads when none waits.
    pub(crate) fn wake_direct(&self) {
        if let Some(direct) = self.direct.get() {
            direct.wake();
        }
    }

    pub(crate) fn direct(&self) -> Option<&Direct> {
        self.direct.get()
    }

    /// Installs the reader's [`Direct`] (the first one wins).
    pub(crate) fn set_direct(&self, direct: Direct) -> &Direct {
        let _ = self.direct.set(direct);
        self.direct.get().expect("set just above")
    }

    /// Whether the inbox is a channel (a reader may wait in `select!`).
    pub(crate) fn is_channel(&self) -> bool {
        self.receiver.get().is_some()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn bell(&self) -> &Arc<Doorbell> {
        &self.bell
    }

    pub(crate) fn grown(&self) -> u64 {
        self.grown.load(Ordering::Relaxed)
    }

    /// The next event, waiting on the bell until `deadline` (for ever with
    /// `None`).
    #[cfg(test)]
    pub(crate) fn recv(&self, deadline: Option<std::time::Instant>) -> Result<SignalEvent, Empty> {
        loop {
            let ticket = self.bell.ticket();
            if let Some(event) = self.pop() {
                return Ok(event);
            }
            if self.is_closed() {
                return Err(Empty::Closed);
            }
            if !self.bell.wait(ticket, deadline) {
                return Err(Empty::TimedOut);
            }
        }
    }
}

/// Why a receive returned without an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Empty {
    TimedOut,
    Closed,
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use sigcore::Signal;

    use super::*;

    fn event(n: u64) -> SignalEvent {
        let mut event = SignalEvent::local(Signal::USR1, None);
        event.seq = n;
        event
    }

    #[test]
    fn an_idle_inbox_holds_no_slots_and_grows_by_doubling_within_its_room() {
        let inbox = Inbox::new(10, Arc::new(Doorbell::new()), false);
        assert_eq!(inbox.lock().events.capacity(), 0);
        for n in 0..10 {
            assert!(inbox.push(event(n)).is_ok());
        }
        assert!(matches!(inbox.push(event(10)), Err(Refused::Full(_))));
        let capacity = inbox.lock().events.capacity();
        assert!((10..16).contains(&capacity), "capacity {capacity}");
        // 4, 8, 10: three allocations for the burst.
        assert_eq!(inbox.grown(), 3);
        for n in 0..10 {
            assert_eq!(inbox.pop().map(|e| e.seq), Some(n));
        }
        // Steady state: the grown queue is reused, no new allocation.
        for n in 0..100 {
            inbox.push(event(n)).ok().unwrap();
            assert_eq!(inbox.pop().map(|e| e.seq), Some(n));
        }
        assert_eq!(inbox.grown(), 3);
    }

    #[test]
    fn a_room_smaller_than_the_first_allocation_is_still_the_limit() {
        let inbox = Inbox::new(3, Arc::new(Doorbell::new()), false);
        for n in 0..3 {
            assert!(inbox.push(event(n)).is_ok());
        }
        assert!(matches!(inbox.push(event(3)), Err(Refused::Full(_))));
        assert_eq!(inbox.lock().events.capacity(), 3);
    }

    #[test]
    fn switching_to_a_channel_keeps_order_and_closing_disconnects_it() {
        let inbox = Inbox::new(8, Arc::new(Doorbell::new()), false);
        inbox.push(event(1)).ok().unwrap();
        inbox.push(event(2)).ok().unwrap();
        let receiver = inbox.channel().clone();
        inbox.push(event(3)).ok().unwrap();
        assert_eq!(inbox.len(), 3);
        assert_eq!(inbox.pop().map(|e| e.seq), Some(1));
        assert_eq!(receiver.try_recv().map(|e| e.seq), Ok(2));
        inbox.close();
        assert_eq!(inbox.recv(None).map(|e| e.seq), Ok(3));
        assert_eq!(inbox.recv(None), Err(Empty::Closed));
        assert!(receiver.recv().is_err(), "the channel disconnects on close");
        assert!(matches!(inbox.push(event(4)), Err(Refused::Closed(_))));
    }

    #[test]
    fn a_reader_parked_in_recv_wakes_for_a_push_and_for_a_close() {
        let inbox = Arc::new(Inbox::new(8, Arc::new(Doorbell::new()), false));
        let reader = {
            let inbox = Arc::clone(&inbox);
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(10);
                let first = inbox.recv(Some(deadline)).map(|e| e.seq);
                let second = inbox.recv(Some(deadline)).map(|e| e.seq);
                (first, second)
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        inbox.push(event(7)).ok().unwrap();
        inbox.bell().ring();
        std::thread::sleep(Duration::from_millis(20));
        inbox.close();
        assert_eq!(reader.join().unwrap(), (Ok(7), Err(Empty::Closed)));
    }

    #[test]
    fn recv_times_out_at_its_deadline() {
        let inbox = Inbox::new(8, Arc::new(Doorbell::new()), false);
        let started = Instant::now();
        let deadline = started + Duration::from_millis(30);
        assert_eq!(inbox.recv(Some(deadline)), Err(Empty::TimedOut));
        assert!(started.elapsed() >= Duration::from_millis(30));
    }
}
