//! Progress lines for `sigbus bench`, one when a variant starts and one when it
//! is done, on stderr, so that a run (15–30 s by default) is not silent in a
//! log or behind `--json`.
//!
//! `sigbench::run` runs every variant in a child process and reports nothing
//! until the end (it draws its own one-line progress only on a terminal without
//! `--json`, where this stays quiet so that the two do not mix). It offers no
//! progress callback, so this watches what it can see from outside: the
//! children of this process (`/proc/self/task/*/children`) and, in each child's
//! environment, the variant it was started for. A callback in sigbench would
//! replace all of this.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};

/// The environment variable in which sigbench names a child's variant (its
/// `child.rs`, `ENV_VARIANT`).
const VARIANT_ENV: &[u8] = b"SIGBENCH_VARIANT=";

/// How often the children are looked at; a variant's process lives for 10 ms
/// or more (sigbench looks at it every 10 ms).
const TICK: Duration = Duration::from_millis(5);

/// A thread printing the progress of the variants `names` until finished.
pub struct Progress {
    stop: Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    pub fn start(names: Vec<String>) -> Progress {
        let (stop, stopped) = bounded(1);
        let thread = thread::Builder::new()
            .name("bench-progress".into())
            .spawn(move || watch(&names, &stopped))
            .ok();
        Progress { stop, thread }
    }

    /// Stops watching after a last look. With `completed` (the run went
    /// through every variant), a variant too short to be seen still gets its
    /// line.
    pub fn finish(mut self, completed: bool) {
        self.stop(completed);
    }

    fn stop(&mut self, completed: bool) {
        let _ = self.stop.try_send(completed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop(false);
    }
}

fn watch(names: &[String], stopped: &Receiver<bool>) {
    let total = names.len();
    let line = |place: usize, what: &str| {
        let name = names.get(place).map_or("?", String::as_str);
        eprintln!("sigbus bench: [{}/{total}] {name} {what}", place + 1);
    };
    // sigbench runs the variants one after the other, in this order, and this
    // process starts no other child meanwhile: each new child is the next one.
    let mut next = 0;
    let mut seen = HashSet::new();
    // Child pid -> (its variant's place in the run, when it was first seen).
    let mut running: HashMap<i32, (usize, Instant)> = HashMap::new();
    loop {
        let stop = match stopped.recv_timeout(TICK) {
            Err(RecvTimeoutError::Timeout) => None,
            Ok(completed) => Some(completed),
            Err(RecvTimeoutError::Disconnected) => Some(false),
        };
        let children = own_children();
        // The one that ended first, then the next one: in the order they ran.
        running.retain(|pid, (place, since)| {
            let alive = children.contains(pid);
            if !alive {
                line(
                    *place,
                    &format!("done in {:.2} s", since.elapsed().as_secs_f64()),
                );
            }
            alive
        });
        for &pid in &children {
            if !seen.insert(pid) {
                continue;
            }
            // Its environment names it once it has exec'd; before, the order does.
            let place = variant_of(pid)
                .and_then(|name| names.iter().position(|n| *n == name))
                .unwrap_or(next);
            next = place + 1;
            line(place, "started");
            running.insert(pid, (place, Instant::now()));
        }
        match stop {
            None => continue,
            Some(completed) => {
                if completed {
                    for place in next..total {
                        line(place, "done");
                    }
                }
                return;
            }
        }
    }
}

/// Children of every thread of this process.
fn own_children() -> Vec<i32> {
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}

/// The variant a benchmark child runs, from its environment.
fn variant_of(pid: i32) -> Option<String> {
    let environ = fs::read(format!("/proc/{pid}/environ")).ok()?;
    environ
        .split(|&b| b == 0)
        .find_map(|entry| entry.strip_prefix(VARIANT_ENV))
        .map(|name| String::from_utf8_lossy(name).into_owned())
}
