//! sigbus against real signals. Each scenario runs in a fresh process (see the
//! `sigtest` crate), because signal masks and dispositions are process-wide.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{select, unbounded};
use sigbus::{
    Actor, ActorExit, Bus, Context, DeliverError, MailboxKind, Overflow, SecondSignal,
    SenderFilter, ShutdownNotice, Supervision,
};
use sigcore::{CommandExt, Disposition, Origin, ProcSignals, Signal, SignalEvent, SignalSet};
use sigtest::{ms, scenario, Scenario, WaitOutcome};

#[path = "scenarios/semantics.rs"]
mod semantics;

fn me() -> i32 {
    std::process::id() as i32
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `ActorRef::join` with a deadline: waits until the actor's thread has
/// stopped running, then joins it (which is then immediate).
fn join_actor<M: Send + 'static>(actor: &sigbus::ActorRef<M>) -> Option<ActorExit> {
    assert!(
        sigtest::eventually(secs(20), || !actor.is_running()),
        "actor {} still running after 20 s",
        actor.name()
    );
    actor.join()
}

fn four_workers_all_receive_one_kill() {
    sigcore::block(Signal::USR1).unwrap();
    let bus = Bus::new();
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let sub = bus.subscribe(Signal::USR1).unwrap();
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    let event = sub.recv_timeout(secs(10)).expect("every worker gets it");
                    (thread::current().name().unwrap().to_owned(), event)
                })
                .unwrap()
        })
        .collect();
    sigtest::join_within(
        thread::spawn(|| sigcore::kill(me(), Signal::USR1).unwrap()),
        secs(10),
    );
    let results: Vec<_> = workers
        .into_iter()
        .map(|w| sigtest::join_within(w, secs(20)))
        .collect();
    let seq = results[0].1.seq;
    for (i, (name, event)) in results.iter().enumerate() {
        assert_eq!(name, &format!("worker-{i}"));
        assert_eq!(event.signal, Signal::USR1);
        assert_eq!(
            event.origin,
            Origin::User {
                pid: me(),
                uid: sigcore::current_uid()
            }
        );
        assert_eq!(
            event.seq, seq,
            "every subscriber sees the same sequence number"
        );
    }
    assert_eq!(bus.stats().accepted(Signal::USR1), 1);
}

fn a_worker_selects_between_signals_and_work() {
    sigcore::block(Signal::HUP).unwrap();
    let bus = Bus::new();
    let hangups = bus.subscribe(Signal::HUP).unwrap();
    let (jobs_tx, jobs) = unbounded::<u32>();
    let worker = thread::spawn(move || {
        let (mut done, mut reloads) = (Vec::new(), 0);
        while done.len() < 3 || reloads < 1 {
            select! {
                recv(hangups.receiver()) -> event => {
                    assert_eq!(event.unwrap().signal, Signal::HUP);
                    reloads += 1;
                }
                recv(jobs) -> job => done.push(job.unwrap()),
                default(secs(10)) => panic!("nothing arrived"),
            }
        }
        (done, reloads)
    });
    jobs_tx.send(1).unwrap();
    sigcore::raise(Signal::HUP).unwrap();
    jobs_tx.send(2).unwrap();
    jobs_tx.send(3).unwrap();
    assert_eq!(sigtest::join_within(worker, secs(20)), (vec![1, 2, 3], 1));
}

fn unsubscribing_restores_the_default_action() {
    let (outcome, stdout, stderr) =
        sigtest::run_helper("_subscribe_drop_raise", &[]).wait(secs(20));
    assert_eq!(
        outcome,
        WaitOutcome::Signaled(libc::SIGUSR1),
        "{stdout}{stderr}"
    );
}

fn subscribe_drop_raise() {
    // Subscribing blocks SIGUSR1 in main; releasing it undoes that.
    let bus = Bus::new();
    let sub = bus.subscribe(Signal::USR1).unwrap();
    assert_eq!(
        sigcore::disposition(Signal::USR1).unwrap(),
        Disposition::Served
    );
    drop(sub);
    assert_eq!(
        sigcore::disposition(Signal::USR1).unwrap(),
        Disposition::Default
    );
    assert!(bus.routes().is_empty());
    sigcore::raise(Signal::USR1).unwrap();
    thread::sleep(secs(10));
}

/// Real-time signals queue, so a storm keeps its count: the stalled mailbox
/// drops what does not fit, the healthy one gets all of it, promptly.
fn a_stalled_subscriber_does_not_delay_a_healthy_one() {
    let rt = Signal::realtime(1).unwrap();
    sigcore::block(rt).unwrap();
    let bus = Bus::new();
    let stalled = bus
        .subscription(rt)
        .name("stalled")
        .capacity(4)
        .open()
        .unwrap();
    let healthy = bus
        .subscription(rt)
        .name("healthy")
        .capacity(1000)
        .open()
        .unwrap();
    let started = Instant::now();
    for value in 0..500 {
        sigcore::sigqueue(me(), rt, value).unwrap();
        let event = healthy
            .recv_timeout(secs(10))
            .expect("healthy subscriber starved");
        assert_eq!(event.origin.value(), Some(value));
    }
    // Ping-pong through a kernel round trip: 500 of them take milliseconds, not
    // seconds, if the stalled mailbox never holds the router up.
    assert!(started.elapsed() < secs(5), "took {:?}", started.elapsed());
    let stats = stalled.stats();
    assert_eq!((stats.delivered, stats.dropped, stats.queued), (4, 496, 4));
    assert_eq!(healthy.stats().dropped, 0);
}

fn overflow_policies_with_real_signals() {
    let rt = Signal::realtime(2).unwrap();
    sigcore::block([rt, Signal::USR1, Signal::USR2]).unwrap();
    let bus = Bus::new();
    let newest = bus
        .subscription(rt)
        .capacity(3)
        .overflow(Overflow::DropNewest)
        .open()
        .unwrap();
    let oldest = bus
        .subscription(rt)
        .capacity(3)
        .overflow(Overflow::DropOldest)
        .open()
        .unwrap();
    let witness = bus.subscription(rt).capacity(100).open().unwrap();
    for value in 0..10 {
        sigcore::sigqueue(me(), rt, value).unwrap();
        witness.recv_timeout(secs(10)).unwrap();
    }
    let values = |sub: &sigbus::Subscription| -> Vec<i32> {
        std::iter::from_fn(|| sub.try_recv().ok())
            .map(|e| e.origin.value().unwrap())
            .collect()
    };
    assert_eq!(values(&newest), [0, 1, 2]);
    assert_eq!(values(&oldest), [7, 8, 9]);
    assert_eq!(newest.stats().dropped, 7);
    assert_eq!(oldest.stats().dropped, 7);

    let coalesce = bus
        .subscription([Signal::USR1, Signal::USR2])
        .overflow(Overflow::Coalesce)
        .open()
        .unwrap();
    let witness = bus.subscribe([Signal::USR1, Signal::USR2]).unwrap();
    for signal in [Signal::USR1, Signal::USR1, Signal::USR2, Signal::USR1] {
        sigcore::raise(signal).unwrap();
        witness.recv_timeout(secs(10)).unwrap();
    }
    let got: Vec<Signal> = std::iter::from_fn(|| coalesce.try_recv().ok())
        .map(|e| e.signal)
        .collect();
    assert_eq!(got, [Signal::USR1, Signal::USR2]);
    assert_eq!(coalesce.stats().dropped, 2);
}

/// The sender runs as `nobody`; this process keeps root but makes its saved uid
/// `nobody` so that an unprivileged process may signal it.
fn a_sender_filter_refuses_another_uid() {
    if !sigtest::running_as_root() {
        println!("skipped: needs root to run a sender as nobody");
        return;
    }
    let rt = Signal::realtime(4).unwrap();
    sigcore::block(rt).unwrap();
    sigtest::let_nobody_signal_me();
    let bus = Bus::new();
    let mine = bus
        .subscription(rt)
        .filter(SenderFilter::SameUser)
        .name("same-user")
        .open()
        .unwrap();
    let any = bus.subscribe(rt).unwrap();
    let target = me().to_string();
    let (outcome, stdout, stderr) =
        sigtest::run_helper("_send_as_nobody", &[("SIGBUS_TARGET", target)]).wait(secs(20));
    assert_eq!(outcome, WaitOutcome::Exited(0), "{stdout}{stderr}");
    for value in 0..100 {
        let event = any
            .recv_timeout(secs(10))
            .expect("the unfiltered subscription gets it");
        assert_eq!(
            event.origin,
            Origin::Queue {
                pid: event.origin.pid().unwrap(),
                uid: sigtest::NOBODY,
                value
            }
        );
    }
    // nobody also forged 100 queued signals claiming pid 1, uid 0 (root): the
    // unfiltered subscription sees the claim, the filter does not believe it.
    for value in 0..100 {
        let event = any.recv_timeout(secs(10)).expect("forged ones arrive too");
        assert_eq!(
            event.origin,
            Origin::Queue {
                pid: 1,
                uid: 0,
                value: 1000 + value
            }
        );
    }
    // A kill (kernel-verified) from root itself is accepted; a sigqueue, even
    // from root, is not: its uid is only claimed.
    sigcore::kill(me(), rt).unwrap();
    let accepted = mine.recv_timeout(secs(10)).unwrap();
    assert_eq!(accepted.origin, Origin::User { pid: me(), uid: 0 });
    sigcore::sigqueue(me(), rt, 7).unwrap();
    any.recv_timeout(secs(10)).unwrap(); // the kill
    any.recv_timeout(secs(10)).unwrap(); // the sigqueue
    assert!(mine.try_recv().is_err());
    assert_eq!(mine.stats().refused, 201);
    assert_eq!(mine.stats().delivered, 1);
}

fn send_as_nobody() {
    let target: i32 = std::env::var("SIGBUS_TARGET").unwrap().parse().unwrap();
    sigtest::become_nobody();
    let rt = Signal::realtime(4).unwrap();
    for value in 0..100 {
        sigcore::sigqueue(target, rt, value).unwrap();
    }
    for value in 0..100 {
        sigtest::forge_sigqueue(target, rt.number(), 1, 0, 1000 + value).unwrap();
    }
}

struct Flaky {
    seen: Arc<AtomicU32>,
}

impl Actor for Flaky {
    type Msg = ();
    fn handle_signal(&mut self, _: &mut Context<()>, event: SignalEvent) {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if event.origin.value() == Some(-1) {
            panic!("event {n} is poison");
        }
    }
}

fn a_panicking_actor_is_restarted_and_keeps_receiving() {
    let rt = Signal::realtime(5).unwrap();
    sigcore::block(rt).unwrap();
    let bus = Bus::new();
    let seen = Arc::new(AtomicU32::new(0));
    let starts = Arc::new(AtomicU32::new(0));
    let (seen2, starts2) = (Arc::clone(&seen), Arc::clone(&starts));
    let flaky = bus
        .actor("flaky")
        .signals(rt)
        .supervision(Supervision::Restart {
            max: 10,
            within: secs(60),
        })
        .spawn(move || {
            starts2.fetch_add(1, Ordering::SeqCst);
            Flaky {
                seen: Arc::clone(&seen2),
            }
        })
        .unwrap();
    let steady = bus.subscribe(rt).unwrap();
    for value in [1, -1, 2, -1, 3] {
        sigcore::sigqueue(me(), rt, value).unwrap();
        steady.recv_timeout(secs(10)).unwrap();
    }
    let deadline = Instant::now() + secs(10);
    while seen.load(Ordering::SeqCst) < 5 && Instant::now() < deadline {
        thread::sleep(ms(5));
    }
    assert_eq!(
        seen.load(Ordering::SeqCst),
        5,
        "the actor handles every event, panics or not"
    );
    assert_eq!(
        starts.load(Ordering::SeqCst),
        3,
        "built once, then once per panic"
    );
    assert_eq!(flaky.stats().restarts, 2);
    assert!(flaky.is_running());
    let stats = bus.stats();
    let mailbox = stats.mailbox(flaky.id()).unwrap();
    assert_eq!((mailbox.kind, mailbox.restarts), (MailboxKind::Actor, 2));
    flaky.stop();
    assert_eq!(join_actor(&flaky), Some(ActorExit::Stopped));
}

fn a_supervision_limit_and_escalation_end_cleanly() {
    let rt = Signal::realtime(6).unwrap();
    sigcore::block(rt).unwrap();
    let bus = Bus::new();
    let seen = Arc::new(AtomicU32::new(0));
    let s = Arc::clone(&seen);
    let stopper = bus
        .actor("stops")
        .signals(rt)
        .supervision(Supervision::Stop)
        .spawn(move || Flaky {
            seen: Arc::clone(&s),
        })
        .unwrap();
    let s = Arc::clone(&seen);
    let escalator = bus
        .actor("escalates")
        .signals(rt)
        .supervision(Supervision::Escalate)
        .spawn(move || Flaky {
            seen: Arc::clone(&s),
        })
        .unwrap();
    let bystander = bus.subscribe(rt).unwrap();
    sigcore::sigqueue(me(), rt, -1).unwrap();
    assert_eq!(join_actor(&stopper), Some(ActorExit::Failed));
    assert_eq!(join_actor(&escalator), Some(ActorExit::Escalated));
    // The escalation shuts the bus down: the bystander's mailbox closes.
    let deadline = Instant::now() + secs(10);
    while !bus.is_closed() && Instant::now() < deadline {
        thread::sleep(ms(5));
    }
    assert!(bus.is_closed());
    while bystander.recv_timeout(secs(10)).is_ok() {}
    assert_eq!(bus.live_actors(), 0);
    // The bus is marked closed first; the escalation thread releases the signal
    // right after.
    let released = || sigcore::disposition(rt).unwrap() == Disposition::Default;
    assert!(sigtest::eventually(secs(5), released));
}

struct Worker {
    ignore_notice: bool,
    /// Takes this long to stop after the notice (slow cleanup).
    cleanup: Duration,
}

impl Actor for Worker {
    type Msg = ();
    fn handle_signal(&mut self, _: &mut Context<()>, _: SignalEvent) {}
    fn on_shutdown(&mut self, ctx: &mut Context<()>, notice: &ShutdownNotice) {
        println!("{} got the notice ({:?})", ctx.name(), notice.signal);
        if !self.ignore_notice {
            thread::sleep(self.cleanup);
            ctx.stop();
        }
    }
    fn post_stop(&mut self, ctx: &mut Context<()>) {
        println!("{} stopped", ctx.name());
    }
}

/// The child for the shutdown scenarios: three actors and a coordinator.
fn coordinated_child() {
    sigcore::block([Signal::INT, Signal::TERM, Signal::USR1]).unwrap();
    let stubborn = std::env::var("STUBBORN").is_ok();
    let grace = ms(std::env::var("GRACE_MS").unwrap().parse().unwrap());
    let cleanup = ms(std::env::var("CLEANUP_MS").map_or(0, |v| v.parse().unwrap()));
    let second = match std::env::var("SECOND") {
        Ok(policy) if policy == "ignore" => SecondSignal::Ignore,
        _ => SecondSignal::default(),
    };
    let bus = Bus::new();
    for i in 0..3 {
        bus.actor(format!("worker-{i}"))
            .signals(Signal::USR1)
            .spawn(move || Worker {
                ignore_notice: stubborn && i == 0,
                cleanup,
            })
            .unwrap();
    }
    let coordinator = bus
        .coordinator()
        .grace(grace)
        .second_signal(second)
        .start()
        .unwrap();
    let outcome = coordinator
        .wait_timeout(secs(60))
        .expect("a shutdown signal started the shutdown");
    println!(
        "clean shutdown after {:?} in {:?}",
        outcome.signal, outcome.took
    );
    assert_eq!(bus.live_actors(), 0);
}

/// Waits until `pid` has a handler installed for SIGTERM, i.e. serves it.
fn wait_until_serving(pid: i32, signal: Signal) {
    let deadline = Instant::now() + secs(10);
    while Instant::now() < deadline {
        if ProcSignals::of_process(pid).is_ok_and(|s| s.caught.contains(signal)) {
            return;
        }
        thread::sleep(ms(2));
    }
    panic!("child {pid} never served {signal}");
}

fn graceful_shutdown_on_sigterm_joins_actors_and_exits_0() {
    let child = sigtest::run_helper("_coordinated_child", &[("GRACE_MS", "5000".into())]);
    wait_until_serving(child.pid(), Signal::TERM);
    sigcore::kill(child.pid(), Signal::TERM).unwrap();
    let (outcome, stdout, stderr) = child.wait(secs(20));
    assert_eq!(outcome, WaitOutcome::Exited(0), "{stdout}{stderr}");
    for i in 0..3 {
        assert!(stdout.contains(&format!("worker-{i} stopped")), "{stdout}");
    }
    assert!(
        stdout.contains("clean shutdown after Some(SIGTERM"),
        "{stdout}"
    );
}

fn a_second_sigterm_kills_the_process_by_sigterm() {
    let child = sigtest::run_helper(
        "_coordinated_child",
        &[("GRACE_MS", "30000".into()), ("STUBBORN", "1".into())],
    );
    wait_until_serving(child.pid(), Signal::TERM);
    sigcore::kill(child.pid(), Signal::TERM).unwrap();
    // Past the default burst window (500 ms): a separate, second signal.
    thread::sleep(ms(700));
    sigcore::kill(child.pid(), Signal::TERM).unwrap();
    let (outcome, stdout, stderr) = child.wait(secs(20));
    assert_eq!(
        outcome,
        WaitOutcome::Signaled(libc::SIGTERM),
        "{stdout}{stderr}"
    );
    assert!(stdout.contains("worker-0 got the notice"), "{stdout}");
}

fn the_grace_period_running_out_kills_by_the_first_signal() {
    let child = sigtest::run_helper(
        "_coordinated_child",
        &[("GRACE_MS", "300".into()), ("STUBBORN", "1".into())],
    );
    wait_until_serving(child.pid(), Signal::INT);
    sigcore::kill(child.pid(), Signal::INT).unwrap();
    let (outcome, stdout, stderr) = child.wait(secs(20));
    assert_eq!(
        outcome,
        WaitOutcome::Signaled(libc::SIGINT),
        "{stdout}{stderr}"
    );
    assert!(
        stdout.contains("worker-1 stopped"),
        "the others stopped cleanly: {stdout}"
    );
}

/// Ten SIGINTs at once (a terminal's process group, a supervisor or a script
/// signalling every process) are one request: a graceful shutdown, exit 0, in
/// every one of 10 runs. (Every INT after the first used to count as "second".)
fn a_burst_of_sigints_shuts_down_gracefully() {
    for round in 0..10 {
        let child = sigtest::run_helper(
            "_coordinated_child",
            &[("GRACE_MS", "5000".into()), ("CLEANUP_MS", "100".into())],
        );
        wait_until_serving(child.pid(), Signal::INT);
        for _ in 0..10 {
            sigcore::kill(child.pid(), Signal::INT).unwrap();
        }
        let (outcome, stdout, stderr) = child.wait(secs(20));
        assert_eq!(
            outcome,
            WaitOutcome::Exited(0),
            "round {round}: {stdout}{stderr}"
        );
    }
}

/// `SecondSignal::Ignore` (Go's `NotifyContext`): a later second signal does not
/// cut a slow but finite cleanup short.
fn the_ignore_policy_lets_a_slow_cleanup_finish() {
    let child = sigtest::run_helper(
        "_coordinated_child",
        &[
            ("GRACE_MS", "10000".into()),
            ("CLEANUP_MS", "1500".into()),
            ("SECOND", "ignore".into()),
        ],
    );
    wait_until_serving(child.pid(), Signal::TERM);
    sigcore::kill(child.pid(), Signal::TERM).unwrap();
    thread::sleep(ms(700));
    sigcore::kill(child.pid(), Signal::TERM).unwrap();
    let (outcome, stdout, stderr) = child.wait(secs(20));
    assert_eq!(outcome, WaitOutcome::Exited(0), "{stdout}{stderr}");
    assert!(stdout.contains("clean shutdown"), "{stdout}");
}

/// After `wait` returns, `main` drains; the escape hatch is still armed, so a
/// second Ctrl-C there ends the process at once, by that signal.
fn a_second_signal_during_the_drain_ends_the_process() {
    let marker = std::env::temp_dir().join(format!("sigbus-drain-{}", me()));
    let child = sigtest::run_helper(
        "_draining_child",
        &[("MARKER", marker.to_string_lossy().into_owned())],
    );
    wait_until_serving(child.pid(), Signal::TERM);
    sigcore::kill(child.pid(), Signal::TERM).unwrap();
    assert!(
        sigtest::eventually(secs(10), || marker.exists()),
        "the child never started draining"
    );
    thread::sleep(ms(600)); // past the burst window
    let sent = Instant::now();
    sigcore::kill(child.pid(), Signal::TERM).unwrap();
    let (outcome, stdout, stderr) = child.wait(secs(30));
    let _ = std::fs::remove_file(&marker);
    assert_eq!(
        outcome,
        WaitOutcome::Signaled(libc::SIGTERM),
        "{stdout}{stderr}"
    );
    assert!(
        sent.elapsed() < secs(5),
        "took {:?}: the drain (20 s) was not cut short",
        sent.elapsed()
    );
    assert!(!stdout.contains("drained"), "{stdout}");
}

/// The child for the drain scenario: one actor, a coordinator, then a long
/// drain in `main` after the clean shutdown.
fn draining_child() {
    sigcore::block([Signal::INT, Signal::TERM]).unwrap();
    let bus = Bus::new();
    bus.actor("worker")
        .signals(Signal::USR1)
        .spawn_fn(|_, _| {})
        .unwrap();
    let coordinator = bus.shutdown_coordinator(secs(5)).unwrap();
    coordinator
        .wait_timeout(secs(60))
        .expect("a clean shutdown");
    std::fs::write(std::env::var("MARKER").unwrap(), "draining").unwrap();
    thread::sleep(secs(20));
    println!("drained");
}

/// Threads that are not actors get the notice too, and can select over it.
fn plain_threads_get_the_shutdown_notice() {
    sigcore::block([Signal::INT, Signal::TERM]).unwrap();
    let bus = Bus::new();
    let coordinator = bus.shutdown_coordinator(secs(5)).unwrap();
    let (work_tx, work) = unbounded::<u32>();
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let notice = coordinator.notice();
            let work = work.clone();
            thread::spawn(move || loop {
                select! {
                    recv(work) -> _ => {},
                    recv(notice.receiver()) -> n => return n.unwrap().signal,
                }
            })
        })
        .collect();
    work_tx.send(1).unwrap();
    sigcore::raise(Signal::TERM).unwrap();
    for t in threads {
        assert_eq!(sigtest::join_within(t, secs(20)), Some(Signal::TERM));
    }
    assert!(coordinator.wait_timeout(secs(20)).is_some());
    // A late receiver gets it at once.
    assert_eq!(
        coordinator.notice().recv_timeout(secs(1)).unwrap().signal,
        Some(Signal::TERM)
    );
    coordinator.disarm();
}

/// Keeping only the notice (the coordinator itself dropped at once, as in
/// `bus.shutdown_coordinator(grace)?.notice()`) starts no shutdown: the bus
/// stays up until a signal comes, and then the notice says which.
fn a_dropped_coordinator_starts_no_shutdown() {
    sigcore::block([Signal::INT, Signal::TERM]).unwrap();
    let bus = Bus::new();
    let notice = bus.shutdown_coordinator(secs(5)).unwrap().notice();
    let work = bus.subscribe(Signal::USR1).unwrap();
    assert!(
        notice.recv_timeout(ms(300)).is_err(),
        "no notice without a signal"
    );
    assert!(!bus.is_closed(), "the bus must stay up");
    sigcore::raise(Signal::USR1).unwrap();
    assert!(work.recv_timeout(secs(10)).is_ok(), "the bus still routes");
    sigcore::raise(Signal::TERM).unwrap();
    assert_eq!(
        notice.recv_timeout(secs(10)).unwrap().signal,
        Some(Signal::TERM)
    );
    let deadline = Instant::now() + secs(10);
    while !bus.is_closed() {
        assert!(Instant::now() < deadline, "the shutdown never finished");
        thread::sleep(ms(1));
    }
}

fn subscribe_in_a_helper(signal: Signal) -> sigbus::Subscription {
    let bus = Bus::new();
    bus.subscribe(signal).unwrap()
    // the only Bus handle is dropped here
}

/// A helper builds the bus and returns only the subscription: it keeps its
/// routing (no start-up block here, so a lost routing would let SIGUSR1 kill
/// the process), and dropping it releases the signal as found.
fn a_subscription_outlives_its_bus_handle() {
    let found = sigcore::disposition(Signal::USR1).unwrap();
    let sub = subscribe_in_a_helper(Signal::USR1);
    assert_eq!(
        sigcore::disposition(Signal::USR1).unwrap(),
        Disposition::Served
    );
    for _ in 0..3 {
        sigcore::raise(Signal::USR1).unwrap();
        assert_eq!(sub.recv_timeout(secs(10)).unwrap().signal, Signal::USR1);
    }
    drop(sub);
    assert_eq!(sigcore::disposition(Signal::USR1).unwrap(), found);
    assert!(
        !sigcore::thread_mask().unwrap().contains(Signal::USR1),
        "the subscribing thread's block is undone"
    );
}

/// A running actor keeps its bus alive after every handle is dropped; a clone
/// of the handle still shuts everything down.
fn an_actor_outlives_its_bus_handles() {
    sigcore::block(Signal::USR2).unwrap();
    let bus = Bus::new();
    let (tx, rx) = unbounded();
    let actor = bus
        .actor("keeper")
        .signals(Signal::USR2)
        .spawn_fn(move |_, event: SignalEvent| tx.send(event.signal).unwrap())
        .unwrap();
    let other = bus.clone();
    drop(bus);
    sigcore::raise(Signal::USR2).unwrap();
    assert_eq!(rx.recv_timeout(secs(10)).unwrap(), Signal::USR2);
    drop(other);
    sigcore::raise(Signal::USR2).unwrap();
    assert_eq!(
        rx.recv_timeout(secs(10)).unwrap(),
        Signal::USR2,
        "no handle left: the actor still gets its signal"
    );
    assert!(actor.is_running());
    actor.stop();
    assert_eq!(join_actor(&actor), Some(ActorExit::Stopped));
    assert!(
        sigtest::eventually(secs(5), || sigcore::disposition(Signal::USR2).unwrap()
            != Disposition::Served),
        "the last holder gone, the signal is released"
    );
}

fn targeted_delivery_reaches_only_its_target() {
    let bus = Bus::new();
    let (tx, rx) = unbounded();
    let actors: Vec<_> = (0..3)
        .map(|i| {
            let tx = tx.clone();
            bus.actor(format!("actor-{i}"))
                .signals(Signal::USR2)
                .spawn_fn(move |ctx, event| tx.send((ctx.name().to_owned(), event)).unwrap())
                .unwrap()
        })
        .collect();
    let sub = bus.subscribe(Signal::USR2).unwrap();
    let sender = thread::Builder::new()
        .name("sender".into())
        .spawn({
            let target = actors[1].clone();
            move || target.signal(Signal::USR2).unwrap()
        })
        .unwrap();
    sigtest::join_within(sender, secs(10));
    let (name, event) = rx.recv_timeout(secs(10)).unwrap();
    assert_eq!(name, "actor-1");
    assert_eq!(
        event.origin,
        Origin::Local {
            sender: Some(Arc::from("sender"))
        }
    );
    assert!(rx.recv_timeout(ms(200)).is_err(), "nobody else got it");
    assert!(sub.try_recv().is_err());
    bus.send_to(sub.id(), Signal::HUP).unwrap();
    assert_eq!(sub.recv_timeout(secs(10)).unwrap().signal, Signal::HUP);
    assert!(
        sigcore::pending().unwrap().is_empty(),
        "no process signal state touched"
    );
    let gone = sub.id();
    drop(sub);
    assert_eq!(
        bus.send_to(gone, Signal::USR2),
        Err(DeliverError::NoSuchTarget)
    );
    bus.shutdown();
}

fn shutdown_leaves_mask_and_dispositions_as_found() {
    let mask_before = sigcore::thread_mask().unwrap();
    let set = SignalSet::from([Signal::USR1, Signal::HUP, Signal::TERM]);
    // As found, not "default": under nohup SIGHUP starts ignored.
    let found: Vec<_> = set
        .iter()
        .map(|s| sigcore::disposition(s).unwrap())
        .collect();
    let bus = Bus::new();
    let sub = bus.subscribe(set).unwrap();
    let actor = bus
        .actor("a")
        .signals(Signal::USR1)
        .spawn_fn(|_, _| {})
        .unwrap();
    // Bounded: a shutdown that fails to wake it times out instead of hanging.
    let reader = thread::spawn(move || sub.recv_timeout(secs(30)));
    assert!(sigcore::thread_mask()
        .unwrap()
        .is_subset(mask_before.union(set)));
    bus.shutdown();
    assert!(
        sigtest::join_within(reader, secs(40)) == Err(sigbus::RecvTimeoutError::Closed),
        "a blocked recv wakes with an error"
    );
    assert!(!actor.is_running());
    assert_eq!(sigcore::thread_mask().unwrap(), mask_before);
    for (signal, found) in set.iter().zip(found) {
        assert_eq!(sigcore::disposition(signal).unwrap(), found, "{signal}");
    }
    assert!(bus.subscribe(Signal::USR1).is_err());
    let gone = || {
        let names = sigtest::thread_names();
        !names.iter().any(|n| n == "sigcore-waiter" || n == "a")
    };
    assert!(
        sigtest::eventually(secs(5), gone),
        "{:?}",
        sigtest::thread_names()
    );
}

/// A `tgkill` (what libc `raise` does inside the actor) aimed at an actor's thread
/// is not stranded: the actor takes it, origin `tkill`.
fn a_thread_directed_signal_to_an_actor_is_delivered() {
    sigcore::block(Signal::USR2).unwrap();
    let bus = Bus::new();
    let (tx, rx) = unbounded();
    let actor = bus
        .actor("target")
        .signals(Signal::USR2)
        .spawn_fn(move |_, event| tx.send(event).unwrap())
        .unwrap();
    let deadline = Instant::now() + secs(5);
    while actor.tid() == 0 && Instant::now() < deadline {
        thread::sleep(ms(1));
    }
    sigtest::tgkill(actor.tid(), Signal::USR2.number());
    let event = rx
        .recv_timeout(secs(10))
        .expect("the stranded signal reaches the actor");
    assert_eq!(
        event.origin,
        Origin::Tkill {
            pid: me(),
            uid: sigcore::current_uid()
        }
    );
    assert!(rx.recv_timeout(ms(100)).is_err());
    bus.shutdown();
}

fn routes_and_stats_describe_the_bus() {
    let bus = Bus::new();
    let usr1 = bus.subscription(Signal::USR1).name("one").open().unwrap();
    let _both = bus
        .subscription([Signal::USR1, Signal::HUP])
        .name("both")
        .open()
        .unwrap();
    let routes = bus.routes();
    assert_eq!(routes.len(), 2);
    assert_eq!(routes[0].signal, Signal::HUP);
    let names: Vec<&str> = routes[1].listeners.iter().map(|l| &*l.name).collect();
    assert_eq!(names, ["one", "both"]);
    sigcore::raise(Signal::USR1).unwrap();
    usr1.recv_timeout(secs(10)).unwrap();
    let stats = bus.stats();
    assert_eq!(stats.accepted(Signal::USR1), 1);
    assert_eq!(stats.mailbox(usr1.id()).unwrap().delivered, 1);
    assert_eq!(stats.mailboxes.len(), 2);
}

fn forbidden_signals_are_refused() {
    let bus = Bus::new();
    for signal in [Signal::KILL, Signal::STOP, Signal::SEGV] {
        let err = bus.subscribe(signal).unwrap_err();
        assert!(err.to_string().contains("cannot handle"), "{err}");
    }
    assert!(bus.routes().is_empty());
}

fn a_huge_grace_period_and_an_early_shutdown_are_handled() {
    let bus = Bus::new();
    let actor = bus.actor("a").spawn_fn(|_, _| {}).unwrap();
    let coordinator = bus.shutdown_coordinator(Duration::MAX).unwrap();
    coordinator.trigger();
    let outcome = coordinator
        .wait_timeout(secs(20))
        .expect("a triggered shutdown finishes");
    assert_eq!(outcome.signal, None);
    assert_eq!(join_actor(&actor), Some(ActorExit::Stopped));
    assert!(bus.is_closed());

    let other = Bus::new();
    let coordinator = other.shutdown_coordinator(secs(5)).unwrap();
    other.shutdown();
    let started = Instant::now();
    assert_eq!(
        coordinator.wait_timeout(secs(20)),
        None,
        "no shutdown signal ever came"
    );
    assert!(
        started.elapsed() < secs(10),
        "wait did not return at once after the shutdown"
    );
}

/// An actor takes a thread-directed signal stranded on its thread, but never a
/// process-wide instance of the same signal, which belongs to the waiter (or,
/// here, stays pending for the next registration).
fn an_actor_takes_only_its_own_stranded_signals() {
    let signal = Signal::USR2;
    // An inherited SIG_IGN (a parent's choice) makes the kernel-like discard
    // the expected outcome instead of a counted drop.
    let ignored = sigcore::disposition(signal).unwrap() == Disposition::Ignore;
    sigcore::block(signal).unwrap();
    let bus = Bus::new();
    let actor = bus.actor("idle").spawn_fn(|_, _| {}).unwrap();
    assert!(sigtest::eventually(secs(5), || actor.tid() != 0));
    sigcore::raise(signal).unwrap(); // process-wide; nothing serves it
    sigtest::tgkill(actor.tid(), signal.number());
    actor.signal(Signal::USR1).unwrap(); // wake it: it looks after each event
    let own_taken = || {
        ProcSignals::of_thread(me(), actor.tid()).is_ok_and(|t| !t.thread_pending.contains(signal))
    };
    assert!(sigtest::eventually(secs(5), own_taken));
    let expected = if ignored { 0 } else { 1 };
    assert!(sigtest::eventually(secs(5), || actor.stats().dropped == expected));
    let status = ProcSignals::of_process(me()).unwrap();
    assert!(
        status.shared_pending.contains(signal),
        "the process-wide instance is still pending"
    );
    bus.shutdown();
}

/// A child spawned with `reset_signals` from an actor's thread (which sigcore
/// started with every signal blocked) gets the program's own mask back, not 57
/// blocked signals; and with the bus serving SIGPIPE, SIGPIPE at its default,
/// as `std::process::Command` gives it.
fn children_spawned_from_an_actor_get_normal_signals() {
    let program_mask = sigcore::thread_mask().unwrap();
    sigcore::block([Signal::USR1, Signal::PIPE]).unwrap();
    let bus = Bus::new();
    let _pipe = bus.subscribe(Signal::PIPE).unwrap();
    let (tx, rx) = unbounded();
    let actor = bus
        .actor("spawner")
        .signals(Signal::USR1)
        .spawn_fn(move |_, _| {
            let child = std::process::Command::new("sleep")
                .arg("30")
                .reset_signals()
                .spawn()
                .unwrap();
            tx.send(child).unwrap();
        })
        .unwrap();
    assert!(sigtest::eventually(secs(5), || actor.tid() != 0));
    sigcore::raise(Signal::USR1).unwrap();
    let mut child = rx.recv_timeout(secs(10)).unwrap();
    let status = ProcSignals::of_process(child.id() as i32).unwrap();
    child.kill().unwrap();
    sigtest::wait_within(&mut child, secs(10));
    assert_eq!(status.blocked, program_mask, "the child's mask");
    assert!(
        !status.ignored.contains(Signal::PIPE),
        "SIGPIPE must be at its default"
    );
    bus.shutdown();
}

fn main() {
    let scenarios = [
        scenario!(four_workers_all_receive_one_kill),
        scenario!(a_worker_selects_between_signals_and_work),
        scenario!(unsubscribing_restores_the_default_action),
        Scenario::new("_subscribe_drop_raise", subscribe_drop_raise).helper(),
        scenario!(a_stalled_subscriber_does_not_delay_a_healthy_one),
        scenario!(overflow_policies_with_real_signals),
        scenario!(a_sender_filter_refuses_another_uid),
        Scenario::new("_send_as_nobody", send_as_nobody).helper(),
        scenario!(a_panicking_actor_is_restarted_and_keeps_receiving),
        scenario!(a_supervision_limit_and_escalation_end_cleanly),
        scenario!(graceful_shutdown_on_sigterm_joins_actors_and_exits_0),
        scenario!(a_second_sigterm_kills_the_process_by_sigterm),
        scenario!(the_grace_period_running_out_kills_by_the_first_signal),
        scenario!(a_burst_of_sigints_shuts_down_gracefully),
        scenario!(the_ignore_policy_lets_a_slow_cleanup_finish),
        scenario!(a_second_signal_during_the_drain_ends_the_process),
        Scenario::new("_draining_child", draining_child).helper(),
        scenario!(plain_threads_get_the_shutdown_notice),
        scenario!(a_dropped_coordinator_starts_no_shutdown),
        scenario!(a_subscription_outlives_its_bus_handle),
        scenario!(an_actor_outlives_its_bus_handles),
        Scenario::new("_coordinated_child", coordinated_child).helper(),
        scenario!(targeted_delivery_reaches_only_its_target),
        scenario!(shutdown_leaves_mask_and_dispositions_as_found),
        scenario!(a_thread_directed_signal_to_an_actor_is_delivered),
        scenario!(routes_and_stats_describe_the_bus),
        scenario!(forbidden_signals_are_refused),
        scenario!(a_huge_grace_period_and_an_early_shutdown_are_handled),
        scenario!(an_actor_takes_only_its_own_stranded_signals),
        scenario!(children_spawned_from_an_actor_get_normal_signals),
    ];
    sigtest::run(&[&scenarios[..], semantics::SCENARIOS].concat());
}
