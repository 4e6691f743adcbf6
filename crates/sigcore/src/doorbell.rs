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
        sys::futex_wait(&self.rings, ticket, timeout);
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        true
    }

    /// Wakes every thread waiting on a ticket taken before this call.
    pub fn ring(&self) {
        self.rings.fetch_add(1, Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) != 0 {
            sys::futex_wake_all(&self.rings);
        }
    }
}
