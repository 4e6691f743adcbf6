//! Direct delivery: a subscription that is the only consumer of its signals
//! takes them in `recv` on the receiving thread (one wake-up), and every
//! guarantee of the two-hop path still holds: each event once, in order, to
//! every subscriber, through its filter; nothing left waiting in the kernel
//! when the reader goes away or gets company; no hang with a full signal
//! queue. Each scenario runs in a process of its own (see `sigtest`).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use sigbus::{Bus, Origin, SenderFilter, Subscription};
use sigcore::Signal;
use sigtest::scenario;

fn me() -> i32 {
    std::process::id() as i32
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `sigqueue` to this process, retrying while the signal queue is full.
fn queue(signal: Signal, value: i32) {
    let deadline = Instant::now() + secs(30);
    while sigcore::sigqueue(me(), signal, value).is_err() {
        assert!(Instant::now() < deadline, "the signal queue stayed full");
        thread::yield_now();
    }
}

/// Raises `signal` and waits until the bus accepted it: one at a time, as
/// standard signals coalesce while pending.
fn raise_and_wait_for_routing(bus: &Bus, signal: Signal) {
    let before = bus.stats().accepted(signal);
    sigcore::raise(signal).unwrap();
    let deadline = Instant::now() + secs(10);
    while bus.stats().accepted(signal) == before {
        assert!(Instant::now() < deadline, "not routed");
        thread::sleep(Duration::from_micros(100));
    }
}

/// A subscription read in `recv` gets its events on the receiving thread:
/// the statistics say every one was taken there, not by sigcore's waiter.
fn a_sole_subscriber_takes_its_signals_itself() {
    sigcore::block(Signal::USR1).unwrap();
    let bus = Bus::new();
    let usr1 = bus.subscribe(Signal::USR1).unwrap();
    let reader = thread::spawn(move || {
        for _ in 0..200 {
            let event = usr1.recv_timeout(secs(10)).expect("an event");
            assert_eq!(event.signal, Signal::USR1);
        }
        usr1.stats()
    });
    for _ in 0..200 {
        raise_and_wait_for_routing(&bus, Signal::USR1);
        // The reader is back in recv before the next one.
        thread::sleep(Duration::from_micros(200));
    }
    let stats = sigtest::join_within(reader, secs(30));
    assert_eq!(stats.delivered, 200);
    // A few may have arrived while the reader was between two waits (the
    // waiter takes them back after sigcore::DIRECT_GAP); nearly all came directly.
    assert!(
        stats.direct >= 150,
        "only {} of 200 taken on the receiving thread",
        stats.direct
    );
}

/// With `direct(false)` every event goes through the waiter.
fn direct_false_keeps_the_two_hop_path() {
    sigcore::block(Signal::USR1).unwrap();
    let bus = Bus::new();
    let usr1 = bus.subscription(Signal::USR1).direct(false).open().unwrap();
    let reader = thread::spawn(move || {
        for _ in 0..20 {
            usr1.recv_timeout(secs(10)).expect("an event");
        }
        usr1.stats()
    });
    for _ in 0..20 {
        raise_and_wait_for_routing(&bus, Signal::USR1);
    }
    let stats = sigtest::join_within(reader, secs(30));
    assert_eq!((stats.delivered, stats.direct), (20, 0));
}

/// Readers come and go mid-stream (a relay of threads, each taking a few
/// events and ending, some by timing out first) while 20,000 queued signals
/// flow: every value arrives once, in the order sent.
fn readers_that_come_and_go_lose_and_repeat_nothing() {
    let rt = Signal::realtime(3).unwrap();
    sigcore::block(rt).unwrap();
    let bus = Bus::new();
    let sub = Arc::new(bus.subscription(rt).capacity(100_000).open().unwrap());
    const TOTAL: i32 = 20_000;
    let taken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sender = {
        let taken = Arc::clone(&taken);
        thread::spawn(move || {
            for value in 0..TOTAL {
                // In blocks: before each block, everything sent is taken, so
                // that readers also wait for signals (and take them
                // directly), not only drain a full mailbox.
                if value % 256 == 0 {
                    let deadline = Instant::now() + secs(30);
                    while taken.load(Ordering::SeqCst) < value as usize {
                        assert!(Instant::now() < deadline, "the readers stopped");
                        thread::sleep(Duration::from_micros(200));
                    }
                    thread::sleep(ms(1));
                }
                queue(rt, value);
            }
        })
    };
    let mut seen = Vec::with_capacity(TOTAL as usize);
    let mut relay = 0;
    while seen.len() < TOTAL as usize {
        relay += 1;
        let take = (1 + relay % 37).min(TOTAL as usize - seen.len());
        let reader = thread::spawn({
            let sub = Arc::clone(&sub);
            let taken = Arc::clone(&taken);
            move || {
                let mut got = Vec::new();
                // Now and then a reader starts with a wait that times out.
                if relay % 5 == 0 {
                    if let Ok(event) = sub.recv_timeout(Duration::from_micros(50)) {
                        got.push(event.origin.value().unwrap());
                        taken.fetch_add(1, Ordering::SeqCst);
                    }
                }
                while got.len() < take {
                    match sub.recv_timeout(secs(10)) {
                        Ok(event) => {
                            got.push(event.origin.value().unwrap());
                            taken.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => break,
                    }
                }
                got
            }
        });
        let got = sigtest::join_within(reader, secs(60));
        assert!(
            !got.is_empty(),
            "reader {relay} got nothing after {} values: {:?}; pending {:?}",
            seen.len(),
            sub.stats(),
            sigcore::pending()
        );
        seen.extend(got);
    }
    sigtest::join_within(sender, secs(60));
    let expected: Vec<i32> = (0..TOTAL).collect();
    assert_eq!(seen.len(), expected.len(), "{relay} readers");
    assert!(seen == expected, "values out of order or repeated");
    let stats = sub.stats();
    assert_eq!(stats.dropped, 0);
    assert!(
        stats.direct > 0,
        "the direct path never took part: {stats:?}"
    );
}

/// Several threads wait in `recv` on one subscription at once: only one
/// takes the signals directly, the others wait on the mailbox; all events
/// arrive once.
fn concurrent_readers_of_one_subscription_share_the_events() {
    let rt = Signal::realtime(4).unwrap();
    sigcore::block(rt).unwrap();
    let bus = Bus::new();
    let sub = Arc::new(bus.subscription(rt).capacity(100_000).open().unwrap());
    const TOTAL: i32 = 10_000;
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (sub, done) = (Arc::clone(&sub), Arc::clone(&done));
            thread::spawn(move || {
                let mut got = Vec::new();
                while !done.load(Ordering::SeqCst) {
                    if let Ok(event) = sub.recv_timeout(ms(20)) {
                        got.push(event.origin.value().unwrap());
                    }
                }
                got
            })
        })
        .collect();
    for value in 0..TOTAL {
        queue(rt, value);
    }
    let deadline = Instant::now() + secs(30);
    while sub.stats().delivered < TOTAL as u64 || sub.stats().queued > 0 {
        assert!(Instant::now() < deadline, "{:?}", sub.stats());
        thread::sleep(ms(5));
    }
    done.store(true, Ordering::SeqCst);
    let mut all: Vec<i32> = Vec::new();
    for reader in readers {
        let got = sigtest::join_within(reader, secs(30));
        // Each reader saw its share in the order sent.
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "a reader saw them out of order"
        );
        all.extend(got);
    }
    all.sort_unstable();
    assert_eq!(all, (0..TOTAL).collect::<Vec<_>>());
}

/// A reader that stops calling `recv` does not keep its signals waiting in
/// the kernel: within about `sigcore::DIRECT_GAP` the waiter takes them back and
/// puts them in the mailbox.
fn a_reader_that_goes_away_leaves_nothing_in_the_kernel() {
    sigcore::block(Signal::USR2).unwrap();
    let bus = Bus::new();
    let usr2 = bus.subscribe(Signal::USR2).unwrap();
    // One direct receive, so that the lease is held.
    let usr2 = thread::spawn(move || {
        sigcore::raise(Signal::USR2).unwrap();
        let event = usr2.recv_timeout(secs(10)).unwrap();
        assert_eq!(event.signal, Signal::USR2);
        usr2
    });
    let usr2 = sigtest::join_within(usr2, secs(20));
    // Nobody waits now. A new signal must reach the mailbox anyway.
    sigcore::raise(Signal::USR2).unwrap();
    let deadline = Instant::now() + sigcore::DIRECT_GAP + secs(2);
    while usr2.stats().queued == 0 {
        assert!(
            Instant::now() < deadline,
            "still pending: {:?}",
            sigcore::pending().unwrap()
        );
        thread::sleep(ms(1));
    }
    assert!(usr2.try_recv().is_ok());
    assert!(!sigcore::pending().unwrap().contains(Signal::USR2));
}

/// A second subscriber of a signal that the first takes directly gets every
/// event through the waiter at once: the first gives the signal back as soon
/// as the second comes (it takes none directly from then on, so none waits
/// in the kernel for it to come back to `recv`); both get all of them.
fn a_second_subscriber_gets_its_events_at_once() {
    sigcore::block(Signal::HUP).unwrap();
    let bus = Bus::new();
    let first = Arc::new(bus.subscribe(Signal::HUP).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = Arc::clone(&stop);
        let first = Arc::clone(&first);
        thread::spawn(move || {
            let mut count = 0;
            while !stop.load(Ordering::SeqCst) {
                if first.recv_timeout(ms(50)).is_ok() {
                    count += 1;
                }
            }
            // What came just before the stop.
            while first.try_recv().is_ok() {
                count += 1;
            }
            count
        })
    };
    // Let the first one wait directly.
    thread::sleep(ms(100));
    let second = bus.subscribe(Signal::HUP).unwrap();
    let direct_before = first.stats().direct;
    for round in 0..50 {
        sigcore::raise(Signal::HUP).unwrap();
        second
            .recv_timeout(secs(10))
            .unwrap_or_else(|_| panic!("round {round}: no event"));
    }
    // Wall-clock bounds would measure the scheduler under load; what matters
    // is that the waiter, not the first reader, took every one.
    assert_eq!(
        first.stats().direct,
        direct_before,
        "the first kept taking the signal directly with company"
    );
    stop.store(true, Ordering::SeqCst);
    assert_eq!(sigtest::join_within(reader, secs(10)), 50);
}

/// The sender filter applies to what the reader takes itself: a kill from
/// another user is refused and counted, never returned.
fn the_filter_holds_on_the_direct_path() {
    if !sigtest::running_as_root() {
        println!("skipped: needs root to send as another user");
        return;
    }
    sigtest::let_nobody_signal_me();
    sigcore::block(Signal::USR1).unwrap();
    let bus = Bus::new();
    let root_only = bus
        .subscription(Signal::USR1)
        .filter(SenderFilter::Root)
        .open()
        .unwrap();
    let reader = thread::spawn(move || {
        let first = root_only.recv_timeout(secs(10));
        (first.map(|e| e.origin), root_only.stats())
    });
    thread::sleep(ms(50));
    let target = me();
    let forged = sigtest::run_helper("_kill_as_nobody", &[("TARGET", target.to_string())]);
    let (outcome, out, err) = forged.wait(secs(20));
    assert_eq!(outcome, sigtest::WaitOutcome::Exited(0), "{out}{err}");
    thread::sleep(ms(50));
    sigcore::raise(Signal::USR1).unwrap(); // root's own: accepted
    let (origin, stats) = sigtest::join_within(reader, secs(20));
    assert!(
        matches!(origin, Ok(Origin::User { uid: 0, .. })),
        "{origin:?}"
    );
    assert_eq!(stats.refused, 1, "{stats:?}");
}

fn kill_as_nobody() {
    let target: i32 = std::env::var("TARGET").unwrap().parse().unwrap();
    sigtest::become_nobody();
    sigcore::kill(target, Signal::USR1).unwrap();
}

/// With this user's signal queue full (no wake signal can be queued to a
/// thread), a reader is still woken: for a targeted event, and by a shutdown.
fn a_full_signal_queue_cannot_strand_a_reader() {
    let parking = Signal::realtime(5).unwrap();
    sigcore::block([parking, Signal::USR1]).unwrap();
    let bus = Bus::new();
    let usr1 = Arc::new(bus.subscribe(Signal::USR1).unwrap());
    // Fill the queue: a few hundred parked on this (main) thread.
    sigtest::limit_signal_queue(300);
    let parked = sigtest::park_until_full(me(), sigtest_tid(), parking.number());
    assert!(parked > 0);
    let reader = {
        let usr1 = Arc::clone(&usr1);
        thread::spawn(move || {
            let first = usr1.recv_timeout(secs(20)).map(|e| e.origin);
            let second = usr1.recv_timeout(secs(20));
            (first, second.is_err())
        })
    };
    thread::sleep(ms(100));
    bus.send_to(usr1.id(), Signal::USR1).unwrap();
    thread::sleep(ms(100));
    bus.shutdown();
    let (first, closed) = sigtest::join_within(reader, secs(30));
    assert!(matches!(first, Ok(Origin::Local { .. })), "{first:?}");
    assert!(closed, "the shutdown did not end the second wait");
    // Leave the queue as found.
    while sigcore::wait_timeout(parking, Duration::ZERO)
        .unwrap()
        .is_some()
    {}
}

fn sigtest_tid() -> i32 {
    sigcore::ThreadHandle::current().tid()
}

/// A targeted event (`send_to`, no kernel signal) reaches a reader that waits
/// for its signals directly, at once.
fn a_targeted_event_wakes_a_direct_reader() {
    sigcore::block(Signal::USR1).unwrap();
    let bus = Bus::new();
    let usr1 = Arc::new(bus.subscribe(Signal::USR1).unwrap());
    let reader = {
        let usr1 = Arc::clone(&usr1);
        thread::spawn(move || {
            let first = usr1.recv_timeout(secs(10)).map(|e| e.origin.kind());
            let second = usr1.recv_timeout(secs(10)).map(|e| e.origin.kind());
            (first, second, Instant::now())
        })
    };
    // A signal while it waits: taken directly, and the lease is held after.
    thread::sleep(ms(100));
    sigcore::raise(Signal::USR1).unwrap();
    thread::sleep(ms(200));
    let sent = Instant::now();
    bus.send_to(usr1.id(), Signal::USR1).unwrap();
    let (first, second, got_it) = sigtest::join_within(reader, secs(30));
    assert_eq!(first, Ok("user"));
    assert_eq!(second, Ok("local"));
    assert!(
        got_it.duration_since(sent) < secs(1),
        "woken only by its timeout: {:?}",
        got_it.duration_since(sent)
    );
    assert_eq!(usr1.stats().direct, 1, "{:?}", usr1.stats());
}

/// A signal the waiting thread raised to itself (`tgkill` to itself, libc
/// `raise`) reaches its own subscription: the thread takes its own pending
/// signals in the same wait (origin `tkill`).
fn a_thread_directed_signal_to_the_reader_is_delivered() {
    sigcore::block(Signal::USR2).unwrap();
    let bus = Bus::new();
    let usr2 = bus.subscribe(Signal::USR2).unwrap();
    let reader = thread::spawn(move || {
        // Establish the lease first.
        sigcore::raise(Signal::USR2).unwrap();
        usr2.recv_timeout(secs(10)).unwrap();
        sigcore::ThreadHandle::current().send(Signal::USR2).unwrap();
        usr2.recv_timeout(secs(10)).map(|e| e.origin.kind())
    });
    assert_eq!(sigtest::join_within(reader, secs(30)), Ok("tkill"));
}

/// Dropping a subscription that took its signal directly gives the signal
/// back: its default action applies again (this helper dies by SIGUSR1).
fn a_dropped_direct_subscription_releases_its_signal() {
    let (outcome, out, err) = sigtest::run_helper("_drop_then_raise", &[]).wait(secs(30));
    assert_eq!(
        outcome,
        sigtest::WaitOutcome::Signaled(libc::SIGUSR1),
        "{out}{err}"
    );
}

fn drop_then_raise() {
    if sigcore::disposition(Signal::USR1).unwrap() != sigcore::Disposition::Default {
        println!("SIGUSR1 did not start at its default");
        std::process::exit(0);
    }
    let bus = Bus::new();
    let usr1 = bus.subscribe(Signal::USR1).unwrap();
    sigcore::raise(Signal::USR1).unwrap();
    let first: Subscription = usr1;
    first.recv_timeout(secs(10)).unwrap();
    assert!(first.stats().direct <= 1);
    drop(first);
    sigcore::unblock(Signal::USR1).unwrap();
    sigcore::raise(Signal::USR1).unwrap();
    thread::sleep(secs(5));
    println!("survived SIGUSR1 after the release");
}

/// Every event with the same sequence in every subscriber, and all of them:
/// direct and routed subscriptions of different signals side by side.
fn direct_and_routed_subscribers_see_one_sequence() {
    let (a, b) = (Signal::realtime(6).unwrap(), Signal::realtime(7).unwrap());
    sigcore::block([a, b]).unwrap();
    let bus = Bus::new();
    let only_a = bus.subscription(a).capacity(10_000).open().unwrap();
    let both_1 = bus.subscription([a, b]).capacity(10_000).open().unwrap();
    let only_b = bus.subscription(b).capacity(10_000).open().unwrap();
    let read = |sub: Subscription, n: usize| {
        thread::spawn(move || {
            (0..n)
                .map(|_| sub.recv_timeout(secs(10)).expect("an event").seq)
                .collect::<BTreeSet<u64>>()
        })
    };
    const EACH: i32 = 2_000;
    let readers = [
        read(only_a, EACH as usize),
        read(both_1, 2 * EACH as usize),
        read(only_b, EACH as usize),
    ];
    for value in 0..EACH {
        queue(a, value);
        queue(b, value);
    }
    let [only_a, both, only_b] = readers.map(|r| sigtest::join_within(r, secs(60)));
    let union: BTreeSet<u64> = only_a.union(&only_b).copied().collect();
    assert_eq!(
        union, both,
        "the same events, with the same sequence numbers"
    );
    assert_eq!(union.len(), 2 * EACH as usize);
}

fn main() {
    sigtest::run(&[
        scenario!(a_sole_subscriber_takes_its_signals_itself),
        scenario!(direct_false_keeps_the_two_hop_path),
        scenario!(readers_that_come_and_go_lose_and_repeat_nothing).timeout(secs(120)),
        scenario!(concurrent_readers_of_one_subscription_share_the_events).timeout(secs(120)),
        scenario!(a_reader_that_goes_away_leaves_nothing_in_the_kernel),
        scenario!(a_second_subscriber_gets_its_events_at_once),
        scenario!(the_filter_holds_on_the_direct_path),
        sigtest::Scenario::new("_kill_as_nobody", kill_as_nobody).helper(),
        scenario!(a_full_signal_queue_cannot_strand_a_reader),
        scenario!(a_targeted_event_wakes_a_direct_reader),
        scenario!(a_thread_directed_signal_to_the_reader_is_delivered),
        scenario!(a_dropped_direct_subscription_releases_its_signal),
        sigtest::Scenario::new("_drop_then_raise", drop_then_raise).helper(),
        scenario!(direct_and_routed_subscribers_see_one_sequence).timeout(secs(120)),
        scenario!(a_refused_reader_costs_the_waiter_nothing_per_receive),
    ]);
}

/// Wake-ups of sigcore's waiter thread so far.
fn waiter_wake_ups() -> u64 {
    sigtest::wake_ups(sigtest::thread_named("sigcore-waiter").expect("a waiter thread"))
}

/// A subscription that may not take its signal directly (another bus serves
/// it too, so sigcore refuses the lease) asks once, not on every `recv`: a
/// refusal costs the waiter a round trip, and asking again per receive would
/// double its wake-ups. Counts the waiter's wake-ups over 200 events.
fn a_refused_reader_costs_the_waiter_nothing_per_receive() {
    sigcore::block(Signal::USR2).unwrap();
    let (a, b) = (Bus::new(), Bus::new());
    let mine = a.subscribe(Signal::USR2).unwrap();
    let _other = b.subscribe(Signal::USR2).unwrap();
    let rounds: usize = 200;
    let got = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let reader = {
        let got = Arc::clone(&got);
        thread::spawn(move || {
            for _ in 0..rounds {
                mine.recv_timeout(secs(10)).expect("an event");
                got.fetch_add(1, Ordering::SeqCst);
            }
            mine.stats().direct
        })
    };
    // The reader asks for the lease once and is refused.
    thread::sleep(ms(100));
    let before = waiter_wake_ups();
    for round in 0..rounds {
        sigcore::raise(Signal::USR2).unwrap();
        let deadline = Instant::now() + secs(10);
        while got.load(Ordering::SeqCst) <= round {
            assert!(Instant::now() < deadline, "round {round}: no event");
            thread::sleep(Duration::from_micros(50));
        }
    }
    let woken = waiter_wake_ups() - before;
    assert_eq!(sigtest::join_within(reader, secs(30)), 0, "taken directly");
    println!("figure: the waiter woke {woken} times for {rounds} events");
    assert!(
        woken < (rounds * 3 / 2) as u64,
        "the waiter woke {woken} times for {rounds} events: a round trip per receive"
    );
}
