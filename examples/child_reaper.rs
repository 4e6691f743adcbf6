//! Spawn children that exit with different codes or are killed, and report each
//! SIGCHLD event with the child's pid and status. No zombies are left.
//!
//! SIGCHLD coalesces: several children ending while one SIGCHLD is pending
//! produce a single event, naming one of them. So the reaper treats an event
//! as "some child changed state" and reaps every child that has ended, with
//! `try_wait`, until none is left. The second half shows that case on purpose:
//! five children exit while SIGCHLD is held in the kernel (as it would be
//! while a busy reaper is elsewhere), one event arrives, and all five are
//! reaped from it.
//!
//! Run: `cargo run --example child_reaper`

use std::collections::HashMap;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use sigbus::{Bus, CommandExt, Origin, Signal, Subscription};

type Children = HashMap<u32, Child>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    sigbus::block([Signal::CHLD, Signal::TERM])?;
    let bus = Bus::new();
    let chld = bus.subscribe(Signal::CHLD)?;

    // 1. Children ending one by one, one of them killed by SIGTERM.
    let mut children = Children::new();
    for script in ["exit 0", "exit 3", "exit 42"] {
        spawn(&mut children, script)?;
    }
    let sleeper = spawn(&mut children, "exec sleep 30")?;
    println!("sending SIGTERM to {sleeper} (sleep 30)");
    sigbus::kill(sleeper as i32, Signal::TERM)?;
    let events = reap_all(&chld, &mut children)?;
    println!("4 children reaped after {events} SIGCHLD event(s)");

    // 2. Five children exiting at once: one SIGCHLD for all of them.
    sigbus::sigcore::hold(Signal::CHLD);
    for code in 10..15 {
        spawn(&mut children, &format!("exit {code}"))?;
    }
    // Only to make the demonstration certain: a real reaper never waits for this.
    wait_until_all_exited(&children)?;
    sigbus::sigcore::resume(Signal::CHLD);
    let events = reap_all(&chld, &mut children)?;
    println!("5 exits, {events} SIGCHLD: every child reaped all the same");

    let left = zombies();
    if !left.is_empty() {
        return Err(format!("children left unreaped: {left:?}").into());
    }
    println!("all children reaped; no zombies left");
    bus.shutdown();
    Ok(())
}

/// Starts `sh -c script` with normal signal behaviour and remembers it.
fn spawn(children: &mut Children, script: &str) -> std::io::Result<u32> {
    // `reset_signals` gives each child a normal signal mask: without it, children
    // would inherit our blocked SIGTERM and ignore `kill`.
    let child = Command::new("sh")
        .args(["-c", script])
        .reset_signals()
        .spawn()?;
    let pid = child.id();
    println!("spawned {pid} ({script})");
    children.insert(pid, child);
    Ok(pid)
}

/// Waits for SIGCHLD events and, after each, reaps every child that has ended
/// (not only the one the event names) until none is left. Returns how many
/// events it took.
fn reap_all(
    chld: &Subscription,
    children: &mut Children,
) -> Result<u32, Box<dyn std::error::Error>> {
    let mut events = 0;
    while !children.is_empty() {
        let event = chld.recv_timeout(Duration::from_secs(10)).map_err(|_| {
            format!(
                "no SIGCHLD for 10 s; {} child(ren) not reaped",
                children.len()
            )
        })?;
        events += 1;
        if let Origin::Child { pid, status, .. } = event.origin {
            println!("SIGCHLD #{}: child {pid} {status}", event.seq);
        }
        children.retain(|pid, child| match child.try_wait() {
            Ok(Some(status)) => {
                println!("  reaped {pid}: {status}");
                false
            }
            _ => true,
        });
    }
    Ok(events)
}

/// Whether process `pid` has ended (a zombie, not reaped yet).
fn has_exited(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.get(stat.rfind(')')? + 1..)?;
            state.split_whitespace().next().map(|s| s == "Z")
        })
        .unwrap_or(true)
}

fn wait_until_all_exited(children: &Children) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !children.keys().all(|&pid| has_exited(pid)) {
        if Instant::now() > deadline {
            return Err("children did not exit within 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Children of this process that still exist (as zombies or running).
fn zombies() -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}
