//! Process trees: finding what a scenario or helper left running, and killing
//! all of it. Every child the harness starts leads a process group of its own,
//! whose id is its pid; what leaves that group (`setsid`, `setpgid`) is found
//! by walking `/proc/<pid>/task/*/children`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::os::{group_of, my_group, reap_if_exited, signal};

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
    let my_group = my_group();
    let end = Instant::now() + budget;
    loop {
        let left = children(me);
        if left.is_empty() {
            return left;
        }
        for &pid in &left {
            let pgid = group_of(pid);
            let leads_a_group = pgid == pid && pgid != my_group;
            kill_tree(pid, leads_a_group.then_some(pid));
            // No std `Child` owns `pid`: the harness has reaped the scenario.
            reap_if_exited(pid);
        }
        if Instant::now() >= end {
            return children(me);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
