use std::fmt;
use std::io;

use crate::Signal;

/// Everything that can go wrong in sigcore, one variant per cause a caller can act on.
///
/// Messages are lowercase, one line, and name the offending value.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Text that does not name a signal of this system (`"USR3"`, `""`, `"RTMIN+99"`).
    Parse {
        /// The input, shortened to 64 characters for the message.
        input: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A number that is not a valid signal of this system (0, 65, 32, -1).
    InvalidSignal {
        /// The number given.
        number: i64,
        /// Why it is not valid.
        reason: &'static str,
    },
    /// A valid signal that cannot be handled by a waiter thread (SIGKILL, SIGSEGV…).
    Forbidden {
        /// The signal asked for.
        signal: Signal,
        /// Why it cannot be served.
        reason: &'static str,
    },
    /// The target process or thread does not exist (`ESRCH`).
    NoSuchProcess {
        /// The pid (or tid) given.
        pid: i32,
    },
    /// The caller may not signal that process (`EPERM`).
    PermissionDenied {
        /// The pid given.
        pid: i32,
    },
    /// A pid of 0 or below, which would reach a whole process group or every
    /// process; use the explicit group functions for that.
    InvalidPid {
        /// The pid given.
        pid: i32,
    },
    /// `sigqueue` found the receiver's real-time queue full (`EAGAIN`); retry later.
    QueueFull {
        /// The signal that could not be queued.
        signal: Signal,
    },
    /// The signal already has a handler that another library installed
    /// (signal-hook, tokio, a C library): serving it would silently stop that
    /// handler. See [`crate::ForeignHandlers`].
    ForeignHandler {
        /// The signal.
        signal: Signal,
    },
    /// The signal is being served by sigcore, so its disposition may not be changed.
    InUse {
        /// The signal.
        signal: Signal,
    },
    /// The parent this process expected had already exited (it was re-parented),
    /// so a parent-death signal would never come.
    ParentExited {
        /// The parent expected.
        parent: i32,
    },
    /// Called from inside a [`crate::Sink`], on the waiter thread, where it would
    /// wait for the waiter itself: registering, changing or releasing signals,
    /// or anything built on them (subscribing to a bus).
    InSink,
    /// An argument outside what the system accepts (a timer value too large…).
    InvalidArgument(&'static str),
    /// The running kernel or platform lacks the feature (`ENOSYS`).
    Unsupported(&'static str),
    /// Any other failure of a system call.
    Io {
        /// The call that failed.
        call: &'static str,
        /// The error the system returned.
        source: io::Error,
    },
}

/// `Result` with sigcore's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn parse(input: &str, reason: &'static str) -> Error {
        let mut shown: String = input.chars().take(64).collect();
        if shown.len() < input.len() {
            shown.push('…');
        }
        Error::Parse {
            input: shown,
            reason,
        }
    }

    pub(crate) fn io(call: &'static str, source: io::Error) -> Error {
        Error::Io { call, source }
    }

    /// Maps the errno of a failed send to the typed variants.
    pub(crate) fn from_send(call: &'static str, pid: i32, signal: Signal, e: io::Error) -> Error {
        match e.raw_os_error() {
            Some(libc::ESRCH) => Error::NoSuchProcess { pid },
            Some(libc::EPERM) => Error::PermissionDenied { pid },
            Some(libc::EAGAIN) => Error::QueueFull { signal },
            Some(libc::ENOSYS) => Error::Unsupported(call),
            _ => Error::io(call, e),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Parse { input, reason } => write!(f, "invalid signal {input:?}: {reason}"),
            Error::InvalidSignal { number, reason } => {
                write!(f, "invalid signal number {number}: {reason}")
            }
            Error::Forbidden { signal, reason } => write!(f, "cannot handle {signal}: {reason}"),
            Error::NoSuchProcess { pid } => write!(f, "no such process: {pid}"),
            Error::PermissionDenied { pid } => {
                write!(f, "permission denied: not allowed to signal process {pid}")
            }
            Error::InvalidPid { pid } => write!(
                f,
                "refusing pid {pid}: 0 and negative pids reach process groups or every process"
            ),
            Error::QueueFull { signal } => {
                write!(
                    f,
                    "cannot queue {signal}: the receiver's signal queue is full"
                )
            }
            Error::ForeignHandler { signal } => write!(
                f,
                "{signal} already has a handler installed by someone else (signal-hook, tokio, \
                 a C library?); serving it would stop that handler. Let one library own the \
                 signal, or opt into delivering to both (sigcore::ForeignHandlers::Chain)"
            ),
            Error::InUse { signal } => write!(
                f,
                "{signal} is served by sigcore; release it before changing its disposition"
            ),
            Error::ParentExited { parent } => write!(
                f,
                "the parent process {parent} has already exited: its death signal would never come"
            ),
            Error::InSink => f.write_str(
                "cannot register, change or release signals from inside a sink (the waiter \
                 thread would wait for itself)",
            ),
            Error::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Error::Unsupported(what) => write!(f, "{what} is not supported on this system"),
            Error::Io { call, source } => write!(f, "{call} failed: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
