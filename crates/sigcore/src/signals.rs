use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, Sender};
use log::warn;

use crate::recv::{RecvError, RecvTimeoutError, TryRecvError};
use crate::{Registration, Result, SignalEvent, SignalSet, Sink};

/// Default capacity of a [`Signals`] channel.
pub const DEFAULT_CAPACITY: usize = 1024;

/// A stream of signal events on a channel: the simplest way to use sigcore.
///
/// Any thread can own it and `recv` from it; the underlying
/// `crossbeam_channel::Receiver` is available for `select!`. The channel is bounded
/// (1,024 events by default): when the reader falls that far behind, new events
/// are dropped and counted in [`Signals::dropped`], so a stuck reader can never
/// stall the waiter or grow memory without bound.
///
/// # Examples
///
/// ```
/// use sigcore::{Origin, Signal, Signals};
///
/// sigcore::block(Signal::USR1)?; // in main, before spawning threads
/// let signals = Signals::new(Signal::USR1)?;
/// let worker = std::thread::spawn(move || signals.recv().unwrap());
/// sigcore::kill(std::process::id() as i32, Signal::USR1)?;
/// let event = worker.join().unwrap();
/// assert_eq!(event.signal, Signal::USR1);
/// assert_eq!(event.origin.pid(), Some(std::process::id() as i32));
/// # Ok::<(), sigcore::Error>(())
/// ```
pub struct Signals {
    receiver: Receiver<SignalEvent>,
    shared: Arc<Shared>,
}

struct Shared {
    registration: Mutex<Option<Registration>>,
    closed: AtomicBool,
    dropped: AtomicU64,
}

struct ChannelSink {
    sender: Sender<SignalEvent>,
    shared: Arc<Shared>,
}

impl Sink for ChannelSink {
    fn deliver(&self, event: &SignalEvent) {
        if self.sender.try_send(event.clone()).is_err()
            && !self.shared.closed.load(Ordering::Relaxed)
        {
            // Log the first drop and then at powers of two only.
            let total = self.shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if total.is_power_of_two() {
                warn!("sigcore: reader is behind; dropped {total} event(s) so far");
            }
        }
    }
}

/// Closes a [`Signals`] stream from any thread.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    /// Stops the stream: releases its signals and wakes a reader blocked in
    /// `recv`, which then returns an error once the queued events are read.
    ///
    /// # Examples
    ///
    /// ```
    /// # sigcore::block(sigcore::Signal::USR2)?;
    /// let signals = sigcore::Signals::new(sigcore::Signal::USR2)?;
    /// let handle = signals.handle();
    /// let reader = std::thread::spawn(move || signals.recv());
    /// handle.close();
    /// assert!(reader.join().unwrap().is_err());
    /// assert!(handle.is_closed());
    /// # Ok::<(), sigcore::Error>(())
    /// ```
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        let registration = self
            .shared
            .registration
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        drop(registration);
    }

    /// Whether [`Handle::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }
}

impl Signals {
    /// Serves `set` into a new channel of [`DEFAULT_CAPACITY`].
    ///
    /// Blocks `set` in the calling thread first; see [`Registration::new`].
    ///
    /// # Errors
    ///
    /// As for [`Registration::new`].
    pub fn new(set: impl Into<SignalSet>) -> Result<Signals> {
        Signals::with_capacity(set, DEFAULT_CAPACITY)
    }

    /// Like [`Signals::new`] with a channel of `capacity` events (at least 1).
    ///
    /// # Errors
    ///
    /// As for [`Registration::new`].
    pub fn with_capacity(set: impl Into<SignalSet>, capacity: usize) -> Result<Signals> {
        let set = set.into();
        let (sender, receiver) = bounded(capacity.max(1));
        let shared = Arc::new(Shared {
            registration: Mutex::new(None),
            closed: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        });
        let sink = ChannelSink {
            sender,
            shared: Arc::clone(&shared),
        };
        let registration = Registration::with_sink(set, sink)?;
        *shared
            .registration
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(registration);
        Ok(Signals { receiver, shared })
    }

    /// Waits for the next event. Errors once the stream is closed and drained.
    pub fn recv(&self) -> Result<SignalEvent, RecvError> {
        Ok(self.receiver.recv()?)
    }

    /// The next event if one is queued.
    pub fn try_recv(&self) -> Result<SignalEvent, TryRecvError> {
        Ok(self.receiver.try_recv()?)
    }

    /// Waits at most `timeout` for the next event.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<SignalEvent, RecvTimeoutError> {
        Ok(self.receiver.recv_timeout(timeout)?)
    }

    /// Events as they come, until the stream is closed.
    pub fn iter(&self) -> crossbeam_channel::Iter<'_, SignalEvent> {
        self.receiver.iter()
    }

    /// The channel itself, for `crossbeam_channel::select!`.
    pub fn receiver(&self) -> &Receiver<SignalEvent> {
        &self.receiver
    }

    /// A handle that closes the stream from another thread.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Events dropped because the channel was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// The signals served (empty once closed).
    pub fn signals(&self) -> SignalSet {
        self.shared
            .registration
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(SignalSet::empty(), Registration::signals)
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.handle().close();
    }
}
