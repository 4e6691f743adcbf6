//! Several worker threads each receive SIGUSR1: the Rust answer to the Python
//! tutorial where a non-main thread never sees the signal.
//!
//! In Python only the main thread runs signal handlers, so a worker thread
//! blocked in `signal.pause()` waits forever. With sigbus, each worker subscribes
//! and receives the signal itself, with who sent it.
//!
//! Run: `cargo run --example usr1_workers`

use std::thread;

use sigbus::Bus;
use sigbus::Signal;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. First thing in main, before any thread exists: block SIGUSR1. Threads
    //    inherit the mask, so the kernel will leave it to sigcore's waiter thread
    //    instead of running the default action (terminate) on some thread.
    sigbus::block(Signal::USR1)?;

    // 2. A bus, and one subscription per worker thread.
    let bus = Bus::new();
    let workers: Vec<_> = (1..=3)
        .map(|i| {
            let usr1 = bus.subscribe(Signal::USR1)?;
            Ok(thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    // Blocks until the event arrives: this thread handles it.
                    let event = usr1.recv().expect("bus closed");
                    println!(
                        "{} received {} (event #{}) sent by pid {:?}",
                        thread::current().name().unwrap_or("?"),
                        event.signal,
                        event.seq,
                        event.origin.pid(),
                    );
                })?)
        })
        .collect::<Result<_, Box<dyn std::error::Error>>>()?;

    // 3. Another thread sends SIGUSR1 to this process, as `kill -USR1 <pid>` would.
    let pid = std::process::id() as i32;
    thread::Builder::new()
        .name("sender".into())
        .spawn(move || {
            println!("sender: kill({pid}, SIGUSR1)");
            sigbus::kill(pid, Signal::USR1).expect("kill failed");
        })?
        .join()
        .expect("sender panicked");

    for worker in workers {
        worker.join().expect("worker panicked");
    }
    // 4. Release the signal: its default action is back.
    bus.shutdown();
    Ok(())
}
