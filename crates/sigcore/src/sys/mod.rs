//! Every libc call sigcore makes, and nothing else.
//!
//! This is the only place with `unsafe` in the crate. Each block says why it is
//! sound; code that runs inside a signal handler lives in [`net`] and says why each
//! call it makes is async-signal-safe. Everything here is Linux-specific (signalfd,
//! eventfd, pidfd, `rt_sigtimedwait`); a port to another Unix replaces this module.

mod action;
mod child;
mod exec;
mod fd;
mod futex;
mod info;
mod mask;
mod net;
mod ready;
mod send;
mod startup;
mod timer;
mod wake;

pub(crate) use action::{
    claim_wake_signal, current, disposition, install_net_handler, restore, set_default, set_ignore,
    RawDisposition, SavedAction,
};
pub(crate) use child::{
    become_foreground, children, getppid, is_child_subreaper, new_session, peek, reap, reap_any,
    set_child_subreaper, set_parent_death_signal, Exit,
};
pub(crate) use exec::{add_pre_exec, reset_before_exec, unblock_set};
pub(crate) use fd::SignalFd;
pub(crate) use fd::BATCH;
pub(crate) use futex::{wait as futex_wait, wake as futex_wake};
pub(crate) use info::{
    getpid, gettid, getuid, raw_from_siginfo, raw_from_siginfo_bytes, rtmax, rtmin, strsignal,
};
pub(crate) use mask::{
    block_all_in_thread, pending, thread_block, thread_mask, thread_set_mask, thread_unblock,
    timed_wait,
};
pub(crate) use net::{drain_net, net_blocked, set_served, stats as net_stats, take_overflows};
pub(crate) use ready::EventFd;
#[cfg(test)]
pub(crate) use ready::{drain_now, readable_now};
pub(crate) use send::{kill, pidfd_open, pidfd_send_signal, sigqueue, tgkill};
pub(crate) use startup::{blocked_at_start, ignored_at_start};
pub(crate) use timer::{alarm, coarse_monotonic_nanos, getitimer, setitimer};
pub(crate) use wake::{
    arm_timer, clear as clear_wake, create_timer as create_wake_timer,
    delete_timer as delete_wake_timer, ring as wake_waiter, serving_pid,
    set_target as set_wake_target, set_timer as set_wake_timer, target_tid as wake_target_tid,
};

use std::io;

/// Turns a libc `-1` return into the `errno` it left.
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// The same for calls that return `ssize_t`/`long`.
fn check_long(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}
