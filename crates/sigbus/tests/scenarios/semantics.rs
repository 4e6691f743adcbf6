//! Scenarios that pin down semantics an audit found unguarded: each one fails
//! when a small, plausible bug is planted in sigbus (issue 15; the bug each
//! one catches is named in its doc comment, "Catches: ...").

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, select};
use sigbus::{Actor, ActorExit, Bus, Context, Overflow, SenderFilter, Supervision};
use sigcore::{ProcSignals, Signal, SignalEvent};
use sigtest::{ms, scenario, Scenario, WaitOutcome};

fn me() -> i32 {
    std::process::id() as i32
}

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub const SCENARIOS: &[Scenario] = &[
    scenario!(same_user_means_my_uid_when_i_am_not_root).timeout(secs(30)),
    Scenario::new("_filtered_receiver", filtered_receiver).helper(),
    Scenario::new("_kill_as_nobody", kill_as_nobody).helper(),
    scenario!(a_coalescing_subscription_read_through_select_keeps_receiving),
    scenario!(a_signal_dropped_by_a_full_coalescing_mailbox_counts_once),
    scenario!(the_restart_limit_holds_and_its_window_slides),
    scenario!(nothing_reaches_a_subscription_after_unsubscribe_returns).timeout(secs(120)),
    scenario!(a_signal_racing_the_release_ends_in_an_event_or_its_default_action)
        .timeout(secs(300)),
    scenario!(a_signal_the_safety_net_catches_during_a_release_is_passed_on).timeout(secs(300)),
    Scenario::new("_release_racer", release_racer).helper(),
    scenario!(every_thread_that_subscribes_blocks_the_signal),
    scenario!(every_thread_that_subscribes_blocks_the_signal_as_nobody),
    scenario!(children_spawned_from_an_actor_get_normal_signals_as_nobody),
];

/// Waits until process `pid` has a handler for `signal` (serves it).
fn until_serving(pid: i32, signal: Signal) {
    assert!(
        sigtest::eventually(secs(10), || ProcSignals::of_process(pid)
            .is_ok_and(|s| s.caught.contains(signal))),
        "process {pid} never served {signal}"
    );
}

fn filter_signal() -> Signal {
    Signal::realtime(11).unwrap()
}

/// `SenderFilter::SameUser` means "the uid this process runs as", not "root":
/// a receiver running as `nobody` accepts `kill`s from `nobody` processes (its
/// own and another one) and refuses root's; `Root` does the opposite; the
/// unfiltered subscription sees all three. Running the whole suite as root
/// cannot tell the two filters apart, so the receiver drops to `nobody`.
///
/// Catches: `SameUser` behaving like `Root`.
fn same_user_means_my_uid_when_i_am_not_root() {
    if !sigtest::running_as_root() {
        println!("skipped: needs root to run a receiver as nobody and a sender as root");
        return;
    }
    let receiver = sigtest::run_helper("_filtered_receiver", &[]);
    // Its last subscription serves USR2: then every filtered one is open.
    until_serving(receiver.pid(), Signal::USR2);
    sigcore::kill(receiver.pid(), filter_signal()).unwrap(); // from root
    let (outcome, out, err) =
        sigtest::run_helper("_kill_as_nobody", &[("TARGET", receiver.pid().to_string())])
            .wait(secs(20));
    assert_eq!(outcome, WaitOutcome::Exited(0), "{out}{err}");
    let (outcome, out, err) = receiver.wait(secs(20));
    assert_eq!(outcome, WaitOutcome::Exited(0), "{out}{err}");
    print!("{out}");
}

/// Helper: as `nobody`, filtered subscriptions; sends itself one signal and
/// expects one from root and one from another `nobody` process.
fn filtered_receiver() {
    sigtest::become_nobody();
    let rt = filter_signal();
    sigcore::block([rt, Signal::USR2]).unwrap();
    let bus = Bus::new();
    let same = bus
        .subscription(rt)
        .name("same-user")
        .filter(SenderFilter::SameUser)
        .open()
        .unwrap();
    let root = bus
        .subscription(rt)
        .name("root")
        .filter(SenderFilter::Root)
        .open()
        .unwrap();
    let all = bus.subscription(rt).name("all").open().unwrap();
    let _ready = bus.subscribe(Signal::USR2).unwrap();
    sigcore::kill(me(), rt).unwrap();
    let mut uids: Vec<u32> = (0..3)
        .map(|_| {
            let event = all.recv_timeout(secs(15)).expect("three kills arrive");
            assert_eq!(event.origin.kind(), "user", "{event}");
            event.origin.uid().unwrap()
        })
        .collect();
    uids.sort();
    assert_eq!(uids, [0, sigtest::NOBODY, sigtest::NOBODY]);
    // `all` was opened last, so the filtered mailboxes have been offered all.
    let same_uids: Vec<u32> = std::iter::from_fn(|| same.try_recv().ok())
        .map(|e| e.origin.uid().unwrap())
        .collect();
    assert_eq!(
        same_uids,
        [sigtest::NOBODY, sigtest::NOBODY],
        "SameUser as nobody: nobody's kills, not root's"
    );
    assert_eq!(same.stats().refused, 1);
    let root_uids: Vec<u32> = std::iter::from_fn(|| root.try_recv().ok())
        .map(|e| e.origin.uid().unwrap())
        .collect();
    assert_eq!(root_uids, [0], "Root: root's kill only");
    assert_eq!(root.stats().refused, 2);
    println!("as nobody: SameUser took 2 (nobody), refused 1 (root); Root took 1, refused 2");
}

/// Helper: as `nobody`, `kill`s the process named by TARGET with the filter
/// signal.
fn kill_as_nobody() {
    let target: i32 = std::env::var("TARGET").unwrap().parse().unwrap();
    sigtest::become_nobody();
    sigcore::kill(target, filter_signal()).unwrap();
}

/// Read through the raw receiver in `select!` (the documented way to wait on
/// signals and other channels at once), without calling `taken`, a Coalesce
/// subscription still gets each new signal once the previous one was read.
///
/// Catches: Coalesce never noticing a read through `receiver()` (one event,
/// then nothing ever again).
fn a_coalescing_subscription_read_through_select_keeps_receiving() {
    sigcore::block(Signal::USR1).unwrap();
    let bus = Bus::new();
    let sub = bus
        .subscription(Signal::USR1)
        .overflow(Overflow::Coalesce)
        .capacity(4)
        .open()
        .unwrap();
    let (_work_tx, work) = bounded::<()>(1);
    for round in 0..20 {
        sigcore::raise(Signal::USR1).unwrap();
        select! {
            recv(sub.receiver()) -> event => {
                assert_eq!(event.unwrap().signal, Signal::USR1, "round {round}");
            }
            recv(work) -> _ => unreachable!(),
            default(secs(10)) => panic!("round {round}: the signal never arrived"),
        }
    }
    // The router counts a delivery just after the send: the reader may be first.
    assert!(sigtest::eventually(secs(10), || sub.stats().delivered == 20));
    assert_eq!(sub.stats().dropped, 0);
}

/// A Coalesce mailbox of one holding SIGUSR1 has no room for SIGUSR2: that
/// event is dropped and counted once; a second SIGUSR1 coalesces (counted
/// once too).
///
/// Catches: a drop for a full Coalesce mailbox counted twice.
fn a_signal_dropped_by_a_full_coalescing_mailbox_counts_once() {
    sigcore::block([Signal::USR1, Signal::USR2]).unwrap();
    let bus = Bus::new();
    let coalesce = bus
        .subscription([Signal::USR1, Signal::USR2])
        .overflow(Overflow::Coalesce)
        .capacity(1)
        .open()
        .unwrap();
    let witness = bus.subscribe([Signal::USR1, Signal::USR2]).unwrap();
    let mut dropped = Vec::new();
    for signal in [Signal::USR1, Signal::USR2, Signal::USR1] {
        sigcore::raise(signal).unwrap();
        witness.recv_timeout(secs(10)).expect("the witness gets it");
        dropped.push(coalesce.stats().dropped);
    }
    assert_eq!(dropped, [0, 1, 2], "drops counted after each signal");
    assert_eq!(coalesce.try_recv().unwrap().signal, Signal::USR1);
    sigcore::raise(Signal::USR2).unwrap();
    witness.recv_timeout(secs(10)).unwrap();
    assert_eq!(
        coalesce.recv_timeout(secs(10)).unwrap().signal,
        Signal::USR2,
        "room again"
    );
    assert_eq!(coalesce.stats().dropped, 2);
}

/// Panics on every event.
struct Doomed;

impl Actor for Doomed {
    type Msg = ();
    fn handle_signal(&mut self, _: &mut Context<()>, event: SignalEvent) {
        panic!("doomed by {}", event.signal);
    }
}

fn restarts_reach(actor: &sigbus::ActorRef<()>, n: u64) {
    assert!(
        sigtest::eventually(secs(10), || actor.stats().restarts == n),
        "restarts: {}, want {n}",
        actor.stats().restarts
    );
}

/// `Supervision::Restart { max, within }`: at most `max` restarts in any
/// window of `within`; one more panic stops the actor (`Failed`). The window
/// slides: once `within` has passed, restarts are allowed again. Driven by
/// targeted events, so the timing is ours: the window is crossed by sleeping
/// twice its length, never raced.
///
/// Catches: the limit never enforced; old restarts never expiring.
fn the_restart_limit_holds_and_its_window_slides() {
    // Silence the actors' expected panics, and only those.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let doomed = info
            .payload()
            .downcast_ref::<String>()
            .is_some_and(|m| m.starts_with("doomed by"));
        if !doomed {
            default_hook(info);
        }
    }));
    let bus = Bus::new();
    let limited = bus
        .actor("limited")
        .supervision(Supervision::Restart {
            max: 2,
            within: secs(600),
        })
        .spawn(|| Doomed)
        .unwrap();
    for n in 1..=2 {
        limited.signal(Signal::USR1).unwrap();
        restarts_reach(&limited, n);
        assert!(limited.is_running(), "restart {n} of 2 is allowed");
    }
    limited.signal(Signal::USR1).unwrap();
    assert!(
        sigtest::eventually(secs(10), || !limited.is_running()),
        "a third panic within the window must stop the actor"
    );
    assert_eq!(super::join_actor(&limited), Some(ActorExit::Failed));
    assert_eq!(limited.stats().restarts, 2);

    let window = ms(300);
    let sliding = bus
        .actor("sliding")
        .supervision(Supervision::Restart {
            max: 1,
            within: window,
        })
        .spawn(|| Doomed)
        .unwrap();
    sliding.signal(Signal::USR1).unwrap();
    restarts_reach(&sliding, 1);
    thread::sleep(window * 2); // the first restart leaves the window
    sliding.signal(Signal::USR1).unwrap();
    restarts_reach(&sliding, 2);
    assert!(
        sliding.is_running(),
        "the window slid: a restart is allowed"
    );
    bus.shutdown();
    assert_eq!(super::join_actor(&sliding), Some(ActorExit::Stopped));
}

/// "Once `unsubscribe` returns, nothing more is routed to it", raced hard: a
/// storm of real-time `kill`s keeps the router busy; three mailboxes with a
/// slow sender filter come before the leaving one in the route, so the router
/// spends a while between loading the table and offering to the leaving
/// mailbox, which is the window a missing wait would leave open. 300 rounds;
/// each counts what reached the leaving mailbox after `unsubscribe` returned,
/// up to an event the router accepted later (by then every earlier routing
/// is over). One late event fails it.
///
/// Catches: `unsubscribe` returning while the router may still deliver to it.
fn nothing_reaches_a_subscription_after_unsubscribe_returns() {
    let rt = Signal::realtime(12).unwrap();
    sigcore::block(rt).unwrap();
    let bus = Bus::new();
    let witness = bus
        .subscription(rt)
        .name("witness")
        .capacity(1 << 16)
        .open()
        .unwrap();
    // Verified senders whose pid is in none of 20,000: each check scans them all.
    let slow = SenderFilter::Pids((i32::MAX - 20_000..i32::MAX).collect());
    let _slow: Vec<_> = (0..3)
        .map(|i| {
            bus.subscription(rt)
                .name(format!("slow-{i}"))
                .filter(slow.clone())
                .capacity(1)
                .open()
                .unwrap()
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let storm = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let mut sent = 0u64;
            while !stop.load(Ordering::SeqCst) {
                for _ in 0..32 {
                    sigcore::kill(me(), rt).unwrap(); // a full queue loses it: fine
                }
                sent += 32;
                thread::sleep(Duration::from_micros(50));
            }
            sent
        })
    };
    let (rounds, mut late_rounds, mut late_events, mut routed) = (300, 0, 0, 0u64);
    for round in 0..rounds {
        let leaving = bus
            .subscription(rt)
            .name("leaving")
            .capacity(1 << 14)
            .open()
            .unwrap();
        let raw = leaving.receiver().clone();
        assert!(
            sigtest::eventually(secs(10), || !raw.is_empty()),
            "round {round}: the storm never reached the new subscription"
        );
        leaving.unsubscribe();
        let returned = Instant::now();
        let frozen = raw.len();
        let deadline = Instant::now() + secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = witness
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("round {round}: the storm stopped"));
            if event.at > returned {
                break;
            }
        }
        routed += frozen as u64;
        let late = raw.len() - frozen;
        if late > 0 {
            late_rounds += 1;
            late_events += late;
        }
    }
    stop.store(true, Ordering::SeqCst);
    let sent = sigtest::join_within(storm, secs(10));
    println!(
        "{rounds} rounds, {sent} kills, {routed} events before unsubscribe returned; \
         {late_events} after it, in {late_rounds} rounds"
    );
    assert_eq!(
        (late_rounds, late_events),
        (0, 0),
        "events reached a subscription after unsubscribe returned"
    );
}

/// How a release-race child ended.
#[derive(Default)]
struct RaceOutcomes {
    routed: u64,
    killed: u64,
    survived: u64,
    /// Lost on a thread that never blocked it: the safety net's handler ran
    /// and neither recorded nor passed it on.
    lost_by_the_net: Vec<String>,
    /// Lost some other way, or the child failed.
    failures: Vec<String>,
}

/// Runs `children` release-race children in `modes` (alternating).
fn race_the_release(children: usize, modes: &[&str]) -> RaceOutcomes {
    let mut outcomes = RaceOutcomes::default();
    for child in 0..children {
        let mode = modes[child % modes.len()];
        let (outcome, out, err) =
            sigtest::run_helper("_release_racer", &[("MODE", mode.to_owned())]).wait(secs(60));
        outcomes.routed += out
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("routed ")?.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let report = format!("child {child} ({mode}): {outcome:?}\n{out}{err}");
        match outcome {
            WaitOutcome::Signaled(libc::SIGUSR1) => outcomes.killed += 1,
            WaitOutcome::Exited(0) => outcomes.survived += 1,
            WaitOutcome::Exited(3) => outcomes.lost_by_the_net.push(report),
            _ => outcomes.failures.push(report),
        }
    }
    println!(
        "{children} children ({}): {} signals routed before the release, {} children killed \
         by a signal that came after it, {} survived every round; lost: {} in the safety \
         net's handler, {} otherwise",
        modes.join(", "),
        outcomes.routed,
        outcomes.killed,
        outcomes.survived,
        outcomes.lost_by_the_net.len(),
        outcomes.failures.len()
    );
    outcomes
}

/// Children race a signal against the release of its last subscription, 200
/// rounds each, until one dies of it: every signal must end as an event in
/// the subscription (read through a clone of its receiver) or, once released,
/// in its restored default action (the child dies by SIGUSR1). A child that
/// finds neither within 5 s has lost one. In half of the children a fresh
/// thread leaves SIGUSR1 unblocked each round, so the safety net takes part
/// in the race too. Every outcome is counted; one lost signal fails.
///
/// Catches: a signal arriving between the last unsubscribe and the release
/// silently swallowed, by the router (the mailbox unpublished before the
/// release) or by the waiter (a net record drained after the release not
/// passed on to the restored disposition).
fn a_signal_racing_the_release_ends_in_an_event_or_its_default_action() {
    let outcomes = race_the_release(24, &["blocked", "net"]);
    let lost: Vec<String> = outcomes
        .lost_by_the_net
        .into_iter()
        .chain(outcomes.failures)
        .collect();
    assert!(lost.is_empty(), "{}", lost.join("\n"));
}

/// The kernel commits to running sigcore's safety-net handler for a signal on
/// a thread that leaves it unblocked; before the handler looks, the waiter
/// releases the signal (restores SIG_DFL, then stops serving it). The handler
/// must pass the signal on to the restored disposition (the child dies of
/// it), not return with it (it was lost in 5–10 of 24 children before the
/// fix). Only net-mode children here, where the window is widest.
fn a_signal_the_safety_net_catches_during_a_release_is_passed_on() {
    let outcomes = race_the_release(24, &["net"]);
    let lost: Vec<String> = outcomes
        .lost_by_the_net
        .into_iter()
        .chain(outcomes.failures)
        .collect();
    assert!(lost.is_empty(), "{}", lost.join("\n"));
}

/// Helper for the release race. Prints `routed N` after each routed round
/// (its output up to a death is kept). In `net` mode each round starts with a
/// fresh thread that leaves SIGUSR1 unblocked (spawned while nothing blocks
/// it), so the kernel hands it the signal and the safety net catches it
/// there: a net catch also races the release, every round.
///
/// Exit codes: 0 every round routed; 3 a signal lost on the net thread (it
/// never blocked it: its handler ran and dropped it); 2 lost otherwise.
fn release_racer() {
    let net = std::env::var("MODE").as_deref() == Ok("net");
    let bus = Bus::new();
    let mut routed = 0;
    for round in 0..200u32 {
        let unprepared = net.then(|| {
            let (ready_tx, ready_rx) = bounded(1);
            let (done_tx, done_rx) = bounded::<()>(0);
            let thread = thread::spawn(move || {
                ready_tx.send(sigcore::ThreadHandle::current()).unwrap();
                let _ = done_rx.recv_timeout(secs(60));
            });
            let handle = ready_rx.recv_timeout(secs(10)).unwrap();
            (done_tx, thread, handle)
        });
        let sub = bus.subscribe(Signal::USR1).unwrap();
        let raw = sub.receiver().clone();
        // A rendezvous with a deadline (a Barrier has none).
        let (go_tx, go_rx) = bounded::<()>(0);
        let sender = {
            thread::spawn(move || {
                go_rx
                    .recv_timeout(secs(10))
                    .expect("the main thread is there");
                for _ in 0..(round % 13) * 40 {
                    std::hint::spin_loop();
                }
                sigcore::raise(Signal::USR1).unwrap();
            })
        };
        go_tx
            .send_timeout((), secs(10))
            .expect("the sender is there");
        for _ in 0..(round % 7) * 60 {
            std::hint::spin_loop();
        }
        drop(sub);
        sigtest::join_within(sender, secs(10));
        // Routed: it is in the mailbox now (routing is over once the drop
        // returns). Released first: the default action ends us any moment.
        let deadline = Instant::now() + secs(5);
        while raw.try_recv().is_err() {
            if Instant::now() >= deadline {
                lost(&bus, round, unprepared.as_ref().map(|u| u.2.tid()));
            }
            thread::sleep(ms(1));
        }
        if let Some((done_tx, thread, _)) = unprepared {
            drop(done_tx);
            sigtest::join_within(thread, secs(10));
        }
        routed += 1;
        println!("routed {routed}");
    }
}

/// Reports a lost signal and exits (3 with the known bug's signature, else 2).
fn lost(bus: &Bus, round: u32, net_thread: Option<i32>) -> ! {
    let unrouted = bus
        .stats()
        .signals
        .iter()
        .find(|s| s.signal == Signal::USR1)
        .map_or(0, |s| s.unrouted);
    println!("round {round}: lost (unrouted {unrouted})");
    println!(
        "  disposition {:?}, safety net {:?}",
        sigcore::disposition(Signal::USR1),
        sigcore::safety_net_stats()
    );
    let threads = ProcSignals::of_threads(me()).unwrap_or_default();
    for t in &threads {
        println!(
            "  thread {} {}: blocks USR1 {}, pending {} / {}",
            t.pid,
            t.name,
            t.blocked.contains(Signal::USR1),
            t.thread_pending,
            t.shared_pending
        );
    }
    let pending = threads.iter().any(|t| {
        t.thread_pending
            .union(t.shared_pending)
            .contains(Signal::USR1)
    });
    let net_thread_never_blocked = net_thread.is_some_and(|tid| {
        threads
            .iter()
            .any(|t| t.pid == tid && !t.blocked.contains(Signal::USR1))
    });
    if unrouted == 0 && !pending && net_thread_never_blocked {
        println!("  the known bug's signature: the net's handler returned early");
        std::process::exit(3);
    }
    std::process::exit(2);
}

/// A thread that subscribes to a signal the bus already serves blocks it too,
/// like the first subscriber: otherwise a process-directed instance may land
/// on it and be caught by the safety net (or, with no net, kill the process).
/// The thread exists before anything blocked the signal.
///
/// Catches: a second subscriber of an already-served signal left unblocked.
fn every_thread_that_subscribes_blocks_the_signal() {
    let bus = Bus::new();
    let (go_tx, go_rx) = bounded::<()>(1);
    let (mask_tx, mask_rx) = bounded(1);
    let (count_tx, count_rx) = bounded(1);
    let second = {
        let bus = bus.clone();
        thread::spawn(move || {
            go_rx.recv_timeout(secs(10)).unwrap();
            let sub = bus.subscribe(Signal::USR1).unwrap();
            mask_tx.send(sigcore::thread_mask().unwrap()).unwrap();
            let got = (0..50)
                .filter(|_| sub.recv_timeout(secs(10)).is_ok())
                .count();
            count_tx.send(got).unwrap();
        })
    };
    let first = bus.subscribe(Signal::USR1).unwrap();
    go_tx.send(()).unwrap();
    let mask = mask_rx.recv_timeout(secs(10)).unwrap();
    assert!(
        mask.contains(Signal::USR1),
        "the second subscriber does not block USR1: {mask}"
    );
    let caught_before = sigcore::safety_net_stats().caught;
    for _ in 0..50 {
        sigcore::raise(Signal::USR1).unwrap();
        first.recv_timeout(secs(10)).unwrap();
    }
    assert_eq!(count_rx.recv_timeout(secs(20)).unwrap(), 50);
    sigtest::join_within(second, secs(10));
    assert_eq!(
        sigcore::safety_net_stats().caught,
        caught_before,
        "no instance landed on a subscriber's thread"
    );
}

fn every_thread_that_subscribes_blocks_the_signal_as_nobody() {
    sigtest::rerun_as_nobody("every_thread_that_subscribes_blocks_the_signal", secs(30));
}

fn children_spawned_from_an_actor_get_normal_signals_as_nobody() {
    sigtest::rerun_as_nobody(
        "children_spawned_from_an_actor_get_normal_signals",
        secs(30),
    );
}
