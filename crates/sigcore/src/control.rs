//! Masks, dispositions, pending signals and waiting in place: the process-state
//! half of Python's `signal` module (`pthread_sigmask`, `getsignal`, `signal(sig,
//! SIG_IGN)`, `sigpending`, `sigtimedwait`).

use std::time::{Duration, Instant};

use crate::event::next_seq;
use crate::{sys, waiter, Error, Result, Signal, SignalEvent, SignalSet};

fn io(call: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::io(call, e)
}

/// Blocks `set` in the calling thread: **the start-up call**.
///
/// Make it the first thing `main` does, before any thread exists: threads inherit
/// their creator's mask, so every thread spawned afterwards blocks the set too and
/// the kernel keeps those signals pending for the waiter. Returns the previous
/// mask.
///
/// A block made here is yours: when sigcore stops serving one of these signals it
/// restores the disposition but leaves the signal blocked, so instances that
/// arrive stay pending until something serves the signal again (or you
/// [`unblock`] it). Registrations block their set too when nothing did; such
/// blocks are sigcore's, and on release the signal's default action comes back
/// at once (see [`block_while_served`]).
///
/// Children inherit a blocked mask across `exec`: spawn them with
/// [`crate::CommandExt::reset_signals`] so they die on SIGTERM like normal
/// programs. **Children spawned by code you do not control** (another crate's
/// `Command`, `libc::system`, a C library) inherit the block and will ignore
/// SIGTERM and Ctrl-C; see the crate docs, "Caveats".
///
/// # Errors
///
/// [`Error::Forbidden`] for SIGKILL, SIGSTOP and fault signals (blocking a fault
/// signal turns a crash into an unexplained kill).
///
/// # Examples
///
/// ```
/// use sigcore::Signal;
///
/// sigcore::block([Signal::INT, Signal::TERM])?;
/// assert!(sigcore::thread_mask()?.contains(Signal::TERM));
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn block(set: impl Into<SignalSet>) -> Result<SignalSet> {
    let set = set.into();
    for signal in set {
        signal.check_waitable()?;
    }
    let previous = sys::thread_block(set).map_err(io("pthread_sigmask"))?;
    waiter::record_explicit_block(set, true);
    Ok(previous)
}

/// Blocks `set` in the calling thread on behalf of serving it, as
/// [`crate::Registration::new`] does: sigcore counts this block as its own
/// change, so once the signal is released its default action happens again even
/// though this thread still blocks it. Returns the previous mask. Routers built on
/// sigcore (such as `sigbus`) call it for threads that subscribe.
///
/// # Errors
///
/// As for [`block`].
///
/// # Examples
///
/// ```
/// use sigcore::Signal;
///
/// let before = sigcore::block_while_served(Signal::WINCH)?;
/// assert!(!before.contains(Signal::WINCH));
/// assert!(sigcore::thread_mask()?.contains(Signal::WINCH));
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn block_while_served(set: impl Into<SignalSet>) -> Result<SignalSet> {
    let set = set.into();
    for signal in set {
        signal.check_waitable()?;
    }
    let previous = sys::thread_block(set).map_err(io("pthread_sigmask"))?;
    waiter::record_blocked_while_served(set.difference(previous));
    Ok(previous)
}

/// Undoes [`block_while_served`] in the calling thread: unblocks `set` there,
/// leaving the record of explicit [`block`]s (which belong to the program, and
/// may have been made in other threads) as it is. Returns the previous mask.
///
/// # Errors
///
/// [`Error::Io`] if `pthread_sigmask` fails.
///
/// # Examples
///
/// ```
/// use sigcore::Signal;
///
/// sigcore::block_while_served(Signal::WINCH)?;
/// sigcore::unblock_after_serving(Signal::WINCH)?;
/// assert!(!sigcore::thread_mask()?.contains(Signal::WINCH));
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn unblock_after_serving(set: impl Into<SignalSet>) -> Result<SignalSet> {
    let set = set.into();
    let previous = sys::thread_unblock(set).map_err(io("pthread_sigmask"))?;
    if !set.intersection(previous).is_empty() {
        waiter::stop_if_idle();
    }
    Ok(previous)
}

/// Unblocks `set` in the calling thread; returns the previous mask.
///
/// # Errors
///
/// [`Error::Io`] if `pthread_sigmask` fails.
///
/// # Examples
///
/// ```
/// use sigcore::Signal;
///
/// sigcore::block(Signal::HUP)?;
/// sigcore::unblock(Signal::HUP)?;
/// assert!(!sigcore::thread_mask()?.contains(Signal::HUP));
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn unblock(set: impl Into<SignalSet>) -> Result<SignalSet> {
    let set = set.into();
    let previous = sys::thread_unblock(set).map_err(io("pthread_sigmask"))?;
    waiter::record_explicit_block(set, false);
    // An idle waiter kept only to take a released signal's default action can go
    // now that this thread takes it.
    if !set.intersection(previous).is_empty() {
        waiter::stop_if_idle();
    }
    Ok(previous)
}

/// The calling thread's signal mask.
///
/// # Errors
///
/// [`Error::Io`] if `pthread_sigmask` fails.
///
/// # Examples
///
/// ```
/// let mask = sigcore::thread_mask()?;
/// assert!(!mask.contains(sigcore::Signal::KILL));
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn thread_mask() -> Result<SignalSet> {
    sys::thread_mask().map_err(io("pthread_sigmask"))
}

/// Signals pending for the calling thread or the whole process (`sigpending`).
///
/// # Errors
///
/// [`Error::Io`] if `sigpending` fails.
///
/// # Examples
///
/// ```
/// use sigcore::Signal;
///
/// sigcore::block(Signal::USR2)?;
/// sigcore::raise(Signal::USR2)?; // stays pending: blocked, and no waiter runs
/// assert!(sigcore::pending()?.contains(Signal::USR2));
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn pending() -> Result<SignalSet> {
    sys::pending().map_err(io("sigpending"))
}

/// Every signal sigcore serves right now, for whichever registration.
///
/// # Examples
///
/// ```
/// use sigcore::{Signal, Signals};
///
/// sigcore::block(Signal::USR1)?;
/// let signals = Signals::new(Signal::USR1)?;
/// assert!(sigcore::served().contains(Signal::USR1));
/// drop(signals);
/// assert!(!sigcore::served().contains(Signal::USR1));
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn served() -> SignalSet {
    waiter::armed()
}

/// Holds `set` in the kernel: the waiter stops taking these signals (they stay
/// served, blocked, with sigcore's disposition) until [`resume`]. Their
/// instances wait, pending, in the kernel: real-time ones queue (up to
/// `RLIMIT_SIGPENDING`, after which `sigqueue` senders get
/// [`Error::QueueFull`]: flow control reaches the sender), standard ones
/// coalesce into one. For a router that must not drop: a sink can hold a signal
/// while its consumer is behind.
///
/// **Process-wide**: a held signal is held for every registration. Called from
/// another thread, it returns once the waiter has stopped taking the signals;
/// called from a [`crate::Sink`] it never blocks, and takes effect after the
/// waiter's current batch (up to 32 more events). A signal caught by the safety net on a thread
/// that does not block it is still delivered.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sigcore::{Signal, Signals};
///
/// sigcore::block(Signal::USR1)?;
/// let signals = Signals::new(Signal::USR1)?;
/// sigcore::hold(Signal::USR1);
/// sigcore::raise(Signal::USR1)?;
/// assert!(signals.recv_timeout(Duration::from_millis(50)).is_err()); // in the kernel
/// assert!(sigcore::pending()?.contains(Signal::USR1));
/// sigcore::resume(Signal::USR1);
/// assert!(signals.recv_timeout(Duration::from_secs(5)).is_ok());
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn hold(set: impl Into<SignalSet>) {
    waiter::set_held(set.into(), true);
}

/// Lets the waiter take signals held with [`hold`] again; what waited in the
/// kernel comes first (real-time ones in order).
pub fn resume(set: impl Into<SignalSet>) {
    waiter::set_held(set.into(), false);
}

/// Signals held with [`hold`] right now.
pub fn held() -> SignalSet {
    waiter::held()
}

/// What the safety net has done since the process started (see the crate docs,
/// "Signal masks"): how often a served signal landed on a thread that did not
/// block it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SafetyNetStats {
    /// Signals caught on threads that did not block them.
    pub caught: u64,
    /// Of those, queued to the waiter as they came because the net's ring was
    /// full: `sigqueue` payloads and other sender-written codes, nothing lost.
    pub forwarded: u64,
    /// Of those, delivered without their sender ([`crate::Origin::Unknown`])
    /// because the ring was full and the kernel does not let sigcore re-send
    /// them as they were (`kill`, `tgkill`, kernel signals). Each one still
    /// became an event.
    pub senders_lost: u64,
}

/// The safety net's counters; a non-zero `senders_lost` means threads keep
/// served signals unblocked under a storm (a `sigsuspend` or `ppoll` with an
/// empty mask): block the set in those threads.
///
/// # Examples
///
/// ```
/// let net = sigcore::safety_net_stats();
/// assert!(net.forwarded + net.senders_lost <= net.caught);
/// ```
pub fn safety_net_stats() -> SafetyNetStats {
    let net = sys::net_stats();
    SafetyNetStats {
        caught: net.caught,
        forwarded: net.forwarded,
        senders_lost: net.senders_lost,
    }
}

/// A signal's disposition: Python's `getsignal`, plus whether sigcore serves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// The default action (`SIG_DFL`).
    Default,
    /// Discarded (`SIG_IGN`).
    Ignore,
    /// A handler installed by someone other than sigcore.
    Handler,
    /// Served by sigcore's waiter thread.
    Served,
}

/// The current disposition of `signal`.
///
/// # Errors
///
/// [`Error::Io`] if `sigaction` fails.
///
/// # Examples
///
/// ```
/// use sigcore::{Disposition, Signal};
///
/// // The Rust runtime ignores SIGPIPE at start-up.
/// assert_eq!(sigcore::disposition(Signal::PIPE)?, Disposition::Ignore);
/// assert_eq!(sigcore::disposition(Signal::USR1)?, Disposition::Default);
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn disposition(signal: Signal) -> Result<Disposition> {
    if waiter::armed().contains(signal) && waiter::serving_here() {
        return Ok(Disposition::Served);
    }
    let current = sys::current(signal).map_err(io("sigaction"))?;
    // sigcore's handler without a waiter: a child forked without exec, where
    // the handler passes each delivery on to what it replaced. Say that.
    let raw = match waiter::original(signal) {
        Some(original) if current.is_ours() => original,
        _ => current.kind(),
    };
    Ok(match raw {
        sys::RawDisposition::Default => Disposition::Default,
        sys::RawDisposition::Ignore => Disposition::Ignore,
        sys::RawDisposition::Handler => Disposition::Handler,
    })
}

fn change_disposition(
    signal: Signal,
    set: fn(Signal) -> std::io::Result<sys::SavedAction>,
) -> Result<Disposition> {
    if !signal.can_catch() {
        signal.check_waitable()?;
    }
    if waiter::armed().contains(signal) {
        return Err(Error::InUse { signal });
    }
    let previous = set(signal).map_err(io("sigaction"))?;
    Ok(match previous.kind() {
        sys::RawDisposition::Default => Disposition::Default,
        sys::RawDisposition::Ignore => Disposition::Ignore,
        sys::RawDisposition::Handler => Disposition::Handler,
    })
}

/// Ignores `signal` process-wide (`SIG_IGN`); returns the previous disposition.
///
/// # Errors
///
/// [`Error::Forbidden`] for SIGKILL and SIGSTOP, [`Error::InUse`] while sigcore
/// serves the signal.
///
/// # Caveats
///
/// **Ignoring a signal discards its pending instances**, and children inherit
/// `SIG_IGN` across `exec`.
///
/// # Examples
///
/// ```
/// use sigcore::{Disposition, Signal};
///
/// sigcore::ignore(Signal::USR1)?;
/// assert_eq!(sigcore::disposition(Signal::USR1)?, Disposition::Ignore);
/// sigcore::raise(Signal::USR1)?; // discarded
/// assert_eq!(sigcore::set_default(Signal::USR1)?, Disposition::Ignore);
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn ignore(signal: Signal) -> Result<Disposition> {
    change_disposition(signal, sys::set_ignore)
}

/// Restores the default action of `signal` (`SIG_DFL`); returns the previous
/// disposition.
///
/// # Errors
///
/// As for [`ignore`].
///
/// # Caveats
///
/// For SIGCHLD, SIGURG and SIGWINCH (default: ignore) this discards a pending
/// instance, as the kernel does.
///
/// # Examples
///
/// ```
/// use sigcore::{Disposition, Signal};
///
/// let found = sigcore::disposition(Signal::HUP)?; // `Ignore` under nohup
/// assert_eq!(sigcore::set_default(Signal::HUP)?, found);
/// assert_eq!(sigcore::disposition(Signal::HUP)?, Disposition::Default);
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn set_default(signal: Signal) -> Result<Disposition> {
    change_disposition(signal, sys::set_default)
}

/// Puts `signal` back to the disposition the process started with (Go's
/// `signal.Reset`): ignored if it was ignored when the process started (under
/// `nohup`, SIGHUP; in a shell's background job, SIGINT), else the default.
/// Returns the previous disposition. [`set_default`] is CPython's `SIG_DFL`
/// instead: the default, whatever the process started with.
///
/// SIGPIPE counts as started at its inherited disposition, before the Rust
/// runtime ignored it.
///
/// # Errors
///
/// As for [`ignore`].
///
/// # Examples
///
/// ```
/// use sigcore::{Disposition, Signal};
///
/// sigcore::ignore(Signal::HUP)?;
/// sigcore::reset(Signal::HUP)?;
/// assert_eq!(sigcore::disposition(Signal::HUP)?, sigcore::disposition_at_start(Signal::HUP));
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn reset(signal: Signal) -> Result<Disposition> {
    match disposition_at_start(signal) {
        Disposition::Ignore => ignore(signal),
        _ => set_default(signal),
    }
}

/// The disposition `signal` had when the process started: [`Disposition::Ignore`]
/// when the parent left it ignored, else [`Disposition::Default`] (handlers do
/// not survive `exec`). Read before `main` ran, so SIGPIPE shows what was
/// inherited, not the Rust runtime's `SIG_IGN`.
///
/// # Examples
///
/// ```
/// // Unless a parent ignored it, SIGPIPE started at its default, even though
/// // the Rust runtime ignores it now.
/// let pipe = sigcore::disposition_at_start(sigcore::Signal::PIPE);
/// assert!(matches!(pipe, sigcore::Disposition::Default | sigcore::Disposition::Ignore));
/// ```
pub fn disposition_at_start(signal: Signal) -> Disposition {
    if sys::ignored_at_start() & SignalSet::from(signal).bits() != 0 {
        Disposition::Ignore
    } else {
        Disposition::Default
    }
}

/// The mask the process's main thread started with, inherited from its parent
/// (read before `main`, like [`disposition_at_start`]).
///
/// # Examples
///
/// ```
/// let inherited = sigcore::mask_at_start();
/// sigcore::block(sigcore::Signal::USR1)?;
/// // Blocking now does not change what the process started with.
/// assert_eq!(sigcore::mask_at_start(), inherited);
/// if !inherited.is_empty() {
///     eprintln!("started with {inherited} blocked: the parent did not reset its mask");
/// }
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn mask_at_start() -> SignalSet {
    SignalSet::from_bits(sys::blocked_at_start())
}

/// Waits in the calling thread for one signal of `set` (Python's `sigwait`).
///
/// This is for thread-directed signals (`tgkill`, `pthread_kill`, libc `raise`)
/// aimed at this thread, which no waiter thread can take. The set must be blocked
/// in the calling thread, or a signal may run its disposition instead. The origin
/// keeps `SI_TKILL` (sigcore calls the raw syscall; glibc's wrapper would report
/// it as `kill`). A handler that runs on this thread meanwhile (sigcore's safety
/// net included) does not end the wait.
///
/// # Errors
///
/// [`Error::Forbidden`] for signals that cannot be waited for; [`Error::Io`] if
/// the call fails.
///
/// # Examples
///
/// ```
/// use sigcore::{Signal, ThreadHandle};
///
/// sigcore::block(Signal::USR2)?;
/// ThreadHandle::current().send(Signal::USR2)?;
/// let event = sigcore::wait(Signal::USR2)?;
/// assert_eq!(event.origin.kind(), "tkill");
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn wait(set: impl Into<SignalSet>) -> Result<SignalEvent> {
    let event = wait_inner(set.into(), None)?;
    event.ok_or_else(|| {
        Error::io(
            "rt_sigtimedwait",
            std::io::Error::other("woke without a signal"),
        )
    })
}

/// [`wait`] for at most `timeout`: `Ok(None)` when it passed with no signal
/// (Python's `sigtimedwait` returning `None`).
///
/// # Errors
///
/// As for [`wait`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sigcore::{Signal, ThreadHandle};
///
/// sigcore::block(Signal::USR2)?;
/// assert!(sigcore::wait_timeout(Signal::USR2, Duration::from_millis(1))?.is_none());
/// ThreadHandle::current().send(Signal::USR2)?;
/// let event = sigcore::wait_timeout(Signal::USR2, Duration::from_secs(5))?.unwrap();
/// assert_eq!(event.origin.kind(), "tkill");
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn wait_timeout(set: impl Into<SignalSet>, timeout: Duration) -> Result<Option<SignalEvent>> {
    wait_inner(set.into(), Some(timeout))
}

fn wait_inner(set: SignalSet, timeout: Option<Duration>) -> Result<Option<SignalEvent>> {
    for signal in set {
        signal.check_waitable()?;
    }
    let Some(raw) = sys::timed_wait(set, timeout).map_err(io("rt_sigtimedwait"))? else {
        return Ok(None);
    };
    Signal::new(raw.signo)?;
    Ok(raw.accept())
}

/// Signals pending for the calling thread alone: thread-directed ones (`tgkill`,
/// `pthread_kill`, libc `raise`, or raised by the kernel for this thread) that it
/// blocks. [`pending`] cannot tell them from process-wide ones; this reads
/// `/proc/thread-self/status`, so keep it out of hot loops.
///
/// # Errors
///
/// [`Error::Io`] if `/proc` cannot be read.
///
/// # Examples
///
/// ```
/// use sigcore::{Signal, ThreadHandle};
///
/// sigcore::block(Signal::USR2)?;
/// ThreadHandle::current().send(Signal::USR2)?;
/// assert!(sigcore::thread_pending()?.contains(Signal::USR2));
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn thread_pending() -> Result<SignalSet> {
    crate::ProcSignals::of_thread(sys::getpid(), sys::gettid())
        .map(|status| status.thread_pending)
        .map_err(io("reading /proc/thread-self/status"))
}

/// At most this many thread-directed signals are taken per call, so a flood
/// cannot keep [`take_thread_directed`] from returning.
const TAKE_AT_MOST: usize = 1024;

/// Takes the signals of `set` that wait for the calling thread alone (see
/// [`thread_pending`]), as events, at most 1,024 per call. `sigtimedwait` alone
/// cannot do this: once the thread's own instances are gone it takes
/// process-wide ones, which belong to the waiter; so this checks `/proc` before
/// each one. Signals that cannot be waited for are left alone.
///
/// A signal the process ignores (`SIG_IGN`, such as SIGPIPE in Rust programs) is
/// discarded without an event and without a sequence number, as the kernel
/// would have done had the thread not blocked it.
///
/// # Errors
///
/// [`Error::Io`] if `/proc` cannot be read or `rt_sigtimedwait` fails.
///
/// # Examples
///
/// ```
/// use sigcore::{Signal, ThreadHandle};
///
/// sigcore::block([Signal::USR2, Signal::PIPE])?;
/// ThreadHandle::current().send(Signal::PIPE)?; // ignored by Rust programs
/// ThreadHandle::current().send(Signal::USR2)?;
/// let taken = sigcore::take_thread_directed([Signal::USR2, Signal::PIPE])?;
/// assert_eq!(taken.len(), 1);
/// assert_eq!(taken[0].origin.kind(), "tkill");
/// assert!(sigcore::thread_pending()?.is_empty());
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn take_thread_directed(set: impl Into<SignalSet>) -> Result<Vec<SignalEvent>> {
    let set = set.into();
    let mut events = Vec::new();
    for _ in 0..TAKE_AT_MOST {
        let own = thread_pending()?.intersection(set);
        let Some(signal) = own.iter().find(|s| s.check_waitable().is_ok()) else {
            break;
        };
        let Some(raw) =
            sys::timed_wait(signal.into(), Some(Duration::ZERO)).map_err(io("rt_sigtimedwait"))?
        else {
            break;
        };
        let ignored = !waiter::armed().contains(signal)
            && sys::disposition(signal).map_err(io("sigaction"))? == sys::RawDisposition::Ignore;
        if ignored {
            log::debug!("sigcore: discarded a thread-directed {signal}: the process ignores it");
            continue;
        }
        events.push(SignalEvent {
            signal,
            seq: next_seq(),
            at: Instant::now(),
            origin: raw.origin(),
        });
    }
    Ok(events)
}

/// Ends the process by `signal`, the way Unix parents expect: restores the
/// signal's default disposition, unblocks it in the calling thread and sends it to
/// this thread, so the parent's wait status reads "killed by SIGTERM" (a shell
/// shows 143) rather than a plain exit code.
///
/// Use it after handling SIGINT/SIGTERM yourself, once cleanup is done or given
/// up. If the default action of `signal` does not terminate (SIGCHLD, SIGCONT…),
/// the process exits with status `128 + signal` instead; so does PID 1 of a pid
/// namespace (a container's init), where the kernel drops a signal at its
/// default action, at once.
///
/// # Examples
///
/// ```no_run
/// // ... first SIGTERM: cleanup ran, or a second SIGTERM came ...
/// sigcore::exit_by_signal(sigcore::Signal::TERM);
/// ```
pub fn exit_by_signal(signal: Signal) -> ! {
    // PID 1 of a namespace (a container's init) never gets a signal whose action
    // is the default, its own re-raise included (design fact 16): exit at once
    // with the status a shell would show.
    if sys::getpid() == 1 {
        std::process::exit(128 + signal.number());
    }
    // Dispositions are process-wide: even if sigcore serves the signal, the
    // process is leaving, so the default goes back now.
    let _ = sys::set_default(signal);
    let _ = sys::thread_unblock(signal.into());
    let _ = sys::tgkill(sys::getpid(), sys::gettid(), signal.number());
    // A terminating signal ends the process on the way out of tgkill; the rest
    // (default action ignore/stop/continue) falls through to a shell-style status.
    std::thread::sleep(Duration::from_millis(200));
    std::process::exit(128 + signal.number())
}

/// Spawns a thread that starts with **every** signal blocked, whatever the
/// caller's mask: the right mask for worker threads of a program whose signals a
/// waiter serves (sigbus spawns its actors this way).
///
/// # Errors
///
/// The error of [`std::thread::Builder::spawn`], or of `pthread_sigmask`.
///
/// # Examples
///
/// ```
/// let handle = sigcore::spawn_blocked(std::thread::Builder::new(), || sigcore::thread_mask())?;
/// assert!(handle.join().unwrap().unwrap().contains(sigcore::Signal::TERM));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn spawn_blocked<F, T>(
    builder: std::thread::Builder,
    f: F,
) -> std::io::Result<std::thread::JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // The new thread inherits the mask at creation: block all here, spawn, restore.
    let previous = sys::block_all_in_thread()?;
    let spawned = builder.spawn(move || {
        // Its children get the creator's mask back (see CommandExt), not this one.
        crate::command::set_thread_base_mask(previous);
        f()
    });
    sys::thread_set_mask(previous)?;
    spawned
}
