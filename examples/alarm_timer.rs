//! `alarm` and an interval timer (`setitimer`), read back with `getitimer`, with
//! the SIGALRM events handled by a worker thread rather than by main.
//!
//! Run: `cargo run --example alarm_timer`

use std::thread;
use std::time::Duration;

use sigbus::sigcore::{self, Timer, TimerValue};
use sigbus::Bus;
use sigbus::Signal;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    sigbus::block(Signal::ALRM)?;
    let bus = Bus::new();
    let alarms = bus.subscribe(Signal::ALRM)?;

    let worker = thread::Builder::new()
        .name("timekeeper".into())
        .spawn(move || {
            for tick in 1..=4 {
                let event = alarms.recv().expect("bus closed");
                println!(
                    "timekeeper: tick {tick}: {} from the {}",
                    event.signal, event.origin
                );
            }
        })?;

    // alarm(): one SIGALRM in N seconds; returns what was left of the previous one.
    println!("main: alarm(5) -> {} s were left", sigcore::alarm(5));
    println!(
        "main: alarm(0) cancels it -> {} s were left",
        sigcore::alarm(0)
    );

    // setitimer(): first expiry after 100 ms, then every 50 ms.
    let ms = Duration::from_millis;
    let previous = sigcore::set_timer(
        Timer::Real,
        TimerValue {
            value: ms(100),
            interval: ms(50),
        },
    )?;
    println!("main: setitimer(ITIMER_REAL, 100 ms then every 50 ms); previous: {previous:?}");
    let now = sigcore::get_timer(Timer::Real)?;
    println!(
        "main: getitimer: next in {:?}, interval {:?}",
        now.value, now.interval
    );

    worker.join().expect("worker panicked");
    // Disarm before leaving, or SIGALRM would keep coming.
    sigcore::set_timer(Timer::Real, TimerValue::default())?;
    println!(
        "main: timer disarmed: {:?}",
        sigcore::get_timer(Timer::Real)?
    );
    bus.shutdown();
    Ok(())
}
