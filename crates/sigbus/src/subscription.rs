use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use sigcore::{SignalEvent, SignalSet};

use crate::bus::Inner;
use crate::inbox::{Empty, Inbox};
use crate::mailbox::MailboxInfo;
use crate::stats::MailboxStats;
use crate::SubscriptionId;
use sigcore::{RecvError, RecvTimeoutError, TryRecvError};

/// A thread's mailbox of signal events. Dropping it unsubscribes.
///
/// Receive with [`recv`](Subscription::recv) and friends, or hand
/// [`receiver`](Subscription::receiver) to `crossbeam_channel::select!` to wait on
/// signals and your own work channels in one place.
///
/// # Examples
///
/// ```
/// use sigbus::crossbeam_channel::{select, unbounded};
/// use sigbus::Signal;
///
/// # sigbus::block(Signal::HUP)?;
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
    inbox: Arc<Inbox>,
    /// Held strongly: a live subscription keeps its routing alive.
    bus: Arc<Inner>,
}

impl Subscription {
    pub(crate) fn new(info: Arc<MailboxInfo>, inbox: Arc<Inbox>, bus: Arc<Inner>) -> Subscription {
        Subscription { info, inbox, bus }
    }

    fn took(&self, event: SignalEvent) -> SignalEvent {
        self.info.taken(&event, self.inbox.len());
        self.info.notify.looked(false, || self.inbox.is_empty());
        event
    }

    /// The next event, waiting until `deadline` (for ever with `None`): for
    /// this subscription's signals directly on this thread when it may (one
    /// wake-up), else on the mailbox's bell. Asked again after every wake-up,
    /// as company or a reader through a channel may come meanwhile.
    fn wait(&self, deadline: Option<Instant>) -> Result<SignalEvent, Empty> {
        let inbox = &*self.inbox;
        loop {
            let ticket = inbox.bell().ticket();
            if let Some(event) = inbox.pop() {
                return Ok(self.took(event));
            }
            if inbox.is_closed() {
                // Drained and closed: nothing more, ever. (Closing rang after
                // the last push, so the pop above saw everything.)
                return Err(Empty::Closed);
            }
            if let Some(direct) = self.direct_reader() {
                let ready = || !inbox.is_empty() || inbox.is_closed();
                match direct.wait(deadline, ready) {
                    // Delivered: it went through the router into the inbox.
                    Ok(sigcore::Waited::Delivered | sigcore::Waited::Woken) => continue,
                    Ok(sigcore::Waited::TimedOut) => return Err(Empty::TimedOut),
                    // Wait on the bell: the ticket predates the look above.
                    Ok(_) | Err(_) => {}
                }
            }
            if !inbox.bell().wait(ticket, deadline) {
                return Err(Empty::TimedOut);
            }
        }
    }

    /// The means to take this subscription's signals on the receiving thread
    /// (one wake-up instead of two), while that is sound: it is their only
    /// consumer, and nobody reads it through a channel, a waker or the fd
    /// (those need the waiter to keep reading). Otherwise its signals go back
    /// to the waiter.
    fn direct_reader(&self) -> Option<&sigcore::Direct> {
        let eligible = self.info.direct
            && !self.inbox.is_channel()
            && !self.info.notify.is_used()
            && self.bus.sole_consumer(self.info.id, self.info.signals);
        if !eligible {
            if let Some(direct) = self.inbox.direct().filter(|d| d.is_held()) {
                direct.release();
            }
            return None;
        }
        match self.inbox.direct() {
            Some(direct) => Some(direct),
            None => self
                .bus
                .make_direct(self.info.signals)
                .map(|direct| self.inbox.set_direct(direct)),
        }
    }

    /// Waits for the next event. Errors once the bus has shut down and the
    /// mailbox is drained.
    pub fn recv(&self) -> Result<SignalEvent, RecvError> {
        self.wait(None).map_err(|_| RecvError)
    }

    /// The next event, if one is queued.
    pub fn try_recv(&self) -> Result<SignalEvent, TryRecvError> {
        match self.inbox.pop() {
            Some(event) => Ok(self.took(event)),
            None => {
                // Nothing there: a readiness fd must not stay readable.
                self.info.notify.looked(true, || self.inbox.is_empty());
                if self.inbox.is_closed() && self.inbox.is_empty() {
                    Err(TryRecvError::Closed)
                } else {
                    Err(TryRecvError::Empty)
                }
            }
        }
    }

    /// Waits at most `timeout` for the next event.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<SignalEvent, RecvTimeoutError> {
        // A timeout too long to add is no timeout.
        let deadline = Instant::now().checked_add(timeout);
        self.wait(deadline).map_err(|e| match e {
            Empty::TimedOut => RecvTimeoutError::Timeout,
            Empty::Closed => RecvTimeoutError::Closed,
        })
    }

    /// Events as they come, until the bus shuts down.
    pub fn iter(&self) -> impl Iterator<Item = SignalEvent> + '_ {
        std::iter::from_fn(move || self.recv().ok())
    }

    /// The mailbox as a channel, for `select!`. The mailbox becomes a bounded
    /// channel of its capacity on the first call (queued events move into it,
    /// in order); a subscription that never asks keeps no preallocated slots.
    /// Under [`crate::Overflow::Coalesce`], events taken straight from it are
    /// noticed only once the mailbox is empty; call [`Subscription::taken`]
    /// with each to be exact.
    pub fn receiver(&self) -> &Receiver<SignalEvent> {
        self.inbox.channel()
    }

    /// Tells the mailbox an event obtained through [`Subscription::receiver`] was
    /// taken (only matters under [`crate::Overflow::Coalesce`] and
    /// [`crate::Overflow::Backpressure`]).
    pub fn taken(&self, event: &SignalEvent) {
        self.info.taken(event, self.inbox.len());
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
        MailboxStats::read(&self.info, self.inbox.len(), self.inbox.grown())
    }

    /// The subscription's readiness fd, made on first use: readable while its
    /// mailbox holds events, for `epoll`, mio, calloop or glib. It carries no
    /// data: read the events with [`Subscription::try_recv`].
    ///
    /// **Drain protocol**: when the fd is readable, call `try_recv` until it
    /// returns `Err(TryRecvError::Empty)`. Taking the last event (or finding
    /// none) makes the fd unreadable, and an event that arrives meanwhile makes
    /// it readable again, so no event is ever left without readiness, with
    /// edge- or level-triggered polling alike; a wake-up may find the mailbox
    /// already empty (another reader took it), never the reverse. Closed with the
    /// subscription; once the bus shuts down it stays readable and `try_recv`
    /// says [`TryRecvError::Closed`].
    ///
    /// # Errors
    ///
    /// The error of `eventfd(2)` (out of file descriptors).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::fd::AsRawFd;
    /// use sigbus::Signal;
    ///
    /// # sigbus::block(Signal::USR1)?;
    /// let bus = sigbus::Bus::new();
    /// let usr1 = bus.subscribe(Signal::USR1)?;
    /// let fd = usr1.ready_fd()?.as_raw_fd();
    /// sigbus::raise(Signal::USR1)?;
    /// let mut poll = [libc::pollfd { fd, events: libc::POLLIN, revents: 0 }];
    /// // SAFETY (of the example): one valid pollfd; waits at most 10 s.
    /// assert_eq!(unsafe { libc::poll(poll.as_mut_ptr(), 1, 10_000) }, 1);
    /// while let Ok(event) = usr1.try_recv() {
    ///     assert_eq!(event.signal, Signal::USR1);
    /// }
    /// assert_eq!(unsafe { libc::poll(poll.as_mut_ptr(), 1, 0) }, 0); // drained
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ready_fd(&self) -> std::io::Result<BorrowedFd<'_>> {
        self.info
            .notify
            .fd(|| !self.inbox.is_empty())
            .map(|fd| fd.as_fd())
    }

    /// Polls for the next event, registering the task's waker when there is
    /// none yet (feature `async`). Cancel-safe: an event leaves the mailbox only
    /// when it is returned.
    #[cfg(feature = "async")]
    pub fn poll_recv(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<SignalEvent, RecvError>> {
        use std::task::Poll;
        match self.try_recv() {
            Ok(event) => return Poll::Ready(Ok(event)),
            Err(TryRecvError::Closed) => return Poll::Ready(Err(RecvError)),
            Err(TryRecvError::Empty) => {}
        }
        // Register, then look again: an event sent in between is seen now or
        // wakes the task.
        self.info.notify.register(cx.waker());
        match self.try_recv() {
            Ok(event) => Poll::Ready(Ok(event)),
            Err(TryRecvError::Closed) => Poll::Ready(Err(RecvError)),
            Err(TryRecvError::Empty) => Poll::Pending,
        }
    }

    /// Waits for the next event without blocking the thread (feature `async`):
    /// runs on any executor. Errors once the bus has shut down and the mailbox
    /// is drained. Cancel-safe.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigbus::Signal;
    ///
    /// # sigbus::block(Signal::USR2)?;
    /// let bus = sigbus::Bus::new();
    /// let usr2 = bus.subscribe(Signal::USR2)?;
    /// sigbus::raise(Signal::USR2)?;
    /// let event = futures_executor::block_on(usr2.recv_async())?;
    /// assert_eq!(event.signal, Signal::USR2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "async")]
    pub async fn recv_async(&self) -> Result<SignalEvent, RecvError> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Unsubscribes now; once this returns nothing more is routed here. The same
    /// as dropping it. A signal no other subscription (of any bus) or sigcore
    /// registration takes is released: its previous disposition comes back, and
    /// if this thread is the one that subscribed, its block of the signal is
    /// undone too (other threads keep theirs; see the crate docs).
    pub fn unsubscribe(self) {}
}

/// The readiness fd (see [`Subscription::ready_fd`]).
///
/// # Panics
///
/// When the fd must be made and `eventfd(2)` fails (out of file descriptors);
/// [`Subscription::ready_fd`] reports that as an error instead.
impl AsFd for Subscription {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.ready_fd()
            .expect("sigbus: cannot make the subscription's readiness eventfd")
    }
}

/// The readiness fd (see [`Subscription::ready_fd`]; panics as `as_fd` does).
impl AsRawFd for Subscription {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

/// Events as they come, ending when the bus shuts down (feature `async`).
/// Dropping the stream unsubscribes, as dropping the subscription does.
#[cfg(feature = "async")]
impl futures_core::Stream for Subscription {
    type Item = SignalEvent;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<SignalEvent>> {
        self.poll_recv(cx).map(Result::ok)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Back to the waiter first: its signals must not wait in the kernel
        // for a reader that is gone.
        if let Some(direct) = self.inbox.direct() {
            direct.release();
        }
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
