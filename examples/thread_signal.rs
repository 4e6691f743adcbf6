//! The `pthread_kill` + `sigtimedwait` pattern: one thread waits for a
//! thread-directed signal, with a timeout; another sends it to that thread only.
//!
//! A signal sent with `tgkill`/`pthread_kill` (or libc's `raise`) can only be
//! taken by its target thread: no waiter thread ever sees it. So the target
//! blocks it and waits for it in place with `sigcore::wait` (Python's
//! `signal.sigtimedwait`, which returns `None` on timeout).
//!
//! Run: `cargo run --example thread_signal`

use std::thread;
use std::time::Duration;

use sigbus::crossbeam_channel::bounded;
use sigbus::{sigcore, Signal, ThreadHandle};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    sigbus::block(Signal::USR2)?;
    let (handle_tx, handle_rx) = bounded(1);

    let waiter = thread::Builder::new()
        .name("waiting-thread".into())
        .spawn(move || {
            // Only this thread can hand out its own handle: capture it here.
            handle_tx.send(ThreadHandle::current()).unwrap();
            let set = Signal::USR2;
            // The first wait times out: nobody sent anything yet.
            let first = sigcore::wait_timeout(set, Duration::from_millis(50)).unwrap();
            println!("waiting-thread: first wait (50 ms) -> {first:?}");
            let second = sigcore::wait_timeout(set, Duration::from_secs(5)).unwrap();
            let event = second.expect("the signal arrives within 5 s");
            println!("waiting-thread: got {} from {}", event.signal, event.origin);
            assert_eq!(event.origin.kind(), "tkill");
        })?;

    let target = handle_rx.recv()?;
    thread::sleep(Duration::from_millis(100));
    println!("main: tgkill(thread {}, SIGUSR2)", target.tid());
    target.send(Signal::USR2)?;
    waiter.join().expect("waiting thread panicked");
    // Nothing is left pending for the process: the signal went to that thread only.
    println!(
        "main: pending for this thread or the process: {:?}",
        sigcore::pending()?
    );
    Ok(())
}
