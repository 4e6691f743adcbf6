//! Flow control for [`crate::Overflow::Backpressure`]: a mailbox that reaches
//! its capacity holds its signals in the kernel ([`sigcore::hold`]) until its
//! reader has taken half of what is queued.
//!
//! Holding is process-wide in sigcore, while several mailboxes (of any bus) may
//! want a signal held at once: a signal is held while at least one mailbox
//! holds it, counted here per signal.

use std::sync::atomic::{AtomicU32, Ordering};

use log::debug;
use sigcore::{SignalSet, TaskName};

use crate::mailbox::MailboxInfo;

#[allow(clippy::declare_interior_mutable_const)] // only used to initialise HOLDERS
const NONE: AtomicU32 = AtomicU32::new(0);
/// Per signal number: how many mailboxes hold it.
static HOLDERS: [AtomicU32; 65] = [NONE; 65];

/// Room kept beyond a backpressure mailbox's capacity for what arrives before a
/// hold takes effect: the rest of the waiter's batch (32) and some signals the
/// safety net caught meanwhile.
pub(crate) const RESERVE: usize = 64;

/// The mailbox is full: hold its signals (those it does not hold yet).
pub(crate) fn hold(info: &MailboxInfo) {
    let newly = info.signals.bits()
        & !info
            .counters
            .held
            .fetch_or(info.signals.bits(), Ordering::AcqRel);
    let newly = SignalSet::from_bits(newly);
    let start: SignalSet = newly
        .iter()
        .filter(|s| HOLDERS[s.number() as usize].fetch_add(1, Ordering::AcqRel) == 0)
        .collect();
    if !start.is_empty() {
        debug!(
            "sigbus: {} is full; holding {start} in the kernel",
            TaskName::new(info.name.as_bytes())
        );
        sigcore::hold(start);
    }
}

/// The mailbox has room again (or closed): release what it held.
pub(crate) fn release(info: &MailboxInfo) {
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
