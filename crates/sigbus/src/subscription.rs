use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvError, RecvTimeoutError, TryRecvError};
use sigcore::{SignalEvent, SignalSet};

use crate::bus::Inner;
use crate::mailbox::MailboxInfo;
use crate::stats::MailboxStats;
use crate::SubscriptionId;

/// A thread's mailbox of signal events. Dropping it unsubscribes.
///
/// Receive with [`recv`](Subscription::recv) and friends, or hand
/// [`receiver`](Subscription::receiver) to `crossbeam_channel::select!` to wait on
/// signals and your own work channels in one place.
///
/// # Examples
///
/// ```
/// use crossbeam_channel::{select, unbounded};
/// use sigcore::Signal;
///
/// # sigcore::block(Signal::HUP.into())?;
/// let bus = sigbus::Bus::new();
/// let hangups = bus.subscribe(Signal::HUP)?;
/// let (work_tx, work) = unbounded::<u32>();
/// work_tx.send(7).unwrap();
/// select! {
///     recv(hangups.receiver()) -> event => println!("reload: {:?}", event),
///     recv(work) -> job => assert_eq!(job, Ok(7)),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Subscription {
    info: Arc<MailboxInfo>,
    receiver: Receiver<SignalEvent>,
    /// Held strongly: a live subscription keeps its routing alive.
    bus: Arc<Inner>,
}

impl Subscription {
    pub(crate) fn new(
        info: Arc<MailboxInfo>,
        receiver: Receiver<SignalEvent>,
        bus: Arc<Inner>,
    ) -> Subscription {
        Subscription {
            info,
            receiver,
            bus,
        }
    }

    fn took(&self, event: SignalEvent) -> SignalEvent {
        self.info.taken(&event, self.receiver.len());
        event
    }

    /// Waits for the next event. Errors once the bus has shut down and the
    /// mailbox is drained.
    pub fn recv(&self) -> Result<SignalEvent, RecvError> {
        self.receiver.recv().map(|e| self.took(e))
    }

    /// The next event, if one is queued.
    pub fn try_recv(&self) -> Result<SignalEvent, TryRecvError> {
        self.receiver.try_recv().map(|e| self.took(e))
    }

    /// Waits at most `timeout` for the next event.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<SignalEvent, RecvTimeoutError> {
        self.receiver.recv_timeout(timeout).map(|e| self.took(e))
    }

    /// Events as they come, until the bus shuts down.
    pub fn iter(&self) -> impl Iterator<Item = SignalEvent> + '_ {
        std::iter::from_fn(move || self.recv().ok())
    }

    /// The underlying channel, for `select!`. Under [`crate::Overflow::Coalesce`],
    /// events taken straight from it are noticed only once the mailbox is empty;
    /// call [`Subscription::taken`] with each to be exact.
    pub fn receiver(&self) -> &Receiver<SignalEvent> {
        &self.receiver
    }

    /// Tells the mailbox an event obtained through [`Subscription::receiver`] was
    /// taken (only matters under [`crate::Overflow::Coalesce`] and
    /// [`crate::Overflow::Backpressure`]).
    pub fn taken(&self, event: &SignalEvent) {
        self.info.taken(event, self.receiver.len());
    }

    /// This subscription's id, for [`crate::Bus::send_to`].
    pub fn id(&self) -> SubscriptionId {
        self.info.id
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The signals it takes.
    pub fn signals(&self) -> SignalSet {
        self.info.signals
    }

    /// Its counters.
    pub fn stats(&self) -> MailboxStats {
        MailboxStats::read(&self.info, self.receiver.len())
    }

    /// Unsubscribes now; once this returns nothing more is routed here. The same
    /// as dropping it. A signal no other subscription (of any bus) or sigcore
    /// registration takes is released: its previous disposition comes back, and
    /// if this thread is the one that subscribed, its block of the signal is
    /// undone too (other threads keep theirs; see the crate docs).
    pub fn unsubscribe(self) {}
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.bus.close_from_anywhere(self.info.id);
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.info.id)
            .field("name", &self.info.name)
            .field("signals", &self.info.signals)
            .finish()
    }
}
