//! A word threads sleep on until another thread rings it: one system call wakes
//! every sleeper.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use crate::sys;

/// Wakes every thread waiting on it with one `futex(2)` call, and costs two
/// atomic operations when nobody waits.
///
/// sigbus parks the threads blocked in a subscription's `recv` on one of these,
/// shared by the subscriptions of the same signals: one event reaches all of
/// them with a single wake-up call instead of one per subscriber.
///
/// The protocol is "take a ticket, look, then wait on the ticket": a ring that
/// comes after the ticket was taken ends the wait at once, so a change made
/// before a ring is never slept through.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use std::time::{Duration, Instant};
///
/// let bell = Arc::new(sigcore::Doorbell::new());
/// let ready = Arc::new(AtomicBool::new(false));
/// let waiter = {
///     let (bell, ready) = (Arc::clone(&bell), Arc::clone(&ready));
///     std::thread::spawn(move || {
///         let deadline = Instant::now() + Duration::from_secs(10);
///         loop {
///             let ticket = bell.ticket();
///             if ready.load(Ordering::SeqCst) {
///                 return true;
///             }
///             if !bell.wait(ticket, Some(deadline)) {
///                 return false; // timed out
///             }
///         }
///     })
/// };
/// ready.store(true, Ordering::SeqCst);
/// bell.ring();
/// assert!(waiter.join().unwrap());
/// ```
#[derive(Debug, Default)]
pub struct Doorbell {
    /// Rings so far (wrapping): what sleepers compare their ticket with.
    rings: AtomicU32,
    /// Threads inside `wait`: a ring skips the system call when there are none.
    sleepers: AtomicU32,
}

impl Doorbell {
    /// A bell nobody waits on.
    pub const fn new() -> Doorbell {
        Doorbell {
            rings: AtomicU32::new(0),
            sleepers: AtomicU32::new(0),
        }
    }

    /// Takes a ticket: call before looking at whatever the ringer changes.
    pub fn ticket(&self) -> u32 {
        self.rings.load(Ordering::SeqCst)
    }

    /// Sleeps until a ring after `ticket`, or `deadline`. Returns `false` once
    /// the deadline has passed; `true` otherwise, which may also be a spurious
    /// wake-up: look again, with a new ticket.
    pub fn wait(&self, ticket: u32, deadline: Option<Instant>) -> bool {
        let timeout = match deadline {
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return false,
            },
            None => None,
        };
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        // A ring between the ticket and the increment above changed `rings`:
        // the kernel compares before sleeping, so it is not slept through.
        sys::futex_wait(&self.rings, ticket, bit(ticket), timeout);
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        true
    }

    /// Wakes every thread waiting on a ticket taken before this call.
    ///
    /// One sleeper is woken first, by a call of its own, and given the chance
    /// to run (a `sched_yield`) before the others are woken: waking many takes
    /// the kernel a while, and on a busy or single CPU the first need not wait
    /// for the last.
    pub fn ring(&self) {
        let ticket = self.rings.fetch_add(1, Ordering::SeqCst);
        let sleepers = self.sleepers.load(Ordering::SeqCst);
        if sleepers == 0 {
            return;
        }
        // Only those waiting on this ring's ticket: a sleeper already back
        // with a newer ticket (the first, say) is not woken for nothing.
        let bits = bit(ticket);
        if sys::futex_wake(&self.rings, 1, bits) >= 1 && sleepers > 1 {
            // Let the first run before waking the rest: where CPUs are short it
            // would otherwise wait for all of them to be woken.
            std::thread::yield_now();
            sys::futex_wake(&self.rings, i32::MAX, bits);
        }
    }
}

/// The futex bit of a ticket: sleepers on ticket `t` wait for the ring that
/// moves `rings` past `t` (tickets 32 apart share a bit; their sleepers only
/// wake for nothing, and look again).
fn bit(ticket: u32) -> u32 {
    1 << (ticket % 32)
}
