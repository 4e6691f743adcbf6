//! What the init reads from `/proc`: its descendants, and whether standard
//! input is the terminal it runs in the foreground of. Plain file reads, no
//! `unsafe` (the crate forbids it).

use std::collections::BTreeSet;
use std::io::{self, IsTerminal};
use std::os::unix::fs::MetadataExt;

/// The fields of `/proc/self/stat` the init needs.
struct Stat {
    pgrp: i64,
    tty_nr: u64,
    tpgid: i64,
}

fn own_stat() -> Option<Stat> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // "pid (comm) state ppid pgrp session tty_nr tpgid ...": comm may hold
    // spaces and parentheses, so count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        pgrp: fields.get(2)?.parse().ok()?,
        tty_nr: fields.get(4)?.parse().ok()?,
        tpgid: fields.get(5)?.parse().ok()?,
    })
}

/// Whether standard input is this process's controlling terminal and this
/// process's group is that terminal's foreground group: only then may the init
/// hand the foreground to its child (a background job that took it would steal
/// the terminal from its shell).
pub(crate) fn stdin_is_foreground_terminal() -> bool {
    if !io::stdin().is_terminal() {
        return false;
    }
    let (Some(stat), Ok(stdin)) = (own_stat(), std::fs::metadata("/proc/self/fd/0")) else {
        return false;
    };
    // tty_nr and st_rdev use the same encoding for the device numbers a
    // terminal has.
    stat.tty_nr != 0 && stat.tty_nr == stdin.rdev() && stat.tpgid == stat.pgrp
}

/// Whether this process may take a terminal from another session
/// (`TIOCSCTTY` with force needs `CAP_SYS_ADMIN`): its effective capability set
/// has that bit.
pub(crate) fn may_steal_terminal() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0)
}

/// The direct children of every thread of `pid`.
fn children_of(pid: i32) -> io::Result<Vec<i32>> {
    let mut found = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let Ok(task) = task else { continue };
        // A thread (or the process) that ended meanwhile has no file any more.
        let Ok(list) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        found.extend(
            list.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    Ok(found)
}

/// Every descendant of this process, live or zombie, from
/// `/proc/<pid>/task/*/children` walked down the tree.
///
/// # Errors
///
/// When this process's own entry cannot be read (no `/proc`).
pub(crate) fn descendants() -> io::Result<BTreeSet<i32>> {
    let me = std::process::id() as i32;
    let mut found = BTreeSet::new();
    let mut next = children_of(me)?;
    while let Some(pid) = next.pop() {
        if found.insert(pid) {
            // A process that ended meanwhile has no children to list.
            next.extend(children_of(pid).unwrap_or_default());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_stat_is_readable() {
        let stat = own_stat().expect("/proc/self/stat");
        assert!(stat.pgrp > 0);
    }

    #[test]
    fn descendants_include_a_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let found = descendants().unwrap();
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.contains(&(child.id() as i32)), "{found:?}");
    }
}
