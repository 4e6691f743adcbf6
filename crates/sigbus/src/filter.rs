use sigcore::Origin;

/// Which senders a subscription accepts.
///
/// **Only what the kernel vouches for counts.** For `kill` and `tgkill` the
/// kernel fills in the sender's pid and uid itself; a child's state change
/// (`CLD_*` on SIGCHLD) and `SI_KERNEL` on signals no process can provoke
/// (timer expiry, a broken pipe, the terminal) come from the kernel alone.
/// Everything else says nothing trustworthy:
///
/// - `sigqueue` (and the other negative codes: POSIX timers, message queues,
///   AIO): the *sender* writes pid and uid, and any process allowed to signal
///   this one can claim to be pid 1, uid 0 (`rt_sigqueueinfo`);
/// - [`Origin::Io`]: `fcntl(F_SETOWN)` + `F_SETSIG` let any such process have the
///   kernel deliver *any* signal to us with a `POLL_*` code, and SIGIO/SIGURG with
///   `SI_KERNEL` (design fact 15). It looks like the kernel, but a process chose it.
///
/// So identity filters refuse those: a `SIGHUP` "reload" guarded by
/// `SenderFilter::Root` cannot be forged. Filters that accept them anyway must
/// say so with [`SenderFilter::AnyOf`] and [`SenderFilter::Any`], or take them
/// from a subscription without a filter.
///
/// | origin | `Any` | `SameUser`, `Root`, `Uids` | `Pids` | `KernelOnly` |
/// | --- | --- | --- | --- | --- |
/// | `kill`, `tgkill` (verified pid, uid) | yes | if the uid matches | if the pid matches | no |
/// | kernel (`SI_KERNEL` where no process can cause it; `CLD_*` on SIGCHLD) | yes | yes | no | yes |
/// | local (targeted delivery, the reaper's reports: made in this process) | yes | yes | no | no |
/// | fd readiness ([`Origin::Io`]: `F_SETSIG`, SIGIO, SIGURG) | yes | no | no | no |
/// | `sigqueue`, POSIX timer, other codes (forgeable) | yes | no | no | no |
/// | unknown sender | yes | no | no | no |
///
/// Refused events are counted in the subscription's `refused` statistic and
/// logged, never delivered.
///
/// ```
/// use sigbus::SenderFilter;
/// use sigbus::Origin;
///
/// let root_only = SenderFilter::Root;
/// assert!(root_only.accepts(&Origin::User { pid: 1, uid: 0 }));
/// assert!(!root_only.accepts(&Origin::User { pid: 99, uid: 1000 }));
/// assert!(root_only.accepts(&Origin::Kernel));
/// // A queued signal's uid is written by its sender: not trusted.
/// assert!(!root_only.accepts(&Origin::Queue { pid: 1, uid: 0, value: 7 }));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SenderFilter {
    /// Every sender.
    #[default]
    Any,
    /// Processes running as this process's real uid (verified senders only).
    SameUser,
    /// Processes running as root, uid 0 (verified senders only).
    Root,
    /// Processes running as one of these uids (verified senders only).
    Uids(Vec<u32>),
    /// Only these process ids (verified senders only; not even the kernel).
    Pids(Vec<i32>),
    /// Only signals the kernel generated itself (timer expiry through `alarm`/
    /// `setitimer`, SIGCHLD, terminal signals). POSIX timers (`SI_TIMER`) and fd
    /// readiness ([`Origin::Io`]) are refused: a process can cause or forge them.
    KernelOnly,
    /// Any of these filters.
    AnyOf(Vec<SenderFilter>),
}

enum Sender {
    Kernel,
    Local,
    /// A process whose pid and uid the kernel filled in.
    Verified {
        pid: i32,
        uid: u32,
    },
    /// Claimed by the sender, or not known.
    Unverified,
}

fn sender(origin: &Origin) -> Sender {
    match *origin {
        Origin::User { pid, uid } | Origin::Tkill { pid, uid } => Sender::Verified { pid, uid },
        // sigcore decodes codes per signal: these two only the kernel causes.
        Origin::Kernel | Origin::Child { .. } => Sender::Kernel,
        // Reports made inside this process (targeted delivery, the reaper).
        Origin::Local { .. } | Origin::Reaped { .. } => Sender::Local,
        _ => Sender::Unverified,
    }
}

impl SenderFilter {
    /// Whether an event with this origin passes.
    pub fn accepts(&self, origin: &Origin) -> bool {
        self.accepts_as(origin, sigcore::current_uid())
    }

    /// [`SenderFilter::accepts`] with this process's uid already known (the bus
    /// reads it once per mailbox rather than once per event).
    pub(crate) fn accepts_as(&self, origin: &Origin, my_uid: u32) -> bool {
        // The common case on the hot path: no filter, nothing to decode.
        if let SenderFilter::Any = self {
            return true;
        }
        let from = sender(origin);
        match self {
            SenderFilter::Any => true,
            SenderFilter::KernelOnly => matches!(from, Sender::Kernel),
            SenderFilter::Pids(pids) => {
                matches!(from, Sender::Verified { pid, .. } if pids.contains(&pid))
            }
            SenderFilter::AnyOf(filters) => filters.iter().any(|f| f.accepts_as(origin, my_uid)),
            uid_filter => match from {
                Sender::Kernel | Sender::Local => true,
                Sender::Unverified => false,
                Sender::Verified { uid, .. } => match uid_filter {
                    SenderFilter::SameUser => uid == my_uid,
                    SenderFilter::Root => uid == 0,
                    SenderFilter::Uids(uids) => uids.contains(&uid),
                    _ => unreachable!("handled above"),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: u32 = 4242;

    fn user(uid: u32) -> Origin {
        Origin::User { pid: 10, uid }
    }

    #[test]
    fn uid_filters_compare_the_sender_uid() {
        assert!(SenderFilter::Uids(vec![ME]).accepts(&user(ME)));
        assert!(!SenderFilter::Uids(vec![ME]).accepts(&user(ME + 1)));
        assert!(SenderFilter::Root.accepts(&user(0)));
        assert!(!SenderFilter::Root.accepts(&user(ME)));
        let mine = sigcore::current_uid();
        assert!(SenderFilter::SameUser.accepts(&Origin::Tkill { pid: 1, uid: mine }));
        assert!(!SenderFilter::SameUser.accepts(&user(mine.wrapping_add(1))));
    }

    /// `SameUser` is the receiver's uid, not root: checked with a uid other
    /// than 0, so a suite run as root still tells `SameUser` from `Root`.
    #[test]
    fn same_user_is_the_receivers_uid_not_root() {
        for filter in [SenderFilter::SameUser, SenderFilter::Root] {
            let accepts = |uid| filter.accepts_as(&user(uid), ME);
            let tkill = filter.accepts_as(&Origin::Tkill { pid: 1, uid: ME }, ME);
            let want_me = filter == SenderFilter::SameUser;
            assert_eq!(accepts(ME), want_me, "{filter:?}, a kill from my uid");
            assert_eq!(tkill, want_me, "{filter:?}, a tgkill from my uid");
            assert_eq!(accepts(0), !want_me, "{filter:?}, a kill from root");
        }
        // As root, the two agree on root and on everyone else.
        assert!(SenderFilter::SameUser.accepts_as(&user(0), 0));
        assert!(!SenderFilter::SameUser.accepts_as(&user(ME), 0));
    }

    #[test]
    fn forgeable_senders_pass_only_any() {
        // sigqueue and SI_TIMER info is written by the sender: pid 1, uid 0 can be
        // claimed by anyone allowed to signal us.
        let forged = [
            Origin::Queue {
                pid: 1,
                uid: 0,
                value: 0,
            },
            Origin::Timer {
                timer_id: 1,
                overrun: 0,
            },
            Origin::Other {
                code: -3,
                pid: 1,
                uid: 0,
            },
            // F_SETOWN + F_SETSIG: the kernel sends it, a process chose it.
            Origin::Io {
                event: Some(sigcore::IoEvent::In),
                fd: Some(3),
            },
            Origin::Io {
                event: None,
                fd: None,
            },
            Origin::Other {
                code: 7,
                pid: 65,
                uid: 0,
            },
        ];
        for origin in &forged {
            for filter in [
                SenderFilter::Root,
                SenderFilter::SameUser,
                SenderFilter::Uids(vec![0]),
                SenderFilter::Pids(vec![1]),
                SenderFilter::KernelOnly,
            ] {
                assert!(!filter.accepts(origin), "{filter:?} accepted {origin:?}");
            }
            assert!(SenderFilter::Any.accepts(origin));
        }
    }

    #[test]
    fn kernel_and_local_pass_uid_filters_but_not_pid_lists() {
        let local = Origin::Local { sender: None };
        for f in [
            SenderFilter::SameUser,
            SenderFilter::Root,
            SenderFilter::Uids(vec![]),
        ] {
            assert!(f.accepts(&Origin::Kernel));
            assert!(f.accepts(&local));
        }
        assert!(!SenderFilter::Pids(vec![10]).accepts(&Origin::Kernel));
        assert!(SenderFilter::Pids(vec![10]).accepts(&user(ME)));
        assert!(!SenderFilter::Pids(vec![11]).accepts(&user(ME)));
    }

    #[test]
    fn kernel_only_refuses_processes_and_unknown_senders() {
        assert!(SenderFilter::KernelOnly.accepts(&Origin::Kernel));
        assert!(!SenderFilter::KernelOnly.accepts(&user(0)));
        assert!(!SenderFilter::KernelOnly.accepts(&Origin::Local { sender: None }));
        assert!(!SenderFilter::Root.accepts(&Origin::Unknown));
        assert!(SenderFilter::Any.accepts(&Origin::Unknown));
    }

    #[test]
    fn any_of_combines() {
        let f = SenderFilter::AnyOf(vec![SenderFilter::Root, SenderFilter::Pids(vec![10])]);
        assert!(f.accepts(&user(ME)));
        assert!(f.accepts(&Origin::User { pid: 11, uid: 0 }));
        assert!(!f.accepts(&Origin::User { pid: 11, uid: ME }));
    }
}
