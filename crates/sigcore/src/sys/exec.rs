use std::io;

use super::mask::to_sigset;
use crate::SignalSet;

/// Undoes sigcore's signal changes in a freshly forked child, before `exec`:
/// sets the mask to `mask` if given, else unblocks `unblock`; sets `ignore` to
/// SIG_IGN and `default` to SIG_DFL.
///
/// Runs between `fork` and `exec`, so it only calls async-signal-safe functions
/// (`sigaction`, `pthread_sigmask`, which is `rt_sigprocmask` here) on sets built
/// before the fork.
pub(crate) fn reset_before_exec(
    mask: Option<&libc::sigset_t>,
    unblock: &libc::sigset_t,
    ignore: SignalSet,
    default: SignalSet,
) -> io::Result<()> {
    for (set, handler) in [(default, libc::SIG_DFL), (ignore, libc::SIG_IGN)] {
        for signal in set {
            // SAFETY: a zeroed sigaction is valid; SIG_DFL/SIG_IGN need no handler.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = handler;
            // SAFETY: valid pointers, valid signal number; async-signal-safe.
            super::check(unsafe {
                libc::sigaction(signal.number(), &action, std::ptr::null_mut())
            })?;
        }
    }
    let (how, set) = match mask {
        Some(mask) => (libc::SIG_SETMASK, mask),
        None => (libc::SIG_UNBLOCK, unblock),
    };
    // SAFETY: `set` is an initialised sigset; affects only this (child) thread.
    let ret = unsafe { libc::pthread_sigmask(how, set, std::ptr::null_mut()) };
    if ret != 0 {
        return Err(io::Error::from_raw_os_error(ret));
    }
    Ok(())
}

/// The sigset to unblock, built in the parent because building it is not
/// something to do after `fork`.
pub(crate) fn unblock_set(set: SignalSet) -> libc::sigset_t {
    to_sigset(set)
}

/// Registers `hook` to run in the child between fork and exec.
pub(crate) fn add_pre_exec<F>(command: &mut std::process::Command, hook: F)
where
    F: FnMut() -> io::Result<()> + Send + Sync + 'static,
{
    use std::os::unix::process::CommandExt;
    // SAFETY: callers pass only hooks that call async-signal-safe functions on data
    // prepared before the fork (see reset_before_exec), as pre_exec requires.
    unsafe {
        command.pre_exec(hook);
    }
}
