//! Every example runs to completion and exits 0. `cargo test` builds the
//! examples; this runs the binaries it built.

use std::path::PathBuf;
use std::process::Command;
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

fn runs_and_exits_0(name: &str, must_print: &[&str]) {
    let started = Instant::now();
    let output = Command::new(example(name))
        .output()
        .unwrap_or_else(|e| panic!("cannot run example {name}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name}: {}\n{stdout}\n{stderr}",
        output.status
    );
    for text in must_print {
        assert!(
            stdout.contains(text),
            "{name} did not print {text:?}:\n{stdout}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{name} took {:?}",
        started.elapsed()
    );
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

#[test]
fn child_reaper_reaps_everyone() {
    runs_and_exits_0(
        "child_reaper",
        &["exit status: 42", "signal: 15 (SIGTERM)", "no zombies left"],
    );
}

#[test]
fn graceful_shutdown_stops_every_worker() {
    runs_and_exits_0(
        "graceful_shutdown",
        &["worker-1: stopped", "worker-3: stopped", "clean shutdown"],
    );
}
