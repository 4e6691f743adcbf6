//! What `inspect` reads from `/proc` beyond a status file: children that are
//! zombies, the signals a process waits for through a signalfd or a sigwait
//! call, and the signals it can never receive.

use std::fs;
use std::path::{Path, PathBuf};

use sigcore::{ProcSignals, SignalSet, TaskName};

/// The name sigcore gives its waiter thread: a process with one serves the
/// signals it blocks.
const SIGCORE_WAITER: &str = "sigcore-waiter";

/// A child that has exited and that its parent has not reaped.
pub struct Zombie {
    pub pid: i32,
    pub name: TaskName,
}

/// The zombie children of process `pid`: its threads' children
/// (`/proc/PID/task/*/children`) whose state is `Z`. Without that file (a
/// kernel built without `CONFIG_PROC_CHILDREN`), every process's parent is read.
pub fn zombie_children(pid: i32) -> Vec<Zombie> {
    let children = children(pid).unwrap_or_else(|| adopted_by(pid));
    let mut zombies: Vec<Zombie> = children
        .into_iter()
        .filter_map(|child| ProcSignals::of_process(child).ok())
        .filter(|child| child.state == 'Z')
        .map(|child| Zombie {
            pid: child.pid,
            name: child.name,
        })
        .collect();
    zombies.sort_by_key(|z| z.pid);
    zombies
}

fn children(pid: i32) -> Option<Vec<i32>> {
    let tasks: Vec<PathBuf> = fs::read_dir(Path::new("/proc").join(pid.to_string()).join("task"))
        .ok()?
        .flatten()
        .map(|task| task.path().join("children"))
        .collect();
    // Kernels without CONFIG_PROC_CHILDREN have the file in no task.
    if !tasks.iter().any(|file| file.exists()) {
        return None;
    }
    // Threads come and go; one that left took its list with it.
    let lists = tasks
        .iter()
        .filter_map(|file| fs::read_to_string(file).ok());
    Some(
        lists
            .flat_map(|text| {
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok())
                    .collect::<Vec<_>>()
            })
            .collect(),
    )
}

fn adopted_by(parent: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| ProcSignals::of_process(pid).is_ok_and(|p| p.ppid == parent))
        .collect()
}

/// Signals blocked in every thread of a process that has neither a handler
/// for them, nor ignores them, nor waits for them (a sigcore waiter thread, a
/// signalfd, a thread sitting in sigwaitinfo/sigtimedwait): sent to the
/// process, they stay pending for ever. The usual cause is a mask inherited
/// across fork and exec from a program that blocked signals for its own waiter
/// and did not reset the mask in the child.
///
/// Empty for kernel threads and zombies, whose signal state does not apply.
pub fn blocked_unhandled(pid: i32, process: &ProcSignals, threads: &[ProcSignals]) -> SignalSet {
    if process.kernel_thread || matches!(process.state, 'Z' | 'X') {
        return SignalSet::empty();
    }
    if threads.iter().any(|t| t.name == SIGCORE_WAITER) || in_sigwait(pid, threads) {
        return SignalSet::empty();
    }
    // A process-directed signal goes to any thread that does not block it.
    let blocked_everywhere = threads
        .iter()
        .fold(process.blocked, |all, t| all.intersection(t.blocked));
    // A process whose fds cannot be read (another user's, for a user without
    // privileges) may wait through a signalfd: then nothing is claimed.
    let Some(signalfds) = signalfd_masks(pid) else {
        return SignalSet::empty();
    };
    blocked_everywhere
        .difference(process.caught)
        .difference(process.ignored)
        .difference(signalfds)
}

/// Whether a thread is waiting in sigwaitinfo/sigtimedwait (its `wchan`): it
/// may be waiting for any blocked signal, and `/proc` does not say which.
fn in_sigwait(pid: i32, threads: &[ProcSignals]) -> bool {
    threads.iter().any(|t| {
        let path = format!("/proc/{pid}/task/{}/wchan", t.pid);
        fs::read_to_string(path).is_ok_and(|wchan| wchan.contains("sigtimedwait"))
    })
}

/// The union of the masks of the process's signalfds (`sigmask:` lines of
/// `/proc/PID/fdinfo/*`); `None` where fdinfo cannot be read.
fn signalfd_masks(pid: i32) -> Option<SignalSet> {
    let fds = fs::read_dir(format!("/proc/{pid}/fdinfo")).ok()?;
    let masks = fds
        .flatten()
        .filter_map(|fd| fs::read_to_string(fd.path()).ok())
        .filter_map(|info| {
            let line = info.lines().find_map(|l| l.strip_prefix("sigmask:"))?;
            u64::from_str_radix(line.trim(), 16).ok()
        })
        .fold(SignalSet::empty(), |all, bits| {
            all.union(SignalSet::from_bits(bits))
        });
    Some(masks)
}

/// The word for a `State:` letter, as the kernel spells it in `/proc`.
pub fn state_name(state: char) -> &'static str {
    match state {
        'R' => "running",
        'S' => "sleeping",
        'D' => "disk sleep",
        'T' => "stopped",
        't' => "tracing stop",
        'Z' => "zombie",
        'X' => "dead",
        'I' => "idle",
        'P' => "parked",
        'K' => "wakekill",
        'W' => "waking",
        _ => "unknown",
    }
}

/// Whether it is the first process of its pid namespace: the kernel then
/// delivers it only the signals it has a handler for.
pub fn namespace_init(process: &ProcSignals) -> bool {
    process.is_namespace_init()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(status: &str) -> ProcSignals {
        ProcSignals::parse(status.as_bytes()).unwrap()
    }

    #[test]
    fn namespace_inits_seen_from_outside_and_inside() {
        let base = "Name:\tx\nState:\tS (sleeping)\nSigPnd:\t0\nShdPnd:\t0\nSigBlk:\t0\n\
                    SigIgn:\t0\nSigCgt:\t0\n";
        assert!(namespace_init(&parse(&format!(
            "{base}Pid:\t4242\nNSpid:\t4242\t1\n"
        ))));
        assert!(namespace_init(&parse(&format!(
            "{base}Pid:\t1\nNSpid:\t1\n"
        ))));
        assert!(!namespace_init(&parse(&format!(
            "{base}Pid:\t7\nNSpid:\t7\t3\n"
        ))));
        assert!(!namespace_init(&parse(&format!("{base}Pid:\t7\n"))));
    }

    #[test]
    fn states_have_names() {
        assert_eq!(state_name('S'), "sleeping");
        assert_eq!(state_name('Z'), "zombie");
        assert_eq!(state_name('?'), "unknown");
    }
}
