//! The `sigbus` binary as a user runs it: spawned as a child, signals sent to it
//! with kill/sigqueue, its `--json` output parsed. This process only sends
//! signals (to children), so the normal test harness is fine.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use sigcore::{ProcSignals, Signal};

fn sigbus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigbus"))
        .args(args)
        .output()
        .expect("cannot run sigbus")
}

fn spawn(args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sigbus"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run sigbus");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdout)
}

fn next_line(stdout: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    assert!(
        stdout.read_line(&mut line).unwrap() > 0,
        "output ended early"
    );
    line
}

fn rest(stdout: &mut BufReader<ChildStdout>) -> String {
    let mut text = String::new();
    stdout.read_to_string(&mut text).unwrap();
    text
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
    let (child, mut stdout) = spawn(&[
        "watch",
        "USR1",
        "HUP",
        "--workers",
        "3",
        "--count",
        "2",
        "--json",
    ]);
    let first: Value = serde_json::from_str(&next_line(&mut stdout)).unwrap();
    let pid = first["pid"].as_i64().unwrap() as i32;
    assert_eq!(pid, child.id() as i32);
    wait_until_serving(pid, &[Signal::USR1, Signal::HUP]);

    sigcore::kill(pid, Signal::USR1).unwrap();
    // One event per worker before the next signal (a pending SIGUSR1 would merge).
    let mut events: Vec<Value> = (0..3)
        .map(|_| serde_json::from_str(&next_line(&mut stdout)).unwrap())
        .collect();
    sigcore::sigqueue(pid, Signal::HUP, 42).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut lines = json_lines(&rest(&mut stdout));
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
    let (mut child, mut stdout) = spawn(&["watch"]);
    let pid: i32 = next_line(&mut stdout)
        .trim()
        .strip_prefix("pid ")
        .unwrap()
        .parse()
        .unwrap();
    wait_until_serving(pid, &[Signal::INT, Signal::USR2]);
    sigcore::kill(pid, Signal::USR2).unwrap();
    while !next_line(&mut stdout).contains("signal=SIGUSR2") {}
    sigcore::kill(pid, Signal::INT).unwrap();
    let status = child.wait().unwrap();
    let text = rest(&mut stdout);
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(
        text.contains("summary: SIGHUP 0, SIGUSR1 0, SIGUSR2 1"),
        "{text}"
    );
}

#[test]
fn send_reports_a_dead_pid() {
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id().to_string();
    gone.wait().unwrap();
    let output = sigbus(&["send", "USR1", &pid]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no such process"), "{stderr}");
}

#[test]
fn send_delivers_with_kill_sigqueue_and_pidfd() {
    let (child, mut stdout) = spawn(&["watch", "USR2", "--workers", "1", "--count", "3", "--json"]);
    next_line(&mut stdout);
    let pid = child.id().to_string();
    wait_until_serving(child.id() as i32, &[Signal::USR2]);
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
        let event: Value = serde_json::from_str(&next_line(&mut stdout)).unwrap();
        assert_eq!(event["signal"], "SIGUSR2");
        if args.contains(&"--value") {
            assert_eq!(event["origin"], "queue");
            assert_eq!(event["value"], -7);
        } else {
            assert_eq!(event["origin"], "user");
        }
    }
    assert!(child.wait_with_output().unwrap().status.success());
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
    child.wait().unwrap();
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
