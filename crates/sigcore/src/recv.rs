//! Errors of receiving from a channel of events ([`crate::Signals`], and
//! sigbus's subscriptions): ours, so that "closed" reads as what it means and
//! the channel crate stays an implementation detail of the signature.

use std::fmt;

/// Nothing more will arrive, and everything sent before has been received:
/// the source has shut down (a closed [`crate::Signals`]; in sigbus, a bus shut
/// down, or a shutdown coordinator gone without a notice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("closed: the source has shut down and everything it sent was received")
    }
}

impl std::error::Error for RecvError {}

/// Why a `try_recv` returned no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No event is queued now; more may come.
    Empty,
    /// Nothing more will arrive (see [`RecvError`]).
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no event queued"),
            TryRecvError::Closed => RecvError.fmt(f),
        }
    }
}

impl std::error::Error for TryRecvError {}

impl From<RecvError> for TryRecvError {
    fn from(_: RecvError) -> TryRecvError {
        TryRecvError::Closed
    }
}

/// Why a `recv_timeout` returned no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvTimeoutError {
    /// No event arrived in time; more may come.
    Timeout,
    /// Nothing more will arrive (see [`RecvError`]).
    Closed,
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("timed out waiting for an event"),
            RecvTimeoutError::Closed => RecvError.fmt(f),
        }
    }
}

impl std::error::Error for RecvTimeoutError {}

impl From<RecvError> for RecvTimeoutError {
    fn from(_: RecvError) -> RecvTimeoutError {
        RecvTimeoutError::Closed
    }
}

// Conversions from the channel's errors, in one place: a disconnected channel
// means its only sender (the waiter's sink, the bus) let go of it.
impl From<crossbeam_channel::RecvError> for RecvError {
    fn from(_: crossbeam_channel::RecvError) -> RecvError {
        RecvError
    }
}

impl From<crossbeam_channel::TryRecvError> for TryRecvError {
    fn from(e: crossbeam_channel::TryRecvError) -> TryRecvError {
        match e {
            crossbeam_channel::TryRecvError::Empty => TryRecvError::Empty,
            crossbeam_channel::TryRecvError::Disconnected => TryRecvError::Closed,
        }
    }
}

impl From<crossbeam_channel::RecvTimeoutError> for RecvTimeoutError {
    fn from(e: crossbeam_channel::RecvTimeoutError) -> RecvTimeoutError {
        match e {
            crossbeam_channel::RecvTimeoutError::Timeout => RecvTimeoutError::Timeout,
            crossbeam_channel::RecvTimeoutError::Disconnected => RecvTimeoutError::Closed,
        }
    }
}
