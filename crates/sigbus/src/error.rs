use std::fmt;

/// Why a bus operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BusError {
    /// sigcore refused or failed (a forbidden signal, a failed system call).
    Signal(sigcore::Error),
    /// The bus has been shut down.
    Closed,
    /// Spawning an actor thread failed.
    Spawn(std::io::Error),
}

impl fmt::Display for BusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BusError::Signal(e) => e.fmt(f),
            BusError::Closed => f.write_str("the bus has been shut down"),
            BusError::Spawn(e) => write!(f, "cannot spawn actor thread: {e}"),
        }
    }
}

impl std::error::Error for BusError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BusError::Signal(e) => Some(e),
            BusError::Spawn(e) => Some(e),
            BusError::Closed => None,
        }
    }
}

impl From<sigcore::Error> for BusError {
    fn from(e: sigcore::Error) -> BusError {
        BusError::Signal(e)
    }
}

/// A message could not be sent because the actor has stopped; the message is
/// handed back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending to a stopped actor")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// A message could not be sent without waiting; the message is handed back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The actor's message queue is full.
    Full(T),
    /// The actor has stopped.
    Disconnected(T),
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Disconnected(_) => f.write_str("Disconnected(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending to a full actor queue"),
            TrySendError::Disconnected(_) => f.write_str("sending to a stopped actor"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// A targeted event could not be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliverError {
    /// No live subscription or actor has that id.
    NoSuchTarget,
    /// The target's mailbox was full and its policy dropped the event (counted in
    /// its `dropped` statistic).
    Dropped,
}

impl fmt::Display for DeliverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliverError::NoSuchTarget => f.write_str("no subscription or actor with that id"),
            DeliverError::Dropped => f.write_str("the target's mailbox is full; event dropped"),
        }
    }
}

impl std::error::Error for DeliverError {}
