//! Actors doing work, and SIGINT/SIGTERM handled by the shutdown coordinator.
//!
//! The first SIGINT or SIGTERM sends every actor a shutdown notice; they finish
//! what they are doing and stop, and `wait` returns so `main` can exit 0. A second
//! signal, or the grace period running out, ends the process by that signal, so
//! the parent (your shell, systemd, Kubernetes) sees "killed by SIGTERM".
//!
//! The example sends itself SIGINT after a moment, as Ctrl-C would.
//! Run: `cargo run --example graceful_shutdown` (or run it and press Ctrl-C).

use std::thread;
use std::time::Duration;

use sigbus::{Actor, Bus, Context, ShutdownNotice};
use sigbus::{Signal, SignalEvent};

/// A worker that processes jobs sent as messages and stops cleanly on notice.
struct Worker {
    done: u32,
}

impl Actor for Worker {
    type Msg = u32; // a job number

    fn handle_signal(&mut self, ctx: &mut Context<u32>, event: SignalEvent) {
        println!(
            "{}: status requested by {}: {} job(s) done",
            ctx.name(),
            event.signal,
            self.done
        );
    }

    fn handle(&mut self, _: &mut Context<u32>, _job: u32) {
        thread::sleep(Duration::from_millis(20)); // pretend to work
        self.done += 1;
    }

    fn on_shutdown(&mut self, ctx: &mut Context<u32>, notice: &ShutdownNotice) {
        let left = notice
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        println!(
            "{}: shutdown notice ({:?}), {left:?} left; saving state",
            ctx.name(),
            notice.signal
        );
        ctx.stop();
    }

    fn post_stop(&mut self, ctx: &mut Context<u32>) {
        println!("{}: stopped after {} job(s)", ctx.name(), self.done);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    sigbus::block([Signal::INT, Signal::TERM, Signal::USR1])?;
    let bus = Bus::new();
    let workers = (1..=3)
        .map(|i| {
            bus.actor(format!("worker-{i}"))
                .signals(Signal::USR1)
                .spawn(|| Worker { done: 0 })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let coordinator = bus.shutdown_coordinator(Duration::from_secs(2))?;

    for job in 0..30 {
        workers[job as usize % workers.len()].send(job)?;
    }
    // Ask for a status report, then "press Ctrl-C".
    let pid = std::process::id() as i32;
    thread::sleep(Duration::from_millis(100));
    sigbus::kill(pid, Signal::USR1)?;
    thread::sleep(Duration::from_millis(100));
    println!("main: kill({pid}, SIGINT), as Ctrl-C would");
    sigbus::kill(pid, Signal::INT)?;

    let outcome = coordinator
        .wait()
        .expect("a shutdown signal started the shutdown");
    println!(
        "main: clean shutdown after {:?} in {:?}; exiting 0",
        outcome.signal, outcome.took
    );
    Ok(())
}
