//! The suite the outer checker runs: scenarios that misbehave on purpose.
//! Each process a scenario starts is logged (see [`log_pid`]) so the checker
//! can tell afterwards whether it outlived the run.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use sigtest::{ms, scenario, Scenario, WaitOutcome};

use crate::support::{alive, logged, DISPOSITIONS, LEND, LOG};

/// The deadline of the hanging scenarios.
pub const HANG_DEADLINE: Duration = Duration::from_millis(1000);

pub const SUITE: &[Scenario] = &[
    scenario!(hangs).timeout(HANG_DEADLINE),
    scenario!(hangs_with_a_grandchild_on_its_pipes).timeout(HANG_DEADLINE),
    scenario!(passes),
    scenario!(panics),
    scenario!(exits_with_3),
    scenario!(dies_by_sigkill),
    scenario!(leaves_a_child_in_its_group),
    scenario!(leaves_a_setsid_child),
    scenario!(drops_a_running_helper),
    scenario!(kills_a_helper_past_its_deadline_with_its_tree),
    scenario!(kill_ends_a_helper_with_its_tree),
    scenario!(a_helper_that_exits_loses_its_leftover_group),
    scenario!(sees_the_inherited_dispositions),
    scenario!(knows_its_deadline).timeout(Duration::from_secs(7)),
    scenario!(leads_a_process_group_of_its_own),
    scenario!(lends_its_stdout),
    scenario!(an_ignored_one).ignored(),
    scenario!(_sleeper).helper(),
];

/// Appends "pid comm tag" to the log, comm as the kernel has it now.
fn log_pid(pid: u32, tag: &str) {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let path = std::env::var(LOG).expect("the outer checker names the log");
    let mut log = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    // One short write: appends of it do not interleave.
    log.write_all(format!("{pid} {} {tag}\n", comm.trim_end()).as_bytes())
        .unwrap();
}

/// `sleep SECS`, sharing our stdout and stderr (the pipes to the harness).
fn sleep_process(secs: &str) -> Command {
    let mut command = Command::new("sleep");
    command.arg(secs);
    command
}

/// Starts `command`, logs it as `tag`, and leaves it running on purpose: the
/// harness is to kill it.
fn leave_running(command: &mut Command, tag: &str) {
    let pid = command.spawn().unwrap().id();
    log_pid(pid, tag);
}

fn in_new_session(command: &mut Command) -> &mut Command {
    // SAFETY: setsid is async-signal-safe, as required between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

fn forever() -> ! {
    loop {
        thread::sleep(Duration::from_secs(1));
    }
}

fn hangs() {
    log_pid(std::process::id(), "hang-self");
    forever();
}

/// Without the group kill, `sleep` keeps the harness's pipes open for 31 s.
fn hangs_with_a_grandchild_on_its_pipes() {
    leave_running(&mut sleep_process("31"), "hang-sleep");
    forever();
}

fn passes() {}

fn panics() {
    panic!("deliberate panic in a scenario");
}

fn exits_with_3() {
    std::process::exit(3);
}

fn dies_by_sigkill() {
    // SAFETY: kill takes two integers and touches no memory.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
}

/// Passes; its `sleep` holds the pipes and must be killed with its group.
fn leaves_a_child_in_its_group() {
    leave_running(&mut sleep_process("32"), "group-sleep");
}

/// Passes; its `sleep` left the group and session, and holds the pipes.
fn leaves_a_setsid_child() {
    leave_running(in_new_session(&mut sleep_process("33")), "setsid-sleep");
}

/// A helper: logs its pid, starts a `sleep` in its group, and in mode `hold` a
/// `sleep` in a session of its own and then waits forever; in mode `exit`
/// returns at once.
fn _sleeper() {
    let tag = std::env::var("SLEEPER_TAG").unwrap();
    assert_eq!(
        sigtest::deadline(),
        None,
        "a helper has no deadline of its own"
    );
    log_pid(std::process::id(), &format!("{tag}-helper"));
    leave_running(&mut sleep_process("35"), &format!("{tag}-group"));
    if std::env::var("SLEEPER").unwrap() == "exit" {
        return;
    }
    leave_running(
        in_new_session(&mut sleep_process("36")),
        &format!("{tag}-setsid"),
    );
    forever();
}

/// Starts `_sleeper` and waits until it logged the `tags` (prefixed); returns
/// the helper and the pids.
fn start_sleeper(mode: &str, tag: &str, tags: &[&str]) -> (sigtest::Child, Vec<i32>) {
    let helper = sigtest::run_helper(
        "_sleeper",
        &[("SLEEPER", mode.into()), ("SLEEPER_TAG", tag.into())],
    );
    let mut pids = Vec::new();
    let all_logged = sigtest::eventually(Duration::from_secs(5), || {
        let log = logged(&std::fs::read_to_string(std::env::var(LOG).unwrap()).unwrap());
        pids = tags
            .iter()
            .filter_map(|t| {
                let want = format!("{tag}-{t}");
                log.iter().find(|l| l.tag == want).map(|l| l.pid)
            })
            .collect();
        pids.len() == tags.len()
    });
    assert!(all_logged, "the helper never logged {tags:?}");
    (helper, pids)
}

fn assert_all_die(pids: &[i32]) {
    let dead = sigtest::eventually(Duration::from_secs(2), || {
        pids.iter().all(|&p| !alive(p, None))
    });
    let left: Vec<i32> = pids.iter().copied().filter(|&p| alive(p, None)).collect();
    assert!(dead, "still alive: {left:?}");
}

const HOLDING: &[&str] = &["helper", "group", "setsid"];

fn drops_a_running_helper() {
    let (helper, pids) = start_sleeper("hold", "drop", HOLDING);
    drop(helper);
    assert_all_die(&pids);
}

fn kills_a_helper_past_its_deadline_with_its_tree() {
    let (helper, pids) = start_sleeper("hold", "late", HOLDING);
    let started = Instant::now();
    let (outcome, _, stderr) = helper.wait(ms(100));
    assert_eq!(outcome, WaitOutcome::TimedOut, "{stderr}");
    assert!(started.elapsed() < ms(1500), "took {:?}", started.elapsed());
    assert_all_die(&pids);
}

fn kill_ends_a_helper_with_its_tree() {
    let (helper, pids) = start_sleeper("hold", "kill", HOLDING);
    let (outcome, _, stderr) = helper.kill();
    assert_eq!(outcome, WaitOutcome::TimedOut, "{stderr}");
    assert_all_die(&pids);
}

/// The helper's `sleep` holds its pipes: without the group kill, `wait`
/// would last 35 s (or the output grace) and report the pipe.
fn a_helper_that_exits_loses_its_leftover_group() {
    let (helper, pids) = start_sleeper("exit", "exit", &["group"]);
    let started = Instant::now();
    let (outcome, stdout, stderr) = helper.wait(Duration::from_secs(10));
    assert_eq!(outcome, WaitOutcome::Exited(0), "{stdout}{stderr}");
    assert!(started.elapsed() < ms(400), "took {:?}", started.elapsed());
    assert!(!stderr.contains("sigtest:"), "{stderr}");
    assert_all_die(&pids);
}

/// Compares SIGINT's and SIGTERM's dispositions with what the outer checker
/// gave the harness (`INT=ign,TERM=dfl`).
fn sees_the_inherited_dispositions() {
    let expected = std::env::var(DISPOSITIONS).expect("the outer checker says");
    assert_eq!(crate::support::dispositions(), expected);
}

fn knows_its_deadline() {
    let left = sigtest::deadline().expect("a scenario has a deadline") - Instant::now();
    assert!(left > ms(6000) && left <= ms(7000), "{left:?} left");
}

/// The process group of `pid`, from `/proc/<pid>/stat`.
fn process_group_of(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let (_, after_comm) = stat.rsplit_once(") ").unwrap();
    // state, ppid, pgrp
    after_comm.split(' ').nth(2).unwrap().parse().unwrap()
}

/// So a test may signal a helper's group with `kill(-pid)`, and a signal a
/// scenario sends to its own group (`kill(0, ..)`) stays in the scenario.
fn leads_a_process_group_of_its_own() {
    let me = std::process::id() as i32;
    assert_eq!(process_group_of(me), me);
    let (helper, _) = start_sleeper("exit", "group-leader", &["group"]);
    assert_eq!(process_group_of(helper.pid()), helper.pid());
}

/// With [`LEND`] set: writes its pid there, lets the outer checker take a copy
/// of its stdout (a process outside the tree then holds the pipe), returns.
fn lends_its_stdout() {
    let Ok(path) = std::env::var(LEND) else {
        return;
    };
    println!("before lending");
    std::fs::write(format!("{path}.tmp"), std::process::id().to_string()).unwrap();
    std::fs::rename(format!("{path}.tmp"), &path).unwrap();
    let taken = format!("{path}.taken");
    assert!(sigtest::eventually(Duration::from_secs(5), || {
        std::path::Path::new(&taken).exists()
    }));
}

fn an_ignored_one() {
    log_pid(std::process::id(), "ignored-ran");
}
