use std::sync::Arc;

use crate::waiter::{self, Sink};
use crate::{control, Direct, ForeignHandlers, Result, SignalEvent, SignalSet};

/// Interest in a set of signals, served by the process's waiter thread.
///
/// While a registration lives, its signals are blocked in the thread that created
/// it, caught by the waiter, and handed to its [`Sink`] as [`crate::SignalEvent`]s.
/// Several registrations (from independent components) may hold the same signal:
/// each gets every event. Dropping the last registration of a signal restores the
/// disposition it had before and lets its default action happen again (see the
/// crate docs, "Releasing a signal").
///
/// Most programs want [`crate::Signals`], which wraps a registration with a channel;
/// use a registration directly to route events yourself on the waiter thread, as
/// the `sigbus` crate does.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use sigcore::{Registration, Signal};
///
/// sigcore::block(Signal::USR2)?; // first thing in main, before any thread
/// let seen = Arc::new(AtomicUsize::new(0));
/// let counter = Arc::clone(&seen);
/// let registration = Registration::new(Signal::USR2, move |_: &sigcore::SignalEvent| {
///     counter.fetch_add(1, Ordering::SeqCst);
/// })?;
/// sigcore::raise(Signal::USR2)?;
/// while seen.load(Ordering::SeqCst) == 0 {
///     std::thread::yield_now();
/// }
/// drop(registration);
/// # Ok::<(), sigcore::Error>(())
/// ```
pub struct Registration {
    id: u64,
    set: SignalSet,
    sink: Arc<dyn Sink>,
}

impl Registration {
    /// Starts serving `set` and hands each event to `sink`.
    ///
    /// Blocks `set` in the calling thread first ([`crate::block_while_served`];
    /// better still, call [`crate::block`] at the top of `main` before spawning
    /// threads), starts the waiter thread
    /// if none runs, and returns once the signals are armed: a signal sent after
    /// this returns is delivered.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Forbidden`] for signals a waiter cannot serve (SIGKILL,
    /// SIGSTOP, fault signals); [`crate::Error::ForeignHandler`] for a signal that
    /// another library handles already; [`crate::Error::InSink`] when called from inside
    /// a sink; [`crate::Error::Io`] when a system call fails.
    ///
    /// # Caveats
    ///
    /// **Process-wide:** the signals' dispositions change for the whole process
    /// until the last registration holding them is dropped.
    pub fn new<F>(set: impl Into<SignalSet>, sink: F) -> Result<Registration>
    where
        F: Fn(&SignalEvent) + Send + Sync + 'static,
    {
        Registration::builder(set).sink(sink)
    }

    /// [`Registration::new`] with any [`Sink`] (a type of yours rather than a
    /// closure).
    ///
    /// # Errors
    ///
    /// As for [`Registration::new`].
    pub fn with_sink(set: impl Into<SignalSet>, sink: impl Sink) -> Result<Registration> {
        Registration::builder(set).sink(sink)
    }

    /// A builder, to choose what to do about signals that already have another
    /// library's handler ([`ForeignHandlers`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigcore::{ForeignHandlers, Registration, Signal};
    ///
    /// # sigcore::block(Signal::USR1)?;
    /// let registration = Registration::builder(Signal::USR1)
    ///     .foreign_handlers(ForeignHandlers::Chain)
    ///     .sink(|event: &sigcore::SignalEvent| println!("{event}"))?;
    /// # drop(registration);
    /// # Ok::<(), sigcore::Error>(())
    /// ```
    pub fn builder(set: impl Into<SignalSet>) -> RegistrationBuilder {
        RegistrationBuilder {
            set: set.into(),
            foreign: ForeignHandlers::Refuse,
        }
    }

    fn start(
        set: SignalSet,
        sink: Arc<dyn Sink>,
        foreign: ForeignHandlers,
    ) -> Result<Registration> {
        if waiter::on_waiter_thread() {
            return Err(crate::Error::InSink);
        }
        let before = control::block_while_served(set)?;
        let chain = foreign == ForeignHandlers::Chain;
        let (id, newly) = waiter::register(set, Arc::clone(&sink), chain)
            .inspect_err(|_| undo_block(set.difference(before)))?;
        waiter::warn_unblocked_threads(newly);
        Ok(Registration { id, set, sink })
    }

    /// Takes `set` (some of this registration's signals) on the threads that
    /// wait in [`Direct::wait`], with one wake-up from the kernel, instead of
    /// on the waiter thread. Each event still goes to this registration's
    /// sink, on the thread that took it. Only while this registration is the
    /// only one serving those signals, without chaining to another handler;
    /// otherwise [`Direct::wait`] says [`crate::Waited::Unavailable`].
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidArgument`] when `set` is not part of this
    /// registration.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use std::time::{Duration, Instant};
    /// use sigcore::{Registration, Signal, Waited};
    ///
    /// sigcore::block(Signal::USR1)?;
    /// let last = Arc::new(AtomicU64::new(0));
    /// let seen = Arc::clone(&last);
    /// let registration = Registration::new(Signal::USR1, move |e: &sigcore::SignalEvent| {
    ///     seen.store(e.seq, Ordering::SeqCst); // runs on the thread that waits below
    /// })?;
    /// let direct = registration.direct(Signal::USR1)?;
    /// sigcore::raise(Signal::USR1)?;
    /// let give_up = Instant::now() + Duration::from_secs(10);
    /// while last.load(Ordering::SeqCst) == 0 {
    ///     assert!(Instant::now() < give_up, "no signal");
    ///     // The waiter may have taken it before the lease (the sink ran on the
    ///     // waiter thread), and nothing wakes this wait for that: wait in
    ///     // slices, or call `direct.wake()` from the sink.
    ///     let slice = Instant::now() + Duration::from_millis(20);
    ///     match direct.wait(Some(slice), || last.load(Ordering::SeqCst) != 0)? {
    ///         Waited::Unavailable => std::thread::sleep(Duration::from_millis(1)),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok::<(), sigcore::Error>(())
    /// ```
    pub fn direct(&self, set: impl Into<SignalSet>) -> Result<Direct> {
        let set = set.into();
        if !set.is_subset(self.set) {
            return Err(crate::Error::InvalidArgument(
                "direct: signals this registration does not hold",
            ));
        }
        Ok(Direct::new(self.id, set, Arc::clone(&self.sink)))
    }

    /// The signals this registration holds.
    pub fn signals(&self) -> SignalSet {
        self.set
    }

    /// Adds signals (blocking them in the calling thread first).
    ///
    /// # Errors
    ///
    /// As for [`Registration::new`]; on error the registration is unchanged.
    pub fn add(&mut self, set: impl Into<SignalSet>) -> Result<()> {
        self.add_with(set, ForeignHandlers::Refuse)
    }

    /// [`Registration::add`], choosing what to do about signals that already
    /// have another library's handler (see [`ForeignHandlers`]).
    ///
    /// # Errors
    ///
    /// As for [`Registration::new`]; on error the registration is unchanged.
    pub fn add_with(&mut self, set: impl Into<SignalSet>, foreign: ForeignHandlers) -> Result<()> {
        let set = set.into();
        if waiter::on_waiter_thread() {
            return Err(crate::Error::InSink);
        }
        let before = control::block_while_served(set)?;
        let chain = foreign == ForeignHandlers::Chain;
        let newly = waiter::change(self.id, set, SignalSet::empty(), chain)
            .inspect_err(|_| undo_block(set.difference(before)))?;
        self.set = self.set.union(set);
        waiter::warn_unblocked_threads(newly);
        Ok(())
    }

    /// Removes signals; those no other registration holds are released.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Io`] if the waiter thread is gone.
    pub fn remove(&mut self, set: impl Into<SignalSet>) -> Result<()> {
        let set = set.into();
        waiter::change(self.id, SignalSet::empty(), set, false)?;
        self.set = self.set.difference(set);
        Ok(())
    }
}

/// Builds a [`Registration`]; see [`Registration::builder`].
#[must_use = "a builder does nothing until `sink` is called"]
#[derive(Debug)]
pub struct RegistrationBuilder {
    set: SignalSet,
    foreign: ForeignHandlers,
}

impl RegistrationBuilder {
    /// What to do about another library's handler on these signals (default
    /// [`ForeignHandlers::Refuse`]).
    pub fn foreign_handlers(mut self, foreign: ForeignHandlers) -> Self {
        self.foreign = foreign;
        self
    }

    /// Starts serving, handing each event to `sink` (a closure taking
    /// `&SignalEvent`, or any [`Sink`]).
    ///
    /// # Errors
    ///
    /// As for [`Registration::new`].
    pub fn sink(self, sink: impl Sink) -> Result<Registration> {
        Registration::start(self.set, Arc::new(sink), self.foreign)
    }
}

/// A refused registration leaves no block behind: the signal may belong to
/// another library's handler, which must keep receiving it.
fn undo_block(blocked_here: SignalSet) {
    if !blocked_here.is_empty() {
        let _ = control::unblock_after_serving(blocked_here);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        waiter::unregister(self.id);
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("id", &self.id)
            .field("signals", &self.set)
            .finish()
    }
}
