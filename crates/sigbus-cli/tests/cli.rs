//! The `sigbus` binary as a user runs it: spawned as a child, signals sent to it
//! with kill/sigqueue, its `--json` output parsed. This process only sends
//! signals (to children), so the normal test harness is fine.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
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

/// Whether `program` is an executable file on `PATH`.
fn installed(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
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
    stderr: Receiver<String>,
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
    fn finish(self) -> (ExitStatus, String) {
        let (status, rest, _) = self.finish_all();
        (status, rest)
    }

    /// Like [`Running::finish`], with everything written to stderr as well.
    fn finish_all(mut self) -> (ExitStatus, String, String) {
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
        let stderr = self
            .stderr
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        (status, rest, stderr)
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
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run sigbus");
    let mut stderr = child.stderr.take().unwrap();
    let (tx, errors) = unbounded();
    thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx.send(text);
    });
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
    Running {
        child,
        lines,
        stderr: errors,
    }
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

/// The uid that `nobody` has on Debian-like systems; any uid without
/// privileges would do.
const NOBODY: u32 = 65534;

/// Runs the command as `uid` (the test must be root): no supplementary groups,
/// gid = uid, so the process has neither capabilities nor root's groups.
fn as_user(command: &mut Command, uid: u32) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: setgroups, setgid and setuid are async-signal-safe and use only
    // values copied into the closure before the fork.
    unsafe {
        command.pre_exec(move || {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(uid) != 0
                || libc::setuid(uid) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Waits for a child this test spawned, killing it past the deadline.
fn wait_with_deadline(child: &mut Child) -> ExitStatus {
    wait_within(child, DEADLINE)
}

/// Waits for a child, killing it (and failing the test) past `limit`.
fn wait_within(child: &mut Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child {} did not exit within {limit:?}", child.id());
        }
        thread::sleep(Duration::from_millis(5));
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

/// Now, in seconds since the Unix epoch.
fn epoch_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
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
    // Each event carries its wall-clock time, seconds since the epoch.
    let now = epoch_seconds();
    for event in &events {
        let time = event["time"].as_f64().unwrap_or_else(|| panic!("{event}"));
        assert!((now - time).abs() < 30.0, "{event} vs now {now}");
    }
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

/// `watch --count N --timeout S` lets a script wait for a signal or fail: exit
/// 1 with one line saying how far each worker got when the timeout came first,
/// exit 0 when every worker saw N in time. Text events end with `at=` and the
/// RFC 3339 time they were accepted.
#[test]
fn watch_fails_when_the_timeout_comes_before_the_count() {
    let watch = spawn(&[
        "watch",
        "USR1",
        "--workers",
        "2",
        "--count",
        "2",
        "--timeout",
        "4",
    ]);
    let pid = watch.pid();
    watch.line();
    watch.line(); // "watching ..."
    sigcore::kill(pid, Signal::USR1).unwrap();
    let events = [watch.line(), watch.line()];
    let (status, rest, stderr) = watch.finish_all();
    assert_eq!(status.code(), Some(1), "{rest}{stderr}");
    assert!(rest.contains("summary: SIGUSR1 1; dropped 0"), "{rest}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("timed out after 4 s"), "{stderr}");
    assert!(
        stderr.contains("worker-1 saw 1 of 2") && stderr.contains("worker-2 saw 1 of 2"),
        "{stderr}"
    );

    // The fields before it are unchanged; `at=` is last.
    let now = epoch_seconds();
    for event in &events {
        assert!(
            event.starts_with("seq=1 signal=SIGUSR1(10) origin=user pid="),
            "{event}"
        );
        let at = event
            .trim_end()
            .rsplit_once(" at=")
            .unwrap_or_else(|| panic!("no at= in {event:?}"))
            .1;
        assert!(at.ends_with('Z') && at.len() == 24, "{at}");
        // GNU date reads RFC 3339: an independent check of the format.
        let parsed = output_within(
            Command::new("date").args(["-u", "-d", at, "+%s.%N"]),
            DEADLINE,
        );
        assert!(parsed.status.success(), "date cannot read {at:?}");
        let secs: f64 = String::from_utf8_lossy(&parsed.stdout)
            .trim()
            .parse()
            .unwrap();
        assert!((now - secs).abs() < 30.0, "{at} vs now {now}");
    }

    // Every worker seeing its count in time is a success.
    let watch = spawn(&[
        "watch",
        "USR1",
        "--workers",
        "2",
        "--count",
        "1",
        "--timeout",
        "20",
        "--json",
    ]);
    watch.line();
    sigcore::kill(watch.pid(), Signal::USR1).unwrap();
    let started = Instant::now();
    let (status, rest, stderr) = watch.finish_all();
    assert_eq!(status.code(), Some(0), "{rest}{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "waited for the timeout"
    );
    assert!(stderr.is_empty(), "{stderr}");
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

/// `inspect PID --json` as one parsed object (the process line).
fn inspect_json(pid: u32) -> Value {
    let output = sigbus(&["inspect", &pid.to_string(), "--json"]);
    assert!(output.status.success(), "{output:?}");
    json_lines(&String::from_utf8_lossy(&output.stdout)).remove(0)
}

/// `inspect PID` as text.
fn inspect_text(pid: u32) -> String {
    let output = sigbus(&["inspect", &pid.to_string()]);
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Polls `inspect --json` until `ready` holds (within 10 s) and returns it.
fn inspect_until(pid: u32, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = inspect_json(pid);
        if ready(&status) {
            return status;
        }
        assert!(Instant::now() < deadline, "{what} never showed: {status}");
        thread::sleep(Duration::from_millis(10));
    }
}

fn names(value: &Value) -> Vec<String> {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{value}: {e}"))
}

/// A child killed and reaped when dropped, so a failing test leaves no process.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The inherited-mask symptom: a `sleep` started with signals blocked (as by a
/// program that blocks them for its own waiter and forgets to reset the mask)
/// can never receive them. `inspect` names them; a process with a sigcore
/// waiter thread, which serves what it blocks, gets no warning.
#[test]
fn inspect_warns_about_blocked_signals_nothing_will_take() {
    use std::os::unix::process::CommandExt;
    let blocked = [Signal::USR1, Signal::USR2, Signal::TERM];
    let mut command = Command::new("sleep");
    command.arg("30");
    let numbers = blocked.map(Signal::number);
    // SAFETY: signal, sigemptyset, sigaddset and sigprocmask are
    // async-signal-safe and touch only a set on the child's stack.
    unsafe {
        command.pre_exec(move || {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for n in numbers {
                // At their default, whatever this test started with.
                libc::signal(n, libc::SIG_DFL);
                libc::sigaddset(&mut set, n);
            }
            // Blocked and ignored: nothing was to happen, not the symptom.
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            libc::sigaddset(&mut set, libc::SIGHUP);
            if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let expected = blocked.map(Signal::name);
    let sleeper = Reaped(command.spawn().unwrap());
    let pid = sleeper.0.id();
    let status = inspect_until(pid, "the exec of sleep", |s| s["name"] == "sleep");
    let unhandled = names(&status["blocked_unhandled"]);
    for name in &expected {
        assert!(unhandled.iter().any(|u| u == name), "{name}: {status}");
    }
    assert!(
        names(&status["blocked"]).contains(&"SIGHUP".to_owned()),
        "{status}"
    );
    assert!(!unhandled.contains(&"SIGHUP".to_owned()), "{status}");
    for name in &unhandled {
        assert!(
            !names(&status["ignored"]).contains(name),
            "{name} is ignored: {status}"
        );
    }
    let text = inspect_text(pid);
    let warning = text
        .lines()
        .find(|l| l.trim_start().starts_with("warning:"))
        .unwrap_or_else(|| panic!("no warning:\n{text}"));
    for name in &expected {
        assert!(warning.contains(name), "{name}: {warning}");
    }
    assert!(
        warning.contains("never") || warning.contains("for ever"),
        "{warning}"
    );

    // A user who may not read the process's fds cannot tell whether a signalfd
    // waits for them: then nothing is claimed.
    if sigcore::current_uid() == 0 {
        let mut as_nobody = Command::new(env!("CARGO_BIN_EXE_sigbus"));
        as_user(&mut as_nobody, NOBODY).args(["inspect", &pid.to_string(), "--json"]);
        let output = output_within(&mut as_nobody, DEADLINE);
        assert!(output.status.success(), "{output:?}");
        let status = &json_lines(&String::from_utf8_lossy(&output.stdout))[0];
        assert!(!names(&status["blocked"]).is_empty(), "{status}");
        assert_eq!(
            status["blocked_unhandled"],
            Value::Array(vec![]),
            "{status}"
        );
    }

    // `sigbus watch` blocks what it watches, and its waiter takes it.
    let watch = spawn(&["watch", "USR1", "TERM"]);
    watch.line();
    let status = inspect_json(watch.pid() as u32);
    assert!(
        names(&status["blocked"]).contains(&"SIGUSR1".to_owned()),
        "{status}"
    );
    assert_eq!(
        status["blocked_unhandled"],
        Value::Array(vec![]),
        "{status}"
    );
    assert!(!inspect_text(watch.pid() as u32).contains("warning:"));
}

/// `inspect` says what state a process is in, who owns it, and which of its
/// children are zombies it has not reaped.
#[test]
fn inspect_shows_state_owner_and_zombie_children() {
    use std::os::unix::process::CommandExt;
    // A shell that starts a short sleep, then becomes a long one: the long one
    // never reaps the short one. SIGCHLD at its default, whatever this test
    // started with (an ignored SIGCHLD would reap automatically).
    let mut command = Command::new("sh");
    command.args(["-c", "sleep 0.1 & exec sleep 30"]);
    // SAFETY: signal(2) is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGCHLD, libc::SIG_DFL);
            Ok(())
        });
    }
    let parent = Reaped(command.spawn().unwrap());
    let pid = parent.0.id();
    let status = inspect_until(pid, "a zombie child", |s| {
        s["zombie_children"]
            .as_array()
            .is_some_and(|z| !z.is_empty())
    });
    let zombie = &status["zombie_children"][0];
    assert_eq!(zombie["name"], "sleep", "{status}");
    let zombie_pid = zombie["pid"].as_i64().unwrap() as i32;
    assert_eq!(ProcSignals::of_process(zombie_pid).unwrap().state, 'Z');
    assert_eq!(
        ProcSignals::of_process(zombie_pid).unwrap().ppid,
        pid as i32
    );
    assert_eq!(inspect_json(zombie_pid as u32)["state"], "zombie");
    let text = inspect_text(pid);
    assert!(
        text.contains(&format!(
            "zombie children (exited, not reaped): {zombie_pid} (sleep)"
        )),
        "{text}"
    );

    // Owner: this test's uid, with the name `id` gives it.
    let me = sigcore::current_uid();
    assert_eq!(status["uid"], me, "{status}");
    let id = installed("id")
        .then(|| output_within(Command::new("id").args(["-nu", &me.to_string()]), DEADLINE));
    if let Some(id) = id.filter(|o| o.status.success()) {
        let name = String::from_utf8_lossy(&id.stdout).trim().to_owned();
        assert_eq!(status["user"], name.as_str(), "{status}");
        assert!(
            text.contains(&format!("owner: uid {me} ({name})")),
            "{text}"
        );
    }

    // State: a stopped process says so (SIGSTOP cannot be ignored or caught).
    let sleeper = Reaped(Command::new("sleep").arg("30").spawn().unwrap());
    let pid = sleeper.0.id();
    // Just started, it may still be running for a moment: wait until asleep.
    inspect_until(pid, "sleep to be sleeping", |s| {
        s["name"] == "sleep" && s["state"] == "sleeping"
    });
    sigcore::kill(pid as i32, Signal::STOP).unwrap();
    inspect_until(pid, "the stop", |s| s["state"] == "stopped");
    assert!(inspect_text(pid).contains("state: T (stopped)"));
}

/// Kernel threads get no signal table (their masks mean nothing), and the
/// init of a pid namespace is marked (it only gets signals it handles).
#[test]
fn inspect_marks_kernel_threads_and_namespace_inits() {
    match ProcSignals::of_process(2) {
        Ok(kthread) if kthread.kernel_thread => {
            let status = inspect_json(2);
            assert_eq!(status["kernel_thread"], true, "{status}");
            assert_eq!(status["blocked_unhandled"], Value::Array(vec![]));
            let text = inspect_text(2);
            assert!(
                text.contains("kernel thread: signal state does not apply"),
                "{text}"
            );
            assert!(
                !text.contains("HANDLING"),
                "a table for a kernel thread:\n{text}"
            );
        }
        _ => println!("skipped: pid 2 is not a kernel thread here"),
    }

    let plain = Reaped(Command::new("sleep").arg("30").spawn().unwrap());
    let status = inspect_json(plain.0.id());
    assert_eq!(status["namespace_init"], false, "{status}");
    assert_eq!(status["kernel_thread"], false, "{status}");

    // A new pid namespace needs privileges: skipped without them.
    let Ok(unshare) = Command::new("unshare")
        .args(["--pid", "--fork", "--kill-child", "sleep", "30"])
        .stderr(Stdio::null())
        .spawn()
    else {
        println!("skipped: no unshare");
        return;
    };
    let unshare = Reaped(unshare);
    let deadline = Instant::now() + Duration::from_secs(10);
    let init = loop {
        let children =
            std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", unshare.0.id()))
                .unwrap_or_default();
        let child = children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok());
        if let Some(status) = child.and_then(|c: i32| ProcSignals::of_process(c).ok()) {
            if status.name == "sleep" {
                break status;
            }
        }
        if Instant::now() > deadline {
            println!("skipped: unshare --pid did not start its child (no privileges?)");
            return;
        }
        thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(init.ns_pids.last(), Some(&1), "{init:?}");
    let status = inspect_json(init.pid as u32);
    assert_eq!(status["namespace_init"], true, "{status}");
    assert!(inspect_text(init.pid as u32).contains("pid namespace init"));
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

/// Bad input exits 2 with clap's whole report on stderr: `error:` and what is
/// wrong (the value, the missing argument), the usage, a tip; nothing on stdout.
#[test]
fn bad_input_exits_2_naming_the_problem() {
    let cases: [(&[&str], &str); 17] = [
        (&["watch", "USR3"], "invalid signal \"USR3\""),
        (&["watch", "KILL"], "cannot handle SIGKILL"),
        (&["watch", "SEGV"], "cannot handle SIGSEGV"),
        (&["watch", ""], "empty signal name"),
        (&["send", "USR1", "0"], "refusing pid 0"),
        (&["send", "USR1", "-1"], "refusing pid -1"),
        (&["send", "-TERM", "-1"], "refusing pid -1"),
        (&["send", "-s", "TERM", "-1"], "refusing pid -1"),
        (&["send", "USR1", "12x"], "bad pid \"12x\""),
        (&["send", "RTMIN+99", "1"], "RTMIN+99"),
        (&["send", "-FOO", "1"], "invalid signal \"FOO\""),
        (&["send", "TERM"], "<PID>"),
        (&["send", "-s"], "--signal <SIGNAL>"),
        (&["inspect", "abc"], "bad pid \"abc\""),
        (&["watch", "--workers", "0"], "--workers"),
        (&["watch", "--timeout", "-3"], "bad timeout \"-3\""),
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
    ];
    for (args, problem) in cases {
        let output = sigbus(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(stderr.contains(problem), "{args:?}: {stderr}");
        assert!(stderr.contains("--help"), "{args:?}: no tip: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    // The whole report, not its first line: the missing argument, the usage.
    let missing = sigbus(&["send", "TERM"]);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("required arguments were not provided"),
        "{stderr}"
    );
    assert!(stderr.contains("Usage: sigbus send"), "{stderr}");
    // Help and version are answers, not errors.
    for args in [&["--version"][..], &["send", "--help"], &["--help"]] {
        let output = sigbus(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert!(!output.stdout.is_empty(), "{args:?}");
        assert!(output.stderr.is_empty(), "{args:?}");
    }
}

/// `kill`'s spellings all deliver the signal they name: `-s NAME`, `-NAME`,
/// `-NUMBER`, `-SIGRTMIN+N`, the bare operand, with and without `--value`.
#[test]
fn send_accepts_what_kill_users_type() {
    let watch = spawn(&[
        "watch",
        "USR2",
        "HUP",
        "RTMIN+2",
        "--workers",
        "1",
        "--count",
        "6",
        "--json",
    ]);
    watch.line();
    let pid = watch.pid().to_string();
    let sends: [(&[&str], &str, Option<i64>); 6] = [
        (&["send", "-s", "USR2", &pid], "SIGUSR2", None),
        (&["send", "-HUP", &pid], "SIGHUP", None),
        (&["send", "-12", &pid], "SIGUSR2", None),
        (&["send", "-SIGRTMIN+2", &pid], "SIGRTMIN+2", None),
        (
            &["send", "-sighup", &pid, "--value", "-5"],
            "SIGHUP",
            Some(-5),
        ),
        (&["send", "--signal=USR2", "--pidfd", &pid], "SIGUSR2", None),
    ];
    for (args, signal, value) in sends {
        let output = sigbus(args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let event: Value = serde_json::from_str(&watch.line()).unwrap();
        assert_eq!(event["signal"], signal, "{args:?}");
        assert_eq!(event["value"].as_i64(), value, "{args:?}");
    }
    assert!(watch.finish().0.success());

    // `-9` is SIGKILL, whatever the dispositions this test started with.
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let output = sigbus(&["send", "-9", &sleeper.id().to_string()]);
    assert!(output.status.success());
    let status = wait_with_deadline(&mut sleeper);
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
}

/// Signal 0 is `kill -0`: exit 0 when the process exists and may be signalled,
/// 1 with one line otherwise (gone, or another user's), and nothing is sent.
#[test]
fn signal_0_checks_a_process_like_kill_0() {
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = sleeper.id().to_string();
    for args in [
        &["send", "0", &pid][..],
        &["send", "-0", &pid],
        &["send", "-s", "0", &pid],
    ] {
        let output = sigbus(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {output:?}");
        assert!(
            output.stdout.is_empty() && output.stderr.is_empty(),
            "{output:?}"
        );
    }
    assert!(
        sleeper.try_wait().unwrap().is_none(),
        "signal 0 delivered something"
    );
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();

    let output = sigbus(&["send", "-0", &pid]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("no such process: {pid}")),
        "{stderr}"
    );

    let output = sigbus(&["send", "0", "1", "--value", "3"]);
    assert_eq!(output.status.code(), Some(2));

    // A process of another user: exists, but may not be signalled.
    let init_uid = ProcSignals::of_process(1).unwrap().uid;
    let mut probe = Command::new(env!("CARGO_BIN_EXE_sigbus"));
    probe.args(["send", "-0", "1"]);
    let as_uid = if sigcore::current_uid() == 0 {
        NOBODY
    } else {
        sigcore::current_uid()
    };
    if as_uid == init_uid {
        println!("skipped the permission case: pid 1 runs as uid {init_uid}, like this test");
        return;
    }
    if sigcore::current_uid() == 0 {
        as_user(&mut probe, NOBODY);
    }
    let output = output_within(&mut probe, DEADLINE);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("permission denied"), "{stderr}");
}

/// `bench` says on stderr which variant starts and which is done while it
/// runs, and refuses a plot path it cannot write before running anything.
#[test]
fn bench_reports_progress_and_checks_the_plot_path_first() {
    let missing_dir =
        std::env::temp_dir().join(format!("sigbus-no-such-dir-{}", std::process::id()));
    let bad = missing_dir.join("plot.svg");
    let directory = std::env::temp_dir();
    for plot in [&bad, &directory] {
        let started = Instant::now();
        let output = sigbus(&["bench", "--plot", plot.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(plot.to_str().unwrap()), "{stderr}");
        assert!(output.stdout.is_empty(), "something ran");
        assert!(started.elapsed() < Duration::from_secs(5), "something ran");
    }
    assert!(!missing_dir.exists());

    let plot = std::env::temp_dir().join(format!("sigbus-test-plot-{}.svg", std::process::id()));
    let bench = spawn(&[
        "bench",
        "--variants",
        "floor,sigbus",
        "--rounds",
        "300",
        "--warmup",
        "10",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    let (status, table, stderr) = bench.finish_all();
    let svg = std::fs::read_to_string(&plot).unwrap_or_default();
    let _ = std::fs::remove_file(&plot);
    assert!(status.success(), "{table}{stderr}");
    assert!(
        table.contains("floor") && table.contains("sigbus"),
        "{table}"
    );
    assert!(svg.contains("<svg"), "no plot written");
    let lines: Vec<&str> = stderr.lines().collect();
    let at = |text: &str| {
        lines
            .iter()
            .position(|l| l.starts_with("sigbus bench: ") && l.contains(text))
            .unwrap_or_else(|| panic!("no {text:?} in:\n{stderr}"))
    };
    assert!(
        at("[1/2] floor started") < at("[1/2] floor done in"),
        "{stderr}"
    );
    assert!(
        at("[1/2] floor done in") < at("[2/2] sigbus started"),
        "{stderr}"
    );
    assert!(
        at("[2/2] sigbus started") < at("[2/2] sigbus done in"),
        "{stderr}"
    );
    assert_eq!(lines.len(), 4, "{stderr}");
}

const SUBCOMMANDS: [&str; 9] = [
    "list",
    "watch",
    "send",
    "inspect",
    "init",
    "demo",
    "bench",
    "completions",
    "man",
];

/// `sigbus completions SHELL` writes a script that completes every
/// subcommand (bash runs it where installed), and `sigbus man` a roff page
/// naming every subcommand, with a page of its own for each.
#[test]
fn completions_and_man_page_cover_every_subcommand() {
    let bash = sigbus(&["completions", "bash"]);
    assert!(bash.status.success(), "{bash:?}");
    let script = String::from_utf8(bash.stdout).unwrap();
    let opts = script
        .lines()
        .find(|l| l.trim_start().starts_with("opts=") && l.contains(" list "))
        .unwrap_or_else(|| panic!("no top-level opts line:\n{script}"));
    for sub in SUBCOMMANDS {
        assert!(opts.split_whitespace().any(|w| w == sub), "{sub}: {opts}");
    }
    // Where bash is installed, ask the script what `sigbus <TAB>` offers.
    let asked = format!(
        "{script}\nCOMP_WORDS=(sigbus ''); COMP_CWORD=1; _sigbus sigbus '' sigbus; \
         echo \"${{COMPREPLY[@]}}\""
    );
    if installed("bash") {
        let offered = output_within(
            Command::new("bash").args(["--norc", "-c", &asked]),
            DEADLINE,
        );
        assert!(offered.status.success(), "{offered:?}");
        let offered = String::from_utf8_lossy(&offered.stdout);
        for sub in SUBCOMMANDS {
            assert!(
                offered.split_whitespace().any(|w| w == sub),
                "{sub}: {offered}"
            );
        }
    } else {
        println!("skipped running the bash script: bash is not installed");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let output = sigbus(&["completions", shell]);
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&output.stdout);
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell}: {sub} missing");
        }
    }
    assert_eq!(sigbus(&["completions", "tcsh"]).status.code(), Some(2));

    let man = sigbus(&["man"]);
    assert!(man.status.success(), "{man:?}");
    let page = String::from_utf8(man.stdout).unwrap();
    assert!(
        page.lines().any(|l| l.starts_with(".TH sigbus 1")),
        "{page}"
    );
    assert!(
        page.contains(".SH SYNOPSIS") && page.contains(".SH SUBCOMMANDS"),
        "{page}"
    );
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!("sigbus\\-{sub}(1)")),
            "{sub}:\n{page}"
        );
        let man = sigbus(&["man", sub]);
        assert!(man.status.success(), "{sub}");
        let page = String::from_utf8(man.stdout).unwrap();
        assert!(
            page.lines()
                .any(|l| l.starts_with(&format!(".TH sigbus-{sub} 1"))),
            "{sub}:\n{page}"
        );
    }
    let send = String::from_utf8(sigbus(&["man", "send"]).stdout).unwrap();
    assert!(send.contains("\\-\\-pidfd"), "{send}");
    let unknown = sigbus(&["man", "frobnicate"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(unknown.stdout.is_empty());
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
    for sub in SUBCOMMANDS {
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
