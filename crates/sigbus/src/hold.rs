//! Flow control for [`crate::Overflow::Backpressure`]: a mailbox that reaches
//! its capacity holds its signals in the kernel ([`sigcore::hold`]) until its
//! reader has taken half of what is queued.
//!
//! Holding is process-wide in sigcore, while several mailboxes (of any bus) may
//! want a signal held at once: a signal is held while at least one mailbox
//! holds it, counted here per signal.
//!
//! A hold (on the routing thread) and a release (on the reader's) may race:
//! the counts and the mailbox's bits change under one lock, and the last word
//! on sigcore's held set is said under it too (a hold checks the count again
//! after holding), so they always end up agreeing. Nothing under the lock
//! blocks: `sigcore::resume` only flips bits and wakes the waiter.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

use log::debug;
use sigcore::{SignalSet, TaskName};

use crate::mailbox::MailboxInfo;

#[allow(clippy::declare_interior_mutable_const)] // only used to initialise HOLDERS
const NONE: AtomicU32 = AtomicU32::new(0);
/// Per signal number: how many mailboxes hold it.
static HOLDERS: [AtomicU32; 65] = [NONE; 65];
/// Held across a whole hold or release (see the module docs).
static CHANGE: Mutex<()> = Mutex::new(());

fn change() -> MutexGuard<'static, ()> {
    // Nothing under the lock panics; a poisoned lock guards nothing.
    CHANGE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Room kept beyond a backpressure mailbox's capacity for what arrives before a
/// hold takes effect: the rest of the waiter's batch (32) and some signals the
/// safety net caught meanwhile.
pub(crate) const RESERVE: usize = 64;

/// The mailbox is full: hold its signals (those it does not hold yet).
pub(crate) fn hold(info: &MailboxInfo) {
    let start: SignalSet = {
        let _change = change();
        let newly = info.signals.bits()
            & !info
                .counters
                .held
                .fetch_or(info.signals.bits(), Ordering::AcqRel);
        SignalSet::from_bits(newly)
            .iter()
            .filter(|s| HOLDERS[s.number() as usize].fetch_add(1, Ordering::AcqRel) == 0)
            .collect()
    };
    if start.is_empty() {
        return;
    }
    debug!(
        "sigbus: {} is full; holding {start} in the kernel",
        TaskName::new(info.name.as_bytes())
    );
    // Outside the lock: off a sink (a local event), this waits for the
    // waiter, whose router may want the lock meanwhile.
    sigcore::hold(start);
    // A release may have come between the count and the hold: the count
    // decides.
    let _change = change();
    let undo: SignalSet = start
        .iter()
        .filter(|s| HOLDERS[s.number() as usize].load(Ordering::Acquire) == 0)
        .collect();
    if !undo.is_empty() {
        sigcore::resume(undo);
    }
}

/// The mailbox has room again (or closed): release what it held.
pub(crate) fn release(info: &MailboxInfo) {
    let _change = change();
    let held = SignalSet::from_bits(info.counters.held.swap(0, Ordering::AcqRel));
    let stop: SignalSet = held
        .iter()
        .filter(|s| HOLDERS[s.number() as usize].fetch_sub(1, Ordering::AcqRel) == 1)
        .collect();
    if !stop.is_empty() {
        debug!(
            "sigbus: {} has room; resuming {stop}",
            TaskName::new(info.name.as_bytes())
        );
        sigcore::resume(stop);
    }
}
