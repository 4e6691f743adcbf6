//! Every example runs to completion and exits 0. `cargo test` builds the
//! examples; this runs the binaries it built.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn example(name: &str) -> PathBuf {
    // target/debug/deps/examples-HASH -> target/debug/examples/NAME
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join(name)
}

/// How long an example may run before it is killed.
const DEADLINE: Duration = Duration::from_secs(60);

/// Runs an example with a deadline: its output goes to files (a pipe read to
/// its end would wait for any descendant that kept it open), and past the
/// deadline its whole process group is killed.
fn run_example(name: &str) -> (std::process::ExitStatus, String, String, Duration) {
    let dir = std::env::temp_dir();
    let path = |stream: &str| {
        dir.join(format!(
            "sigbus-example-{name}-{}.{stream}",
            std::process::id()
        ))
    };
    let (out_path, err_path) = (path("out"), path("err"));
    let started = Instant::now();
    let mut child = Command::new(example(name))
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run example {name}: {e}"));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > DEADLINE {
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Whatever it left in its group goes too (and all of it, past the deadline).
    // SAFETY: kill takes two integers; the group id is the unreaped child's pid
    // (or, once reaped, still that of its group), so it names only our processes.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let status = status.unwrap_or_else(|| child.wait().unwrap());
    let took = started.elapsed();
    let read = |p: &std::path::Path| {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        let _ = std::fs::remove_file(p);
        text
    };
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    assert!(
        took <= DEADLINE,
        "{name} ran past {DEADLINE:?} and was killed:\n{stdout}\n{stderr}"
    );
    (status, stdout, stderr, took)
}

fn runs_and_exits_0(name: &str, must_print: &[&str]) -> String {
    let (status, stdout, stderr, took) = run_example(name);
    assert!(status.success(), "{name}: {status}\n{stdout}\n{stderr}");
    for text in must_print {
        assert!(
            stdout.contains(text),
            "{name} did not print {text:?}:\n{stdout}"
        );
    }
    assert!(took < Duration::from_secs(30), "{name} took {took:?}");
    stdout
}

#[test]
fn usr1_workers_reach_every_worker() {
    runs_and_exits_0(
        "usr1_workers",
        &[
            "worker-1 received SIGUSR1",
            "worker-2 received",
            "worker-3 received",
        ],
    );
}

#[test]
fn reload_server_reloads_and_drains() {
    runs_and_exits_0(
        "reload_server",
        &["config v1", "config v2", "draining", "bye"],
    );
}

#[test]
fn tokio_server_reloads_with_the_sender_and_drains() {
    runs_and_exits_0(
        "tokio_server",
        &[
            "client: hello from config v1",
            "reload: SIGHUP from pid Some(",
            "client: hello from config v2",
            "draining: SIGTERM; no new connections",
            "client: in flight: hello from config v2",
            "bye (shut down by SIGTERM)",
        ],
    );
}

#[test]
fn mio_loop_takes_signals_beside_io() {
    runs_and_exits_0(
        "mio_loop",
        &[
            "SIGUSR1 #1 from pid",
            "connection from",
            "SIGHUP from pid",
            "done:",
        ],
    );
}

#[test]
fn alarm_timer_ticks() {
    runs_and_exits_0("alarm_timer", &["tick 4", "timer disarmed"]);
}

#[test]
fn thread_signal_times_out_then_receives() {
    runs_and_exits_0("thread_signal", &["-> None", "got SIGUSR2 from tgkill"]);
}

/// Children ending one by one, and five ending at once while SIGCHLD is held
/// (one event for five exits): every one is reaped, no zombie is left. A
/// reaper that reaps only the child an event names hangs on the second part.
#[test]
fn child_reaper_reaps_everyone() {
    runs_and_exits_0(
        "child_reaper",
        &[
            "exit status: 42",
            "signal: 15 (SIGTERM)",
            "exit status: 14",
            "5 exits, 1 SIGCHLD",
            "no zombies left",
        ],
    );
}

#[test]
fn graceful_shutdown_stops_every_worker() {
    runs_and_exits_0(
        "graceful_shutdown",
        &["worker-1: stopped", "worker-3: stopped", "clean shutdown"],
    );
}
