//! Children: process groups, sessions, the parent-death signal, the subreaper
//! flag, peeking at an exit without taking it. Each scenario runs in a process
//! of its own (see `sigtest`).

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::thread;
use std::time::Duration;

use sigcore::{ChildStatus, CommandExt, Error, Signal};
use sigtest::scenario;

/// Fields 5 and 6 of /proc/PID/stat: process group and session.
fn pgrp_and_session(pid: u32) -> (i32, i32) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    (fields[2].parse().unwrap(), fields[3].parse().unwrap())
}

fn new_groups_and_sessions() {
    let me = std::process::id();
    let (my_group, my_session) = pgrp_and_session(me);

    let mut plain = Command::new("sleep").arg("30").spawn().unwrap();
    assert_eq!(pgrp_and_session(plain.id()), (my_group, my_session));
    plain.kill().unwrap();
    plain.wait().unwrap();

    let mut grouped = Command::new("sleep")
        .arg("30")
        .new_process_group()
        .spawn()
        .unwrap();
    let pid = grouped.id() as i32;
    assert_eq!(pgrp_and_session(grouped.id()), (pid, my_session));
    sigcore::kill_process_group(pid, Signal::KILL).unwrap();
    assert_eq!(grouped.wait().unwrap().signal(), Some(libc::SIGKILL));

    let mut session = Command::new("sleep")
        .arg("30")
        .new_session()
        .spawn()
        .unwrap();
    let pid = session.id() as i32;
    assert_eq!(pgrp_and_session(session.id()), (pid, pid));
    session.kill().unwrap();
    session.wait().unwrap();

    // A terminal it cannot have: a clear error from spawn, not a child without one.
    let refused = Command::new("true")
        .stdin(std::process::Stdio::null())
        .new_session_with_terminal()
        .spawn();
    assert!(refused.is_err(), "stdin is /dev/null, not a terminal");
}

/// The parent-death signal fires when the thread that spawned the child ends
/// (documented), and the child dies of it.
fn parent_death_signal_follows_the_spawning_thread() {
    let child = thread::spawn(|| {
        Command::new("sleep")
            .arg("30")
            .reset_signals()
            .parent_death_signal(Signal::TERM)
            .spawn()
            .unwrap()
    })
    .join()
    .unwrap();
    let mut child = child;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the child outlived its thread"
        );
        thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(status.signal(), Some(libc::SIGTERM));
}

/// Setting it on this process: fine while the parent lives; refused, saying so,
/// when the expected parent is not the parent.
fn parent_death_signal_for_this_process_checks_the_parent() {
    let parent = sigcore::parent_pid();
    sigcore::set_parent_death_signal(Signal::TERM, parent).unwrap();
    assert!(matches!(
        sigcore::set_parent_death_signal(Signal::TERM, parent + 1_000_000),
        Err(Error::ParentExited { .. })
    ));
}

fn subreaper_on_off_and_query() {
    let start = sigcore::is_child_subreaper().unwrap();
    sigcore::set_child_subreaper(true).unwrap();
    assert!(sigcore::is_child_subreaper().unwrap());
    sigcore::set_child_subreaper(false).unwrap();
    assert!(!sigcore::is_child_subreaper().unwrap());
    sigcore::set_child_subreaper(start).unwrap();
}

/// Peeking leaves the exit to the child's owner; reaping takes it; a pid that
/// is not a child is a typed error.
fn peek_leaves_the_status_to_its_owner() {
    let mut child = Command::new("sh").args(["-c", "exit 9"]).spawn().unwrap();
    let pid = child.id() as i32;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = sigcore::peek_child(pid).unwrap() {
            break exit;
        }
        assert!(std::time::Instant::now() < deadline);
        thread::sleep(Duration::from_millis(1));
    };
    assert_eq!(exit.status, ChildStatus::Exited(9));
    assert!(
        sigcore::children().unwrap().contains(&pid),
        "still a zombie child"
    );
    assert_eq!(
        child.wait().unwrap().code(),
        Some(9),
        "the owner still gets it"
    );
    assert!(matches!(
        sigcore::peek_child(pid),
        Err(Error::NoSuchProcess { .. })
    ));
    assert!(matches!(
        sigcore::reap_child(1),
        Err(Error::NoSuchProcess { .. })
    ));
    assert_eq!(sigcore::reap_any_child().unwrap(), None);
}

fn main() {
    sigtest::run(&[
        scenario!(new_groups_and_sessions),
        scenario!(parent_death_signal_follows_the_spawning_thread),
        scenario!(parent_death_signal_for_this_process_checks_the_parent),
        scenario!(subreaper_on_off_and_query),
        scenario!(peek_leaves_the_status_to_its_owner),
    ]);
}
