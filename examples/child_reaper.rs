//! Spawn children that exit with different codes or are killed, and report each
//! SIGCHLD event with the child's pid and status. No zombies are left.
//!
//! SIGCHLD coalesces: several children ending together may produce one event. So
//! the reaper treats an event as "some child changed state" and reaps every child
//! that has ended, with `try_wait`, until none is left.
//!
//! Run: `cargo run --example child_reaper`

use std::collections::HashMap;
use std::process::{Child, Command};
use std::time::Duration;

use sigbus::Bus;
use sigbus::{CommandExt, Origin, Signal};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    sigbus::block([Signal::CHLD, Signal::TERM])?;
    let bus = Bus::new();
    let chld = bus.subscribe(Signal::CHLD)?;

    // `reset_signals` gives each child a normal signal mask: without it, children
    // would inherit our blocked SIGTERM and ignore `kill`.
    let spawn = |script: &str| -> std::io::Result<Child> {
        Command::new("sh")
            .args(["-c", script])
            .reset_signals()
            .spawn()
    };
    let mut children: HashMap<u32, Child> = HashMap::new();
    for script in ["exit 0", "exit 3", "exit 42"] {
        let child = spawn(script)?;
        println!("spawned {} ({script})", child.id());
        children.insert(child.id(), child);
    }
    let sleeper = spawn("exec sleep 30")?;
    let sleeper_pid = sleeper.id();
    println!("spawned {sleeper_pid} (sleep 30); sending it SIGTERM");
    children.insert(sleeper_pid, sleeper);
    sigbus::kill(sleeper_pid as i32, Signal::TERM)?;

    while !children.is_empty() {
        let event = chld.recv_timeout(Duration::from_secs(10))?;
        if let Origin::Child { pid, status, .. } = event.origin {
            println!("SIGCHLD #{}: child {pid} {status}", event.seq);
        }
        // Reap every child that has ended, not only the one the event names.
        children.retain(|pid, child| match child.try_wait() {
            Ok(Some(status)) => {
                println!("  reaped {pid}: {status}");
                false
            }
            _ => true,
        });
    }
    println!("all children reaped; no zombies left");
    bus.shutdown();
    Ok(())
}
