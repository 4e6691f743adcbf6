//! sigbus beside other signal libraries in one process: signal-hook and
//! tokio's signal driver, each installed before and after the bus. Nothing is
//! stolen in silence, nothing is clobbered on release, and with
//! `ForeignHandlers::Chain` both get every signal. Each scenario runs in a
//! process of its own (see `sigtest`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sigbus::{Bus, BusError};
use sigcore::{Disposition, ForeignHandlers, Signal};
use sigtest::scenario;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Keeps every log line (warnings and up) for the scenario to inspect.
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap().push(record.args().to_string());
    }
    fn flush(&self) {}
}

fn capture_logs() -> &'static Capture {
    let logs: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
    log::set_logger(logs).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    logs
}

/// A signal-hook handler that counts its runs.
fn hook(signal: Signal) -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    // SAFETY: the closure only does an atomic add (async-signal-safe).
    unsafe {
        signal_hook::low_level::register(signal.number(), move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })
    }
    .unwrap();
    count
}

fn reaches(count: &AtomicUsize, n: usize) -> bool {
    sigtest::eventually(secs(5), || count.load(Ordering::SeqCst) == n)
}

/// signal-hook first: the bus refuses the signal (and leaves it unblocked, so
/// signal-hook keeps working); opted in, both get it; released, signal-hook's
/// handler is back, alone.
fn signal_hook_first() {
    let count = hook(Signal::USR1);
    let bus = Bus::new();
    let refused = bus.subscribe(Signal::USR1);
    assert!(
        matches!(
            refused,
            Err(BusError::Signal(sigcore::Error::ForeignHandler {
                signal: Signal::USR1
            }))
        ),
        "{refused:?}"
    );
    assert!(!sigcore::thread_mask().unwrap().contains(Signal::USR1));
    sigcore::raise(Signal::USR1).unwrap();
    assert!(reaches(&count, 1), "signal-hook must still get it");

    let both = bus
        .subscription(Signal::USR1)
        .foreign_handlers(ForeignHandlers::Chain)
        .open()
        .unwrap();
    sigcore::raise(Signal::USR1).unwrap();
    assert_eq!(both.recv_timeout(secs(10)).unwrap().signal, Signal::USR1);
    assert!(reaches(&count, 2), "chained: signal-hook gets it too");

    drop(both);
    assert_eq!(
        sigcore::disposition(Signal::USR1).unwrap(),
        Disposition::Handler
    );
    sigcore::raise(Signal::USR1).unwrap();
    assert!(
        reaches(&count, 3),
        "released: signal-hook's handler is back"
    );
}

/// signal-hook installs its handler over the bus's: the bus notices and says so
/// (its handler cannot run while the bus serves the signal), and on release
/// leaves it in place instead of restoring the old default over it.
fn signal_hook_after_the_bus() {
    let logs = capture_logs();
    let bus = Bus::new();
    let sub = bus.subscribe(Signal::USR2).unwrap();
    let count = hook(Signal::USR2);
    sigcore::raise(Signal::USR2).unwrap();
    assert_eq!(sub.recv_timeout(secs(10)).unwrap().signal, Signal::USR2);
    let warnings = logs.0.lock().unwrap().join("\n");
    assert!(
        warnings.contains("another handler was installed for SIGUSR2"),
        "no warning: {warnings}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 0);

    drop(sub);
    assert_eq!(
        sigcore::disposition(Signal::USR2).unwrap(),
        Disposition::Handler,
        "the release clobbered signal-hook's handler"
    );
    sigcore::raise(Signal::USR2).unwrap();
    assert!(
        reaches(&count, 1),
        "signal-hook's handler runs after the release"
    );
}

/// Opted in before signal-hook arrives: both get every signal.
fn signal_hook_after_a_chaining_bus() {
    let bus = Bus::new();
    let sub = bus
        .subscription(Signal::HUP)
        .foreign_handlers(ForeignHandlers::Chain)
        .open()
        .unwrap();
    let count = hook(Signal::HUP);
    for n in 1..=3 {
        sigcore::raise(Signal::HUP).unwrap();
        assert_eq!(sub.recv_timeout(secs(10)).unwrap().signal, Signal::HUP);
        assert!(reaches(&count, n), "signal-hook missed signal {n}");
    }
    drop(sub);
    sigcore::raise(Signal::HUP).unwrap();
    assert!(reaches(&count, 4));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .unwrap()
}

/// tokio's signal stream first: refused by default; chained, both the bus and
/// the stream see every signal.
fn tokio_first() {
    let rt = runtime();
    rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut stream = signal(SignalKind::user_defined1()).unwrap();
        let bus = Bus::new();
        assert!(matches!(
            bus.subscribe(Signal::USR1),
            Err(BusError::Signal(sigcore::Error::ForeignHandler { .. }))
        ));
        let sub = bus
            .subscription(Signal::USR1)
            .foreign_handlers(ForeignHandlers::Chain)
            .open()
            .unwrap();
        for _ in 0..3 {
            sigcore::raise(Signal::USR1).unwrap();
            assert_eq!(sub.recv_timeout(secs(10)).unwrap().signal, Signal::USR1);
            tokio::time::timeout(secs(10), stream.recv())
                .await
                .expect("tokio's stream missed a chained signal")
                .unwrap();
        }
    });
}

/// The bus first (chaining), then tokio: both see every signal; on release
/// tokio's handler stays.
fn tokio_after_the_bus() {
    let rt = runtime();
    rt.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let bus = Bus::new();
        let sub = bus
            .subscription(Signal::USR2)
            .foreign_handlers(ForeignHandlers::Chain)
            .open()
            .unwrap();
        let mut stream = signal(SignalKind::user_defined2()).unwrap();
        for _ in 0..3 {
            sigcore::raise(Signal::USR2).unwrap();
            assert_eq!(sub.recv_timeout(secs(10)).unwrap().signal, Signal::USR2);
            tokio::time::timeout(secs(10), stream.recv())
                .await
                .expect("tokio's stream missed a chained signal")
                .unwrap();
        }
        drop(sub);
        assert_eq!(
            sigcore::disposition(Signal::USR2).unwrap(),
            Disposition::Handler
        );
        sigcore::raise(Signal::USR2).unwrap();
        tokio::time::timeout(secs(10), stream.recv())
            .await
            .expect("tokio's own handler works after the release")
            .unwrap();
    });
}

fn main() {
    sigtest::run(&[
        scenario!(signal_hook_first),
        scenario!(signal_hook_after_the_bus),
        scenario!(signal_hook_after_a_chaining_bus),
        scenario!(tokio_first),
        scenario!(tokio_after_the_bus),
    ]);
}
