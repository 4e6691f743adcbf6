use std::cell::Cell;
use std::process::Command;

use crate::{sys, waiter, Signal, SignalSet};

thread_local! {
    /// For threads sigcore started with every signal blocked (`spawn_blocked`:
    /// actors, the waiter): the mask of the thread that created them, with the
    /// validity bit 1 << 64 (const-initialised and without destructor, so reading
    /// it between fork and exec is only a load).
    static BASE_MASK: Cell<u128> = const { Cell::new(0) };
}

/// Records the creator's mask for a thread started with everything blocked.
pub(crate) fn set_thread_base_mask(mask: SignalSet) {
    BASE_MASK.with(|b| b.set((1 << 64) | u128::from(mask.bits())));
}

/// The calling thread's mask as the program made it: for a thread sigcore
/// started blocked, its creator's.
fn thread_base_mask() -> Option<SignalSet> {
    let base = BASE_MASK.with(Cell::get);
    (base >> 64 == 1).then(|| SignalSet::from_bits(base as u64))
}

/// Gives children spawned with [`std::process::Command`] normal signal behaviour.
///
/// A blocked mask and ignored dispositions survive `fork` and `exec`, and
/// `Command` (since Rust 1.66) deliberately keeps the parent's mask. So without
/// this, a child of a sigcore program starts with SIGTERM and SIGINT blocked and
/// ignores `kill PID`. `reset_signals` adds a `pre_exec` step that, in the child:
///
/// - gives it the spawning thread's mask as the program made it, minus every
///   signal sigcore (or its safety net) blocked: blocks you made yourself stay.
///   From a thread sigcore started with everything blocked (an actor, any
///   [`crate::spawn_blocked`] thread), that is the mask of the thread that
///   created it, so a child spawned there has normal signals too;
/// - sets each signal sigcore serves back to what it was before sigcore took it
///   (`SIG_IGN` if it was ignored, else `SIG_DFL`), except SIGPIPE, which goes to
///   `SIG_DFL` as `std::process::Command` gives it (the `SIG_IGN` sigcore found
///   was the Rust runtime's own).
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
/// sigcore::block(Signal::TERM)?;
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

    /// Starts the child in a process group of its own (its pgid is its pid), so
    /// `sigcore::kill_process_group(child, ..)` reaches it and everything it
    /// starts, and a terminal's Ctrl-C for the parent's group does not.
    fn new_process_group(&mut self) -> &mut Self;

    /// Starts the child in a new session (`setsid`): its own process group and
    /// no controlling terminal, as a daemon or a container's main process.
    ///
    /// # Errors
    ///
    /// `spawn` fails with `EPERM` if the child is already a group leader.
    fn new_session(&mut self) -> &mut Self;

    /// [`CommandExt::new_session`], and standard input's terminal becomes the new
    /// session's controlling terminal (`TIOCSCTTY`), so the child gets job
    /// control and Ctrl-C from it.
    ///
    /// # Errors
    ///
    /// `spawn` fails when standard input is not a terminal (`ENOTTY`) or the
    /// terminal belongs to another session and the caller may not take it
    /// (`EPERM`).
    fn new_session_with_terminal(&mut self) -> &mut Self;

    /// Puts the child in a process group of its own and makes that group the
    /// foreground group of standard input's terminal: Ctrl-C and Ctrl-Z typed
    /// there go to the child, as a shell does for the job it runs.
    ///
    /// # Errors
    ///
    /// `spawn` fails with `ENOTTY` when standard input is not a terminal.
    fn foreground(&mut self) -> &mut Self;

    /// Asks the kernel to send `signal` to the child when its parent dies
    /// (`PR_SET_PDEATHSIG`), checked in the child before `exec` so it cannot
    /// miss a parent that died first.
    ///
    /// **The signal comes when the thread that spawned the child exits**, not
    /// only when the parent process does: spawn from a thread that lives as long
    /// as the child should.
    ///
    /// # Errors
    ///
    /// `spawn` fails with `ESRCH` if the parent died before the child could ask.
    fn parent_death_signal(&mut self, signal: Signal) -> &mut Self;
}

impl CommandExt for Command {
    fn new_process_group(&mut self) -> &mut Self {
        std::os::unix::process::CommandExt::process_group(self, 0)
    }

    fn new_session(&mut self) -> &mut Self {
        sys::add_pre_exec(self, || sys::new_session(false));
        self
    }

    fn new_session_with_terminal(&mut self) -> &mut Self {
        sys::add_pre_exec(self, || sys::new_session(true));
        self
    }

    fn foreground(&mut self) -> &mut Self {
        sys::add_pre_exec(self, sys::become_foreground);
        self
    }

    fn parent_death_signal(&mut self, signal: Signal) -> &mut Self {
        let parent = sys::getpid();
        sys::add_pre_exec(self, move || {
            if sys::set_parent_death_signal(signal.number(), parent)? {
                Ok(())
            } else {
                Err(std::io::Error::from_raw_os_error(libc::ESRCH))
            }
        });
        self
    }

    fn reset_signals(&mut self) -> &mut Self {
        // Read the state now and again in the child would race with nothing
        // useful; capture it at spawn time instead, inside the hook, where only
        // atomics are read (async-signal-safe).
        sys::add_pre_exec(self, || {
            let ours = waiter::blocked_by_sigcore();
            // A thread sigcore started blocked: the creator's mask, minus ours.
            let mask = thread_base_mask().map(|base| sys::unblock_set(base.difference(ours)));
            let unblock = sys::unblock_set(ours);
            let served = waiter::armed();
            let mut ignored = waiter::originally_ignored().intersection(served);
            ignored.remove(Signal::PIPE);
            let default: SignalSet = served.difference(ignored);
            sys::reset_before_exec(mask.as_ref(), &unblock, ignored, default)
        });
        self
    }
}
