//! `sigbus::Init` as a child subreaper (no pid namespace needed; see
//! `tests/pid1.rs` for PID 1): exit codes, every signal forwarded exactly
//! once, real-time order, rewrites, group mode, reaping orphans and bursts of
//! exits, `wait_all`, exec failures. Ported from tini's `run_inner_tests.py`
//! and dumb-init's `tests/`.
//!
//! Each scenario is the init itself, in a process of its own (see
//! `sigtest`): it starts the init first thing, then threads that send it
//! signals (`kill` of its own pid, process-directed, as a supervisor's would
//! be) and read what its command reports.

use std::io::{BufRead, BufReader};
use std::process::{ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver};
use sigbus::{ExitRemap, ForwardTo, Init, InitEvent, InitExit, SignalRewrites};
use sigcore::{ChildStatus, Signal, SignalSet};
use sigtest::{helper_command, ms, scenario};

/// Every wait on the init or its command ends by this.
const DEADLINE: Duration = Duration::from_secs(20);

fn me() -> i32 {
    std::process::id() as i32
}

fn sh(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", script]);
    command
}

/// Runs the init to its end, within the deadline.
fn finish(mut init: Init) -> InitExit {
    init.wait_timeout(DEADLINE)
        .expect("the init runs")
        .unwrap_or_else(|| panic!("the init did not finish within {DEADLINE:?}"))
}

/// Runs the init on a thread of its own (started after the init blocked its
/// signals, it inherits the block), while the test plays its parent and
/// reads what the command reports.
fn in_background(init: Init) -> thread::JoinHandle<InitExit> {
    thread::spawn(move || finish(init))
}

/// The events an init reported, kept for assertions.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn observer(&self) -> impl FnMut(&InitEvent) + Send + 'static {
        let log = self.0.clone();
        move |event| {
            if std::env::var_os("INIT_DEBUG").is_some() {
                eprintln!("init event: {event:?}");
            }
            log.lock().unwrap().push(format!("{event:?}"))
        }
    }

    fn count(&self, prefix: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.starts_with(prefix))
            .count()
    }

    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// The lines a child writes to its stdout, as they come.
fn lines(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = unbounded();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn next_line(lines: &Receiver<String>, what: &str) -> String {
    lines
        .recv_timeout(DEADLINE)
        .unwrap_or_else(|_| panic!("no line ({what}) within {DEADLINE:?}"))
}

/// The recorder's "ready PID" line; returns PID.
fn ready(lines: &Receiver<String>) -> i32 {
    let line = next_line(lines, "ready");
    line.strip_prefix("ready ")
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("not a ready line: {line:?}"))
}

/// Sends `signal` to the init (this process), as any other process would.
fn send_to_init(signal: Signal) {
    sigcore::kill(me(), signal).unwrap();
}

/// The recorder: serves every signal it can and prints each one's number on
/// a line of its own, after "ready PID". Ends only by SIGKILL.
fn _recorder() {
    let all: SignalSet = Signal::all()
        .filter(|s| s.check_waitable().is_ok())
        .collect();
    sigcore::block(all).unwrap();
    let signals = sigcore::Signals::with_capacity(all, 4096).unwrap();
    println!("ready {}", std::process::id());
    for event in signals.iter() {
        println!("{}", event.signal.number());
    }
}

/// Ignores SIGUSR1, starts a recorder (which serves it), and exits 0 when the
/// recorder ends.
fn _ignores_usr1_and_starts_a_recorder() {
    sigcore::ignore(Signal::USR1).unwrap();
    let status = helper_command("_recorder").status().unwrap();
    println!("recorder ended: {status}");
}

/// Forks 50 children blocked on a pipe, then closes it and exits: 51 exits in
/// the same instant, their SIGCHLDs coalescing at the init.
fn _burst() {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    for _ in 0..50 {
        // SAFETY: this helper is single-threaded (a fresh process running only
        // this function); the child makes only async-signal-safe calls.
        match unsafe { libc::fork() } {
            // SAFETY: in the child of a single-threaded helper: close, read, _exit only.
            0 => unsafe {
                // SAFETY: in the child: close, read into a local byte, _exit.
                libc::close(fds[1]);
                let mut byte = 0u8;
                libc::read(fds[0], (&mut byte as *mut u8).cast(), 1);
                libc::_exit(0);
            },
            -1 => panic!("fork failed"),
            _ => {}
        }
    }
    // SAFETY: closing our write end wakes every child with end-of-file; then
    // leave at once, without running destructors.
    unsafe {
        libc::close(fds[1]);
        libc::_exit(0);
    }
}

/// Ends by the signal named in $SIGNAL, at its default action (whatever the
/// disposition inherited), without a core file.
fn _dies_by_signal() {
    let signal: Signal = std::env::var("SIGNAL").unwrap().parse().unwrap();
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid rlimit that lives through the call.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
    sigcore::exit_by_signal(signal);
}

/// tini's exit-code test: every code passes through, `-e CODE` maps it to 0
/// and leaves the others alone.
fn exit_codes_pass_through_and_remap() {
    for code in [0u8, 1, 2, 7, 126, 127, 128, 143, 254, 255] {
        let script = format!("exit {code}");
        let exit = finish(Init::builder(sh(&script)).subreaper(true).start().unwrap());
        assert_eq!(exit.code, code);
        assert_eq!(exit.child.status, ChildStatus::Exited(i32::from(code)));
        let only: ExitRemap = [code].into_iter().collect();
        let builder = Init::builder(sh(&script)).subreaper(true).remap_exit(only);
        assert_eq!(finish(builder.start().unwrap()).code, 0, "-e {code}");
        let others: ExitRemap = (0..=255u8).filter(|c| *c != code).collect();
        let builder = Init::builder(sh(&script))
            .subreaper(true)
            .remap_exit(others);
        assert_eq!(
            finish(builder.start().unwrap()).code,
            code,
            "-e all but {code}"
        );
    }
}

/// dumb-init's and tini's: a command killed by signal n makes the init exit
/// 128 + n.
fn a_command_killed_by_a_signal_gives_128_plus_n() {
    for signal in [
        Signal::TERM,
        Signal::HUP,
        Signal::QUIT,
        Signal::USR1,
        Signal::USR2,
        Signal::KILL,
    ] {
        let mut command = helper_command("_dies_by_signal");
        command.env("SIGNAL", signal.name());
        let exit = finish(Init::builder(command).subreaper(true).start().unwrap());
        assert_eq!(exit.code, 128 + signal.number() as u8, "{signal:?}");
        assert!(
            matches!(exit.child.status, ChildStatus::Killed(n) | ChildStatus::Dumped(n) if n == signal.number()),
            "{signal:?}: {:?}",
            exit.child.status
        );
    }
}

/// Starts an init running the recorder; returns it, the recorder's lines and
/// the recorder's pid.
fn init_with_recorder(
    forward_to: ForwardTo,
    rewrites: SignalRewrites,
    log: &Log,
) -> (thread::JoinHandle<InitExit>, Receiver<String>, i32) {
    let mut command = helper_command("_recorder");
    command.stdout(Stdio::piped());
    let mut init = Init::builder(command)
        .subreaper(true)
        .forward_to(forward_to)
        .rewrites(rewrites)
        .on_event(log.observer())
        .start()
        .unwrap();
    let lines = lines(init.stdout.take().unwrap());
    let pid = init.child_pid();
    let init = in_background(init);
    let recorder = ready(&lines);
    assert_eq!(recorder, pid);
    (init, lines, recorder)
}

/// Ends the recorder (SIGKILL cannot be forwarded: the test sends it itself)
/// and checks the init then exits 137.
fn end_recorder(init: thread::JoinHandle<InitExit>, recorder: i32) {
    sigcore::kill(recorder, Signal::KILL).unwrap();
    let exit = init.join().unwrap();
    assert_eq!(exit.code, 128 + 9);
}

/// dumb-init's `test_proxies_signals`, over every signal an init can forward
/// (real-time ones too) but the job-control stops (they would stop this
/// process, the test included): each arrives once. SIGCHLD sent to the init
/// is not passed on.
fn every_catchable_signal_is_forwarded_exactly_once() {
    let log = Log::default();
    let (init, lines, recorder) = init_with_recorder(ForwardTo::Child, SignalRewrites::new(), &log);
    let forwarded: Vec<Signal> = sigbus::forwarded_signals()
        .iter()
        .filter(|s| !sigbus::suspends_init(*s))
        .collect();
    assert!(forwarded.len() >= 50, "{forwarded:?}");
    for signal in &forwarded {
        send_to_init(*signal);
        let line = next_line(&lines, signal.name());
        assert_eq!(line, signal.number().to_string(), "sent {signal:?}");
    }
    // Not forwarded: SIGCHLD. Nothing more may arrive.
    send_to_init(Signal::CHLD);
    thread::sleep(ms(300));
    assert_eq!(lines.try_recv().ok(), None, "an extra signal arrived");
    assert_eq!(log.count("Forwarded"), forwarded.len(), "{:?}", log.all());
    end_recorder(init, recorder);
}

/// Real-time signals queue: a burst of three of each (every one an init can
/// forward) arrives whole, and in the kernel's order (lowest number first).
fn realtime_signals_are_forwarded_in_order() {
    let log = Log::default();
    let (init, lines, recorder) = init_with_recorder(ForwardTo::Child, SignalRewrites::new(), &log);
    let realtime: Vec<Signal> = sigbus::forwarded_signals()
        .iter()
        .filter(|s| s.is_realtime())
        .collect();
    assert!(realtime.len() >= 25, "{realtime:?}");
    for signal in &realtime {
        for value in 0..3 {
            sigcore::sigqueue(me(), *signal, value).unwrap();
        }
    }
    let expected: Vec<String> = realtime
        .iter()
        .flat_map(|s| std::iter::repeat_n(s.number().to_string(), 3))
        .collect();
    let got: Vec<String> = expected
        .iter()
        .map(|_| next_line(&lines, "a real-time signal"))
        .collect();
    assert_eq!(got, expected);
    thread::sleep(ms(200));
    assert_eq!(lines.try_recv().ok(), None, "an extra signal arrived");
    end_recorder(init, recorder);
}

/// dumb-init's rewrite cases (a swap, a self-map, the lowest and highest
/// standard signals) plus a real-time rewrite, and drops (`TO` = 0).
fn rewrites_send_another_signal_or_drop() {
    let mut rewrites = SignalRewrites::new();
    for rule in [
        "TERM:INT",
        "INT:TERM",
        "QUIT:QUIT",
        "1:31",
        "31:1",
        "RTMIN+1:RTMIN+2",
        "WINCH:0",
        "USR2:0",
    ] {
        rewrites.add_rule(rule).unwrap();
    }
    let log = Log::default();
    let (init, lines, recorder) = init_with_recorder(ForwardTo::Child, rewrites, &log);
    let rt = |n| Signal::realtime(n).unwrap();
    let cases = [
        (Signal::TERM, Signal::INT),
        (Signal::QUIT, Signal::QUIT),
        (Signal::CONT, Signal::CONT),
        (Signal::INT, Signal::TERM),
        (Signal::HUP, Signal::SYS),
        (Signal::SYS, Signal::HUP),
        (rt(1), rt(2)),
    ];
    for (sent, expected) in cases {
        send_to_init(sent);
        assert_eq!(
            next_line(&lines, expected.name()),
            expected.number().to_string(),
            "sent {sent:?}"
        );
    }
    // Dropped ones never arrive: the next line is the HUP sent after them.
    // (Several standard signals pending at once are taken lowest number
    // first, so the HUP may be forwarded before the drops are logged.)
    send_to_init(Signal::WINCH);
    send_to_init(Signal::USR2);
    send_to_init(Signal::HUP);
    assert_eq!(
        next_line(&lines, "SIGSYS"),
        Signal::SYS.number().to_string()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while log.count("Dropped") < 2 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(log.count("Dropped"), 2, "{:?}", log.all());
    end_recorder(init, recorder);
}

/// tini's process-group test: the command ignores SIGUSR1 and runs a child
/// that serves it. Forwarded to the group (`-g`), SIGUSR1 reaches the
/// grandchild; forwarded to the command alone, it does not.
fn group_mode_reaches_a_grandchild() {
    for (mode, reaches) in [(ForwardTo::Group, true), (ForwardTo::Child, false)] {
        let mut command = helper_command("_ignores_usr1_and_starts_a_recorder");
        command.stdout(Stdio::piped());
        let mut init = Init::builder(command)
            .subreaper(true)
            .forward_to(mode)
            .start()
            .unwrap();
        let lines = lines(init.stdout.take().unwrap());
        let child = init.child_pid();
        let init = in_background(init);
        let grandchild = ready(&lines);
        assert_ne!(grandchild, child);
        send_to_init(Signal::USR1);
        if reaches {
            assert_eq!(next_line(&lines, "SIGUSR1"), "10", "{mode:?}");
        } else {
            thread::sleep(ms(300));
            assert_eq!(lines.try_recv().ok(), None, "{mode:?}");
        }
        sigcore::kill(grandchild, Signal::KILL).unwrap();
        let exit = init.join().unwrap();
        assert_eq!(exit.code, 0, "{mode:?}: the command outlived SIGUSR1");
    }
}

/// tini's reaping test: the command leaves 100 orphans (their parent, a
/// subshell, exits at once); they come to the init, a subreaper, which reaps
/// each as it exits: no zombie is left while the command still runs, and
/// nothing at all at the end.
fn a_hundred_orphans_are_reaped() {
    let script = r#"
        (for i in $(seq 100); do sleep 1 & done)
        echo adopted $(cat /proc/$PPID/task/*/children | wc -w)
        sleep 2
        z=0
        for p in $(cat /proc/$PPID/task/*/children); do
            [ "$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null)" = Z ] && z=$((z + 1))
        done
        echo zombies $z
    "#;
    let mut command = sh(script);
    command.stdout(Stdio::piped());
    let log = Log::default();
    let mut init = Init::builder(command)
        .subreaper(true)
        .on_event(log.observer())
        .start()
        .unwrap();
    let lines = lines(init.stdout.take().unwrap());
    let exit = finish(init);
    assert_eq!(exit.code, 0);
    let adopted = next_line(&lines, "adopted");
    let adopted: usize = adopted["adopted ".len()..].parse().unwrap();
    // The command itself and its 100 orphans (some may have started slowly).
    assert!(adopted >= 100, "only {adopted} children of the init");
    assert_eq!(next_line(&lines, "zombies"), "zombies 0");
    let orphans = log
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.contains("main: false"))
        .count();
    assert_eq!(orphans, 100, "{:?}", log.all());
    assert_eq!(sigcore::children().unwrap(), Vec::<i32>::new());
}

/// catatonit #4: the command and 50 grandchildren exit in the same instant,
/// their SIGCHLDs coalescing. 200 rounds; in each the init (with `wait_all`:
/// it must see every one) returns, reports 0, and leaves no child.
fn a_burst_of_exits_never_hangs_the_init() {
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for round in 0..200 {
        let began = Instant::now();
        let mut init = Init::builder(helper_command("_burst"))
            .subreaper(true)
            .wait_all(Some(Duration::from_secs(5)))
            .start()
            .unwrap();
        let exit = init
            .wait_timeout(Duration::from_secs(10))
            .unwrap()
            .unwrap_or_else(|| panic!("round {round}: the init hangs"));
        assert_eq!(exit.code, 0, "round {round}");
        assert_eq!(
            sigcore::children().unwrap(),
            Vec::<i32>::new(),
            "round {round}"
        );
        slowest = slowest.max(began.elapsed());
    }
    println!(
        "figure: 200 rounds of 51 simultaneous exits in {:?}, slowest round {slowest:?}",
        started.elapsed()
    );
    assert!(slowest < Duration::from_secs(5), "{slowest:?}");
}

/// dumb-init #212, tini #236: with `wait_all`, descendants left when the
/// command exits get SIGTERM, then SIGKILL after the grace period if they
/// ignore it; the init returns only when none is left. One that obeys
/// SIGTERM ends the wait at once.
fn wait_all_kills_what_ignores_sigterm_after_the_grace() {
    let grace = Duration::from_secs(1);
    let log = Log::default();
    let started = Instant::now();
    let stubborn = sh("(trap '' TERM; sleep 100) & sleep 0.2; exit 5");
    let init = Init::builder(stubborn)
        .subreaper(true)
        .wait_all(Some(grace))
        .on_event(log.observer())
        .start()
        .unwrap();
    let exit = finish(init);
    let took = started.elapsed();
    assert_eq!(exit.code, 5);
    assert!(took >= grace, "returned before the grace period: {took:?}");
    assert!(took < grace + Duration::from_secs(4), "{took:?}");
    assert!(log.count("Terminating") >= 1, "{:?}", log.all());
    assert!(log.count("Killing") >= 1, "{:?}", log.all());
    assert_eq!(sigcore::children().unwrap(), Vec::<i32>::new());

    let log = Log::default();
    let started = Instant::now();
    let obedient = sh("sleep 100 & sleep 0.2; exit 6");
    let init = Init::builder(obedient)
        .subreaper(true)
        .wait_all(Some(Duration::from_secs(10)))
        .on_event(log.observer())
        .start()
        .unwrap();
    let exit = finish(init);
    assert_eq!(exit.code, 6);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(log.count("Killing"), 0, "{:?}", log.all());
    assert_eq!(sigcore::children().unwrap(), Vec::<i32>::new());
}

/// tini: a program that is not found is 127, one that cannot be run 126.
fn exec_failures_are_127_and_126() {
    let missing = Init::builder(Command::new("/nonexistent/program")).start();
    let error = missing.unwrap_err();
    assert_eq!(error.exit_code(), 127, "{error}");
    assert!(
        error.to_string().contains("/nonexistent/program"),
        "{error}"
    );

    let dir = std::env::temp_dir().join(format!("sigbus-init-{}", me()));
    std::fs::create_dir_all(&dir).unwrap();
    let plain = dir.join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\nexit 0\n").unwrap();
    let error = Init::builder(Command::new(&plain)).start().unwrap_err();
    assert_eq!(error.exit_code(), 126, "{error}");
    let error = Init::builder(Command::new(&dir)).start().unwrap_err();
    assert_eq!(error.exit_code(), 126, "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn main() {
    sigtest::run(&[
        scenario!(exit_codes_pass_through_and_remap),
        scenario!(a_command_killed_by_a_signal_gives_128_plus_n),
        scenario!(every_catchable_signal_is_forwarded_exactly_once),
        scenario!(realtime_signals_are_forwarded_in_order),
        scenario!(rewrites_send_another_signal_or_drop),
        scenario!(group_mode_reaches_a_grandchild),
        scenario!(a_hundred_orphans_are_reaped),
        scenario!(a_burst_of_exits_never_hangs_the_init),
        scenario!(wait_all_kills_what_ignores_sigterm_after_the_grace),
        scenario!(exec_failures_are_127_and_126),
        scenario!(_recorder).helper(),
        scenario!(_ignores_usr1_and_starts_a_recorder).helper(),
        scenario!(_burst).helper(),
        scenario!(_dies_by_signal).helper(),
    ]);
}
