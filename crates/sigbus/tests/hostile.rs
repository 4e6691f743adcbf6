//! The hostile local process and the unlucky deployment: every attack the
//! hardening review found, each as a scenario in a process of its own (see
//! `sigtest`). Each one fails on a library without the matching defence.
//! RELIABILITY.md, "Hostile local process", quotes the `figure:` lines.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crossbeam_channel::unbounded;
use sigbus::{Bus, SenderFilter};
use sigcore::{Origin, Signal, SignalEvent};
use sigtest::{ms, scenario, Scenario, WaitOutcome};

fn me() -> i32 {
    std::process::id() as i32
}

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
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {}", record.level(), record.args()));
    }
    fn flush(&self) {}
}

fn capture_logs() -> &'static Capture {
    let logs: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
    log::set_logger(logs).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    logs
}

/// Waits until an actor's thread has reported its id.
fn tid_of<M: Send + 'static>(actor: &sigbus::ActorRef<M>) -> i32 {
    assert!(sigtest::eventually(secs(5), || actor.tid() != 0));
    actor.tid()
}

/// `read` system calls this process has made so far (`syscr` in /proc/self/io):
/// a /proc read costs several, a routed signal one (the waiter's signalfd).
fn read_calls() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap();
    io.lines()
        .find_map(|l| l.strip_prefix("syscr: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Design fact 15 played as a forger: `F_SETOWN` + `F_SETSIG` make the kernel
/// deliver SIGHUP with a `POLL_IN` code and no sender. It reads as fd readiness,
/// and every identity filter refuses it (and counts it), whether the forger is
/// another process of our uid or, when we run as root, `nobody`.
fn f_setsig_cannot_forge_the_kernel() {
    sigcore::block(Signal::HUP).unwrap();
    let bus = Bus::new();
    let any = bus.subscribe(Signal::HUP).unwrap();
    let filters = [
        SenderFilter::Root,
        SenderFilter::SameUser,
        SenderFilter::Uids(vec![sigcore::current_uid(), 0, sigtest::NOBODY]),
        SenderFilter::KernelOnly,
        SenderFilter::Pids(vec![1, 65]),
    ];
    let guarded: Vec<_> = filters
        .iter()
        .map(|f| {
            bus.subscription(Signal::HUP)
                .filter(f.clone())
                .open()
                .unwrap()
        })
        .collect();
    let mut forgers = vec![("same-user", "_provoke_sigio")];
    if sigtest::running_as_root() {
        sigtest::let_nobody_signal_me();
        forgers.push(("nobody", "_provoke_sigio_as_nobody"));
    } else {
        println!("skipped the nobody forger: needs root");
    }
    for (who, helper) in &forgers {
        let (outcome, stdout, stderr) =
            sigtest::run_helper(helper, &[("SIGBUS_TARGET", me().to_string())]).wait(secs(20));
        assert_eq!(outcome, WaitOutcome::Exited(0), "{who}: {stdout}{stderr}");
        let event = any
            .recv_timeout(secs(10))
            .expect("the unfiltered one sees it");
        assert_eq!(event.origin.kind(), "io", "{who}: {event}");
        assert!(matches!(
            event.origin,
            Origin::Io {
                event: Some(sigcore::IoEvent::In),
                ..
            }
        ));
    }
    for (filter, sub) in filters.iter().zip(&guarded) {
        assert!(sub.try_recv().is_err(), "{filter:?} let a forgery through");
        assert_eq!(sub.stats().refused, forgers.len() as u64, "{filter:?}");
    }
    // The filters are not simply shut: a real kill from us passes the uid ones.
    sigcore::kill(me(), Signal::HUP).unwrap();
    any.recv_timeout(secs(10)).unwrap();
    assert!(
        guarded[1].recv_timeout(secs(10)).is_ok(),
        "SameUser takes our kill"
    );
}

fn provoke_sigio() {
    let target: i32 = std::env::var("SIGBUS_TARGET").unwrap().parse().unwrap();
    sigtest::provoke_sigio(target, Signal::HUP.number()).unwrap();
}

fn provoke_sigio_as_nobody() {
    sigtest::become_nobody();
    provoke_sigio();
}

/// Played as another uid: a `tgkill` aimed at an actor's thread goes through the
/// actor's sender filter like every other path into its mailbox.
fn a_tgkill_at_an_actor_cannot_bypass_its_filter() {
    if !sigtest::running_as_root() {
        println!("skipped: needs root to run a sender as nobody");
        return;
    }
    sigcore::block(Signal::USR1).unwrap();
    sigtest::let_nobody_signal_me();
    let bus = Bus::new();
    let (tx, rx) = unbounded();
    let actor = bus
        .actor("root-only")
        .signals(Signal::USR1)
        .filter(SenderFilter::Root)
        .spawn_fn(move |_, event| tx.send(event).unwrap())
        .unwrap();
    let target = format!("{} {}", me(), tid_of(&actor));
    let (outcome, stdout, stderr) =
        sigtest::run_helper("_tgkill_as_nobody", &[("TGKILL_AT", target)]).wait(secs(20));
    assert_eq!(outcome, WaitOutcome::Exited(0), "{stdout}{stderr}");
    assert!(
        sigtest::eventually(secs(5), || actor.stats().refused == 1),
        "{:?}",
        actor.stats()
    );
    assert!(
        rx.recv_timeout(ms(200)).is_err(),
        "nobody's tgkill got through"
    );
    // Our own tgkill (root) passes.
    sigtest::tgkill(actor.tid(), Signal::USR1.number());
    let event = rx.recv_timeout(secs(10)).unwrap();
    assert_eq!(event.origin.kind(), "tkill");
    assert_eq!(actor.stats().delivered, 1);
    bus.shutdown();
}

fn tgkill_as_nobody() {
    let target = std::env::var("TGKILL_AT").unwrap();
    let (pid, tid) = target.split_once(' ').unwrap();
    sigtest::become_nobody();
    // SAFETY: tgkill takes three integers.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_tgkill,
            pid.parse::<i32>().unwrap(),
            tid.parse::<i32>().unwrap(),
            Signal::USR1.number(),
        )
    };
    assert_eq!(ret, 0, "{}", std::io::Error::last_os_error());
}

/// A signal that stays pending for the whole process (blocked everywhere, served
/// by nobody) and an unwaitable one parked on the actor's thread (SIGSEGV,
/// the wake signal) must not make the actor read /proc after every event.
fn stuck_pending_signals_keep_the_rescue_cheap() {
    let unserved = Signal::realtime(7).unwrap();
    sigcore::block([Signal::USR1, unserved]).unwrap();
    let bus = Bus::new();
    let (tx, rx) = unbounded();
    let actor = bus
        .actor("busy")
        .signals(Signal::USR1)
        .spawn_fn(move |_, event: SignalEvent| tx.send(event.seq).unwrap())
        .unwrap();
    let tid = tid_of(&actor);
    sigcore::kill(me(), unserved).unwrap(); // pending for the process, for good
    sigtest::tgkill(tid, Signal::SEGV.number()); // blocked there, never taken
    sigtest::tgkill(tid, Signal::rtmax().number());
    // Let the idle timer have its thorough look once.
    thread::sleep(Duration::from_millis(1200));
    let rounds = 500;
    let before = read_calls();
    for _ in 0..rounds {
        sigcore::kill(me(), Signal::USR1).unwrap();
        rx.recv_timeout(secs(10)).unwrap();
    }
    let reads = read_calls() - before;
    println!("figure: {rounds} events with stuck pending signals took {reads} read calls");
    // One signalfd read per event (fewer when batched), plus a /proc read (about
    // eight calls) now and then, when the next SIGUSR1 is still pending for the
    // process as the actor looks. A /proc read after every event would be over
    // four calls per event.
    assert!(
        reads < rounds * 3 / 2,
        "{reads} read calls for {rounds} events"
    );
    bus.shutdown();
}

/// SIGPIPE raised by the kernel on an actor thread (a write to a closed pipe,
/// as in `sigbus watch | head -1`) is discarded as the kernel would: the process
/// ignores it. No event, no sequence number, no warning, no drop counted.
fn a_kernel_sigpipe_on_an_actor_thread_is_discarded() {
    let logs = capture_logs();
    sigcore::block(Signal::USR1).unwrap();
    let bus = Bus::new();
    let (tx, rx) = unbounded();
    let actor = bus
        .actor("writer")
        .signals(Signal::USR1)
        .spawn_fn(move |_, event: SignalEvent| {
            let (reader, mut writer) = std::io::pipe().unwrap();
            drop(reader);
            use std::io::Write;
            let broken = writer.write_all(b"x").unwrap_err();
            tx.send((event.seq, broken.kind())).unwrap();
        })
        .unwrap();
    tid_of(&actor);
    sigcore::kill(me(), Signal::USR1).unwrap();
    let (first, kind) = rx.recv_timeout(secs(10)).unwrap();
    assert_eq!(kind, std::io::ErrorKind::BrokenPipe);
    assert!(sigtest::eventually(secs(5), || {
        sigcore::ProcSignals::of_thread(me(), actor.tid())
            .is_ok_and(|t| !t.thread_pending.contains(Signal::PIPE))
    }));
    sigcore::kill(me(), Signal::USR1).unwrap();
    let (second, _) = rx.recv_timeout(secs(10)).unwrap();
    assert!(rx.recv_timeout(ms(100)).is_err(), "SIGPIPE became an event");
    let stats = actor.stats();
    assert_eq!((stats.delivered, stats.dropped), (2, 0), "{stats:?}");
    assert_eq!(
        second,
        first + 1,
        "the discarded SIGPIPE took a sequence number"
    );
    let warnings = logs.0.lock().unwrap().join("\n");
    assert!(!warnings.contains("SIGPIPE"), "{warnings}");
    bus.shutdown();
}

/// A storm of thread-directed signals the actor does not subscribe to: each is
/// counted as dropped, the warnings are sampled (powers of two), not one each.
fn unsubscribed_tgkills_at_an_actor_are_counted_and_sampled() {
    let logs = capture_logs();
    let other = Signal::realtime(3).unwrap();
    sigcore::block(Signal::USR1).unwrap();
    let bus = Bus::new();
    let actor = bus
        .actor("target")
        .signals(Signal::USR1)
        .spawn_fn(|_, _| {})
        .unwrap();
    let tid = tid_of(&actor);
    let storm = 1000;
    for _ in 0..storm {
        sigtest::tgkill(tid, other.number()); // real-time: each one queues
    }
    sigcore::kill(me(), Signal::USR1).unwrap(); // the actor looks after an event
    assert!(
        sigtest::eventually(secs(10), || actor.stats().dropped == storm),
        "{:?}",
        actor.stats()
    );
    let lines = logs
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("dropped"))
        .count();
    println!("figure: {storm} unsubscribed tgkills: {lines} warning lines");
    assert!(lines <= 11, "{lines} warning lines for {storm} drops");
    bus.shutdown();
}

/// An actor whose name the kernel cut in the middle of a character (15 bytes)
/// still gets its thread-directed signals: /proc is read as bytes.
fn an_actor_with_a_cut_name_gets_its_tgkills() {
    sigcore::block(Signal::USR1).unwrap();
    let bus = Bus::new();
    let (tx, rx) = unbounded();
    let name = "ñññññññññ"; // 18 bytes: the kernel keeps 15, half a character
    let actor = bus
        .actor(name)
        .signals(Signal::USR1)
        .spawn_fn(move |_, event| tx.send(event).unwrap())
        .unwrap();
    let tid = tid_of(&actor);
    let seen = sigcore::ProcSignals::of_thread(me(), tid).unwrap();
    assert!(
        std::str::from_utf8(seen.name.as_bytes()).is_err(),
        "{:?}",
        seen.name
    );
    sigtest::tgkill(tid, Signal::USR1.number());
    let event = rx
        .recv_timeout(secs(10))
        .expect("the tgkill reaches the actor");
    assert_eq!(event.origin.kind(), "tkill");
    bus.shutdown();
}

/// Runs `body` in a child forked without exec (only the forking thread goes
/// along) and returns its exit code; a panic in it is exit code 1, a child
/// that hangs past 20 s fails the test.
fn in_forked_child(body: impl FnOnce()) -> i32 {
    // SAFETY: the child runs `body` and exits without returning here; the
    // callers fork while no other thread of theirs holds a lock the body needs.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).map_or(1, |()| 0);
        std::process::exit(code);
    }
    let status = sigtest::waitpid_within(pid, secs(20));
    assert!(libc::WIFEXITED(status), "child status {status:#x}");
    libc::WEXITSTATUS(status)
}

/// A bus with actors, inherited through `fork`: in the child its actor threads
/// do not exist. `Bus::shutdown` there must not try to join them (it panicked),
/// and the parent's bus goes on untouched.
fn shutdown_in_a_forked_child_is_inert() {
    sigcore::block(Signal::USR1).unwrap();
    let bus = Bus::new();
    let (tx, rx) = unbounded();
    let actors: Vec<_> = (0..2)
        .map(|i| {
            let tx = tx.clone();
            bus.actor(format!("worker-{i}"))
                .signals(Signal::USR1)
                .spawn_fn(move |_, event: SignalEvent| tx.send(event.seq).unwrap())
                .unwrap()
        })
        .collect();
    for actor in &actors {
        tid_of(actor);
    }
    let code = in_forked_child(|| {
        bus.shutdown();
        bus.shutdown();
        assert!(bus.is_closed());
    });
    assert_eq!(code, 0, "the child's shutdown failed");
    sigcore::raise(Signal::USR1).unwrap();
    for _ in 0..2 {
        rx.recv_timeout(secs(10))
            .expect("the parent's actors still run");
    }
    bus.shutdown();
    assert_eq!(bus.live_actors(), 0);
}

/// Two threads call `Bus::shutdown` at once: neither returns before every actor
/// has stopped (the second used to return at once, with actors running).
fn concurrent_shutdowns_both_wait_for_the_actors() {
    sigcore::block(Signal::USR1).unwrap();
    for round in 0..20 {
        let bus = Bus::new();
        let stopped = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stopped);
        let actor = bus
            .actor("slow-to-stop")
            .signals(Signal::USR1)
            .spawn(move || SlowStop(Arc::clone(&flag)))
            .unwrap();
        tid_of(&actor);
        let callers: Vec<_> = (0..2)
            .map(|_| {
                let bus = bus.clone();
                let stopped = Arc::clone(&stopped);
                thread::spawn(move || {
                    bus.shutdown();
                    (stopped.load(Ordering::SeqCst), bus.live_actors())
                })
            })
            .collect();
        for caller in callers {
            let (done, live) = sigtest::join_within(caller, secs(20));
            assert!(
                done,
                "round {round}: shutdown returned before post_stop ran"
            );
            assert_eq!(live, 0, "round {round}");
        }
    }
}

struct SlowStop(Arc<AtomicBool>);

impl sigbus::Actor for SlowStop {
    type Msg = ();
    fn handle_signal(&mut self, _: &mut sigbus::Context<()>, _: SignalEvent) {}
    fn post_stop(&mut self, _: &mut sigbus::Context<()>) {
        thread::sleep(ms(50));
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Bus calls from inside a sigcore sink (on the waiter thread) used to deadlock
/// all signal handling. Subscribing is a typed error; dropping a subscription
/// or shutting the bus down there is handed to a thread of its own.
fn bus_calls_from_a_sink_do_not_deadlock() {
    sigcore::block([Signal::USR1, Signal::USR2, Signal::HUP]).unwrap();
    let bus = Bus::new();
    let usr2 = bus.subscribe(Signal::USR2).unwrap();
    let held = Arc::new(Mutex::new(Some(usr2)));
    let (tx, rx) = unbounded();
    let sink_bus = bus.clone();
    let sink_held = Arc::clone(&held);
    let _registration = sigcore::Registration::new(Signal::USR1, move |event: &SignalEvent| {
        let attempt = sink_bus.subscribe(Signal::HUP).map(drop);
        // Dropped here, on the waiter thread.
        drop(sink_held.lock().unwrap().take());
        if event.origin.value() == Some(2) {
            sink_bus.shutdown();
        }
        tx.send(attempt).unwrap();
    })
    .unwrap();
    // Another thread keeps the bus's control busy (each subscribe waits for the
    // waiter while holding it), as a real program would.
    let churning = Arc::new(AtomicBool::new(true));
    let churn = {
        let (bus, churning) = (bus.clone(), Arc::clone(&churning));
        thread::spawn(move || {
            let rt = Signal::realtime(2).unwrap();
            while churning.load(Ordering::SeqCst) {
                drop(bus.subscribe(rt).unwrap());
            }
        })
    };
    for _ in 0..200 {
        sigcore::sigqueue(me(), Signal::USR1, 1).unwrap();
        let attempt = rx.recv_timeout(secs(10)).expect("the sink ran");
        assert!(
            matches!(
                attempt,
                Err(sigbus::BusError::Signal(sigcore::Error::InSink))
            ),
            "{attempt:?}"
        );
    }
    churning.store(false, Ordering::SeqCst);
    sigtest::join_within(churn, secs(20));
    // The subscription dropped in the sink is closed (by another thread).
    assert!(sigtest::eventually(secs(5), || bus.routes().is_empty()));
    // Signal handling is alive: a new subscription works.
    let hup = bus.subscribe(Signal::HUP).unwrap();
    sigcore::raise(Signal::HUP).unwrap();
    hup.recv_timeout(secs(10)).expect("the bus still routes");
    sigcore::sigqueue(me(), Signal::USR1, 2).unwrap();
    let again = rx.recv_timeout(secs(10)).expect("the sink ran again");
    assert!(again.is_err(), "{again:?}");
    assert!(sigtest::eventually(secs(5), || bus.is_closed()));
    assert!(
        hup.recv_timeout(secs(5)).is_err(),
        "shut down from the sink"
    );
}

/// A thread that keeps served signals unblocked for good (a `sigsuspend` loop
/// with an empty mask, as C event loops do) while the waiter is slow: the safety
/// net's ring fills. Queued payloads must still arrive exactly once; `kill`
/// senders that could not be kept are counted, each still an event, and logged.
fn a_full_safety_net_loses_no_payload_and_counts_lost_senders() {
    let logs = capture_logs();
    let rt = Signal::realtime(4).unwrap();
    sigcore::block(rt).unwrap();
    let suspended = Arc::new(AtomicBool::new(true));
    let (tid_tx, tid_rx) = unbounded();
    let sleeper = {
        let suspended = Arc::clone(&suspended);
        thread::spawn(move || {
            tid_tx.send(sigcore::ThreadHandle::current().tid()).unwrap();
            // SAFETY: an empty set, then sigsuspend, which returns after each
            // handler; the thread's own mask (rt blocked) comes back in between.
            let mut empty = unsafe { std::mem::zeroed::<libc::sigset_t>() };
            // SAFETY: `empty` is a live, writable sigset.
            unsafe { libc::sigemptyset(&mut empty) };
            while suspended.load(Ordering::SeqCst) {
                // SAFETY: a valid, initialised (empty) set; returns after each handler.
                unsafe { libc::sigsuspend(&empty) };
            }
        })
    };
    let bus = Bus::new();
    let sub = bus.subscription(rt).capacity(20_000).open().unwrap();
    // A sink that holds the waiter: the ring runs full for sure, then
    // everything flows at once.
    let sent = Arc::new(AtomicBool::new(false));
    let gate = Arc::clone(&sent);
    let _gate = sigcore::Registration::new(rt, move |_: &SignalEvent| {
        while !gate.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(1));
        }
    })
    .unwrap();
    let count = 5000; // the ring holds 4,096
    for value in 0..count {
        while let Err(sigcore::Error::QueueFull { .. }) = sigcore::sigqueue(me(), rt, value) {
            thread::yield_now();
        }
    }
    for _ in 0..count {
        sigcore::kill(me(), rt).unwrap();
    }
    // Hold the waiter until the sleeper's handler has caught more than the
    // ring holds (the rest waits in the kernel meanwhile).
    assert!(
        sigtest::eventually(secs(30), || sigcore::safety_net_stats().caught > 4_500),
        "the sleeper caught only {:?}",
        sigcore::safety_net_stats()
    );
    sent.store(true, Ordering::SeqCst);
    let mut seen = vec![false; count as usize];
    let (mut kills, mut unknown) = (0, 0);
    for _ in 0..2 * count {
        let event = sub
            .recv_timeout(secs(30))
            .expect("every signal is an event");
        match event.origin {
            Origin::Queue { value, .. } => {
                assert!(!seen[value as usize], "payload {value} twice");
                seen[value as usize] = true;
            }
            Origin::User { .. } => kills += 1,
            Origin::Unknown => unknown += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    suspended.store(false, Ordering::SeqCst);
    // Wake the sleeper one last time, thread-directed: a process-directed one
    // may be taken by the waiter's signalfd instead, leaving it asleep.
    let sleeper_tid = tid_rx.recv_timeout(secs(5)).unwrap();
    sigtest::tgkill(sleeper_tid, rt.number());
    sigtest::join_within(sleeper, secs(20));
    let net = bus.stats().safety_net;
    println!(
        "figure: {count} queued + {count} kill through a full safety net: every payload once \
         ({} forwarded whole), {kills} kill with sender, {unknown} without (net: {net:?})",
        net.forwarded
    );
    assert!(seen.iter().all(|s| *s), "a payload was lost");
    assert!(net.forwarded > 0, "the ring never ran full: {net:?}");
    assert_eq!(unknown, net.senders_lost, "{net:?}");
    if unknown > 0 {
        let warnings = logs.0.lock().unwrap().join("\n");
        assert!(warnings.contains("without its sender"), "{warnings}");
    }
}

/// A slow subscriber with `Overflow::Backpressure` under a real-time stream from
/// a sender that backs off on `EAGAIN`: nothing is lost, for it or for a fast
/// subscriber of the same signal (which is paced with it), the kernel holds the
/// backlog, and the sender feels the push-back.
fn backpressure_loses_nothing_and_pushes_back_on_the_sender() {
    sigtest::limit_signal_queue(500);
    let rt = Signal::realtime(6).unwrap();
    sigcore::block(rt).unwrap();
    let bus = Bus::new();
    let slow = bus
        .subscription(rt)
        .name("slow")
        .capacity(16)
        .overflow(sigbus::Overflow::Backpressure)
        .open()
        .unwrap();
    let fast = bus.subscription(rt).name("fast").open().unwrap();
    let count = 10_000;
    let sender = thread::spawn(move || {
        let mut pushed_back = 0u64;
        for value in 0..count {
            while let Err(sigcore::Error::QueueFull { .. }) = sigcore::sigqueue(me(), rt, value) {
                pushed_back += 1;
                thread::sleep(Duration::from_micros(50));
            }
        }
        pushed_back
    });
    let reader = |sub: sigbus::Subscription, pause: Duration| {
        thread::spawn(move || {
            for expected in 0..count {
                let event = sub.recv_timeout(secs(30)).expect("the stream stalled");
                assert_eq!(event.origin.value(), Some(expected), "{}", sub.name());
                if !pause.is_zero() {
                    thread::sleep(pause);
                }
            }
            sub.stats()
        })
    };
    let slow = reader(slow, Duration::from_micros(100));
    let fast = reader(fast, Duration::ZERO);
    let pushed_back = sigtest::join_within(sender, secs(120));
    let slow = sigtest::join_within(slow, secs(120));
    let fast = sigtest::join_within(fast, secs(120));
    println!(
        "figure: {count} queued to a slow backpressure subscriber and a fast one: {} and {} \
         delivered in order, {} and {} dropped; the sender was pushed back {pushed_back} times",
        slow.delivered, fast.delivered, slow.dropped, fast.dropped
    );
    assert_eq!((slow.dropped, fast.dropped), (0, 0));
    assert!(
        pushed_back > 0,
        "the kernel queue never filled: no flow control"
    );
    assert!(sigcore::held().is_empty(), "a hold outlived the backlog");
}

fn main() {
    sigtest::run(&[
        scenario!(f_setsig_cannot_forge_the_kernel),
        Scenario::new("_provoke_sigio", provoke_sigio).helper(),
        Scenario::new("_provoke_sigio_as_nobody", provoke_sigio_as_nobody).helper(),
        scenario!(a_tgkill_at_an_actor_cannot_bypass_its_filter),
        Scenario::new("_tgkill_as_nobody", tgkill_as_nobody).helper(),
        scenario!(stuck_pending_signals_keep_the_rescue_cheap),
        scenario!(a_kernel_sigpipe_on_an_actor_thread_is_discarded),
        scenario!(unsubscribed_tgkills_at_an_actor_are_counted_and_sampled),
        scenario!(an_actor_with_a_cut_name_gets_its_tgkills),
        scenario!(shutdown_in_a_forked_child_is_inert),
        scenario!(concurrent_shutdowns_both_wait_for_the_actors),
        scenario!(bus_calls_from_a_sink_do_not_deadlock).timeout(secs(30)),
        scenario!(a_full_safety_net_loses_no_payload_and_counts_lost_senders),
        scenario!(backpressure_loses_nothing_and_pushes_back_on_the_sender),
    ]);
}
