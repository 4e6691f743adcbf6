//! Subscriptions as `futures_core::Stream`s (feature `async`) on tokio
//! (current-thread and multi-thread), async-io and futures' executor, several
//! at once. Ports of tokio's `tests/signal_*.rs` and async-signal's endurance
//! test, plus stress tests for lost wake-ups and cancel safety. Each scenario
//! runs in a process of its own (see `sigtest`); signals are sent with
//! sigcore's process-directed `raise`, not libc's thread-directed one.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use futures_core::Stream;
use sigbus::{Bus, Subscription};
use sigcore::{Signal, SignalEvent};
use sigtest::scenario;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The stream's next item, as `StreamExt::next` would give it.
async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// Every await in these tests has a deadline.
async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(secs(10), future)
        .await
        .expect("no event within 10 s")
}

fn block(set: &[Signal]) -> Bus {
    sigcore::block(set.iter().copied().collect::<sigcore::SignalSet>()).unwrap();
    Bus::new()
}

/// tokio `signal_usr1`.
fn signal_usr1() {
    let bus = block(&[Signal::USR1]);
    current_thread().block_on(async {
        let mut usr1 = bus.subscribe(Signal::USR1).unwrap();
        sigcore::raise(Signal::USR1).unwrap();
        let event = within(next(&mut usr1)).await.unwrap();
        assert_eq!(event.signal, Signal::USR1);
        assert_eq!(event.origin.pid(), Some(std::process::id() as i32));
    });
}

/// tokio `signal_twice`: the stream goes on after the first item.
fn signal_twice() {
    let bus = block(&[Signal::HUP]);
    current_thread().block_on(async {
        let mut hup = bus.subscribe(Signal::HUP).unwrap();
        for _ in 0..2 {
            sigcore::raise(Signal::HUP).unwrap();
            assert!(within(next(&mut hup)).await.is_some());
        }
    });
}

/// tokio `signal_notify_both`: two streams of one signal both get it.
fn signal_notify_both() {
    let bus = block(&[Signal::USR2]);
    current_thread().block_on(async {
        let mut a = bus.subscribe(Signal::USR2).unwrap();
        let mut b = bus.subscribe(Signal::USR2).unwrap();
        sigcore::raise(Signal::USR2).unwrap();
        let (x, y) = (within(next(&mut a)).await, within(next(&mut b)).await);
        assert_eq!(x.unwrap().seq, y.unwrap().seq);
    });
}

/// tokio `signal_drop_signal`: dropping one stream unsubscribes it and leaves
/// the other working.
fn signal_drop_signal() {
    let bus = block(&[Signal::USR1]);
    current_thread().block_on(async {
        let mut kept = bus.subscribe(Signal::USR1).unwrap();
        let dropped = bus.subscribe(Signal::USR1).unwrap();
        let gone = dropped.id();
        drop(dropped);
        assert!(bus
            .routes()
            .iter()
            .all(|r| r.listeners.iter().all(|l| l.id != gone)));
        sigcore::raise(Signal::USR1).unwrap();
        assert!(within(next(&mut kept)).await.is_some());
    });
}

/// tokio `signal_multi_rt`: four runtimes on four threads, each with its own
/// stream, ten rounds; every runtime gets every round.
fn signal_multi_rt() {
    let bus = block(&[Signal::USR1]);
    let rounds = 10;
    let barrier = Arc::new(Barrier::new(5));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let mut usr1 = bus.subscribe(Signal::USR1).unwrap();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                current_thread().block_on(async {
                    for _ in 0..rounds {
                        barrier.wait();
                        within(next(&mut usr1)).await.unwrap();
                        barrier.wait();
                    }
                })
            })
        })
        .collect();
    for _ in 0..rounds {
        barrier.wait();
        sigcore::raise(Signal::USR1).unwrap();
        barrier.wait(); // everyone has it before the next raise (no coalescing)
    }
    for t in threads {
        t.join().unwrap();
    }
}

/// tokio's multi-thread runtime, async-io's and futures' executors, all at
/// once, each awaiting its own stream of the same signal.
fn several_runtimes_at_once() {
    let bus = block(&[Signal::HUP]);
    let rounds = 20;
    let barrier = Arc::new(Barrier::new(4));
    let mut threads = Vec::new();
    {
        let sub = bus.subscribe(Signal::HUP).unwrap();
        let barrier = Arc::clone(&barrier);
        threads.push(thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_time()
                .build()
                .unwrap();
            rt.block_on(async move {
                tokio::spawn(async move {
                    for _ in 0..rounds {
                        barrier.wait();
                        within(sub.recv_async()).await.unwrap();
                        barrier.wait();
                    }
                })
                .await
                .unwrap();
            });
        }));
    }
    for executor in ["async-io", "futures"] {
        let sub = bus.subscribe(Signal::HUP).unwrap();
        let barrier = Arc::clone(&barrier);
        threads.push(thread::spawn(move || {
            for _ in 0..rounds {
                barrier.wait();
                let event = match executor {
                    "async-io" => async_io::block_on(sub.recv_async()),
                    _ => futures_executor::block_on(sub.recv_async()),
                };
                assert_eq!(event.unwrap().signal, Signal::HUP);
                barrier.wait();
            }
        }));
    }
    for _ in 0..rounds {
        barrier.wait();
        sigcore::raise(Signal::HUP).unwrap();
        barrier.wait();
    }
    for t in threads {
        t.join().unwrap();
    }
}

/// A waker that counts its wakes.
struct Counting(std::sync::atomic::AtomicUsize);

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn poll_once(sub: &mut Subscription, waker: &Waker) -> Poll<Option<SignalEvent>> {
    Pin::new(sub).poll_next(&mut Context::from_waker(waker))
}

/// async-signal's endurance test: 100,000 rounds alternating two signals, each
/// stream pending before the send and ready after it, woken every time.
fn endurance_100k_alternating() {
    let bus = block(&[Signal::USR1, Signal::USR2]);
    let mut subs = [
        bus.subscribe(Signal::USR1).unwrap(),
        bus.subscribe(Signal::USR2).unwrap(),
    ];
    let counting = Arc::new(Counting(Default::default()));
    let waker = Waker::from(Arc::clone(&counting));
    let rounds = 100_000;
    for round in 0..rounds {
        let (signal, sub) = if round % 2 == 0 {
            (Signal::USR1, &mut subs[0])
        } else {
            (Signal::USR2, &mut subs[1])
        };
        assert!(
            poll_once(sub, &waker).is_pending(),
            "round {round}: ready before the send"
        );
        sigcore::raise(signal).unwrap();
        let deadline = std::time::Instant::now() + secs(10);
        let event = loop {
            // Spin on the wake count (the waker only counts) then poll.
            let seen = counting.0.load(std::sync::atomic::Ordering::SeqCst);
            if let Poll::Ready(event) = poll_once(sub, &waker) {
                break event;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "round {round}: never ready"
            );
            while counting.0.load(std::sync::atomic::Ordering::SeqCst) == seen
                && std::time::Instant::now() < deadline
            {
                std::hint::spin_loop();
            }
        };
        assert_eq!(event.unwrap().signal, signal, "round {round}");
    }
    assert!(
        counting.0.load(std::sync::atomic::Ordering::SeqCst) >= rounds,
        "every ready came with a wake"
    );
    println!("figure: {rounds} alternating rounds, pending before and ready after each");
}

/// The register-then-recheck race, aimed at: the sender's signal is timed to
/// land while the stream is being polled (the poll starts 0–6 µs after the
/// send, sweeping the window between "mailbox empty" and "waker registered").
/// A `Pending` must always be followed by a wake; an event sitting in the
/// mailbox with no wake coming is a lost wake-up.
fn the_poll_race_never_loses_a_wakeup() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let bus = block(&[Signal::USR1]);
    let mut sub = bus.subscribe(Signal::USR1).unwrap();
    let counting = Arc::new(Counting(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&counting));
    let go = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = 20_000;
    let sender = {
        let (go, stop) = (Arc::clone(&go), Arc::clone(&stop));
        thread::spawn(move || {
            let mut idle = 0u32;
            while !stop.load(Ordering::SeqCst) {
                if go.swap(false, Ordering::SeqCst) {
                    sigcore::raise(Signal::USR1).unwrap();
                    idle = 0;
                } else if idle < 10_000 {
                    // Spin, to send right on cue; yield once it takes long.
                    idle += 1;
                    std::hint::spin_loop();
                } else {
                    thread::yield_now();
                }
            }
        })
    };
    // Spinning threads on a loaded machine wait for the scheduler, so the
    // rounds stop after 20 s, however many were done (each is checked whole).
    let budget = std::time::Instant::now() + secs(20);
    let (mut raced, mut pending, mut done) = (0, 0, 0);
    for round in 0..rounds {
        if std::time::Instant::now() > budget {
            break;
        }
        done += 1;
        let wakes = counting.0.load(Ordering::SeqCst);
        go.store(true, Ordering::SeqCst);
        for _ in 0..(round % 64) * 8 {
            std::hint::spin_loop();
        }
        let first = poll_once(&mut sub, &waker);
        if first.is_ready() {
            raced += 1;
            continue;
        }
        pending += 1;
        let deadline = std::time::Instant::now() + secs(2);
        while counting.0.load(Ordering::SeqCst) == wakes && std::time::Instant::now() < deadline {
            thread::yield_now();
        }
        assert!(
            counting.0.load(Ordering::SeqCst) > wakes,
            "round {round}: Pending, then no wake for 2 s (queued: {})",
            sub.receiver().len()
        );
        let deadline = std::time::Instant::now() + secs(10);
        while poll_once(&mut sub, &waker).is_pending() {
            assert!(
                std::time::Instant::now() < deadline,
                "round {round}: woken but never ready"
            );
        }
    }
    stop.store(true, Ordering::SeqCst);
    sender.join().unwrap();
    assert!(done >= 500, "only {done} rounds in 20 s");
    println!("figure: {done} polls racing a send: {raced} found the event at once, {pending} pending then woken");
}

/// Lost wake-ups under load:/// Lost wake-ups under load: one task awaits 20,000 queued real-time signals
/// from another thread on a multi-thread runtime, through a small mailbox that
/// holds the rest in the kernel (`Overflow::Backpressure`): a lost wake-up is a
/// stall; every one arrives, in order.
fn no_lost_wakeups_under_a_stream() {
    let rt_signal = Signal::realtime(2).unwrap();
    let bus = block(&[rt_signal]);
    let sub = bus
        .subscription(rt_signal)
        .capacity(64)
        .overflow(sigbus::Overflow::Backpressure)
        .open()
        .unwrap();
    let count = 20_000;
    let sender = thread::spawn(move || {
        for value in 0..count {
            while let Err(sigcore::Error::QueueFull { .. }) =
                sigcore::sigqueue(std::process::id() as i32, rt_signal, value)
            {
                thread::yield_now();
            }
        }
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let received = rt.block_on(async move {
        tokio::spawn(async move {
            let mut expected = 0;
            while expected < count {
                let event = within(sub.recv_async()).await.unwrap();
                if let Some(value) = event.origin.value() {
                    assert_eq!(value, expected);
                    expected += 1;
                }
            }
            (expected, sub.stats().dropped)
        })
        .await
        .unwrap()
    });
    sender.join().unwrap();
    let (got, dropped) = received;
    assert_eq!((got, dropped), (count, 0));
}

/// Cancel safety: `recv_async` raced against a timer that often wins; an event
/// leaves the mailbox only when returned, so none is lost.
fn recv_async_is_cancel_safe() {
    let rt_signal = Signal::realtime(3).unwrap();
    let bus = block(&[rt_signal]);
    let sub = bus.subscription(rt_signal).capacity(4096).open().unwrap();
    let count = 2000;
    let sender = thread::spawn(move || {
        for value in 0..count {
            while let Err(sigcore::Error::QueueFull { .. }) =
                sigcore::sigqueue(std::process::id() as i32, rt_signal, value)
            {
                thread::yield_now();
            }
            if value % 50 == 0 {
                thread::sleep(Duration::from_micros(300));
            }
        }
    });
    let (got, cancelled) = current_thread().block_on(async {
        let (mut got, mut cancelled) = (0, 0);
        let deadline = tokio::time::Instant::now() + secs(30);
        while got < count {
            assert!(tokio::time::Instant::now() < deadline, "stalled at {got}");
            tokio::select! {
                event = sub.recv_async() => {
                    assert_eq!(event.unwrap().origin.value(), Some(got));
                    got += 1;
                }
                _ = tokio::time::sleep(Duration::from_micros(100)) => cancelled += 1,
            }
        }
        (got, cancelled)
    });
    sender.join().unwrap();
    assert_eq!(got, count);
    println!("figure: {count} events through a recv_async cancelled {cancelled} times, 0 lost");
}

/// The shutdown notice as a stream and as an awaitable.
fn the_shutdown_notice_is_awaitable() {
    let bus = block(&[Signal::INT, Signal::TERM]);
    let coordinator = bus.shutdown_coordinator(secs(5)).unwrap();
    let mut stream = coordinator.notice();
    let awaited = coordinator.notice();
    current_thread().block_on(async {
        sigcore::raise(Signal::TERM).unwrap();
        let notice = within(next(&mut stream)).await.unwrap();
        assert_eq!(notice.signal, Some(Signal::TERM));
        assert_eq!(
            within(awaited.recv_async()).await.unwrap().signal,
            Some(Signal::TERM)
        );
    });
    assert!(coordinator.wait().is_some());
    coordinator.disarm();
}

/// A stream ends when the bus shuts down, waking a task that waits.
fn a_waiting_stream_ends_at_shutdown() {
    let bus = block(&[Signal::USR1]);
    let mut usr1 = bus.subscribe(Signal::USR1).unwrap();
    let closer = {
        let bus = bus.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            bus.shutdown();
        })
    };
    current_thread().block_on(async {
        assert!(within(next(&mut usr1)).await.is_none());
    });
    closer.join().unwrap();
}

fn main() {
    sigtest::run(&[
        scenario!(signal_usr1),
        scenario!(signal_twice),
        scenario!(signal_notify_both),
        scenario!(signal_drop_signal),
        scenario!(signal_multi_rt),
        scenario!(several_runtimes_at_once),
        scenario!(endurance_100k_alternating),
        scenario!(the_poll_race_never_loses_a_wakeup),
        scenario!(no_lost_wakeups_under_a_stream),
        scenario!(recv_async_is_cancel_safe),
        scenario!(the_shutdown_notice_is_awaitable),
        scenario!(a_waiting_stream_ends_at_shutdown),
    ]);
}
