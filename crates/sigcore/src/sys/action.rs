use std::io;
use std::mem::MaybeUninit;

use super::check;
use crate::event::RawInfo;
use crate::Signal;

/// A disposition as `sigaction` returned it, to put back later.
#[derive(Clone, Copy)]
pub(crate) struct SavedAction(libc::sigaction);

/// What a signal's disposition is, in Python's `getsignal` terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RawDisposition {
    Default,
    Ignore,
    Handler,
}

impl SavedAction {
    pub(crate) fn kind(&self) -> RawDisposition {
        classify(&self.0)
    }

    /// Whether this is sigcore's own safety-net handler.
    pub(crate) fn is_ours(&self) -> bool {
        self.0.sa_sigaction == net_handler()
    }

    /// Whether this is a handler someone other than sigcore installed.
    pub(crate) fn is_foreign(&self) -> bool {
        self.kind() == RawDisposition::Handler && !self.is_ours()
    }

    /// Calls the handler (a foreign one: see `is_foreign`) for an event the
    /// waiter took, on the calling thread, as the kernel would have: with a
    /// `siginfo` rebuilt from `raw` and no context. Handlers that chain to
    /// their predecessor may call sigcore's own; it does nothing then (see
    /// `net::chaining`).
    pub(crate) fn call(&self, raw: &RawInfo) {
        if !self.is_foreign() {
            return;
        }
        let mut info = siginfo_from_raw(raw);
        super::net::chaining(raw.signo, || {
            if self.0.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: installed with SA_SIGINFO, so the address is such a
                // handler; it gets a complete, initialised siginfo and no context
                // (null), as some kernels' signal frames allow.
                let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    // SAFETY: installed with SA_SIGINFO: a three-argument handler (see above).
                    unsafe { std::mem::transmute(self.0.sa_sigaction) };
                handler(raw.signo, &mut info, std::ptr::null_mut());
            } else {
                // SAFETY: installed without SA_SIGINFO: a one-argument handler.
                let handler: extern "C" fn(libc::c_int) =
                    // SAFETY: installed without SA_SIGINFO: a one-argument handler.
                    unsafe { std::mem::transmute(self.0.sa_sigaction) };
                handler(raw.signo);
            }
        });
    }
}

pub(super) fn net_handler() -> libc::sighandler_t {
    super::net::on_stray_signal
        as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
        as libc::sighandler_t
}

/// A `siginfo_t` holding what `raw` holds, laid out as the kernel does.
fn siginfo_from_raw(raw: &RawInfo) -> libc::siginfo_t {
    let words = super::info::words_from_raw(raw);
    // SAFETY: siginfo_t is 128 bytes of plain data, as the words are.
    unsafe { std::mem::transmute::<[i32; 32], libc::siginfo_t>(words) }
}

impl SavedAction {
    /// Tells the safety-net handler this is what sigcore replaced for `signal`.
    pub(crate) fn remember_as_original(&self, signal: Signal) {
        super::net::remember_original(signal.number(), &self.0);
    }
}

/// The current disposition of `signal`, to keep or compare.
pub(crate) fn current(signal: Signal) -> io::Result<SavedAction> {
    query(signal).map(SavedAction)
}

fn classify(action: &libc::sigaction) -> RawDisposition {
    match action.sa_sigaction {
        libc::SIG_DFL => RawDisposition::Default,
        libc::SIG_IGN => RawDisposition::Ignore,
        _ => RawDisposition::Handler,
    }
}

fn query(signal: Signal) -> io::Result<libc::sigaction> {
    let mut old = MaybeUninit::<libc::sigaction>::uninit();
    // SAFETY: a null new action only reads the current one into `old`.
    check(unsafe { libc::sigaction(signal.number(), std::ptr::null(), old.as_mut_ptr()) })?;
    // SAFETY: filled by the successful call.
    Ok(unsafe { old.assume_init() })
}

fn replace(
    signal: Signal,
    handler: libc::sighandler_t,
    flags: libc::c_int,
) -> io::Result<SavedAction> {
    // SAFETY: a zeroed sigaction is a valid value (empty mask, no flags).
    let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
    new.sa_sigaction = handler;
    new.sa_flags = flags;
    let mut old = MaybeUninit::<libc::sigaction>::uninit();
    // SAFETY: both pointers are valid; the handler (when not SIG_DFL/SIG_IGN) is an
    // `extern "C" fn(c_int, *mut siginfo_t, *mut c_void)` as SA_SIGINFO requires.
    check(unsafe { libc::sigaction(signal.number(), &new, old.as_mut_ptr()) })?;
    // SAFETY: filled by the successful call.
    Ok(SavedAction(unsafe { old.assume_init() }))
}

/// Installs the safety-net handler for `signal`; returns the disposition it replaced.
pub(crate) fn install_net_handler(signal: Signal) -> io::Result<SavedAction> {
    // SA_RESTART: a stray delivery must not make the interrupted thread's syscalls
    // fail with EINTR. SA_ONSTACK: use the thread's alternate stack if it has one.
    replace(
        signal,
        net_handler(),
        libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK,
    )
}

/// Takes the first of `candidates` whose disposition is the default or ignore
/// (never one another library handles) and installs the wake signal's do-nothing
/// handler on it, for good; returns its number. `None` when none could be taken.
pub(crate) fn claim_wake_signal(candidates: impl IntoIterator<Item = Signal>) -> Option<Signal> {
    let handler = super::wake::on_wake_signal
        as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);
    candidates.into_iter().find(|&signal| {
        matches!(
            query(signal).map(|a| classify(&a)),
            Ok(RawDisposition::Default | RawDisposition::Ignore)
        ) && replace(
            signal,
            handler as libc::sighandler_t,
            libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK,
        )
        .is_ok()
    })
}

/// Puts a saved disposition back.
pub(crate) fn restore(signal: Signal, saved: &SavedAction) -> io::Result<()> {
    // SAFETY: `saved` came from sigaction for this process, so it is a valid action.
    check(unsafe { libc::sigaction(signal.number(), &saved.0, std::ptr::null_mut()) }).map(drop)
}

/// The current disposition of `signal`.
pub(crate) fn disposition(signal: Signal) -> io::Result<RawDisposition> {
    query(signal).map(|a| classify(&a))
}

/// Sets `signal` to be ignored; returns the previous disposition.
pub(crate) fn set_ignore(signal: Signal) -> io::Result<SavedAction> {
    replace(signal, libc::SIG_IGN, 0)
}

/// Resets `signal` to its default action; returns the previous disposition.
pub(crate) fn set_default(signal: Signal) -> io::Result<SavedAction> {
    replace(signal, libc::SIG_DFL, 0)
}
