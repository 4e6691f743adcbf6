//! Process trees: finding what a scenario or helper left running, and killing
//! all of it. Every child the harness starts leads a process group of its own,
//! whose id is its pid; what leaves that group (`setsid`, `setpgid`) is found
//! by walking `/proc/<pid>/task/*/children`.

use std::collections::HashSet;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

/// Makes this process the reaper of its orphaned descendants: a process whose
/// parent dies is re-parented here instead of to init, so the harness can still
/// find it (as its own child) and kill it.
pub(crate) fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only; no memory is passed.
    let ret = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Asks the kernel to SIGKILL the process `command` starts when this thread
/// ends, so a scenario does not outlive a harness killed by Ctrl-C. Only for
/// children started by a thread that lives as long as the process.
pub(crate) fn die_with_parent(command: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: prctl, getppid and _exit are, and
    // `last_os_error` only reads errno.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The parent died before the prctl: nobody would ever reap us.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Whether child `pid` has ended, without reaping it: a zombie still holds its
/// pid, so its process group id cannot be reused by the time we signal it.
pub(crate) fn has_exited(pid: i32) -> io::Result<bool> {
    // SAFETY: siginfo_t is plain integers and unions of them; zero is valid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    loop {
        // SAFETY: `info` is valid for writes; WNOWAIT leaves the child
        // waitable, so std's `Child` still reaps it.
        let ret = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
        if ret == 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    // SAFETY: waitid filled `info` for a child that changed state, and left it
    // zeroed (si_pid 0) otherwise.
    Ok(unsafe { info.si_pid() } != 0)
}

/// Sends `signo` to `pid` (a negative pid is a process group); errors (the
/// process is gone already) are of no interest here.
fn signal(pid: i32, signo: i32) {
    // SAFETY: kill takes two integers and touches no memory.
    unsafe { libc::kill(pid, signo) };
}

/// The direct children of every thread of `pid`.
fn children(pid: i32) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}

/// Kills `root`, every descendant of it, and every member of process group
/// `group`, with SIGKILL.
///
/// The tree is stopped before it is killed: a stopped process cannot fork, so
/// walking it again until nothing new turns up finds all of it, and nothing is
/// re-parented away while we look. (SIGSTOP cannot be caught or ignored; the
/// parent of `root` sees a CLD_STOPPED before the CLD_KILLED.)
pub(crate) fn kill_tree(root: i32, group: Option<i32>) {
    if let Some(pgid) = group {
        signal(-pgid, libc::SIGSTOP);
    }
    signal(root, libc::SIGSTOP);
    let mut found: HashSet<i32> = HashSet::from([root]);
    // Bounded, for a process that cannot stop (stuck in the kernel).
    let give_up = Instant::now() + Duration::from_millis(500);
    loop {
        let new: Vec<i32> = found
            .iter()
            .flat_map(|&pid| children(pid))
            .filter(|child| !found.contains(child))
            .collect();
        for &pid in &new {
            found.insert(pid);
            signal(pid, libc::SIGSTOP);
        }
        // Only once all have stopped has any fork under way finished, so only
        // then does a walk that finds nothing new prove the tree complete.
        if new.is_empty() && (found.iter().all(|&p| settled(p)) || Instant::now() >= give_up) {
            break;
        }
        if new.is_empty() {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    if let Some(pgid) = group {
        signal(-pgid, libc::SIGKILL);
    }
    for pid in found {
        signal(pid, libc::SIGKILL);
    }
}

/// Whether `pid` is stopped, dead, or gone: it forks no more.
fn settled(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    // "pid (comm) S ...": comm may hold spaces and parentheses.
    let state = stat
        .rfind(')')
        .and_then(|at| stat[at + 1..].split_whitespace().next());
    matches!(state, None | Some("T" | "t" | "Z" | "X"))
}

/// Kills whatever is left in process group `pgid` (its leader has ended).
pub(crate) fn kill_group(pgid: i32) {
    signal(-pgid, libc::SIGKILL);
}

/// Kills and reaps every child this process has, with all their descendants.
/// In the harness, after a scenario is reaped, these are exactly what the
/// scenario left behind, re-parented here because we are a subreaper. Returns
/// the pids still not reaped after `budget` (stuck in the kernel, say).
pub(crate) fn reap_orphans(budget: Duration) -> Vec<i32> {
    let me = std::process::id() as i32;
    // SAFETY: getpgrp cannot fail and touches no memory.
    let my_group = unsafe { libc::getpgrp() };
    let end = Instant::now() + budget;
    loop {
        let left = children(me);
        if left.is_empty() {
            return left;
        }
        for &pid in &left {
            // SAFETY: getpgid takes an integer and touches no memory.
            let pgid = unsafe { libc::getpgid(pid) };
            let leads_a_group = pgid == pid && pgid != my_group;
            kill_tree(pid, leads_a_group.then_some(pid));
            let mut status = 0;
            // SAFETY: `status` is valid for writes; `pid` is our child, and no
            // std `Child` owns it (the harness has reaped the scenario).
            unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        }
        if Instant::now() >= end {
            return children(me);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
