use std::process::Command;

use crate::{sys, waiter, SignalSet};

/// Gives children spawned with [`std::process::Command`] normal signal behaviour.
///
/// A blocked mask and ignored dispositions survive `fork` and `exec`, and
/// `Command` (since Rust 1.66) deliberately keeps the parent's mask. So without
/// this, a child of a sigcore program starts with SIGTERM and SIGINT blocked and
/// ignores `kill PID`. `reset_signals` adds a `pre_exec` step that, in the child:
///
/// - unblocks every signal sigcore (or its safety net) blocked, leaving blocks you
///   made yourself alone;
/// - sets each signal sigcore serves back to what it was before sigcore took it
///   (`SIG_IGN` if it was ignored, else `SIG_DFL`).
///
/// # Caveats
///
/// It cannot reach children created without `Command`: `libc::system`, `popen`, or
/// C libraries that fork on their own inherit the blocked mask. Unblock in those
/// children yourself, or spawn them through `Command`.
///
/// # Examples
///
/// ```
/// use std::process::Command;
/// use sigcore::{CommandExt, Signal};
///
/// sigcore::block(Signal::TERM.into())?;
/// let mut child = Command::new("sleep").arg("30").reset_signals().spawn().unwrap();
/// sigcore::kill(child.id() as i32, Signal::TERM)?;
/// let status = child.wait().unwrap();
/// use std::os::unix::process::ExitStatusExt;
/// assert_eq!(status.signal(), Some(Signal::TERM.number()));
/// # Ok::<(), sigcore::Error>(())
/// ```
pub trait CommandExt {
    /// Restores, in the child, the signal mask and dispositions sigcore changed.
    fn reset_signals(&mut self) -> &mut Self;
}

impl CommandExt for Command {
    fn reset_signals(&mut self) -> &mut Self {
        // Read the state now and again in the child would race with nothing
        // useful; capture it at spawn time instead, inside the hook, where only
        // atomics are read (async-signal-safe).
        sys::add_pre_exec(self, || {
            let unblock = sys::unblock_set(waiter::blocked_by_sigcore());
            let served = waiter::armed();
            let ignored = waiter::originally_ignored().intersection(served);
            let default: SignalSet = served.difference(ignored);
            sys::reset_before_exec(&unblock, ignored, default)
        });
        self
    }
}
