//! Waking readers that do not block in `recv`: async tasks (feature `async`)
//! and event loops (a readiness fd, [`sigcore::ReadyFd`]).
//!
//! The router calls [`Notify::sent`] after each event it puts in a mailbox. A
//! mailbox nobody polls this way costs a fence and one load there. The readers'
//! side follows the register-then-recheck pattern: make the waker or the fd
//! known first, then look at the mailbox again, so an event sent in between is
//! either seen by the look or wakes them.

use std::io;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::OnceLock;

use sigcore::ReadyFd;

pub(crate) struct Notify {
    /// Someone reads this mailbox through a waker or the fd. Never cleared.
    used: AtomicBool,
    #[cfg(feature = "async")]
    waker: atomic_waker::AtomicWaker,
    fd: OnceLock<ReadyFd>,
}

// The waker slot is an atomic handoff; a panic cannot leave it half-written.
impl std::panic::UnwindSafe for Notify {}
impl std::panic::RefUnwindSafe for Notify {}

impl Notify {
    pub(crate) fn new() -> Notify {
        Notify {
            used: AtomicBool::new(false),
            #[cfg(feature = "async")]
            waker: atomic_waker::AtomicWaker::new(),
            fd: OnceLock::new(),
        }
    }

    /// An event was put in the mailbox (on the router's thread).
    pub(crate) fn sent(&self) {
        fence(Ordering::SeqCst);
        self.sent_after_fence();
    }

    /// [`Notify::sent`] for a router that put events in many mailboxes and
    /// then issued one `fence(SeqCst)` for all of them.
    pub(crate) fn sent_after_fence(&self) {
        // Pairs with the fence in `watch`: either the reader's look after
        // registering saw the event, or this load sees the registration.
        if self.used.load(Ordering::Relaxed) {
            self.wake();
        }
    }

    /// Whether a waker or the fd reads this mailbox.
    pub(crate) fn is_used(&self) -> bool {
        self.used.load(Ordering::Relaxed)
    }

    /// The mailbox closed: whoever waits must wake to see it.
    pub(crate) fn closed(&self) {
        self.wake();
    }

    fn wake(&self) {
        #[cfg(feature = "async")]
        self.waker.wake();
        if let Some(fd) = self.fd.get() {
            fd.raise();
        }
    }

    /// Marks the mailbox as read through a waker or the fd; the caller looks at
    /// the mailbox again afterwards.
    fn watch(&self) {
        self.used.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// Registers the task to wake on the next event (feature `async`).
    #[cfg(feature = "async")]
    pub(crate) fn register(&self, waker: &std::task::Waker) {
        self.waker.register(waker);
        self.watch();
    }

    /// The readiness fd, made on first use and raised at once if `queued`.
    pub(crate) fn fd(&self, queued: impl Fn() -> bool) -> io::Result<&ReadyFd> {
        if let Some(fd) = self.fd.get() {
            return Ok(fd);
        }
        // Two threads may both make one; the loser's is dropped.
        let _ = self.fd.set(ReadyFd::new()?);
        let fd = self.fd.get().expect("set just above");
        self.watch();
        if queued() {
            fd.raise();
        }
        Ok(fd)
    }

    /// The reader took an event (`found_nothing` false) or found none: the fd
    /// must be readable exactly while events wait. Lowered when `empty`, then
    /// raised again if an event slipped in meanwhile (the router raises it
    /// too, so none is missed).
    ///
    /// A look that found nothing always lowers and raises afresh: an event
    /// pushed just after the failed pop found the flag up, so the router
    /// wrote nothing, and an edge-triggered loop, whose edge for the flag
    /// was spent on the wake-up that led here, would never hear of it.
    pub(crate) fn looked(&self, found_nothing: bool, empty: impl Fn() -> bool) {
        if let Some(fd) = self.fd.get() {
            if found_nothing || (fd.is_raised() && empty()) {
                fd.lower();
                fence(Ordering::SeqCst);
                if !empty() {
                    fd.raise();
                }
            }
        }
    }
}
