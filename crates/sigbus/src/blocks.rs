//! Which signals sigbus blocked in each thread, so that the thread that
//! subscribed can undo its own block once nothing serves the signal any more.
//!
//! A thread-local rather than a table in the bus: a record dies with its thread
//! (short-lived threads that subscribe do not grow a table, and a reused thread
//! id cannot match a dead thread's record), and only a thread can change its own
//! mask anyway. What another thread blocked stays blocked until that thread
//! releases or ends: the kernel offers no way to change another thread's mask.

use std::cell::Cell;

use sigcore::SignalSet;

use crate::BusError;

thread_local! {
    /// Signals sigbus blocked in this thread that were not blocked before.
    static BLOCKED_HERE: Cell<SignalSet> = const { Cell::new(SignalSet::empty()) };
}

/// Blocks `signals` in the calling thread on behalf of serving them (this
/// thread, and the ones it spawns, must not take their disposition), and
/// remembers which of them this call blocked.
pub(crate) fn block_here(signals: SignalSet) -> Result<(), BusError> {
    let previous = sigcore::block_while_served(signals)?;
    BLOCKED_HERE.with(|b| b.set(b.get().union(signals.difference(previous))));
    Ok(())
}

/// Unblocks, in the calling thread, the signals of `released` that sigbus
/// blocked here and that nothing serves any more (another bus or a sigcore
/// registration may still serve one; then it stays blocked).
pub(crate) fn undo_here(released: SignalSet) {
    let mine = BLOCKED_HERE.with(Cell::get).intersection(released);
    let undo = mine.difference(sigcore::served());
    if undo.is_empty() {
        return;
    }
    if sigcore::unblock_after_serving(undo).is_ok() {
        BLOCKED_HERE.with(|b| b.set(b.get().difference(undo)));
    }
}
