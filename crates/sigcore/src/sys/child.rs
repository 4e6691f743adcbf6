//! Children: peeking at and reaping zombies one pid at a time, listing this
//! process's children, and the child-subreaper and parent-death settings.

use std::io;
use std::mem::MaybeUninit;

use super::check;

/// How a child ended, as `waitid` reports it: `si_code` (`CLD_*`) and `si_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Exit {
    pub pid: i32,
    pub uid: u32,
    pub code: i32,
    pub status: i32,
}

fn waitid(idtype: libc::idtype_t, id: libc::id_t, flags: libc::c_int) -> io::Result<Option<Exit>> {
    let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
    loop {
        // SAFETY: `info` is a writable, zeroed siginfo_t; with WNOHANG the kernel
        // leaves si_pid 0 when no child is ready.
        let ret = unsafe { libc::waitid(idtype, id, info.as_mut_ptr(), flags | libc::WNOHANG) };
        if ret == 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
    // SAFETY: zeroed, then filled by the kernel on success.
    let raw = super::raw_from_siginfo(unsafe { info.assume_init_ref() });
    Ok((raw.pid != 0).then_some(Exit {
        pid: raw.pid,
        uid: raw.uid,
        code: raw.code,
        status: raw.status,
    }))
}

/// `pid`'s exit if it is a zombie, without reaping it (`WNOWAIT`).
pub(crate) fn peek(pid: i32) -> io::Result<Option<Exit>> {
    waitid(
        libc::P_PID,
        pid as libc::id_t,
        libc::WEXITED | libc::WNOWAIT,
    )
}

/// Reaps `pid` if it has exited.
pub(crate) fn reap(pid: i32) -> io::Result<Option<Exit>> {
    waitid(libc::P_PID, pid as libc::id_t, libc::WEXITED)
}

/// Reaps any child that has exited.
pub(crate) fn reap_any() -> io::Result<Option<Exit>> {
    waitid(libc::P_ALL, 0, libc::WEXITED)
}

/// This process's children (of every thread), from `/proc/self/task/*/children`.
pub(crate) fn children() -> io::Result<Vec<i32>> {
    let mut pids = Vec::new();
    for task in std::fs::read_dir("/proc/self/task")? {
        let Ok(task) = task else { continue };
        // A thread that ended mid-scan has no file any more: skip it.
        let Ok(list) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        pids.extend(
            list.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

/// `prctl(PR_SET_CHILD_SUBREAPER)`.
pub(crate) fn set_child_subreaper(on: bool) -> io::Result<()> {
    // SAFETY: plain integer arguments.
    check(unsafe {
        libc::prctl(
            libc::PR_SET_CHILD_SUBREAPER,
            libc::c_ulong::from(on),
            0,
            0,
            0,
        )
    })
    .map(drop)
}

/// `prctl(PR_GET_CHILD_SUBREAPER)`.
pub(crate) fn is_child_subreaper() -> io::Result<bool> {
    let mut on: libc::c_int = 0;
    // SAFETY: the kernel writes one int through the pointer.
    check(unsafe {
        libc::prctl(
            libc::PR_GET_CHILD_SUBREAPER,
            &mut on as *mut libc::c_int,
            0,
            0,
            0,
        )
    })?;
    Ok(on != 0)
}

/// `prctl(PR_SET_PDEATHSIG, signo)` for the calling thread's process, then a
/// check that the parent is still `parent` (it may have died before the call,
/// and then the signal never comes). Async-signal-safe (used before `exec`).
pub(crate) fn set_parent_death_signal(signo: i32, parent: i32) -> io::Result<bool> {
    // SAFETY: plain integer arguments.
    check(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signo as libc::c_ulong, 0, 0, 0) })?;
    // SAFETY: getppid cannot fail.
    Ok(unsafe { libc::getppid() } == parent)
}

/// This process's parent.
pub(crate) fn getppid() -> i32 {
    // SAFETY: getppid cannot fail.
    unsafe { libc::getppid() }
}

/// `setsid()`, and with `terminal`, take standard input's terminal as the new
/// session's controlling terminal (`TIOCSCTTY`, stealing it from its session
/// where the caller may). Async-signal-safe (used before `exec`).
pub(crate) fn new_session(terminal: bool) -> io::Result<()> {
    // SAFETY: no arguments.
    check(unsafe { libc::setsid() })?;
    if terminal {
        // SAFETY: an ioctl on descriptor 0 with an integer argument.
        check(unsafe { libc::ioctl(0, libc::TIOCSCTTY, 1) })?;
    }
    Ok(())
}

/// Puts the calling process in a process group of its own and makes that group
/// the foreground group of standard input's terminal. SIGTTOU is blocked
/// around `tcsetpgrp` (a background group asking would be stopped by it).
/// Async-signal-safe (used before `exec`).
pub(crate) fn become_foreground() -> io::Result<()> {
    // SAFETY: getpgrp and getpid cannot fail; setpgid(0, 0) puts the caller in a
    // group of its own (a session leader already leads one, and may not move).
    if unsafe { libc::getpgrp() != libc::getpid() } {
        // SAFETY: puts the caller in a group of its own; integers only.
        check(unsafe { libc::setpgid(0, 0) })?;
    }
    let mut ttou = MaybeUninit::<libc::sigset_t>::uninit();
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigset operations on local storage; the mask change only affects
    // this thread and is undone below.
    unsafe {
        libc::sigemptyset(ttou.as_mut_ptr());
        libc::sigaddset(ttou.as_mut_ptr(), libc::SIGTTOU);
        libc::pthread_sigmask(libc::SIG_BLOCK, ttou.as_ptr(), old.as_mut_ptr());
    }
    // SAFETY: tcsetpgrp on descriptor 0 with our own pid.
    let set = check(unsafe { libc::tcsetpgrp(0, libc::getpid()) });
    // SAFETY: `old` was filled by the call above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut()) };
    set.map(drop)
}
