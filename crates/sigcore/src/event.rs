use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::Signal;

/// One accepted signal, as a value.
///
/// Built by the waiter thread from the kernel's `siginfo`, stamped with a
/// process-wide sequence number and the (monotonic) time it was accepted. Events are
/// small and never allocate; cloning one only bumps a reference count when the
/// origin carries a [`Origin::Local`] sender name.
///
/// # Coalescing
///
/// **Standard signals (1–31) coalesce while pending**: the kernel keeps one pending
/// slot per standard signal, so several SIGUSR1 sent close together may arrive as a
/// single event carrying the sender of the first. Count events, not signals, only
/// for real-time signals: those are queued (up to `RLIMIT_SIGPENDING`) and arrive
/// one event per `sigqueue`, in order for the same signal number, lower numbers
/// first when several are pending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalEvent {
    /// The signal.
    pub signal: Signal,
    /// Process-wide sequence number; strictly increasing in the order the waiter
    /// accepted the events.
    pub seq: u64,
    /// When the waiter accepted the signal.
    pub at: Instant,
    /// Who or what sent it.
    pub origin: Origin,
}

/// Who or what sent a signal, decoded from `siginfo_t.si_code`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// `kill(2)` (also `killpg`, `pidfd_send_signal` without info, a shell's `kill`).
    User {
        /// Sender's process id.
        pid: i32,
        /// Sender's real user id.
        uid: u32,
    },
    /// `sigqueue(3)`, with its payload.
    Queue {
        /// Sender's process id.
        pid: i32,
        /// Sender's real user id.
        uid: u32,
        /// The integer payload (`sival_int`).
        value: i32,
    },
    /// `tgkill(2)`, `pthread_kill(3)` or libc's `raise(3)`: aimed at one thread.
    Tkill {
        /// Sender's process id.
        pid: i32,
        /// Sender's real user id.
        uid: u32,
    },
    /// The kernel itself (`SI_KERNEL`): `alarm`/`setitimer` expiry, terminal
    /// signals, a write to a broken pipe. Never used for what a process can
    /// cause through the kernel (that is [`Origin::Io`]).
    Kernel,
    /// A POSIX timer (`timer_create`) expired.
    Timer {
        /// The kernel's timer id.
        timer_id: i32,
        /// Expirations that happened while this one was pending.
        overrun: i32,
    },
    /// A child changed state (SIGCHLD from the kernel). SIGCHLD coalesces: the child
    /// named here may not be the only one waiting to be reaped.
    Child {
        /// The child's process id.
        pid: i32,
        /// The child's real user id.
        uid: u32,
        /// What happened to it.
        status: ChildStatus,
    },
    /// A file descriptor's readiness: the kernel sent it because the descriptor's
    /// owner was set to this process (`fcntl(F_SETOWN)`: SIGIO, SIGURG, or with
    /// `F_SETSIG` any signal). Whoever set the owner caused it, and any process
    /// allowed to signal this one can do that, so it says nothing trustworthy
    /// about a sender (design fact 15).
    Io {
        /// What happened on the descriptor, when the kernel says.
        event: Option<IoEvent>,
        /// The descriptor's number in the process that set the owner, when the
        /// kernel says.
        fd: Option<i32>,
    },
    /// A child this process's reaper collected (not a kernel `siginfo`: a report,
    /// one per child, where SIGCHLD itself coalesces).
    Reaped {
        /// The child's process id.
        pid: i32,
        /// The child's real user id.
        uid: u32,
        /// How it ended.
        status: ChildStatus,
        /// Nobody in this process spawned it through the reaper: an orphan
        /// adopted as subreaper or PID 1, or a child spawned and forgotten.
        orphan: bool,
    },
    /// Sent inside this process without a kernel signal (targeted delivery on a bus).
    Local {
        /// The sending actor's or thread's name, where it has one.
        sender: Option<Arc<str>>,
    },
    /// The safety net caught the signal on a thread that did not block it but had
    /// no room left to record its sender (a storm on unprepared threads).
    Unknown,
    /// Any other `si_code` (`SI_MESGQ`, `SI_ASYNCIO`, a code that makes no sense
    /// for the signal), kept raw with whatever the `siginfo` held in the sender
    /// fields. Not trustworthy.
    Other {
        /// The raw `si_code`.
        code: i32,
        /// `si_pid` as delivered (meaningful only for some codes).
        pid: i32,
        /// `si_uid` as delivered (meaningful only for some codes).
        uid: u32,
    },
}

/// What happened on a file descriptor, for [`Origin::Io`] (the `POLL_*` codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoEvent {
    /// Input is available (`POLL_IN`).
    In,
    /// Output buffers are available (`POLL_OUT`).
    Out,
    /// An input message is available (`POLL_MSG`).
    Msg,
    /// An I/O error (`POLL_ERR`).
    Err,
    /// High-priority input is available (`POLL_PRI`).
    Pri,
    /// The device hung up (`POLL_HUP`).
    Hup,
}

impl IoEvent {
    fn from_code(code: i32) -> Option<IoEvent> {
        Some(match code {
            1 => IoEvent::In,
            2 => IoEvent::Out,
            3 => IoEvent::Msg,
            4 => IoEvent::Err,
            5 => IoEvent::Pri,
            6 => IoEvent::Hup,
            _ => return None,
        })
    }

    /// The kernel's name: `POLL_IN`, `POLL_OUT`, …
    pub fn name(self) -> &'static str {
        match self {
            IoEvent::In => "POLL_IN",
            IoEvent::Out => "POLL_OUT",
            IoEvent::Msg => "POLL_MSG",
            IoEvent::Err => "POLL_ERR",
            IoEvent::Pri => "POLL_PRI",
            IoEvent::Hup => "POLL_HUP",
        }
    }
}

/// What happened to a child, for [`Origin::Child`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChildStatus {
    /// It called `exit` with this code.
    Exited(i32),
    /// A signal ended it (this number; a raw number because it may be any signal).
    Killed(i32),
    /// A signal ended it and it dumped core.
    Dumped(i32),
    /// A traced child trapped.
    Trapped(i32),
    /// A signal stopped it.
    Stopped(i32),
    /// `SIGCONT` continued it.
    Continued,
}

impl Origin {
    /// A short lowercase word for the kind: `user`, `queue`, `tkill`, `kernel`,
    /// `timer`, `child`, `io`, `reaped`, `local`, `unknown`, `other`.
    pub fn kind(&self) -> &'static str {
        match self {
            Origin::User { .. } => "user",
            Origin::Queue { .. } => "queue",
            Origin::Tkill { .. } => "tkill",
            Origin::Kernel => "kernel",
            Origin::Timer { .. } => "timer",
            Origin::Child { .. } => "child",
            Origin::Io { .. } => "io",
            Origin::Reaped { .. } => "reaped",
            Origin::Local { .. } => "local",
            Origin::Unknown => "unknown",
            Origin::Other { .. } => "other",
        }
    }

    /// The sending (or, for SIGCHLD, the child) process id, where the kernel gave one.
    pub fn pid(&self) -> Option<i32> {
        match *self {
            Origin::User { pid, .. }
            | Origin::Queue { pid, .. }
            | Origin::Tkill { pid, .. }
            | Origin::Child { pid, .. }
            | Origin::Reaped { pid, .. } => Some(pid),
            _ => None,
        }
    }

    /// Whether a `kill`, `sigqueue` or `tgkill` came from a process that has no
    /// pid in this process's pid namespace: from an ancestor namespace, such as
    /// the host of a container (`docker stop`, a host `kill`), whose sender the
    /// kernel reports as pid 0.
    ///
    /// Sender filters: `SenderFilter::Pids` never matches such a sender (pid 0
    /// names no process here); the uid filters still apply to the uid the kernel
    /// reports, mapped into this user namespace (a host root that is root here
    /// too passes `Root`).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigcore::Origin;
    ///
    /// assert!(Origin::User { pid: 0, uid: 0 }.from_outside_namespace());
    /// assert!(!Origin::User { pid: 42, uid: 0 }.from_outside_namespace());
    /// assert!(!Origin::Kernel.from_outside_namespace());
    /// ```
    pub fn from_outside_namespace(&self) -> bool {
        matches!(
            self,
            Origin::User { pid: 0, .. }
                | Origin::Queue { pid: 0, .. }
                | Origin::Tkill { pid: 0, .. }
        )
    }

    /// The sender's (or child's) real user id, where the kernel gave one.
    pub fn uid(&self) -> Option<u32> {
        match *self {
            Origin::User { uid, .. }
            | Origin::Queue { uid, .. }
            | Origin::Tkill { uid, .. }
            | Origin::Child { uid, .. }
            | Origin::Reaped { uid, .. } => Some(uid),
            _ => None,
        }
    }

    /// The `sigqueue` payload, for [`Origin::Queue`].
    pub fn value(&self) -> Option<i32> {
        match *self {
            Origin::Queue { value, .. } => Some(value),
            _ => None,
        }
    }

    /// Decodes an origin from a raw `siginfo_t` (as a `SA_SIGINFO` handler or
    /// `sigtimedwait` fills it). Never panics: unknown codes become
    /// [`Origin::Other`].
    pub fn from_siginfo(info: &libc::siginfo_t) -> Origin {
        crate::sys::raw_from_siginfo(info).origin()
    }

    /// Decodes an origin from the raw bytes of a `siginfo_t` (native byte order),
    /// such as a C handler might write to a pipe. Never panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigcore::Origin;
    ///
    /// let mut bytes = [0u8; 128];
    /// bytes[0..4].copy_from_slice(&10i32.to_ne_bytes()); // si_signo: SIGUSR1
    /// bytes[8..12].copy_from_slice(&(-1i32).to_ne_bytes()); // si_code: SI_QUEUE
    /// bytes[16..20].copy_from_slice(&1234i32.to_ne_bytes()); // si_pid
    /// bytes[24..28].copy_from_slice(&42i32.to_ne_bytes()); // sival_int
    /// assert_eq!(Origin::from_siginfo_bytes(&bytes), Origin::Queue { pid: 1234, uid: 0, value: 42 });
    /// ```
    pub fn from_siginfo_bytes(bytes: &[u8; 128]) -> Origin {
        crate::sys::raw_from_siginfo_bytes(bytes).origin()
    }
}

impl fmt::Display for ChildStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |n: i32| Signal::new(n).map(Signal::name).unwrap_or("signal");
        match *self {
            ChildStatus::Exited(code) => write!(f, "exited with code {code}"),
            ChildStatus::Killed(sig) => write!(f, "killed by {} ({sig})", name(sig)),
            ChildStatus::Dumped(sig) => write!(f, "killed by {} ({sig}), core dumped", name(sig)),
            ChildStatus::Trapped(sig) => write!(f, "trapped by {} ({sig})", name(sig)),
            ChildStatus::Stopped(sig) => write!(f, "stopped by {} ({sig})", name(sig)),
            ChildStatus::Continued => f.write_str("continued"),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::User { pid: 0, uid } => {
                write!(f, "kill from outside this pid namespace (uid {uid})")
            }
            Origin::User { pid, uid } => write!(f, "kill from pid {pid} (uid {uid})"),
            Origin::Queue { pid, uid, value } => {
                write!(f, "sigqueue from pid {pid} (uid {uid}) value {value}")
            }
            Origin::Tkill { pid, uid } => write!(f, "tgkill from pid {pid} (uid {uid})"),
            Origin::Kernel => f.write_str("kernel"),
            Origin::Timer { timer_id, overrun } => {
                write!(f, "timer {timer_id} (overrun {overrun})")
            }
            Origin::Child { pid, status, .. } => write!(f, "child {pid} {status}"),
            Origin::Reaped {
                pid,
                status,
                orphan,
                ..
            } => {
                let whose = if *orphan { "orphan" } else { "child" };
                write!(f, "reaped {whose} {pid}, {status}")
            }
            Origin::Io { event, fd } => {
                f.write_str("fd readiness")?;
                if let Some(event) = event {
                    write!(f, " {}", event.name())?;
                }
                if let Some(fd) = fd {
                    write!(f, " on fd {fd}")?;
                }
                Ok(())
            }
            Origin::Local { sender: Some(name) } => write!(f, "local from {name}"),
            Origin::Local { sender: None } => f.write_str("local"),
            Origin::Unknown => f.write_str("unknown sender"),
            Origin::Other { code, pid, uid } => {
                write!(f, "si_code {code} (pid {pid}, uid {uid})")
            }
        }
    }
}

static SEQUENCE: AtomicU64 = AtomicU64::new(1);

/// Takes the next process-wide sequence number.
pub(crate) fn next_seq() -> u64 {
    SEQUENCE.fetch_add(1, Ordering::Relaxed)
}

impl RawInfo {
    /// The event for a signal taken from the kernel now: the next sequence
    /// number, the time, the decoded origin. `None` for a number that is no
    /// signal.
    pub(crate) fn accept(&self) -> Option<SignalEvent> {
        let signal = Signal::new(self.signo).ok()?;
        Some(SignalEvent {
            signal,
            seq: next_seq(),
            at: Instant::now(),
            origin: self.origin(),
        })
    }
}

impl SignalEvent {
    /// An event raised inside the process, without the kernel (for targeted
    /// delivery). It takes the next number of the same sequence as kernel events.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigcore::{Origin, Signal, SignalEvent};
    ///
    /// let a = SignalEvent::local(Signal::USR1, None);
    /// let b = SignalEvent::local(Signal::USR1, Some("worker-1".into()));
    /// assert!(b.seq > a.seq);
    /// assert_eq!(b.origin.kind(), "local");
    /// ```
    pub fn local(signal: Signal, sender: Option<Arc<str>>) -> SignalEvent {
        SignalEvent::report(signal, Origin::Local { sender })
    }

    /// An event made in this process with the given origin (a reaper's
    /// [`Origin::Reaped`], say), numbered in the same sequence as kernel events.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigcore::{ChildStatus, Origin, Signal, SignalEvent};
    ///
    /// let reaped = Origin::Reaped { pid: 42, uid: 0, status: ChildStatus::Exited(0), orphan: true };
    /// let event = SignalEvent::report(Signal::CHLD, reaped);
    /// assert_eq!(event.origin.kind(), "reaped");
    /// ```
    pub fn report(signal: Signal, origin: Origin) -> SignalEvent {
        SignalEvent {
            signal,
            seq: next_seq(),
            at: Instant::now(),
            origin,
        }
    }
}

impl fmt::Display for SignalEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} ({}) {}",
            self.seq,
            self.signal,
            self.signal.number(),
            self.origin
        )
    }
}

/// The fields of a `siginfo` that sigcore reads, gathered from any of the three
/// shapes the kernel hands out (`siginfo_t`, `signalfd_siginfo`, the safety net's
/// record).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RawInfo {
    pub signo: i32,
    pub code: i32,
    pub pid: i32,
    pub uid: u32,
    pub status: i32,
    pub value: i32,
    pub timer_id: i32,
    pub overrun: i32,
    /// `si_fd` of the `SIGIO`-style codes.
    pub fd: i32,
}

// si_code values (asm-generic/siginfo.h); spelled out because libc does not
// export all of them on every target.
const SI_USER: i32 = 0;
const SI_KERNEL: i32 = 0x80;
const SI_QUEUE: i32 = -1;
const SI_TIMER: i32 = -2;
/// `SI_TIMER`, for the waiter's own wake timer.
pub(crate) const CODE_TIMER: i32 = SI_TIMER;
const SI_SIGIO: i32 = -5;
const SI_TKILL: i32 = -6;
pub(crate) const CLD_EXITED: i32 = 1;
pub(crate) const CLD_KILLED: i32 = 2;
pub(crate) const CLD_DUMPED: i32 = 3;
const CLD_TRAPPED: i32 = 4;
const CLD_STOPPED: i32 = 5;
const CLD_CONTINUED: i32 = 6;

/// `si_code` a safety-net record uses when it had no room for the sender.
pub(crate) const CODE_UNKNOWN: i32 = i32::MIN;

/// Signals whose positive codes report a fault (`ILL_*`, `FPE_*`, `SEGV_*`,
/// `BUS_*`, `TRAP_*`, `SYS_*`): for these the kernel turns an `F_SETSIG` code
/// into `SI_SIGIO`, so a positive code is its own.
const FAULT_SIGNALS: [i32; 6] = [
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGTRAP,
    libc::SIGSYS,
];

impl RawInfo {
    /// Decodes the sender. A code means something only together with the signal
    /// (design fact 15): `F_SETOWN`/`F_SETSIG` let any process that may signal
    /// us have the kernel deliver *any* signal with a `POLL_*` code (1–6) or, for
    /// SIGIO and SIGURG, `SI_KERNEL`. So `CLD_*` is trusted on SIGCHLD only,
    /// fault codes on fault signals only, and `SI_KERNEL` only where no process
    /// can cause it.
    pub(crate) fn origin(&self) -> Origin {
        let (pid, uid) = (self.pid, self.uid);
        let owner_caused = |event, fd| Origin::Io { event, fd };
        match self.code {
            SI_USER => Origin::User { pid, uid },
            SI_QUEUE => Origin::Queue {
                pid,
                uid,
                value: self.value,
            },
            SI_TKILL => Origin::Tkill { pid, uid },
            SI_TIMER => Origin::Timer {
                timer_id: self.timer_id,
                overrun: self.overrun,
            },
            SI_SIGIO => owner_caused(None, None),
            SI_KERNEL if [libc::SIGIO, libc::SIGURG].contains(&self.signo) => {
                owner_caused(None, None)
            }
            SI_KERNEL => Origin::Kernel,
            CODE_UNKNOWN => Origin::Unknown,
            code @ CLD_EXITED..=CLD_CONTINUED if self.signo == libc::SIGCHLD => {
                let status = match code {
                    CLD_EXITED => ChildStatus::Exited(self.status),
                    CLD_KILLED => ChildStatus::Killed(self.status),
                    CLD_DUMPED => ChildStatus::Dumped(self.status),
                    CLD_TRAPPED => ChildStatus::Trapped(self.status),
                    CLD_STOPPED => ChildStatus::Stopped(self.status),
                    _ => ChildStatus::Continued,
                };
                Origin::Child { pid, uid, status }
            }
            code if code > 0 && FAULT_SIGNALS.contains(&self.signo) => Origin::Kernel,
            code if IoEvent::from_code(code).is_some() && self.signo != libc::SIGCHLD => {
                owner_caused(IoEvent::from_code(code), Some(self.fd))
            }
            code => Origin::Other { code, pid, uid },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(signo: i32, code: i32) -> RawInfo {
        RawInfo {
            signo,
            code,
            pid: 42,
            uid: 1000,
            status: 3,
            value: 7,
            timer_id: 5,
            overrun: 2,
            fd: 9,
        }
    }

    #[test]
    fn decodes_each_sender_kind() {
        assert_eq!(raw(10, 0).origin(), Origin::User { pid: 42, uid: 1000 });
        assert_eq!(
            raw(10, -1).origin(),
            Origin::Queue {
                pid: 42,
                uid: 1000,
                value: 7
            }
        );
        assert_eq!(raw(10, -6).origin(), Origin::Tkill { pid: 42, uid: 1000 });
        assert_eq!(raw(14, 0x80).origin(), Origin::Kernel);
        assert_eq!(
            raw(14, -2).origin(),
            Origin::Timer {
                timer_id: 5,
                overrun: 2
            }
        );
        assert_eq!(raw(10, CODE_UNKNOWN).origin(), Origin::Unknown);
    }

    #[test]
    fn decodes_child_status_only_for_sigchld() {
        let child = |code| match raw(libc::SIGCHLD, code).origin() {
            Origin::Child { status, .. } => status,
            other => panic!("not a child origin: {other:?}"),
        };
        assert_eq!(child(1), ChildStatus::Exited(3));
        assert_eq!(child(2), ChildStatus::Killed(3));
        assert_eq!(child(3), ChildStatus::Dumped(3));
        assert_eq!(child(5), ChildStatus::Stopped(3));
        assert_eq!(child(6), ChildStatus::Continued);
        // The same code on another signal means something else (SIGIO's POLL_IN).
        assert_eq!(
            raw(libc::SIGIO, 1).origin(),
            Origin::Io {
                event: Some(IoEvent::In),
                fd: Some(9)
            }
        );
    }

    /// Fact 15: F_SETOWN + F_SETSIG lets a process have the kernel deliver any
    /// signal with a POLL_* code, or SIGIO/SIGURG with SI_KERNEL. None of that
    /// may read as the kernel or a child.
    #[test]
    fn owner_caused_codes_are_never_the_kernel() {
        for signo in [libc::SIGHUP, libc::SIGTERM, libc::SIGUSR1, 40] {
            for code in 1..=6 {
                let origin = raw(signo, code).origin();
                assert_eq!(
                    origin.kind(),
                    "io",
                    "signal {signo} code {code}: {origin:?}"
                );
            }
        }
        for signo in [libc::SIGIO, libc::SIGURG] {
            assert_eq!(raw(signo, 0x80).origin().kind(), "io");
        }
        assert_eq!(raw(libc::SIGCHLD, -5).origin().kind(), "io");
        assert_eq!(raw(libc::SIGALRM, 0x80).origin(), Origin::Kernel);
        assert_eq!(raw(libc::SIGHUP, 7).origin().kind(), "other");
        // Fault codes on fault signals are the kernel's own.
        assert_eq!(raw(libc::SIGSEGV, 1).origin(), Origin::Kernel);
    }

    #[test]
    fn unknown_codes_stay_raw() {
        assert_eq!(
            raw(10, -3).origin(),
            Origin::Other {
                code: -3,
                pid: 42,
                uid: 1000
            }
        );
    }

    #[test]
    fn local_events_share_the_kernel_sequence() {
        let first = next_seq();
        let event = SignalEvent::local(Signal::HUP, Some(Arc::from("reloader")));
        assert!(event.seq > first);
        assert_eq!(event.origin.to_string(), "local from reloader");
    }
}
