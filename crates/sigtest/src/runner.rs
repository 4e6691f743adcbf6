use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::options::Options;
use crate::os;
use crate::wait::{describe, supervise, WaitOutcome};

/// Name of the variable that tells a re-executed binary which scenario to run.
pub(crate) const SCENARIO_VAR: &str = "SIGTEST_SCENARIO";
/// Set (to anything) by [`crate::rerun_as_nobody`]: the re-executed scenario
/// drops to `nobody` before its body runs.
pub(crate) const AS_NOBODY_VAR: &str = "SIGTEST_AS_NOBODY";

/// One test: a function run on the main thread of a fresh process.
#[derive(Clone, Copy)]
pub struct Scenario {
    pub(crate) name: &'static str,
    pub(crate) body: fn(),
    pub(crate) ignored: bool,
    pub(crate) helper: bool,
    pub(crate) pid1: bool,
    pub(crate) timeout: Duration,
}

impl Scenario {
    /// A scenario that passes when `body` returns and fails when it panics, exits
    /// non-zero, dies by a signal, or runs past its timeout (60 s by default).
    pub const fn new(name: &'static str, body: fn()) -> Scenario {
        Scenario {
            name,
            body,
            ignored: false,
            helper: false,
            pid1: false,
            timeout: Duration::from_secs(60),
        }
    }

    /// Runs the scenario as PID 1 of a fresh pid namespace, with a `/proc` of
    /// its own (see [`crate::pid_namespaces`]): what a container's init
    /// meets. Where no pid namespace can be made (no root, no user
    /// namespaces, no `unshare`), the scenario is reported as
    /// `ignored, skipped: no pid namespace` instead of run.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// fn is_init() {
    ///     assert!(sigtest::is_pid1());
    /// }
    /// # fn main() { sigtest::run(&[sigtest::scenario!(is_init).as_pid1()]); }
    /// ```
    pub const fn as_pid1(mut self) -> Scenario {
        self.pid1 = true;
        self
    }

    /// Leaves the scenario out of the default run (`-- --ignored` runs it).
    pub const fn ignored(mut self) -> Scenario {
        self.ignored = true;
        self
    }

    /// Marks a child body that other scenarios start with [`crate::run_helper`]; it
    /// is never run as a test of its own.
    pub const fn helper(mut self) -> Scenario {
        self.helper = true;
        self
    }

    /// Sets the deadline after which the scenario's process is killed.
    pub const fn timeout(mut self, timeout: Duration) -> Scenario {
        self.timeout = timeout;
        self
    }
}

/// When the harness kills the running scenario: `None` outside a scenario
/// (in the harness itself, or in a helper, whose deadline its caller sets).
///
/// Measured from the start of the scenario's process; the harness started its
/// clock a moment earlier, when it spawned the process, so leave a margin.
///
/// # Examples
///
/// ```no_run
/// fn waits_long() {
///     let left = sigtest::deadline().map(|d| d - std::time::Instant::now());
///     assert!(left.is_some_and(|left| left > sigtest::ms(1000)));
/// }
/// # fn main() { sigtest::run(&[sigtest::scenario!(waits_long)]); }
/// ```
pub fn deadline() -> Option<Instant> {
    DEADLINE.get().copied()
}

static DEADLINE: OnceLock<Instant> = OnceLock::new();

/// Runs the scenarios, each in a process of its own, and exits.
///
/// In a re-executed child this runs the one scenario named by the environment and
/// exits 0 when it returns (a panic exits 101, as in libtest).
pub fn run(scenarios: &[Scenario]) -> ! {
    if let Ok(name) = std::env::var(SCENARIO_VAR) {
        let started = Instant::now();
        std::env::remove_var(SCENARIO_VAR);
        let Some(scenario) = scenarios.iter().find(|s| s.name == name) else {
            eprintln!("sigtest: no scenario named {name:?}");
            std::process::exit(2);
        };
        if !scenario.helper {
            let _ = DEADLINE.set(started + scenario.timeout);
        }
        if std::env::var_os(AS_NOBODY_VAR).is_some() {
            std::env::remove_var(AS_NOBODY_VAR);
            crate::become_nobody();
        }
        (scenario.body)();
        std::process::exit(0);
    }
    let code = run_parent(scenarios);
    std::process::exit(if code == ExitCode::SUCCESS { 0 } else { 101 });
}

fn run_parent(scenarios: &[Scenario]) -> ExitCode {
    let options = Options::parse(std::env::args().skip(1));
    let chosen: Vec<&Scenario> = scenarios.iter().filter(|s| options.selects(s)).collect();
    if options.list {
        for s in &chosen {
            println!("{}: test", s.name);
        }
        if !options.terse {
            println!("\n{} tests, 0 benchmarks", chosen.len());
        }
        return ExitCode::SUCCESS;
    }
    // Orphans of a scenario come to us, to be killed; without this (an old
    // kernel) they go to init and only the scenario's group is reached.
    if let Err(e) = os::become_subreaper() {
        eprintln!("sigtest: cannot become a subreaper ({e}); escaped processes may leak");
    }
    let filtered_out = scenarios.iter().filter(|s| !s.helper).count() - chosen.len();
    let plural = if chosen.len() == 1 { "" } else { "s" };
    println!("\nrunning {} test{plural}", chosen.len());
    let started = Instant::now();
    let (mut passed, mut ignored) = (0, 0);
    let mut failures = Vec::new();
    for scenario in chosen {
        if options.ignores(scenario) {
            println!("test {} ... ignored", scenario.name);
            ignored += 1;
            continue;
        }
        if scenario.pid1 && !crate::pid_namespaces() {
            println!(
                "test {} ... ignored, skipped: no pid namespace",
                scenario.name
            );
            ignored += 1;
            continue;
        }
        print!("test {} ... ", scenario.name);
        let _ = std::io::stdout().flush();
        match run_one(scenario) {
            Ok(()) => {
                println!("ok");
                passed += 1;
            }
            Err(report) => {
                println!("FAILED");
                failures.push((scenario.name, report));
            }
        }
    }
    if !failures.is_empty() {
        println!("\nfailures:");
        for (name, report) in &failures {
            println!("\n---- {name} ----\n{report}");
        }
        println!("\nfailures:");
        for (name, _) in &failures {
            println!("    {name}");
        }
    }
    let status = if failures.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {status}. {passed} passed; {} failed; {ignored} ignored; 0 measured; \
         {filtered_out} filtered out; finished in {:.2}s\n",
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run_one(scenario: &Scenario) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find test binary: {e}"))?;
    let mut command = if scenario.pid1 {
        crate::in_pid_namespace(exe)
    } else {
        Command::new(exe)
    };
    command
        .env(SCENARIO_VAR, scenario.name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // We spawn from the main thread, which lives as long as we do.
    os::die_with_parent(&mut command);
    let child = command
        .spawn()
        .map_err(|e| format!("cannot start scenario process: {e}"))?;
    let ended = supervise(child, scenario.timeout, true);
    if ended.outcome == WaitOutcome::Exited(0) && ended.problems.is_empty() {
        return Ok(());
    }
    let mut report = describe(&ended.outcome);
    for problem in &ended.problems {
        report.push_str(&format!("\nsigtest: {problem}"));
    }
    Err(format!(
        "{report}\n--- stdout ---\n{}--- stderr ---\n{}",
        ended.stdout, ended.stderr
    ))
}
