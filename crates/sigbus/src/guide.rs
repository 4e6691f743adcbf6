//! Guides: porting signal handling to sigbus from another library or language.
//!
//! Each guide puts what you wrote there beside what you write here, says what
//! you gain and what you give up, and lists the traps.
//!
//! | guide | coming from |
//! | --- | --- |
//! | [`from_signal_hook`] | the `signal-hook` crate: `iterator::Signals`, `flag`, `low_level::register`, `low_level::pipe`, `consts::TERM_SIGNALS` |
//! | [`from_tokio`] | `tokio::signal`: `signal(SignalKind)`, `recv().await`, `ctrl_c()` |
//! | [`from_go`] | Go's `os/signal`: `Notify`, `Stop`, `Reset`, `Ignore`, `Ignored`, `NotifyContext` |
//! | [`from_python`] | Python's `signal` module: handlers, `getsignal`, `alarm`, `pthread_kill`, `sigtimedwait`, `pthread_sigmask`, `set_wakeup_fd`, `KeyboardInterrupt` |
//!
//! Three rules hold whatever you come from (the crate docs of [`sigcore`]
//! give the reasons):
//!
//! 1. **Block first.** Call [`crate::block`] with every signal the program
//!    will serve as the first thing `main` does, before any thread exists
//!    (a runtime's worker threads and a logger's thread included): threads
//!    inherit the mask of the thread that creates them, and nothing can block
//!    a signal in a thread that already runs.
//! 2. **Standard signals coalesce.** Two SIGUSR1 sent close together may
//!    arrive as one event. Count events only for real-time signals.
//! 3. **Children inherit the mask.** Spawn children with
//!    [`CommandExt::reset_signals`](crate::CommandExt::reset_signals), or they
//!    ignore `kill PID` and Ctrl-C.
//!
//! The examples are doc-tests: each runs in a process of its own, raises its
//! signals itself, and puts a deadline on every wait, so a lost signal fails
//! the example instead of hanging it.

pub mod from_signal_hook {
    #![doc = include_str!("../guide/from_signal_hook.md")]
}

pub mod from_tokio {
    #![doc = include_str!("../guide/from_tokio.md")]
}

pub mod from_go {
    #![doc = include_str!("../guide/from_go.md")]
}

pub mod from_python {
    #![doc = include_str!("../guide/from_python.md")]
}
