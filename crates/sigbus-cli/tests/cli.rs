//! The `sigbus` binary as a user runs it: spawned as a child, signals sent to it
//! with kill/sigqueue, its `--json` output parsed. This process only sends
//! signals (to children), so the normal test harness is fine.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError};
use serde_json::Value;
use sigcore::{ProcSignals, Signal};

/// Every wait in these tests has a deadline: a hung `sigbus` fails its test
/// instead of hanging the suite.
const DEADLINE: Duration = Duration::from_secs(20);

fn sigbus(args: &[&str]) -> Output {
    output_within(
        Command::new(env!("CARGO_BIN_EXE_sigbus")).args(args),
        DEADLINE,
    )
}

/// `Command::output` with a deadline: the command runs in a process group of
/// its own, killed with it past `deadline` (which fails the test).
fn output_within(command: &mut Command, deadline: Duration) -> Output {
    use std::os::unix::process::ExitStatusExt;
    let (outcome, stdout, stderr) = sigtest::output_within(command, deadline);
    let raw = match outcome {
        sigtest::WaitOutcome::Exited(code) => code << 8,
        sigtest::WaitOutcome::Signaled(signo) => signo,
        sigtest::WaitOutcome::TimedOut => {
            panic!("{command:?} ran past {deadline:?}:\n{stdout}\n{stderr}")
        }
    };
    Output {
        status: ExitStatus::from_raw(raw),
        stdout: stdout.into_bytes(),
        stderr: stderr.into_bytes(),
    }
}

/// A running `sigbus`, its stdout read line by line on a thread of its own so
/// that every read can have a deadline. Killed if still running when dropped.
struct Running {
    child: Child,
    lines: Receiver<String>,
}

impl Running {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The next line of stdout, within the deadline.
    fn line(&self) -> String {
        match self.lines.recv_timeout(DEADLINE) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!("no output within {DEADLINE:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("output ended early"),
        }
    }

    /// Waits for the exit (within the deadline) and returns the status with
    /// the rest of stdout.
    fn finish(mut self) -> (ExitStatus, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "sigbus did not exit within {DEADLINE:?}"
            );
            thread::sleep(Duration::from_millis(5));
        };
        let mut rest = String::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            rest.push_str(&line);
        }
        (status, rest)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn spawn(args: &[&str]) -> Running {
    spawn_command(Command::new(env!("CARGO_BIN_EXE_sigbus")).args(args))
}

fn spawn_command(command: &mut Command) -> Running {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot run sigbus");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, lines) = unbounded();
    thread::spawn(move || {
        for line in stdout.lines() {
            let Ok(line) = line else { break };
            if tx.send(line + "\n").is_err() {
                break;
            }
        }
    });
    Running { child, lines }
}

/// Gives the command's process a `RLIMIT_SIGPENDING` that leaves room for only
/// `room` more pending signals of this user (a queue a test can fill quickly).
fn with_queue_room(command: &mut Command, room: u64) -> &mut Command {
    use std::os::unix::process::CommandExt;
    let (used, _) = sigtest::signal_queue();
    let limit = libc::rlimit {
        rlim_cur: (used + room) as libc::rlim_t,
        rlim_max: (used + room) as libc::rlim_t,
    };
    // SAFETY: setrlimit is async-signal-safe and reads a value copied into the
    // closure before the fork.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_SIGPENDING, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        })
    }
}

/// Polls until `pid` has a handler for every signal of `signals` (serves them).
fn wait_until_serving(pid: i32, signals: &[Signal]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(status) = ProcSignals::of_process(pid) {
            if signals.iter().all(|s| status.caught.contains(*s)) {
                return;
            }
        }
        thread::sleep(Duration::from_millis(2));
    }
    panic!("process {pid} never started serving {signals:?}");
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

#[test]
fn watch_reports_sender_and_payload_to_every_worker() {
    let watch = spawn(&[
        "watch",
        "USR1",
        "HUP",
        "--workers",
        "3",
        "--count",
        "2",
        "--json",
    ]);
    // The pid line comes once every worker is subscribed.
    let first: Value = serde_json::from_str(&watch.line()).unwrap();
    let pid = first["pid"].as_i64().unwrap() as i32;
    assert_eq!(pid, watch.pid());

    sigcore::kill(pid, Signal::USR1).unwrap();
    // One event per worker before the next signal (a pending SIGUSR1 would merge).
    let mut events: Vec<Value> = (0..3)
        .map(|_| serde_json::from_str(&watch.line()).unwrap())
        .collect();
    sigcore::sigqueue(pid, Signal::HUP, 42).unwrap();
    let (status, rest) = watch.finish();
    assert!(status.success(), "{status}");
    let mut lines = json_lines(&rest);
    let summary = lines.pop().expect("a summary line");
    events.extend(lines);

    assert_eq!(events.len(), 6, "{events:?}");
    let me = i64::from(std::process::id());
    for event in &events[..3] {
        assert_eq!(event["signal"], "SIGUSR1");
        assert_eq!(event["number"], 10);
        assert_eq!(event["origin"], "user");
        assert_eq!(event["pid"], me);
        assert_eq!(event["value"], Value::Null);
    }
    for event in &events[3..] {
        assert_eq!(event["signal"], "SIGHUP");
        assert_eq!(event["origin"], "queue");
        assert_eq!(event["value"], 42);
        assert_eq!(event["pid"], me);
        assert!(event["uid"].is_u64());
    }
    let mut workers: Vec<&str> = events
        .iter()
        .map(|e| e["worker"].as_str().unwrap())
        .collect();
    workers.sort();
    assert_eq!(
        workers,
        ["worker-1", "worker-1", "worker-2", "worker-2", "worker-3", "worker-3"]
    );
    assert_eq!(summary["summary"]["SIGUSR1"], 1);
    assert_eq!(summary["summary"]["SIGHUP"], 1);
}

#[test]
fn first_ctrl_c_ends_watch_cleanly_with_a_summary() {
    let watch = spawn(&["watch"]);
    let pid: i32 = watch
        .line()
        .trim()
        .strip_prefix("pid ")
        .unwrap()
        .parse()
        .unwrap();
    wait_until_serving(pid, &[Signal::INT, Signal::USR2]);
    sigcore::kill(pid, Signal::USR2).unwrap();
    while !watch.line().contains("signal=SIGUSR2") {}
    sigcore::kill(pid, Signal::INT).unwrap();
    let (status, text) = watch.finish();
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(
        text.contains("summary: SIGHUP 0, SIGUSR1 0, SIGUSR2 1; dropped 0"),
        "{text}"
    );
}

#[test]
fn send_reports_a_dead_pid() {
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id().to_string();
    sigtest::wait_within(&mut gone, DEADLINE);
    let output = sigbus(&["send", "USR1", &pid]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no such process"), "{stderr}");
}

#[test]
fn send_delivers_with_kill_sigqueue_and_pidfd() {
    let watch = spawn(&["watch", "USR2", "--workers", "1", "--count", "3", "--json"]);
    watch.line();
    let pid = watch.pid().to_string();
    let sends: [&[&str]; 3] = [
        &["send", "USR2", &pid],
        &["send", "SIGUSR2", &pid, "--value", "-7"],
        &["send", "12", &pid, "--pidfd"],
    ];
    for args in sends {
        let output = sigbus(args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let event: Value = serde_json::from_str(&watch.line()).unwrap();
        assert_eq!(event["signal"], "SIGUSR2");
        if args.contains(&"--value") {
            assert_eq!(event["origin"], "queue");
            assert_eq!(event["value"], -7);
        } else {
            assert_eq!(event["origin"], "user");
        }
    }
    assert!(watch.finish().0.success());
}

/// Hardening: with this user's signal queue full (real-time signals parked on
/// the waiter thread by a hostile process), Ctrl-C still ends `watch` cleanly.
#[test]
fn ctrl_c_ends_watch_cleanly_with_a_full_signal_queue() {
    // A low RLIMIT_SIGPENDING for the watch only, so the rest of the suite's
    // real-time sends are not refused meanwhile.
    let watch = spawn_command(with_queue_room(
        Command::new(env!("CARGO_BIN_EXE_sigbus")).args(["watch", "USR1"]),
        300,
    ));
    let pid: i32 = watch
        .line()
        .trim()
        .strip_prefix("pid ")
        .unwrap()
        .parse()
        .unwrap();
    let waiter = ProcSignals::of_threads(pid)
        .unwrap()
        .into_iter()
        .find(|t| t.name == "sigcore-waiter")
        .expect("a waiter thread")
        .pid;
    let parked = sigtest::park_until_full(pid, waiter, Signal::realtime(9).unwrap().number());
    assert!(parked > 0);
    sigcore::kill(pid, Signal::USR1).unwrap();
    while !watch.line().contains("signal=SIGUSR1") {}
    sigcore::kill(pid, Signal::INT).unwrap();
    let (status, text) = watch.finish();
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(text.contains("summary: SIGUSR1 1; dropped 0"), "{text}");
}

/// Flow control end to end: a stream of 20,000 `sigqueue`s (with back-off on
/// `EAGAIN`, as `sigbus send` users would) into a `watch` whose output is read
/// slowly loses nothing: every worker prints every payload, in order, and the
/// summary says no drop.
#[test]
fn watch_loses_no_realtime_signal_to_a_slow_reader() {
    let count = 20_000;
    let watch = spawn_command(with_queue_room(
        Command::new(env!("CARGO_BIN_EXE_sigbus")).args([
            "watch",
            "RTMIN+1",
            "--workers",
            "2",
            "--count",
            "20000",
            "--json",
        ]),
        2000,
    ));
    let first: Value = serde_json::from_str(&watch.line()).unwrap();
    let pid = first["pid"].as_i64().unwrap() as i32;
    let rt = Signal::realtime(1).unwrap();
    let sender = thread::spawn(move || {
        let mut pushed_back = 0;
        for value in 0..count {
            loop {
                match sigcore::sigqueue(pid, rt, value) {
                    Ok(()) => break,
                    Err(sigcore::Error::QueueFull { .. }) => {
                        pushed_back += 1;
                        thread::sleep(Duration::from_micros(200));
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        }
        pushed_back
    });
    let mut next = [0i64; 2];
    for n in 0..2 * count {
        let event: Value = serde_json::from_str(&watch.line()).unwrap();
        let worker = if event["worker"] == "worker-1" { 0 } else { 1 };
        assert_eq!(event["value"], next[worker], "{event}");
        next[worker] += 1;
        if n % 1000 == 0 {
            thread::sleep(Duration::from_millis(20)); // a slow reader
        }
    }
    let pushed_back = sigtest::join_within(sender, Duration::from_secs(120));
    let (status, rest) = watch.finish();
    assert!(status.success(), "{status}");
    let summary: Value = serde_json::from_str(rest.trim()).unwrap();
    assert_eq!(summary["dropped"], 0, "{summary}");
    assert_eq!(summary["summary"]["SIGRTMIN+1"], count, "{summary}");
    println!("figure: {count} queued into watch, pushed back {pushed_back} times, 0 lost");
}

#[test]
fn inspect_shows_an_ignored_signal() {
    let mut child = Command::new("sh")
        .args(["-c", "trap '' USR1; sleep 20"])
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    let ignored = loop {
        let output = sigbus(&["inspect", &pid, "--json"]);
        assert!(output.status.success());
        let status = &json_lines(&String::from_utf8_lossy(&output.stdout))[0];
        let ignored: Vec<String> = serde_json::from_value(status["ignored"].clone()).unwrap();
        if ignored.iter().any(|s| s == "SIGUSR1") || Instant::now() > deadline {
            break ignored;
        }
        thread::sleep(Duration::from_millis(10));
    };
    child.kill().unwrap();
    sigtest::wait_within(&mut child, DEADLINE);
    assert!(ignored.contains(&"SIGUSR1".to_owned()), "{ignored:?}");
    let text = sigbus(&["inspect", "1"]);
    assert!(String::from_utf8_lossy(&text.stdout).starts_with("process 1 ("));
}

#[test]
fn list_has_every_realtime_signal() {
    let output = sigbus(&["list", "--json"]);
    assert!(output.status.success());
    let signals = json_lines(&String::from_utf8_lossy(&output.stdout));
    let names: Vec<&str> = signals
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for n in Signal::rtmin().number()..=Signal::rtmax().number() {
        let name = Signal::new(n).unwrap().name();
        assert!(names.contains(&name), "{name} missing");
    }
    assert!(names.contains(&"SIGRTMIN") && names.contains(&"SIGRTMAX"));
    let kill = signals.iter().find(|s| s["name"] == "SIGKILL").unwrap();
    assert_eq!(kill["catchable"], false);
    assert_eq!(kill["default_action"], "terminate");
    assert_eq!(signals.len(), Signal::all().count());
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let cases: [&[&str]; 13] = [
        &["watch", "USR3"],
        &["watch", "KILL"],
        &["watch", "SEGV"],
        &["watch", ""],
        &["send", "USR1", "0"],
        &["send", "USR1", "-1"],
        &["send", "USR1", "12x"],
        &["send", "RTMIN+99", "1"],
        &["inspect", "abc"],
        &["watch", "--workers", "0"],
        &["watch", "--timeout", "-3"],
        &["list", "--nope"],
        &["frobnicate"],
    ];
    for args in cases {
        let output = sigbus(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("sigbus: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn demo_runs_every_step_and_exits_0() {
    let output = sigbus(&["demo"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for text in [
        "worker-1   got SIGUSR1",
        "worker-3   got SIGUSR1",
        "config reloaded, color blue -> green",
        "tick 3 (SIGALRM",
        "value 42",
        "exited with code 3",
        "targeted, from main",
        "shutdown notice (SIGTERM)",
        "done: all actors stopped",
    ] {
        assert!(
            stdout.contains(text),
            "demo did not print {text:?}:\n{stdout}"
        );
    }
    let targeted = stdout
        .lines()
        .filter(|l| l.contains("targeted, from"))
        .count();
    assert_eq!(targeted, 1, "only one actor gets the targeted event");
}

#[test]
fn help_explains_every_subcommand() {
    for sub in ["list", "watch", "send", "inspect", "demo"] {
        let output = sigbus(&[sub, "--help"]);
        assert!(output.status.success());
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage: sigbus"),
            "{sub}"
        );
    }
}

/// valgrind keeps SIGRTMAX for itself; sigcore must then wake its waiter with
/// another signal. The demo (every feature, a few seconds) runs clean under
/// memcheck. Skipped where valgrind is not installed.
#[test]
fn demo_runs_clean_under_valgrind_memcheck() {
    let probe = Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .spawn();
    let installed = probe.is_ok_and(|mut p| sigtest::wait_within(&mut p, DEADLINE).success());
    if !installed {
        println!("skipped: valgrind is not installed");
        return;
    }
    let output = output_within(
        Command::new("valgrind").args([
            "--error-exitcode=99",
            "-q",
            env!("CARGO_BIN_EXE_sigbus"),
            "demo",
        ]),
        Duration::from_secs(600),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("done: all actors stopped"), "{stdout}");
}
