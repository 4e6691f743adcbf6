//! Running the inner suite as a child, and looking at processes.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Set (to anything) in the inner run: `main` runs the inner suite.
pub const INNER: &str = "SIGTEST_HARNESS_INNER";
/// The file where inner scenarios log the processes they start.
pub const LOG: &str = "SIGTEST_HARNESS_LOG";
/// SIGINT's and SIGTERM's dispositions as the inner harness inherits them.
pub const DISPOSITIONS: &str = "SIGTEST_HARNESS_DISPOSITIONS";
/// Where `lends_its_stdout` writes its pid, when set.
pub const LEND: &str = "SIGTEST_HARNESS_LEND";

/// The longest an inner run may take before the checker kills it.
const INNER_DEADLINE: Duration = Duration::from_secs(30);

/// One line of the log: a process an inner scenario started.
#[derive(Debug)]
pub struct Logged {
    pub pid: i32,
    pub comm: String,
    pub tag: String,
}

pub fn logged(log: &str) -> Vec<Logged> {
    log.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ' ');
            Some(Logged {
                pid: fields.next()?.parse().ok()?,
                comm: fields.next()?.to_owned(),
                tag: fields.next()?.to_owned(),
            })
        })
        .collect()
}

/// Whether `pid` runs (a zombie has ended) and, if given, is called `comm`:
/// the same process, not a later one that got its pid.
pub fn alive(pid: i32, comm: Option<&str>) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some((name, rest)) = stat.split_once(" (").and_then(|(_, r)| r.rsplit_once(") ")) else {
        return false;
    };
    !rest.starts_with(['Z', 'X']) && comm.is_none_or(|c| c == name)
}

/// SIGINT's and SIGTERM's dispositions here, as `INT=ign,TERM=dfl`.
pub fn dispositions() -> String {
    let name = |signo| {
        // SAFETY: a zeroed sigaction is valid; sigaction only writes to `old`
        // and reads no new action (null).
        let handler = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            assert_eq!(libc::sigaction(signo, std::ptr::null(), &mut old), 0);
            old.sa_sigaction
        };
        match handler {
            libc::SIG_IGN => "ign",
            libc::SIG_DFL => "dfl",
            _ => "handled",
        }
    };
    format!("INT={},TERM={}", name(libc::SIGINT), name(libc::SIGTERM))
}

/// What an inner run did.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
    pub took: Duration,
    /// The processes its scenarios logged.
    pub log: Vec<Logged>,
}

impl Run {
    /// What the run reported for scenario `name`: `ok`, `FAILED`, `ignored`.
    pub fn result(&self, name: &str) -> Option<&str> {
        let prefix = format!("test {name} ... ");
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
    }

    /// The failure report of scenario `name`.
    pub fn failure(&self, name: &str) -> &str {
        let head = format!("---- {name} ----\n");
        let Some(at) = self.stdout.find(&head) else {
            return "";
        };
        let report = &self.stdout[at + head.len()..];
        let end = report
            .find("\n---- ")
            .or_else(|| report.find("\nfailures:"));
        &report[..end.unwrap_or(report.len())]
    }

    pub fn summary(&self) -> &str {
        self.stdout
            .lines()
            .find(|l| l.starts_with("test result: "))
            .unwrap_or("")
    }

    /// Everything, to show when an assertion fails.
    pub fn dump(&self) -> String {
        format!(
            "exit code {:?} after {:?}\n--- stdout ---\n{}--- stderr ---\n{}--- log ---\n{:?}",
            self.code, self.took, self.stdout, self.stderr, self.log
        )
    }

    /// The logged processes still running.
    pub fn survivors(&self) -> Vec<&Logged> {
        self.log
            .iter()
            .filter(|l| alive(l.pid, Some(&l.comm)))
            .collect()
    }
}

/// Runs the inner suite with `args`; `configure` may change the command, and
/// `during` runs while the suite does, given the runner's pid and the log path. Output goes to files, not pipes, and
/// the run is killed (with its process group) past [`INNER_DEADLINE`], so a
/// broken runner fails the check instead of hanging it.
pub fn run_inner<T>(
    args: &[&str],
    configure: impl FnOnce(&mut Command),
    during: impl FnOnce(i32, &std::path::Path) -> T,
) -> Result<(Run, T), String> {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let stem = dir.join(format!(
        "harness-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let path = |ext: &str| stem.with_extension(ext);
    let file = |ext: &str| std::fs::File::create(path(ext)).unwrap();
    file("log");
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(args)
        .env(INNER, "1")
        .env(LOG, path("log"))
        .env(DISPOSITIONS, dispositions())
        .stdin(Stdio::null())
        .stdout(file("out"))
        .stderr(file("err"))
        .process_group(0);
    configure(&mut command);
    let started = Instant::now();
    let mut child = command.spawn().unwrap();
    let during = during(child.id() as i32, &path("log"));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > INNER_DEADLINE {
            // SAFETY: kill takes two integers and touches no memory.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            // Its scenario dies with it (PR_SET_PDEATHSIG), not the helpers.
            let log = logged(&std::fs::read_to_string(path("log")).unwrap_or_default());
            kill_survivors(&log);
            return Err(format!(
                "the inner run {args:?} hung: killed after {INNER_DEADLINE:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = started.elapsed();
    let read = |ext: &str| std::fs::read_to_string(path(ext)).unwrap();
    let run = Run {
        stdout: read("out"),
        stderr: read("err"),
        code: status.code(),
        took,
        log: logged(&read("log")),
    };
    for ext in ["out", "err", "log"] {
        let _ = std::fs::remove_file(path(ext));
    }
    Ok((run, during))
}

/// Kills what a run left (only when the runner under test is broken).
pub fn clean_up(run: &Run) {
    kill_survivors(&run.log);
}

fn kill_survivors(log: &[Logged]) {
    for process in log.iter().filter(|l| alive(l.pid, Some(&l.comm))) {
        // SAFETY: kill takes two integers and touches no memory.
        unsafe { libc::kill(process.pid, libc::SIGKILL) };
    }
}
