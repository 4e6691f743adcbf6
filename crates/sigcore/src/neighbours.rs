//! Other signal handlers in the same process: signal-hook (and so tokio's
//! signal driver), a C library, the program's own `sigaction`.
//!
//! sigcore serves a signal by blocking it and taking it from a signalfd, so a
//! handler installed by someone else never runs while sigcore serves the
//! signal. That must never happen silently: a signal that already has a foreign
//! handler is refused ([`Error::ForeignHandler`]) unless the registration opts
//! into [`ForeignHandlers::Chain`], which hands each event to that handler too;
//! a foreign handler installed over sigcore's while it serves is noticed (a
//! warning, or chained under `Chain`), and is left in place when sigcore
//! releases the signal.

use std::time::{Duration, Instant};

use log::warn;

use crate::event::RawInfo;
use crate::sys::{self, SavedAction};
use crate::{Error, Result, Signal, SignalSet};

/// What sigcore does about a handler that someone else installed on a signal
/// it is asked to serve.
///
/// # Examples
///
/// ```
/// use sigcore::{ForeignHandlers, Registration, Signal, SignalEvent};
///
/// extern "C" fn theirs(_: i32) {}
/// // Another library handles SIGUSR2 ...
/// unsafe { libc::signal(libc::SIGUSR2, theirs as extern "C" fn(i32) as libc::sighandler_t) };
/// let refused = Registration::new(Signal::USR2, |_| {});
/// assert!(matches!(refused, Err(sigcore::Error::ForeignHandler { .. })));
/// // ... unless both are to get each event.
/// let both = Registration::builder(Signal::USR2)
///     .foreign_handlers(ForeignHandlers::Chain)
///     .sink(|_: &SignalEvent| {})?;
/// # drop(both);
/// # Ok::<(), sigcore::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForeignHandlers {
    /// Refuse to serve a signal that already has a foreign handler
    /// ([`Error::ForeignHandler`] names it), and warn when one is installed
    /// over sigcore's while it serves the signal (that handler will not run
    /// until sigcore releases the signal).
    #[default]
    Refuse,
    /// Serve the signal and deliver to both: after sigcore's sinks, the waiter
    /// calls the foreign handler (the one sigcore replaced, or one installed over
    /// sigcore's later) for each event, on the waiter thread, with the event's
    /// `siginfo`, as the kernel would have. Costs a `sigaction` query per event
    /// of such a signal.
    Chain,
}

/// How often a served signal's disposition is checked for a foreign handler
/// installed over sigcore's (at most; only when events come).
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The waiter's view of its neighbours: which signals chain, when each was last
/// checked, which takeovers were already reported.
pub(crate) struct Neighbours {
    chained: SignalSet,
    checked: Vec<Option<Instant>>,
    warned: SignalSet,
}

impl Neighbours {
    pub(crate) fn new() -> Neighbours {
        Neighbours {
            chained: SignalSet::empty(),
            checked: vec![None; Signal::rtmax().number() as usize + 1],
            warned: SignalSet::empty(),
        }
    }

    /// Before arming `signal`: whether its current disposition may be taken.
    pub(crate) fn may_take(signal: Signal, current: &SavedAction, chain: bool) -> Result<()> {
        if current.is_foreign() && !chain {
            return Err(Error::ForeignHandler { signal });
        }
        Ok(())
    }

    /// The signals whose events go to foreign handlers too.
    pub(crate) fn set_chained(&mut self, chained: SignalSet) {
        self.chained = chained;
    }

    /// A released signal is nobody's business here any more.
    pub(crate) fn forget(&mut self, signal: Signal) {
        self.chained.remove(signal);
        self.warned.remove(signal);
        self.checked[signal.number() as usize] = None;
    }

    /// After the sinks had `raw`: chain it, or now and then look for a handler
    /// installed over sigcore's. `original` gives what sigcore replaced (only
    /// asked for when the signal chains: it takes a lock).
    pub(crate) fn after_dispatch(
        &mut self,
        signal: Signal,
        raw: &RawInfo,
        now: Instant,
        original: impl FnOnce() -> Option<SavedAction>,
    ) {
        if self.chained.contains(signal) {
            match sys::current(signal) {
                Ok(current) if current.is_foreign() => current.call(raw),
                _ => {
                    if let Some(original) = original() {
                        original.call(raw);
                    }
                }
            }
            return;
        }
        let slot = &mut self.checked[signal.number() as usize];
        if slot.is_some_and(|at| now.duration_since(at) < CHECK_EVERY) {
            return;
        }
        *slot = Some(now);
        if self.warned.contains(signal) {
            return;
        }
        if sys::current(signal).is_ok_and(|current| current.is_foreign()) {
            self.warned.insert(signal);
            warn!(
                "sigcore: another handler was installed for {signal} while sigcore serves it \
                 (signal-hook, tokio, a C library?); it will not run until sigcore releases \
                 {signal}. Let one library own the signal, or register with \
                 ForeignHandlers::Chain to deliver to both"
            );
        }
    }
}

/// On release: whether sigcore may put the original disposition back, which it
/// may only while its own handler is still installed.
pub(crate) fn still_ours(signal: Signal) -> bool {
    sys::current(signal).is_ok_and(|current| current.is_ours())
}
