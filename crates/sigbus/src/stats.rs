use std::sync::atomic::Ordering;
use std::sync::Arc;

use sigcore::{Signal, SignalSet};

use crate::mailbox::{MailboxInfo, MailboxKind, Overflow};
use crate::SubscriptionId;

/// Who listens to one signal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The signal.
    pub signal: Signal,
    /// Its subscriptions and actors, in subscription order.
    pub listeners: Vec<Listener>,
}

/// One subscription or actor in a [`Route`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// Its id.
    pub id: SubscriptionId,
    /// Its name.
    pub name: Arc<str>,
    /// Subscription or actor.
    pub kind: MailboxKind,
}

/// A snapshot of a bus's counters.
///
/// # Examples
///
/// ```
/// use sigbus::Signal;
///
/// sigbus::block(Signal::USR1)?;
/// let bus = sigbus::Bus::new();
/// let sub = bus.subscribe(Signal::USR1)?;
/// sigbus::raise(Signal::USR1)?;
/// sub.recv_timeout(std::time::Duration::from_secs(10))?;
/// let stats = bus.stats();
/// assert_eq!(stats.accepted(Signal::USR1), 1);
/// let mine = stats.mailbox(sub.id()).unwrap();
/// assert_eq!((mine.delivered, mine.dropped, mine.refused), (1, 0, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct BusStats {
    /// Per signal seen or served.
    pub signals: Vec<SignalStats>,
    /// Per open subscription and actor, by id.
    pub mailboxes: Vec<MailboxStats>,
    /// The process's safety net (signals caught on threads that did not block
    /// them), for every bus and registration of the process.
    pub safety_net: sigcore::SafetyNetStats,
}

/// Counters of one signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalStats {
    /// The signal.
    pub signal: Signal,
    /// Events the router accepted from sigcore.
    pub accepted: u64,
    /// Events that found no mailbox (only in the instant a last subscription closes).
    pub unrouted: u64,
}

/// Counters of one mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxStats {
    /// Its id.
    pub id: SubscriptionId,
    /// Its name.
    pub name: Arc<str>,
    /// Subscription or actor.
    pub kind: MailboxKind,
    /// Signals it takes.
    pub signals: SignalSet,
    /// Its overflow policy.
    pub overflow: Overflow,
    /// Its capacity.
    pub capacity: usize,
    /// Events put in the mailbox.
    pub delivered: u64,
    /// Of those, events `recv` took from the kernel on the receiving thread
    /// itself, with one wake-up (see the crate docs, "Delivery").
    pub direct: u64,
    /// Events dropped by the overflow policy (or because the receiver was gone).
    pub dropped: u64,
    /// Events refused by the sender filter.
    pub refused: u64,
    /// Events waiting in the mailbox now.
    pub queued: usize,
    /// Allocations the mailbox made to grow during bursts (it starts with no
    /// event slots, doubles up to its capacity, and never shrinks; 0 for a
    /// channel, which has its capacity from the start).
    pub grown: u64,
    /// Times the actor was restarted after a panic (0 for subscriptions).
    pub restarts: u64,
}

impl MailboxStats {
    pub(crate) fn read(info: &MailboxInfo, queued: usize, grown: u64) -> MailboxStats {
        let c = &info.counters;
        MailboxStats {
            id: info.id,
            name: Arc::clone(&info.name),
            kind: info.kind,
            signals: info.signals,
            overflow: info.overflow,
            capacity: info.capacity,
            delivered: c.delivered.load(Ordering::Relaxed),
            direct: c.direct.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            queued,
            grown,
            restarts: c.restarts.load(Ordering::Relaxed),
        }
    }
}

impl BusStats {
    /// The counters of one mailbox.
    pub fn mailbox(&self, id: SubscriptionId) -> Option<&MailboxStats> {
        self.mailboxes.iter().find(|m| m.id == id)
    }

    /// Events accepted for `signal`.
    pub fn accepted(&self, signal: Signal) -> u64 {
        self.signals
            .iter()
            .find(|s| s.signal == signal)
            .map_or(0, |s| s.accepted)
    }
}
