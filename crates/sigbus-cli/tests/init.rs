//! `sigbus init` as a user runs it: the real binary, with a command that
//! records what it receives, signalled from this test as a supervisor would.
//! Ported from tini's `run_inner_tests.py` and dumb-init's `tests/`: exit
//! codes, forwarding (every signal once, real-time order, rewrites, groups,
//! sessions, job-control stops), the caller's signal state reaching the
//! command, Ctrl-C on a terminal, the parent-death signal, logs, bad input,
//! and PID 1 of a pid namespace. Each scenario runs in a process of its own
//! (see `sigtest`), killed with everything it started at its deadline.

use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver};
use serde_json::Value;
use sigcore::{ProcSignals, Signal, SignalSet};
use sigtest::{helper_command, ms, scenario};

/// Every wait ends by this.
const DEADLINE: Duration = Duration::from_secs(20);

fn sigbus() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sigbus"))
}

/// `sigbus init ARGS...`, its standard input from /dev/null.
fn init(args: &[&str]) -> Command {
    let mut command = sigbus();
    command.arg("init").args(args).stdin(Stdio::null());
    command
}

/// A running `sigbus init`: stdout read line by line, stderr kept, every read
/// and the exit waited for within the deadline. Killed if still running when
/// dropped.
struct Running {
    child: Child,
    lines: Receiver<String>,
    stderr: Receiver<String>,
}

fn spawn(command: &mut Command) -> Running {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run sigbus");
    let (tx, lines) = unbounded();
    let stdout = child.stdout.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (tx, stderr) = unbounded();
    let mut err = child.stderr.take().unwrap();
    thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    Running {
        child,
        lines,
        stderr,
    }
}

impl Running {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn line(&self, what: &str) -> String {
        self.lines
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|_| panic!("no line ({what}) within {DEADLINE:?}"))
    }

    /// The recorder's "ready PID" line: its pid.
    fn ready(&self) -> i32 {
        let line = self.line("ready");
        line.strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("not a ready line: {line:?}"))
    }

    /// Nothing more on stdout for a while.
    fn quiet_for(&self, time: Duration) {
        if let Ok(line) = self.lines.recv_timeout(time) {
            panic!("unexpected line {line:?}");
        }
    }

    /// Waits for the exit; returns its status and everything on stderr.
    fn finish(mut self) -> (ExitStatus, String) {
        let status = wait_within(&mut self.child, DEADLINE);
        let stderr = self.stderr.recv_timeout(DEADLINE).unwrap_or_default();
        (status, stderr)
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

fn wait_within(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sigbus init did not exit within {limit:?}");
        }
        thread::sleep(ms(2));
    }
}

/// Runs to the end; exit code and stderr.
fn run(command: &mut Command) -> (i32, String) {
    let (status, stderr) = spawn(command).finish();
    (
        status
            .code()
            .expect("sigbus init exits, never dies by a signal"),
        stderr,
    )
}

/// Waits until process `pid` serves all of `signals`.
fn wait_until_serving(pid: i32, signals: SignalSet) {
    let served = sigtest::eventually(DEADLINE, || {
        ProcSignals::of_process(pid).is_ok_and(|p| signals.is_subset(p.caught))
    });
    assert!(served, "process {pid} never served {signals}");
}

/// The signals `sigbus init` forwards (all it serves but SIGCHLD).
fn forwarded() -> SignalSet {
    Signal::all()
        .filter(|s| *s != Signal::CHLD && s.check_waitable().is_ok())
        .collect()
}

fn state(pid: i32) -> char {
    ProcSignals::of_process(pid).map_or('?', |p| p.state)
}

/// Adds the helper scenario `name` of this binary as the init's command.
fn with_helper<'a>(command: &'a mut Command, name: &str) -> &'a mut Command {
    let helper = helper_command(name);
    command.arg(helper.get_program());
    for (key, value) in helper.get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    command
}

/// The first child of process `pid`, if it has one.
fn first_child(pid: i32) -> Option<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .find_map(|p| p.parse().ok())
}

/// `sigbus init ARGS -- <recorder>`, started and ready: (init, recorder pid).
fn init_with_recorder(args: &[&str]) -> (Running, i32) {
    let mut command = init(args);
    with_helper(command.arg("--"), "_recorder");
    let running = spawn(&mut command);
    let recorder = running.ready();
    wait_until_serving(running.pid(), forwarded());
    (running, recorder)
}

/// Kills the recorder (SIGKILL is not forwardable: sent directly) and checks
/// that the init then exits 137; returns its stderr.
fn end_recorder(running: Running, recorder: i32) -> String {
    sigcore::kill(recorder, Signal::KILL).unwrap();
    let (status, stderr) = running.finish();
    assert_eq!(status.code(), Some(137), "{stderr}");
    stderr
}

// ---- helpers: commands the init runs -------------------------------------

/// Serves every signal it can; prints "ready PID", then each signal's number
/// on a line of its own. Ends only by SIGKILL.
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

/// Ignores SIGUSR1 and runs a recorder (which serves it); exits 0 with it.
fn _ignores_usr1_and_starts_a_recorder() {
    sigcore::ignore(Signal::USR1).unwrap();
    let _ = helper_command("_recorder").status().unwrap();
}

/// Ends by $SIGNAL at its default action, without a core file.
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

/// Starts `sigbus init -s -p USR1 -- recorder` (sharing our stdout) and waits
/// to be killed: then the init's parent is dead.
// Never waited for on purpose: the test kills this parent to orphan the init.
#[allow(clippy::zombie_processes)]
fn _parent_of_init() {
    let mut command = init(&["-s", "-p", "USR1", "--"]);
    with_helper(&mut command, "_recorder");
    let child = command.spawn().unwrap();
    println!("init {}", child.id());
    thread::sleep(DEADLINE);
}

// ---- exit codes -----------------------------------------------------------

/// Runs `sigbus init -s EXTRA -- sh -c 'exit CODE'` for every code at once
/// (a few at a time), returning each exit code.
fn exit_codes_of(extra: impl Fn(u8) -> Vec<String>) -> Vec<(u8, i32)> {
    let mut results = Vec::new();
    for chunk in (0..=255u8).collect::<Vec<_>>().chunks(32) {
        let running: Vec<(u8, Child)> = chunk
            .iter()
            .map(|&code| {
                let child = init(&["-s"])
                    .args(extra(code))
                    .args(["--", "sh", "-c", &format!("exit {code}")])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                (code, child)
            })
            .collect();
        for (code, mut child) in running {
            let status = wait_within(&mut child, DEADLINE);
            results.push((code, status.code().unwrap_or(-1)));
        }
    }
    results
}

/// The issue's own check (`sigbus init -- sh -c 'exit 7'` exits 7) and
/// tini's exit-code test: every code 0..=255 passes through; `-e CODE` maps
/// it to 0, and `-e` of every other code leaves it alone.
fn exit_codes_pass_through_and_remap() {
    let (code, _) = run(&mut init(&["--", "sh", "-c", "exit 7"]));
    assert_eq!(code, 7);
    for (code, got) in exit_codes_of(|_| Vec::new()) {
        assert_eq!(got, i32::from(code));
    }
    for (code, got) in exit_codes_of(|code| vec!["-e".into(), code.to_string()]) {
        assert_eq!(got, 0, "-e {code}");
    }
    for (code, got) in exit_codes_of(|code| {
        (0..=255u8)
            .filter(|c| *c != code)
            .flat_map(|c| ["-e".to_string(), c.to_string()])
            .collect()
    }) {
        assert_eq!(got, i32::from(code), "-e all but {code}");
    }
}

/// dumb-init's and tini's: a command killed by signal n: the init exits
/// 128 + n (a plain exit, not a death by signal).
fn a_command_killed_by_a_signal_gives_128_plus_n() {
    for signal in [
        Signal::TERM,
        Signal::HUP,
        Signal::QUIT,
        Signal::USR1,
        Signal::USR2,
        Signal::KILL,
    ] {
        let mut command = init(&["-s", "--"]);
        with_helper(&mut command, "_dies_by_signal").env("SIGNAL", signal.name());
        let (code, stderr) = run(&mut command);
        assert_eq!(code, 128 + signal.number(), "{signal:?}: {stderr}");
    }
}

/// tini: a missing program exits 127, one that cannot be run 126, with one
/// line on stderr naming it (also without -s: the subreaper warning comes
/// only once the command runs).
fn exec_failures_exit_127_and_126_with_one_line() {
    let dir = std::env::temp_dir().join(format!("sigbus-init-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plain = dir.join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\nexit 0\n").unwrap();
    let plain = plain.to_str().unwrap();
    for (args, expected, names) in [
        (
            vec!["-s", "--", "/nonexistent/program"],
            127,
            "/nonexistent/program",
        ),
        (
            vec!["--", "/nonexistent/program", "-x"],
            127,
            "/nonexistent/program",
        ),
        (vec!["-s", "--", plain], 126, plain),
        (
            vec!["-s", "--", dir.to_str().unwrap()],
            126,
            dir.to_str().unwrap(),
        ),
    ] {
        let (code, stderr) = run(&mut init(&args));
        assert_eq!(code, expected, "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(names), "{args:?}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The init's own bad input exits 2, says what is wrong, and runs nothing.
fn usage_errors_exit_2_and_run_nothing() {
    let dir = std::env::temp_dir().join(format!("sigbus-init-usage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let marker = dir.join("ran");
    let touch = format!("touch {}", marker.display());
    for (args, says) in [
        (vec!["-r", "TERM"], "FROM:TO"),
        (vec!["-r", "USR3:TERM"], "USR3"),
        (vec!["-r", "CHLD:TERM"], "SIGCHLD"),
        (vec!["-r", "KILL:TERM"], "SIGKILL"),
        (vec!["-r", "TERM:99"], "99"),
        (vec!["-e", "256"], "256"),
        (vec!["-e", "x"], "'x'"),
        (vec!["-p", "NOPE"], "NOPE"),
        (vec!["--wait-all=soon"], "soon"),
        (vec!["--wait-all=-1"], "-1"),
        (vec!["-g", "--session"], "--session"),
        (vec!["--frobnicate"], "--frobnicate"),
    ] {
        let mut command = init(&args);
        command.args(["--", "sh", "-c", &touch]);
        let (code, stderr) = run(&mut command);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!marker.exists(), "{args:?} ran the command");
    }
    let (code, stderr) = run(&mut init(&[]));
    assert_eq!(code, 2);
    assert!(stderr.contains("<CMD>"), "{stderr}");
    // Options are the init's only before the command: after it, the command's.
    let (code, stderr) = run(&mut init(&["-s", "sh", "-c", "exit 4", "-e", "4"]));
    assert_eq!(code, 4, "{stderr}");
    let (code, _) = run(&mut init(&["-s", "--wait-all", "--", "true"]));
    assert_eq!(code, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- forwarding -----------------------------------------------------------

/// dumb-init's `test_proxies_signals` over every signal the init forwards but
/// the job-control stops (tested below): each, sent to the init, reaches the
/// command once; SIGCHLD sent to the init does not.
fn every_catchable_signal_is_forwarded_exactly_once() {
    let (running, recorder) = init_with_recorder(&["-s"]);
    let mut count = 0;
    for signal in forwarded()
        .iter()
        .filter(|s| !matches!(*s, Signal::TSTP | Signal::TTIN | Signal::TTOU))
    {
        sigcore::kill(running.pid(), signal).unwrap();
        assert_eq!(running.line(signal.name()), signal.number().to_string());
        count += 1;
    }
    assert!(count >= 50, "{count}");
    sigcore::kill(running.pid(), Signal::CHLD).unwrap();
    running.quiet_for(ms(300));
    end_recorder(running, recorder);
}

/// Real-time signals queue: three `sigqueue`s of each, sent at once, all
/// arrive, lowest number first (the kernel's order), none lost.
fn realtime_signals_are_forwarded_in_order() {
    let (running, recorder) = init_with_recorder(&["-s"]);
    let realtime: Vec<Signal> = forwarded().iter().filter(|s| s.is_realtime()).collect();
    for signal in &realtime {
        for value in 0..3 {
            sigcore::sigqueue(running.pid(), *signal, value).unwrap();
        }
    }
    for signal in &realtime {
        for _ in 0..3 {
            assert_eq!(running.line(signal.name()), signal.number().to_string());
        }
    }
    running.quiet_for(ms(200));
    end_recorder(running, recorder);
}

/// dumb-init's rewrite cases, in both its modes (here: the command alone,
/// and `--session`): a swap, a self-map, the lowest and highest standard
/// signals, a real-time rewrite; drops (`TO` = 0) never arrive.
fn rewrites_send_another_signal_or_drop() {
    for mode in ["-v", "--session"] {
        let (running, recorder) = init_with_recorder(&[
            "-s",
            mode,
            "-r",
            "TERM:INT",
            "-r",
            "INT:TERM",
            "-r",
            "QUIT:QUIT",
            "-r",
            "1:31",
            "-r",
            "31:1",
            "-r",
            "RTMIN+1:RTMIN+2",
            "-r",
            "WINCH:0",
            "-r",
            "USR2:0",
        ]);
        let rt = |n| Signal::realtime(n).unwrap();
        for (sent, expected) in [
            (Signal::TERM, Signal::INT),
            (Signal::QUIT, Signal::QUIT),
            (Signal::CONT, Signal::CONT),
            (Signal::INT, Signal::TERM),
            (Signal::HUP, Signal::SYS),
            (Signal::SYS, Signal::HUP),
            (rt(1), rt(2)),
        ] {
            sigcore::kill(running.pid(), sent).unwrap();
            let line = running.line(expected.name());
            assert_eq!(line, expected.number().to_string(), "{mode}: sent {sent:?}");
        }
        sigcore::kill(running.pid(), Signal::WINCH).unwrap();
        sigcore::kill(running.pid(), Signal::USR2).unwrap();
        sigcore::kill(running.pid(), Signal::HUP).unwrap();
        assert_eq!(running.line("SIGSYS"), Signal::SYS.number().to_string());
        end_recorder(running, recorder);
    }
}

/// dumb-init's shell-background tests: a SIGTSTP, SIGTTIN or SIGTTOU sent to
/// the init is forwarded and stops the init too; SIGCONT continues both. In
/// `--session` mode the command gets SIGSTOP instead (the kernel would
/// discard a job-control stop for its orphaned group).
fn job_control_stops_suspend_the_init_too() {
    let stops = [Signal::TSTP, Signal::TTIN, Signal::TTOU];
    let (running, recorder) = init_with_recorder(&["-s"]);
    for stop in stops {
        sigcore::kill(running.pid(), stop).unwrap();
        assert_eq!(running.line(stop.name()), stop.number().to_string());
        assert!(sigtest::eventually(DEADLINE, || state(running.pid()) == 'T'));
        sigcore::kill(running.pid(), Signal::CONT).unwrap();
        assert_eq!(running.line("SIGCONT"), Signal::CONT.number().to_string());
        assert_ne!(state(running.pid()), 'T');
    }
    end_recorder(running, recorder);

    let (running, recorder) = init_with_recorder(&["-s", "--session"]);
    for stop in stops {
        sigcore::kill(running.pid(), stop).unwrap();
        let both = || state(running.pid()) == 'T' && state(recorder) == 'T';
        assert!(sigtest::eventually(DEADLINE, both), "{stop:?}");
        sigcore::kill(running.pid(), Signal::CONT).unwrap();
        assert_eq!(running.line("SIGCONT"), Signal::CONT.number().to_string());
        assert!(sigtest::eventually(DEADLINE, || state(recorder) != 'T'));
    }
    end_recorder(running, recorder);
}

/// tini's process-group test and dumb-init's setsid one: the command ignores
/// SIGUSR1 and runs a child that serves it. With `-g` or `--session`,
/// SIGUSR1 reaches that grandchild; to the command alone, it does not.
fn group_and_session_modes_reach_a_grandchild() {
    for (mode, reaches) in [("-g", true), ("--session", true), ("-v", false)] {
        let mut command = init(&["-s", mode, "--"]);
        with_helper(&mut command, "_ignores_usr1_and_starts_a_recorder");
        let running = spawn(&mut command);
        let grandchild = running.ready();
        wait_until_serving(running.pid(), Signal::USR1.into());
        sigcore::kill(running.pid(), Signal::USR1).unwrap();
        if reaches {
            assert_eq!(running.line("SIGUSR1"), "10", "{mode}");
        } else {
            running.quiet_for(ms(300));
        }
        sigcore::kill(grandchild, Signal::KILL).unwrap();
        let (status, stderr) = running.finish();
        assert_eq!(status.code(), Some(0), "{mode}: {stderr}");
    }
}

// ---- reaping ----------------------------------------------------------------

/// tini's reaping test through the binary: 100 orphans are reaped as they
/// exit; none is a zombie while the command still runs. Without -s (and not
/// PID 1) the init warns that it cannot reap orphans; with -s it does not.
fn orphans_are_reaped_and_a_non_reaper_warns() {
    let script = r#"
        (for i in $(seq 100); do sleep 1 & done)
        sleep 2
        z=0
        for p in $(cat /proc/$PPID/task/*/children); do
            [ "$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null)" = Z ] && z=$((z + 1))
        done
        exit $z
    "#;
    let (code, stderr) = run(&mut init(&["-s", "-v", "--", "sh", "-c", script]));
    assert_eq!(code, 0, "zombies left: {stderr}");
    let reaped = stderr.lines().filter(|l| l.contains("reaped pid")).count();
    assert_eq!(reaped, 100, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");

    let (code, stderr) = run(&mut init(&["--", "true"]));
    assert_eq!(code, 0);
    assert!(
        stderr.contains("warning: not running as PID 1 and not a child subreaper")
            && stderr.contains("-s"),
        "{stderr}"
    );
}

/// dumb-init #212, tini #236: `--wait-all=GRACE` sends SIGTERM to what the
/// command left, SIGKILL after GRACE to what ignores it, and exits only when
/// none is left, with the command's code.
fn wait_all_kills_what_ignores_sigterm_after_the_grace() {
    let started = Instant::now();
    let mut command = init(&[
        "-s",
        "-v",
        "--wait-all=1",
        "--",
        "sh",
        "-c",
        "(trap '' TERM; sleep 100) & sleep 0.2; exit 3",
    ]);
    let (code, stderr) = run(&mut command);
    let took = started.elapsed();
    assert_eq!(code, 3, "{stderr}");
    assert!(took >= Duration::from_secs(1), "{took:?}: {stderr}");
    assert!(took < Duration::from_secs(5), "{took:?}: {stderr}");
    assert!(stderr.contains("sent SIGTERM to"), "{stderr}");
    assert!(
        stderr.contains("grace period over: sent SIGKILL"),
        "{stderr}"
    );
    println!("figure: --wait-all=1 with a SIGTERM-ignoring grandchild took {took:?}");
}

// ---- the caller's signal state, terminals, parents ----------------------------

/// SigBlk and SigIgn of a `cat /proc/self/status` started with `pre`.
fn masks_of(command: &mut Command) -> (String, String) {
    let output = command.stdin(Stdio::null()).output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .trim()
            .to_owned()
    };
    (field("SigBlk:"), field("SigIgn:"))
}

/// Blocks TTIN, ILL and TERM and ignores TTOU, SEGV and INT in the child
/// before it execs (tini's `sigconf-test.c`).
fn with_caller_state(command: &mut Command) -> &mut Command {
    // SAFETY: the hook runs between fork and exec and makes only
    // async-signal-safe calls on local memory.
    unsafe {
        command.pre_exec(|| {
            let mut set = std::mem::zeroed::<libc::sigset_t>();
            libc::sigemptyset(&mut set);
            for signo in [libc::SIGTTIN, libc::SIGILL, libc::SIGTERM] {
                libc::sigaddset(&mut set, signo);
            }
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            for signo in [libc::SIGTTOU, libc::SIGSEGV, libc::SIGINT] {
                libc::signal(signo, libc::SIG_IGN);
            }
            Ok(())
        })
    }
}

fn bit(signal: Signal) -> u64 {
    1 << (signal.number() - 1)
}

/// The valid signals of a /proc mask (hex): glibc's own 32 and 33 left out.
/// (glibc gives 33 a handler at start-up in every program, the init
/// included, so an ignored 33 inherited by the init cannot reach its
/// command: exec resets handled signals.)
fn valid(mask: &str) -> u64 {
    let valid: u64 = Signal::all().map(bit).sum();
    u64::from_str_radix(mask, 16).unwrap() & valid
}

/// tini's signal-configuration test: the command gets exactly the mask and
/// the ignored set the init's caller had (read from a `cat` the caller runs
/// itself with the same state), though the init blocks nearly everything
/// and catches what it forwards.
fn the_callers_mask_and_ignored_set_reach_the_command() {
    let (blocked, ignored) = masks_of(with_caller_state(
        Command::new("cat").arg("/proc/self/status"),
    ));
    let (b, i) = (valid(&blocked), valid(&ignored));
    for signal in [Signal::TTIN, Signal::ILL, Signal::TERM] {
        assert_ne!(b & bit(signal), 0, "{signal:?} blocked by the caller");
    }
    for signal in [Signal::TTOU, Signal::SEGV, Signal::INT] {
        assert_ne!(i & bit(signal), 0, "{signal:?} ignored by the caller");
    }
    for mode in ["-v", "-g", "--session"] {
        let through_init = masks_of(with_caller_state(&mut init(&[
            "-s",
            mode,
            "--",
            "cat",
            "/proc/self/status",
        ])));
        assert_eq!(
            (valid(&through_init.0), valid(&through_init.1)),
            (b, i),
            "{mode}: {through_init:?}, the caller's {blocked} {ignored}"
        );
    }
}

/// A new pseudo-terminal: (master, slave path).
fn open_pty() -> (OwnedFd, String) {
    // SAFETY: the standard posix_openpt sequence; the master descriptor is
    // owned from here on, and ptsname's static buffer is copied at once.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(master >= 0, "posix_openpt");
        let master = OwnedFd::from_raw_fd(master);
        assert_eq!(libc::grantpt(master.as_raw_fd()), 0);
        assert_eq!(libc::unlockpt(master.as_raw_fd()), 0);
        let name = libc::ptsname(master.as_raw_fd());
        assert!(!name.is_null());
        let path = std::ffi::CStr::from_ptr(name).to_str().unwrap().to_owned();
        (master, path)
    }
}

/// Field `index` (after the command name) of /proc/PID/stat.
fn stat_field(pid: i32, index: usize) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .nth(index)?
        .parse()
        .ok()
}

/// Job control on a terminal (tini): the init's standard input is a terminal
/// it controls, in the foreground; the command becomes the foreground group,
/// so a Ctrl-C typed there (here: `\x03` written to the master) reaches the
/// command, not the init, and the init exits 130. With `--session` (run as
/// root, which may take a terminal from another session) the command leads
/// a session with the terminal as its own (dumb-init).
fn ctrl_c_on_the_terminal_reaches_the_command() {
    for mode in ["-v", "--session"] {
        if mode == "--session" && !sigtest::running_as_root() {
            println!("skipped --session: taking over a terminal needs root");
            continue;
        }
        let (master, slave) = open_pty();
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&slave)
            .unwrap();
        let mut command = init(&["-s", "-v", mode, "--", "sleep", "100"]);
        command.stdin(tty);
        // SAFETY: between fork and exec: setsid, an ioctl on descriptor 0,
        // and signal() to give SIGINT its default action (whatever this test
        // inherited), all async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                Ok(())
            });
        }
        let running = spawn(&mut command);
        let init_pid = running.pid();
        // The command's group is the terminal's foreground once the tpgid it
        // sees names it (fields after the name: 3 session, 5 tpgid).
        let mut command_pid = 0;
        let foreground = sigtest::eventually(DEADLINE, || {
            let Some(child) = first_child(init_pid) else {
                return false;
            };
            command_pid = child;
            stat_field(child, 5) == Some(i64::from(child))
        });
        assert!(
            foreground,
            "{mode}: the command never became the foreground group"
        );
        let session = stat_field(command_pid, 3);
        if mode == "--session" {
            assert_eq!(
                session,
                Some(i64::from(command_pid)),
                "a session of its own"
            );
        } else {
            assert_eq!(session, Some(i64::from(init_pid)), "the init's session");
        }
        assert_eq!(nix_write(&master, b"\x03"), 1);
        let (status, stderr) = running.finish();
        assert_eq!(status.code(), Some(130), "{mode}: {stderr}");
        assert!(stderr.contains("killed by SIGINT"), "{mode}: {stderr}");
        assert!(
            !stderr.contains("forwarded SIGINT"),
            "{mode}: the init got the Ctrl-C too: {stderr}"
        );
    }
}

fn nix_write(fd: &OwnedFd, bytes: &[u8]) -> isize {
    // SAFETY: writes from a live slice to a descriptor we own.
    unsafe { libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) }
}

/// tini's parent-death test: `-p USR1` makes the init get SIGUSR1 when its
/// parent dies, and forward it to the command.
fn the_parent_death_signal_is_forwarded() {
    // The init, orphaned, comes to us: we can reap it and read its status.
    sigcore::set_child_subreaper(true).unwrap();
    let mut parent = helper_command("_parent_of_init")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(parent.stdout.take().unwrap()).lines();
    let mut next = || lines.next().expect("a line").expect("text");
    let (first, second) = (next(), next());
    let init_line = [&first, &second]
        .into_iter()
        .find(|l| l.starts_with("init "))
        .unwrap()
        .clone();
    let recorder_line = [&first, &second]
        .into_iter()
        .find(|l| l.starts_with("ready "))
        .unwrap()
        .clone();
    let init_pid: i32 = init_line["init ".len()..].parse().unwrap();
    let recorder: i32 = recorder_line["ready ".len()..].parse().unwrap();
    wait_until_serving(init_pid, Signal::USR1.into());
    parent.kill().unwrap();
    parent.wait().unwrap();
    assert_eq!(next(), "10", "SIGUSR1 forwarded after the parent died");
    sigcore::kill(recorder, Signal::KILL).unwrap();
    let reaped = sigtest::eventually(DEADLINE, || {
        matches!(sigcore::peek_child(init_pid), Ok(Some(_)))
    });
    assert!(reaped, "the orphaned init never exited");
    let exit = sigcore::reap_child(init_pid).unwrap().unwrap();
    assert_eq!(exit.shell_status(), 137);
}

// ---- logs ---------------------------------------------------------------------

/// `-v` says what was forwarded, from whom, and how the command ended;
/// `--json` writes one object per event, with stable fields.
fn verbose_and_json_logs_describe_each_event() {
    let (running, recorder) = init_with_recorder(&["-s", "-v", "-r", "HUP:0"]);
    sigcore::kill(running.pid(), Signal::USR1).unwrap();
    assert_eq!(running.line("SIGUSR1"), "10");
    sigcore::kill(running.pid(), Signal::HUP).unwrap();
    let stderr = end_recorder(running, recorder);
    let me = std::process::id();
    for expected in [
        format!("sigbus init: forwarded SIGUSR1 to process {recorder} (from pid {me})"),
        format!("sigbus init: dropped SIGHUP (rewritten to 0) (from pid {me})"),
        format!("sigbus init: the command (pid {recorder}) killed by SIGKILL"),
        "sigbus init: exiting with code 137".to_string(),
    ] {
        assert!(stderr.contains(&expected), "{expected:?} in\n{stderr}");
    }

    let (running, recorder) = init_with_recorder(&["-s", "--json", "-g"]);
    sigcore::kill(running.pid(), Signal::USR2).unwrap();
    assert_eq!(running.line("SIGUSR2"), "12");
    let stderr = end_recorder(running, recorder);
    let events: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["spawn", "forward", "reap", "exit"], "{stderr}");
    let forward = &events[1];
    assert_eq!(forward["signal"], "SIGUSR2");
    assert_eq!(forward["number"], 12);
    assert_eq!(forward["sent"], "SIGUSR2");
    assert_eq!(forward["to"], recorder);
    assert_eq!(forward["group"], true);
    assert_eq!(forward["origin"], "user");
    assert_eq!(forward["from_pid"], me);
    let reap = &events[2];
    assert_eq!(reap["pid"], recorder);
    assert_eq!(reap["main"], true);
    assert_eq!(reap["status"], "killed");
    assert_eq!(reap["signal"], "SIGKILL");
    assert_eq!(events[3]["code"], 137);
}

// ---- PID 1 --------------------------------------------------------------------

/// The issue's check: `unshare --pid --fork --mount-proc sigbus init -- sleep
/// 100`, then a `kill -TERM` of the init from the host: the command gets it
/// (sender pid 0, from outside the namespace) and everything exits 143.
fn as_pid1_a_host_sigterm_ends_it_with_143() {
    if !sigtest::pid_namespaces() {
        println!("skipped: no pid namespace");
        return;
    }
    let mut command = sigtest::in_pid_namespace(env!("CARGO_BIN_EXE_sigbus"));
    command
        .args(["init", "-v", "--", "sleep", "100"])
        .stdin(Stdio::null());
    let running = spawn(&mut command);
    let init = sigtest::namespace_init(running.pid(), DEADLINE).expect("PID 1 started");
    wait_until_serving(init, Signal::TERM.into());
    let sent = Instant::now();
    sigcore::kill(init, Signal::TERM).unwrap();
    let (status, stderr) = running.finish();
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(
        stderr.contains("forwarded SIGTERM to process")
            && stderr.contains("(from pid 0: outside this pid namespace)"),
        "{stderr}"
    );
    assert!(!stderr.contains("warning"), "PID 1 reaps: {stderr}");
    println!(
        "figure: host SIGTERM to exit of PID 1: {:?}",
        sent.elapsed()
    );
}

fn main() {
    sigtest::run(&[
        scenario!(exit_codes_pass_through_and_remap),
        scenario!(a_command_killed_by_a_signal_gives_128_plus_n),
        scenario!(exec_failures_exit_127_and_126_with_one_line),
        scenario!(usage_errors_exit_2_and_run_nothing),
        scenario!(every_catchable_signal_is_forwarded_exactly_once),
        scenario!(realtime_signals_are_forwarded_in_order),
        scenario!(rewrites_send_another_signal_or_drop),
        scenario!(job_control_stops_suspend_the_init_too),
        scenario!(group_and_session_modes_reach_a_grandchild),
        scenario!(orphans_are_reaped_and_a_non_reaper_warns),
        scenario!(wait_all_kills_what_ignores_sigterm_after_the_grace),
        scenario!(the_callers_mask_and_ignored_set_reach_the_command),
        scenario!(ctrl_c_on_the_terminal_reaches_the_command),
        scenario!(the_parent_death_signal_is_forwarded),
        scenario!(verbose_and_json_logs_describe_each_event),
        scenario!(as_pid1_a_host_sigterm_ends_it_with_143),
        scenario!(_recorder).helper(),
        scenario!(_ignores_usr1_and_starts_a_recorder).helper(),
        scenario!(_dies_by_signal).helper(),
        scenario!(_parent_of_init).helper(),
    ]);
}
