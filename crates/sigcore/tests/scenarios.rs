//! sigcore against the real kernel. Each scenario runs in a fresh process (see
//! the `sigtest` crate): signal state is process-wide, and libtest's own threads
//! would leave the signals unblocked.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use sigcore::{
    ChildStatus, CommandExt, Disposition, Error, Origin, ProcSignals, Registration, Signal,
    SignalEvent, SignalSet, Signals, ThreadHandle, Timer, TimerValue,
};
use sigtest::{ms, scenario, Scenario, WaitOutcome};

#[path = "scenarios/semantics.rs"]
mod semantics;

fn me() -> i32 {
    std::process::id() as i32
}

fn recv(signals: &Signals) -> SignalEvent {
    signals
        .recv_timeout(Duration::from_secs(10))
        .expect("no event within 10 s")
}

fn thread_names() -> Vec<String> {
    sigtest::thread_names()
}

fn waiter_gone() -> bool {
    sigtest::eventually(Duration::from_secs(5), || {
        !thread_names().iter().any(|n| n == "sigcore-waiter")
    })
}

/// Fact 1 and the quick start: a process-directed `kill` from one thread reaches
/// a worker thread (not main), with the sender's pid and uid.
fn kill_reaches_a_worker_thread_with_the_sender() {
    sigcore::block(Signal::USR1).unwrap();
    let signals = Signals::new(Signal::USR1).unwrap();
    let worker = thread::Builder::new()
        .name("worker".into())
        .spawn(move || {
            let event = recv(&signals);
            (event, thread::current().name().map(str::to_owned))
        })
        .unwrap();
    sigtest::join_within(
        thread::spawn(|| sigcore::kill(me(), Signal::USR1).unwrap()),
        Duration::from_secs(10),
    );
    let (event, name) = sigtest::join_within(worker, Duration::from_secs(20));
    assert_eq!(event.signal, Signal::USR1);
    assert_eq!(name.as_deref(), Some("worker"));
    assert_eq!(
        event.origin,
        Origin::User {
            pid: me(),
            uid: sigcore::current_uid()
        }
    );
}

fn sigqueue_payload_arrives_intact() {
    sigcore::block(Signal::USR2).unwrap();
    let signals = Signals::new(Signal::USR2).unwrap();
    for value in [42, -7, i32::MAX] {
        sigcore::sigqueue(me(), Signal::USR2, value).unwrap();
        let event = recv(&signals);
        assert_eq!(
            event.origin,
            Origin::Queue {
                pid: me(),
                uid: sigcore::current_uid(),
                value
            }
        );
    }
}

/// Fact 10: the signalfd keeps SI_TKILL, so a `tgkill` aimed at the waiter is
/// reported as such (glibc's sigwaitinfo would say "user").
fn tgkill_to_the_waiter_is_decoded_as_tkill() {
    sigcore::block(Signal::HUP).unwrap();
    let signals = Signals::new(Signal::HUP).unwrap();
    let waiter = ProcSignals::of_threads(me())
        .unwrap()
        .into_iter()
        .find(|t| t.name == "sigcore-waiter")
        .expect("the waiter thread is named sigcore-waiter");
    // Only the target thread can take a tgkill; the waiter reads its own
    // thread-directed signals through the signalfd too.
    sigtest::tgkill(waiter.pid, Signal::HUP.number());
    let event = recv(&signals);
    assert_eq!(event.origin.kind(), "tkill", "{event}");
    assert_eq!(event.origin.pid(), Some(me()));
}

fn thread_directed_signal_is_taken_with_wait() {
    sigcore::block(Signal::USR1).unwrap();
    assert!(sigcore::wait_timeout(Signal::USR1, ms(5))
        .unwrap()
        .is_none());
    let handle = ThreadHandle::current();
    sigtest::join_within(
        thread::spawn(move || handle.send(Signal::USR1).unwrap()),
        Duration::from_secs(10),
    );
    let event = sigcore::wait_timeout(Signal::USR1, Duration::from_secs(5))
        .unwrap()
        .expect("the thread-directed signal is pending on this thread");
    assert_eq!(
        event.origin,
        Origin::Tkill {
            pid: me(),
            uid: sigcore::current_uid()
        }
    );
}

/// Fact 12: libc's raise (tgkill to the caller) never reaches the waiter while
/// the caller blocks it; sigcore::raise (kill to the process) does.
fn only_process_directed_raise_reaches_the_waiter() {
    sigcore::block(Signal::USR1).unwrap();
    let signals = Signals::new(Signal::USR1).unwrap();
    ThreadHandle::current().send(Signal::USR1).unwrap(); // what glibc's raise does
    assert!(
        signals.recv_timeout(ms(200)).is_err(),
        "waiter took a thread-directed signal"
    );
    let stranded = sigcore::wait_timeout(Signal::USR1, ms(0)).unwrap();
    assert_eq!(stranded.map(|e| e.origin.kind()), Some("tkill"));
    sigcore::raise(Signal::USR1).unwrap();
    assert_eq!(recv(&signals).signal, Signal::USR1);
}

fn child_exit_arrives_as_sigchld_with_status() {
    sigcore::block([Signal::CHLD, Signal::TERM]).unwrap();
    let signals = Signals::new(Signal::CHLD).unwrap();
    let mut child = Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap();
    let event = recv(&signals);
    assert_eq!(
        event.origin,
        Origin::Child {
            pid: child.id() as i32,
            uid: sigcore::current_uid(),
            status: ChildStatus::Exited(7)
        }
    );
    assert_eq!(
        sigtest::wait_within(&mut child, Duration::from_secs(10)).code(),
        Some(7)
    );

    let mut sleeper = Command::new("sleep")
        .arg("30")
        .reset_signals()
        .spawn()
        .unwrap();
    sigcore::kill(sleeper.id() as i32, Signal::TERM).unwrap();
    let event = recv(&signals);
    assert!(
        matches!(
            event.origin,
            Origin::Child {
                status: ChildStatus::Killed(15),
                ..
            }
        ),
        "{event}"
    );
    assert_eq!(
        sigtest::wait_within(&mut sleeper, Duration::from_secs(10)).signal(),
        Some(15)
    );
}

fn interval_timer_ticks_arrive_from_the_kernel() {
    sigcore::block(Signal::ALRM).unwrap();
    let signals = Signals::new(Signal::ALRM).unwrap();
    let previous = sigcore::set_timer(
        Timer::Real,
        TimerValue {
            value: ms(20),
            interval: ms(20),
        },
    )
    .unwrap();
    assert_eq!(previous, TimerValue::default());
    assert_eq!(sigcore::get_timer(Timer::Real).unwrap().interval, ms(20));
    let mut last = 0;
    for _ in 0..3 {
        let event = recv(&signals);
        assert_eq!(event.signal, Signal::ALRM);
        assert_eq!(event.origin, Origin::Kernel);
        assert!(event.seq > last);
        last = event.seq;
    }
    sigcore::set_timer(Timer::Real, TimerValue::default()).unwrap();
    assert_eq!(sigcore::alarm(1), 0);
    assert_eq!(recv(&signals).origin, Origin::Kernel);
}

fn timer_arguments_are_checked() {
    let bad = TimerValue {
        value: Duration::ZERO,
        interval: ms(10),
    };
    assert!(matches!(
        sigcore::set_timer(Timer::Virtual, bad),
        Err(Error::InvalidArgument(_))
    ));
    let huge = TimerValue {
        value: Duration::from_secs(u64::MAX),
        interval: Duration::ZERO,
    };
    assert!(matches!(
        sigcore::set_timer(Timer::Profiling, huge),
        Err(Error::InvalidArgument(_))
    ));
    // Under a microsecond: rounded up, never silently disarmed or made one-shot.
    // (Blocked: an expiry must not end the test by SIGVTALRM.)
    sigcore::block(Signal::VTALRM).unwrap();
    let tiny = TimerValue {
        value: Duration::from_secs(100),
        interval: Duration::from_nanos(500),
    };
    sigcore::set_timer(Timer::Virtual, tiny).unwrap();
    let armed = sigcore::get_timer(Timer::Virtual).unwrap();
    assert_eq!(armed.interval, Duration::from_micros(1), "still periodic");
    let soon = TimerValue {
        value: Duration::from_nanos(1),
        interval: Duration::ZERO,
    };
    sigcore::set_timer(Timer::Virtual, soon).unwrap();
    let armed = !sigcore::get_timer(Timer::Virtual).unwrap().value.is_zero();
    let expired = sigcore::pending().unwrap().contains(Signal::VTALRM);
    assert!(armed || expired, "1 ns must arm the timer");
    sigcore::set_timer(Timer::Virtual, TimerValue::default()).unwrap();
}

/// Fact 4: standard signals coalesce while pending.
fn standard_signals_coalesce_while_pending() {
    sigcore::block(Signal::USR1).unwrap();
    for _ in 0..5 {
        sigcore::raise(Signal::USR1).unwrap();
    }
    assert!(sigcore::pending().unwrap().contains(Signal::USR1));
    let signals = Signals::new(Signal::USR1).unwrap();
    assert_eq!(recv(&signals).signal, Signal::USR1);
    assert!(
        signals.recv_timeout(ms(200)).is_err(),
        "five pending SIGUSR1 must be one event"
    );
}

/// Fact 5: SIGCHLD coalesces like any standard signal: three children that end
/// while it is blocked and unserved make one pending SIGCHLD, one event.
fn sigchld_coalesces_so_reapers_must_loop() {
    sigcore::block(Signal::CHLD).unwrap();
    let mut children: Vec<_> = (0..3)
        .map(|code| {
            Command::new("sh")
                .arg("-c")
                .arg(format!("exit {code}"))
                .spawn()
                .unwrap()
        })
        .collect();
    // Wait until all three are zombies (ended, not reaped).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    for child in &children {
        let stat = format!("/proc/{}/stat", child.id());
        while !std::fs::read_to_string(&stat).unwrap().contains(") Z ") {
            assert!(std::time::Instant::now() < deadline, "child never ended");
            thread::sleep(ms(1));
        }
    }
    let signals = Signals::new(Signal::CHLD).unwrap();
    let event = recv(&signals);
    assert!(matches!(event.origin, Origin::Child { .. }), "{event}");
    assert!(
        signals.recv_timeout(ms(200)).is_err(),
        "three exits, one SIGCHLD"
    );
    for child in &mut children {
        assert!(
            child.try_wait().unwrap().is_some(),
            "every child can be reaped"
        );
    }
}

/// Fact 4: real-time signals queue, same number in FIFO order, lower numbers first.
fn realtime_signals_queue_in_order() {
    let low = Signal::realtime(1).unwrap();
    let high = Signal::realtime(2).unwrap();
    let set = SignalSet::from([low, high]);
    sigcore::block(set).unwrap();
    for value in 0..10 {
        sigcore::sigqueue(me(), high, 100 + value).unwrap();
        sigcore::sigqueue(me(), low, value).unwrap();
    }
    let signals = Signals::new(set).unwrap();
    let got: Vec<(Signal, i32)> = (0..20)
        .map(|_| {
            let e = recv(&signals);
            (e.signal, e.origin.value().unwrap())
        })
        .collect();
    let want: Vec<(Signal, i32)> = (0..10)
        .map(|v| (low, v))
        .chain((0..10).map(|v| (high, 100 + v)))
        .collect();
    assert_eq!(got, want);
}

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

/// Facts 3 and 7: a thread created before the set was blocked leaves it
/// unblocked. The signal lands there, yet the process survives, the event is not
/// lost, the thread is named in a warning, and it blocks the signal afterwards.
fn unblocked_thread_does_not_kill_the_process_or_lose_the_event() {
    let logs: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
    log::set_logger(logs).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(0);
    let early = |name: &str| {
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
        let done_rx = done_rx.clone();
        let thread = thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                ready_tx.send(ThreadHandle::current()).unwrap();
                // Sleeps with SIGUSR1 unblocked.
                let _ = done_rx.recv_timeout(Duration::from_secs(60));
            })
            .unwrap();
        let ready = ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        (thread, ready.tid())
    };
    let (early_bird, _) = early("early-bird");
    let (night_owl, owl_tid) = early("night-owl");

    sigcore::block(Signal::USR1).unwrap(); // too late for those two
    let signals = Signals::new(Signal::USR1).unwrap();
    let warnings = logs.0.lock().unwrap().join("\n");
    assert!(
        warnings.contains("early-bird"),
        "no warning names the thread: {warnings}"
    );

    // A thread-directed signal can only be taken by night-owl itself: the safety
    // net's handler runs there, forwards it, and blocks it in that thread.
    sigtest::tgkill(owl_tid, Signal::USR1.number());
    let event = recv(&signals);
    assert_eq!(
        event.origin,
        Origin::Tkill {
            pid: me(),
            uid: sigcore::current_uid()
        }
    );
    // The event can overtake the handler's return, which is when the kernel
    // installs the saved mask: give it a moment.
    let owl_blocks = || {
        ProcSignals::of_threads(me())
            .unwrap()
            .into_iter()
            .find(|t| t.pid == owl_tid)
            .is_some_and(|t| t.blocked.contains(Signal::USR1))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !owl_blocks() && std::time::Instant::now() < deadline {
        thread::sleep(ms(1));
    }
    assert!(owl_blocks(), "the safety net blocks it in that thread");

    // Process-directed: the kernel wakes early-bird, the only thread left with
    // SIGUSR1 unblocked; its handler or the waiter's signalfd takes each one.
    // Either way: every signal is one event, and nobody dies.
    for _ in 0..100 {
        sigcore::kill(me(), Signal::USR1).unwrap();
        let event = recv(&signals);
        assert_eq!(
            event.origin,
            Origin::User {
                pid: me(),
                uid: sigcore::current_uid()
            }
        );
    }
    for value in 0..50 {
        sigcore::sigqueue(me(), Signal::USR1, value).unwrap();
        assert_eq!(recv(&signals).origin.value(), Some(value));
    }
    drop(done_tx);
    sigtest::join_within(early_bird, Duration::from_secs(10));
    sigtest::join_within(night_owl, Duration::from_secs(10));
}

/// A real-time signal caught by the safety net on an unprepared thread, followed
/// by 2,000 queued ones (with back-off on a full queue): every one is an event.
fn stray_and_queued_realtime_signals_all_arrive() {
    let rt = Signal::realtime(3).unwrap();
    let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
    let early = thread::spawn(move || {
        ready_tx.send(ThreadHandle::current()).unwrap();
        let _ = done_rx.recv_timeout(Duration::from_secs(60));
    });
    let target = ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    sigcore::block(rt).unwrap();
    let signals = Signals::with_capacity(rt, 10_000).unwrap();
    // Thread-directed, so each one runs the safety net on that thread until its
    // first delivery blocks it; the rest queue on that thread. Then unblocking is
    // not possible from here, so send the rest process-wide.
    target.send(rt).unwrap();
    for _ in 0..2000 {
        loop {
            match sigcore::sigqueue(me(), rt, 1) {
                Ok(()) => break,
                Err(Error::QueueFull { .. }) => thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
        }
    }
    let mut count = 0;
    while count < 2001 {
        recv(&signals);
        count += 1;
    }
    assert!(signals.recv_timeout(ms(100)).is_err());
    assert_eq!(signals.dropped(), 0);
    drop(done_tx);
    sigtest::join_within(early, Duration::from_secs(10));
}

fn waiter_tid() -> i32 {
    ProcSignals::of_threads(me())
        .unwrap()
        .into_iter()
        .find(|t| t.name == "sigcore-waiter")
        .expect("a thread named sigcore-waiter")
        .pid
}

/// Who fills the signal queue in [`commands_complete_when_the_queue_is_full`].
enum Attacker {
    /// A thread of this process (the same uid as any local process of ours).
    SameUser,
    /// A process running as `nobody` that may signal us (root only).
    Nobody,
}

/// Design fact 14, played as a hostile process: real-time signals parked on the
/// waiter thread (its tid is in /proc) fill this user's signal queue, so any
/// real-time `tgkill` is refused. Registering, releasing and stopping must still
/// complete at once, and signals still arrive.
fn commands_complete_when_the_queue_is_full(attacker: Attacker) {
    sigtest::limit_signal_queue(300);
    sigcore::block([Signal::USR1, Signal::USR2]).unwrap();
    let signals = Signals::new(Signal::USR1).unwrap();
    let parked_signal = Signal::realtime(5).unwrap();
    let parked = match attacker {
        Attacker::SameUser => sigtest::park_until_full(me(), waiter_tid(), parked_signal.number()),
        Attacker::Nobody => {
            sigtest::let_nobody_signal_me();
            let helper = sigtest::run_helper(
                "_park_as_nobody",
                &[("PARK_AT", format!("{} {}", me(), waiter_tid()))],
            );
            let (outcome, stdout, stderr) = helper.wait(Duration::from_secs(20));
            assert_eq!(outcome, WaitOutcome::Exited(0), "{stderr}");
            stdout
                .trim()
                .parse()
                .expect("the helper prints how many it parked")
        }
    };
    assert!(parked > 0, "nothing could be parked");
    assert!(
        matches!(
            sigcore::sigqueue(me(), parked_signal, 1),
            Err(Error::QueueFull { .. })
        ),
        "the queue should be full"
    );

    let started = std::time::Instant::now();
    let more = Signals::new(Signal::USR2).unwrap();
    sigcore::kill(me(), Signal::USR2).unwrap(); // standard signals still get through
    assert_eq!(recv(&more).signal, Signal::USR2);
    drop(more);
    sigcore::kill(me(), Signal::USR1).unwrap();
    assert_eq!(recv(&signals).signal, Signal::USR1);
    drop(signals);
    assert!(waiter_gone(), "the waiter must stop");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "commands took {:?} with a full queue",
        started.elapsed()
    );
}

/// The queue is full before any waiter exists (its wake timer needs an entry
/// it cannot get): the waiter starts anyway, serves, takes commands and stops,
/// within a bounded time.
fn a_waiter_starts_with_the_queue_already_full() {
    sigtest::limit_signal_queue(100);
    let parked_signal = Signal::realtime(5).unwrap();
    sigcore::block([Signal::USR1, Signal::USR2, parked_signal]).unwrap();
    let parked =
        sigtest::park_until_full(me(), ThreadHandle::current().tid(), parked_signal.number());
    assert!(parked > 0);
    let started = std::time::Instant::now();
    let signals = Signals::new(Signal::USR1).unwrap();
    sigcore::kill(me(), Signal::USR1).unwrap();
    assert_eq!(recv(&signals).signal, Signal::USR1);
    let more = Signals::new(Signal::USR2).unwrap();
    sigcore::kill(me(), Signal::USR2).unwrap();
    assert_eq!(recv(&more).signal, Signal::USR2);
    drop(more);
    drop(signals);
    assert!(waiter_gone(), "the waiter must stop");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?} with a full queue",
        started.elapsed()
    );
}

fn commands_complete_when_the_same_user_fills_the_queue() {
    commands_complete_when_the_queue_is_full(Attacker::SameUser);
}

fn commands_complete_when_nobody_fills_the_queue() {
    if !sigtest::running_as_root() {
        println!("skipped: needs root to run a sender as nobody");
        return;
    }
    commands_complete_when_the_queue_is_full(Attacker::Nobody);
}

/// Helper: as `nobody`, parks real-time signals on the thread named in PARK_AT
/// ("PID TID") until the kernel refuses more; prints how many.
fn park_as_nobody() {
    let target = std::env::var("PARK_AT").unwrap();
    let (pid, tid) = target.split_once(' ').unwrap();
    sigtest::become_nobody();
    let parked = sigtest::park_until_full(
        pid.parse().unwrap(),
        tid.parse().unwrap(),
        Signal::realtime(5).unwrap().number(),
    );
    println!("{parked}");
}

/// The reserved wake signal sent from outside, to a process whose main thread
/// leaves it unblocked, is harmless (its default action would kill).
fn an_outside_wake_signal_is_harmless() {
    sigcore::block(Signal::USR1).unwrap();
    let signals = Signals::new(Signal::USR1).unwrap();
    let wake = Signal::rtmax();
    assert!(matches!(
        wake.check_waitable(),
        Err(Error::Forbidden { .. })
    ));
    assert!(!sigcore::thread_mask().unwrap().contains(wake));
    for _ in 0..100 {
        sigcore::kill(me(), wake).unwrap();
    }
    // Still alive, still serving.
    sigcore::kill(me(), Signal::USR1).unwrap();
    assert_eq!(recv(&signals).signal, Signal::USR1);
    let (outcome, out, err) = sigtest::output_within(
        Command::new("kill").args([&format!("-{}", wake.number()), &me().to_string()]),
        Duration::from_secs(10),
    );
    assert_eq!(outcome, WaitOutcome::Exited(0), "{out}{err}");
    sigcore::kill(me(), Signal::USR1).unwrap();
    assert_eq!(recv(&signals).signal, Signal::USR1);
}

extern "C" fn foreign_handler(_: libc::c_int) {}

/// Another library's handler on SIGRTMAX is left alone: sigcore takes the next
/// free real-time signal for its wake-ups instead (what valgrind needs too).
fn a_foreign_handler_on_sigrtmax_moves_the_wake_signal() {
    // SAFETY: installs a plain handler that does nothing.
    let installed = unsafe {
        libc::signal(
            Signal::rtmax().number(),
            foreign_handler as extern "C" fn(libc::c_int) as libc::sighandler_t,
        )
    };
    assert_ne!(installed, libc::SIG_ERR);
    sigcore::block([Signal::USR1, Signal::USR2]).unwrap();
    let signals = Signals::new(Signal::USR1).unwrap();
    let below = Signal::new(Signal::rtmax().number() - 1).unwrap();
    assert!(Signal::rtmax().check_waitable().is_ok());
    assert!(matches!(
        below.check_waitable(),
        Err(Error::Forbidden { .. })
    ));
    assert_eq!(
        sigcore::disposition(Signal::rtmax()).unwrap(),
        Disposition::Handler
    );
    // Commands still wake the waiter.
    let more = Signals::new(Signal::USR2).unwrap();
    sigcore::raise(Signal::USR2).unwrap();
    assert_eq!(recv(&more).signal, Signal::USR2);
    drop(more);
    drop(signals);
    assert!(waiter_gone());
}

/// A thread named with terminal escape codes and bytes that are not UTF-8 (the
/// kernel keeps whatever `prctl` is given) neither breaks the /proc readers nor
/// reaches the log raw: the warning names it escaped, `stranded` works, and the
/// idle waiter still leaves.
fn hostile_thread_names_are_read_and_escaped() {
    let logs: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
    log::set_logger(logs).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(0);
    let hostile = thread::spawn(move || {
        sigtest::set_thread_name(b"\x1b]0;pwn\x07\xff\xfe");
        ready_tx.send(ThreadHandle::current()).unwrap();
        // Leaves SIGUSR1 unblocked: the warning names it.
        let _ = done_rx.recv_timeout(Duration::from_secs(60));
    });
    let handle = ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let threads = ProcSignals::of_threads(me()).expect("a non-UTF-8 name must not fail the scan");
    let found = threads.iter().find(|t| t.pid == handle.tid()).unwrap();
    assert_eq!(found.name.as_bytes(), b"\x1b]0;pwn\x07\xff\xfe");

    sigcore::block([Signal::USR1, Signal::USR2]).unwrap();
    let signals = Signals::new(Signal::USR1).unwrap();
    let warnings = logs.0.lock().unwrap().join("\n");
    assert!(
        warnings.contains("\\x1b]0;pwn\\x07\\xff\\xfe"),
        "the warning must name the thread, escaped: {warnings}"
    );
    assert!(!warnings.contains('\x1b'), "an escape code reached the log");
    assert!(sigcore::stranded().unwrap().is_empty());
    drop(done_tx);
    sigtest::join_within(hostile, Duration::from_secs(10));
    drop(signals);
    assert!(waiter_gone(), "the idle waiter must still leave");
}

/// The state the process started with is read before `main`: SIGPIPE shows
/// its inherited default (the test harness spawns scenarios with std's
/// `Command`, which resets it), not the Rust runtime's SIG_IGN. `reset` goes
/// back to it (Go's `signal.Reset`); `set_default` is CPython's SIG_DFL.
fn reset_goes_back_to_the_state_at_start() {
    assert_eq!(
        sigcore::disposition_at_start(Signal::PIPE),
        Disposition::Default
    );
    assert_eq!(
        sigcore::disposition(Signal::PIPE).unwrap(),
        Disposition::Ignore
    );
    for signal in [Signal::HUP, Signal::INT, Signal::USR1] {
        // Whatever the parent left (nohup: HUP ignored; a background job: INT).
        let at_start = sigcore::disposition_at_start(signal);
        assert_eq!(sigcore::disposition(signal).unwrap(), at_start, "{signal}");
        sigcore::ignore(signal).unwrap();
        sigcore::reset(signal).unwrap();
        assert_eq!(sigcore::disposition(signal).unwrap(), at_start, "{signal}");
        sigcore::set_default(signal).unwrap();
        assert_eq!(sigcore::disposition(signal).unwrap(), Disposition::Default);
        sigcore::reset(signal).unwrap();
        assert_eq!(sigcore::disposition(signal).unwrap(), at_start, "{signal}");
    }
    // Served signals are refused, as for ignore and set_default.
    sigcore::block(Signal::USR2).unwrap();
    let _signals = Signals::new(Signal::USR2).unwrap();
    assert!(matches!(
        sigcore::reset(Signal::USR2),
        Err(Error::InUse { .. })
    ));
}

/// Restore-on-release, in a child: the default action comes back.
fn released_signal_kills_again() {
    let child = sigtest::run_helper("_release_then_raise", &[]);
    let (outcome, _, stderr) = child.wait(Duration::from_secs(20));
    assert_eq!(outcome, WaitOutcome::Signaled(libc::SIGUSR1), "{stderr}");
}

fn release_then_raise() {
    // No explicit `sigcore::block`: the registration blocks SIGUSR1 in main on
    // its own, so releasing it undoes that and the default action comes back.
    let signals = Signals::new(Signal::USR1).unwrap();
    assert_eq!(
        sigcore::disposition(Signal::USR1).unwrap(),
        Disposition::Served
    );
    drop(signals);
    assert_eq!(
        sigcore::disposition(Signal::USR1).unwrap(),
        Disposition::Default
    );
    // main still blocks SIGUSR1; the waiter stays to take the default action.
    assert!(sigcore::thread_mask().unwrap().contains(Signal::USR1));
    assert!(thread_names().iter().any(|n| n == "sigcore-waiter"));
    sigcore::raise(Signal::USR1).unwrap();
    thread::sleep(Duration::from_secs(10));
    println!("still alive: the released signal did not take its default action");
}

/// A signal blocked with the start-up call stays blocked after its release:
/// instances that arrive meanwhile wait for the next registration instead of
/// killing the process.
fn explicitly_blocked_signal_waits_for_the_next_registration() {
    sigcore::block(Signal::USR1).unwrap();
    for round in 0..20 {
        let signals = Signals::new(Signal::USR1).unwrap();
        sigcore::raise(Signal::USR1).unwrap();
        assert_eq!(recv(&signals).signal, Signal::USR1, "round {round}");
        drop(signals);
        assert_eq!(
            sigcore::disposition(Signal::USR1).unwrap(),
            Disposition::Default
        );
        sigcore::raise(Signal::USR1).unwrap(); // released: stays pending
        assert!(sigcore::pending().unwrap().contains(Signal::USR1));
        let next = Signals::new(Signal::USR1).unwrap();
        assert_eq!(recv(&next).origin.pid(), Some(me()), "round {round}");
    }
    assert!(waiter_gone());
}

/// A disposition that was SIG_IGN before sigcore served the signal is SIG_IGN again.
fn release_restores_a_previous_ignore() {
    sigcore::ignore(Signal::HUP).unwrap();
    sigcore::block(Signal::HUP).unwrap();
    let signals = Signals::new(Signal::HUP).unwrap();
    sigcore::raise(Signal::HUP).unwrap();
    assert_eq!(recv(&signals).signal, Signal::HUP);
    assert!(matches!(
        sigcore::ignore(Signal::HUP),
        Err(Error::InUse { .. })
    ));
    drop(signals);
    assert_eq!(
        sigcore::disposition(Signal::HUP).unwrap(),
        Disposition::Ignore
    );
    sigcore::raise(Signal::HUP).unwrap(); // ignored: the process lives on
    thread::sleep(ms(100));
}

/// The waiter thread goes away once nothing is registered and the released
/// signals can reach some other thread; `close` wakes a blocked reader at once.
fn closing_stops_the_waiter_and_wakes_readers() {
    let before = thread_names().len();
    let (tx, rx) = crossbeam_channel::bounded(1);
    // Serve from a thread of its own, so main keeps SIGUSR2 unblocked.
    let owner = thread::spawn(move || {
        let signals = Signals::new(Signal::USR2).unwrap();
        tx.send(signals.handle()).unwrap();
        let started = std::time::Instant::now();
        // Waits for close, which must wake it; bounded so a bug fails, not hangs.
        let result = signals.recv_timeout(Duration::from_secs(30));
        let closed = result == Err(sigcore::RecvTimeoutError::Closed);
        (closed, started.elapsed())
    });
    let handle = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(thread_names().iter().any(|n| n == "sigcore-waiter"));
    thread::sleep(ms(50));
    handle.close();
    let (closed, waited) = sigtest::join_within(owner, Duration::from_secs(40));
    assert!(closed, "recv must fail once closed");
    assert!(waited < Duration::from_secs(2), "close took {waited:?}");
    assert!(waiter_gone(), "{:?}", thread_names());
    assert!(sigtest::eventually(
        Duration::from_secs(5),
        || thread_names().len() == before
    ));
    assert_eq!(
        sigcore::disposition(Signal::USR2).unwrap(),
        Disposition::Default
    );
}

/// Fact 8 and the Command extension: a child spawned plainly inherits the
/// blocked SIGTERM; one spawned with `reset_signals` dies on SIGTERM and SIGINT.
fn children_spawned_with_reset_die_on_sigterm() {
    let set = SignalSet::from([Signal::TERM, Signal::INT]);
    // What the children must get back: the state this process started with
    // (INT is inherited ignored in a background job of a script).
    let ignored_at_start: SignalSet = set
        .iter()
        .filter(|s| sigcore::disposition(*s).unwrap() == Disposition::Ignore)
        .collect();
    sigcore::block(set).unwrap();
    let _signals = Signals::new(set).unwrap();

    let mut plain = Command::new("sleep").arg("30").spawn().unwrap();
    let status = ProcSignals::of_process(plain.id() as i32).unwrap();
    assert!(
        status.blocked.contains(Signal::TERM),
        "Command keeps the parent's mask"
    );
    plain.kill().unwrap();
    sigtest::wait_within(&mut plain, Duration::from_secs(10));

    for signal in [Signal::TERM, Signal::INT] {
        let mut child = Command::new("sleep")
            .arg("30")
            .reset_signals()
            .spawn()
            .unwrap();
        let status = ProcSignals::of_process(child.id() as i32).unwrap();
        assert!(status.blocked.intersection(set).is_empty());
        if ignored_at_start.contains(signal) {
            // Given back as found: ignored, as the parent's parent chose.
            assert!(status.ignored.contains(signal), "{signal}");
            child.kill().unwrap();
            sigtest::wait_within(&mut child, Duration::from_secs(10));
            continue;
        }
        sigcore::kill(child.id() as i32, signal).unwrap();
        let status = sigtest::wait_within(&mut child, Duration::from_secs(10));
        assert_eq!(status.signal(), Some(signal.number()));
    }
}

/// Two independent components in one process: one waiter serves both, each gets
/// every event, with the same sequence number.
fn two_components_share_one_waiter() {
    sigcore::block(Signal::USR1).unwrap();
    let a = Signals::new(Signal::USR1).unwrap();
    let b = Signals::new(Signal::USR1).unwrap();
    let waiters = thread_names()
        .iter()
        .filter(|n| *n == "sigcore-waiter")
        .count();
    assert_eq!(waiters, 1);
    sigcore::raise(Signal::USR1).unwrap();
    let (ea, eb) = (recv(&a), recv(&b));
    assert_eq!(ea.seq, eb.seq);
    drop(a);
    sigcore::raise(Signal::USR1).unwrap();
    assert_eq!(recv(&b).signal, Signal::USR1, "b still served after a left");
}

fn a_registration_grows_and_shrinks() {
    let set = SignalSet::from([Signal::USR1, Signal::USR2]);
    sigcore::block(set).unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut registration = Registration::new(Signal::USR1, move |e: &SignalEvent| {
        let _ = tx.send(e.signal);
    })
    .unwrap();
    registration.add(Signal::USR2).unwrap();
    assert_eq!(registration.signals(), set);
    sigcore::raise(Signal::USR2).unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        Signal::USR2
    );
    registration.remove(Signal::USR1).unwrap();
    assert_eq!(
        sigcore::disposition(Signal::USR1).unwrap(),
        Disposition::Default
    );
    assert_eq!(
        sigcore::disposition(Signal::USR2).unwrap(),
        Disposition::Served
    );
}

fn forbidden_signals_are_refused() {
    for signal in [
        Signal::KILL,
        Signal::STOP,
        Signal::SEGV,
        Signal::BUS,
        Signal::FPE,
        Signal::ILL,
    ] {
        let err = Signals::new(signal).err().expect("must be refused");
        assert!(matches!(err, Error::Forbidden { .. }), "{signal}: {err}");
        assert!(matches!(
            sigcore::block(signal),
            Err(Error::Forbidden { .. })
        ));
    }
    assert!(matches!(
        sigcore::ignore(Signal::KILL),
        Err(Error::Forbidden { .. })
    ));
}

fn pidfd_and_bad_targets() {
    sigcore::block(Signal::USR2).unwrap();
    let signals = Signals::new(Signal::USR2).unwrap();
    sigcore::Pidfd::open(me())
        .unwrap()
        .send(Signal::USR2)
        .unwrap();
    assert_eq!(recv(&signals).origin.kind(), "user");
    assert!(matches!(
        sigcore::kill(-1, Signal::USR2),
        Err(Error::InvalidPid { pid: -1 })
    ));
    assert!(matches!(
        sigcore::sigqueue(0, Signal::USR2, 1),
        Err(Error::InvalidPid { pid: 0 })
    ));
    assert!(matches!(
        sigcore::Pidfd::open(i32::MAX),
        Err(Error::NoSuchProcess { .. })
    ));
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id() as i32;
    let pidfd = sigcore::Pidfd::open(pid).unwrap();
    sigtest::wait_within(&mut child, Duration::from_secs(10));
    assert!(matches!(
        pidfd.send(Signal::USR2),
        Err(Error::NoSuchProcess { .. })
    ));
}

/// Fact 6: ignoring a blocked, pending signal discards it.
fn ignoring_discards_a_pending_signal() {
    sigcore::block(Signal::USR2).unwrap();
    sigcore::raise(Signal::USR2).unwrap();
    assert!(sigcore::pending().unwrap().contains(Signal::USR2));
    assert_eq!(sigcore::ignore(Signal::USR2).unwrap(), Disposition::Default);
    assert!(!sigcore::pending().unwrap().contains(Signal::USR2));
    sigcore::set_default(Signal::USR2).unwrap();
}

/// While every thread blocks a released signal the waiter stays to take its
/// default action; once main unblocks it, the idle waiter goes.
fn idle_waiter_leaves_when_main_unblocks() {
    drop(Signals::new(Signal::USR2).unwrap()); // blocks in main on its own
    assert!(thread_names().iter().any(|n| n == "sigcore-waiter"));
    sigcore::unblock(Signal::USR2).unwrap();
    assert!(waiter_gone(), "{:?}", thread_names());
}

fn exit_by_signal_reports_the_signal_to_the_parent() {
    let child = sigtest::run_helper("_serve_then_exit_by_term", &[]);
    let (outcome, _, stderr) = child.wait(Duration::from_secs(20));
    assert_eq!(outcome, WaitOutcome::Signaled(libc::SIGTERM), "{stderr}");
}

fn serve_then_exit_by_term() {
    sigcore::block(Signal::TERM).unwrap();
    let _signals = Signals::new(Signal::TERM).unwrap();
    let exiting = thread::spawn(|| sigcore::exit_by_signal(Signal::TERM));
    sigtest::join_within(exiting, Duration::from_secs(10));
}

/// A sink that owns another registration: dropping the outer one drops the
/// sink on the waiter thread, which drops the inner one there. No deadlock, and
/// both signals are released.
fn a_sink_owning_a_registration_can_be_dropped() {
    let inner = Signals::new(Signal::USR2).unwrap();
    let outer = Registration::new(Signal::USR1, move |_: &SignalEvent| {
        let _ = inner.try_recv();
    })
    .unwrap();
    drop(outer);
    assert_eq!(
        sigcore::disposition(Signal::USR1).unwrap(),
        Disposition::Default
    );
    assert!(sigtest::eventually(Duration::from_secs(5), || {
        sigcore::disposition(Signal::USR2).unwrap() == Disposition::Default
    }));
}

/// Registering from inside a sink (on the waiter thread) is an error, not a
/// wait for itself.
fn registering_from_a_sink_is_an_error() {
    sigcore::block(Signal::USR1).unwrap();
    let (tx, rx) = crossbeam_channel::bounded(1);
    let _outer = Registration::new(Signal::USR1, move |_: &SignalEvent| {
        let nested = Signals::new(Signal::USR2);
        assert!(sigcore::on_waiter_thread());
        let _ = tx.try_send(nested.err());
    })
    .unwrap();
    assert!(!sigcore::on_waiter_thread());
    sigcore::raise(Signal::USR1).unwrap();
    let error = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(matches!(error, Some(Error::InSink)), "{error:?}");
}

fn main() {
    let scenarios = [
        scenario!(kill_reaches_a_worker_thread_with_the_sender),
        scenario!(sigqueue_payload_arrives_intact),
        scenario!(tgkill_to_the_waiter_is_decoded_as_tkill),
        scenario!(thread_directed_signal_is_taken_with_wait),
        scenario!(only_process_directed_raise_reaches_the_waiter),
        scenario!(child_exit_arrives_as_sigchld_with_status),
        scenario!(interval_timer_ticks_arrive_from_the_kernel),
        scenario!(timer_arguments_are_checked),
        scenario!(standard_signals_coalesce_while_pending),
        scenario!(realtime_signals_queue_in_order),
        scenario!(sigchld_coalesces_so_reapers_must_loop),
        scenario!(unblocked_thread_does_not_kill_the_process_or_lose_the_event),
        scenario!(stray_and_queued_realtime_signals_all_arrive),
        scenario!(released_signal_kills_again),
        Scenario::new("_release_then_raise", release_then_raise).helper(),
        scenario!(explicitly_blocked_signal_waits_for_the_next_registration),
        scenario!(release_restores_a_previous_ignore),
        scenario!(closing_stops_the_waiter_and_wakes_readers),
        scenario!(idle_waiter_leaves_when_main_unblocks),
        scenario!(children_spawned_with_reset_die_on_sigterm),
        scenario!(two_components_share_one_waiter),
        scenario!(a_registration_grows_and_shrinks),
        scenario!(forbidden_signals_are_refused),
        scenario!(pidfd_and_bad_targets),
        scenario!(ignoring_discards_a_pending_signal),
        scenario!(exit_by_signal_reports_the_signal_to_the_parent),
        scenario!(a_sink_owning_a_registration_can_be_dropped).timeout(Duration::from_secs(20)),
        scenario!(registering_from_a_sink_is_an_error).timeout(Duration::from_secs(20)),
        scenario!(a_waiter_starts_with_the_queue_already_full).timeout(Duration::from_secs(20)),
        scenario!(commands_complete_when_the_same_user_fills_the_queue)
            .timeout(Duration::from_secs(20)),
        scenario!(commands_complete_when_nobody_fills_the_queue).timeout(Duration::from_secs(20)),
        Scenario::new("_park_as_nobody", park_as_nobody).helper(),
        scenario!(an_outside_wake_signal_is_harmless),
        scenario!(reset_goes_back_to_the_state_at_start),
        scenario!(hostile_thread_names_are_read_and_escaped),
        scenario!(a_foreign_handler_on_sigrtmax_moves_the_wake_signal),
        Scenario::new("_serve_then_exit_by_term", serve_then_exit_by_term).helper(),
    ];
    sigtest::run(&[&scenarios[..], semantics::SCENARIOS].concat());
}
