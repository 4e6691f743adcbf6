use std::io::Write;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::child::{describe, wait_with_deadline, WaitOutcome};

/// Name of the variable that tells a re-executed binary which scenario to run.
pub(crate) const SCENARIO_VAR: &str = "SIGTEST_SCENARIO";

/// One test: a function run on the main thread of a fresh process.
#[derive(Clone, Copy)]
pub struct Scenario {
    pub(crate) name: &'static str,
    pub(crate) body: fn(),
    pub(crate) ignored: bool,
    pub(crate) helper: bool,
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
            timeout: Duration::from_secs(60),
        }
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

/// Runs the scenarios, each in a process of its own, and exits.
///
/// In a re-executed child this runs the one scenario named by the environment and
/// exits 0 when it returns (a panic exits 101, as in libtest).
pub fn run(scenarios: &[Scenario]) -> ! {
    if let Ok(name) = std::env::var(SCENARIO_VAR) {
        std::env::remove_var(SCENARIO_VAR);
        let Some(scenario) = scenarios.iter().find(|s| s.name == name) else {
            eprintln!("sigtest: no scenario named {name:?}");
            std::process::exit(2);
        };
        (scenario.body)();
        std::process::exit(0);
    }
    let code = run_parent(scenarios);
    std::process::exit(if code == ExitCode::SUCCESS { 0 } else { 101 });
}

struct Options {
    filters: Vec<String>,
    exact: bool,
    ignored: bool,
    include_ignored: bool,
    list: bool,
}

fn parse_options() -> Options {
    let mut options = Options {
        filters: Vec::new(),
        exact: false,
        ignored: false,
        include_ignored: false,
        list: false,
    };
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--ignored" => options.ignored = true,
            "--include-ignored" => options.include_ignored = true,
            "--exact" => options.exact = true,
            "--list" => options.list = true,
            // libtest flags that make no difference here.
            "--nocapture" | "--quiet" | "-q" | "--test-threads=1" | "--show-output" => {}
            other if other.starts_with("--") => {}
            other => options.filters.push(other.to_owned()),
        }
    }
    options
}

fn selected(options: &Options, scenario: &Scenario) -> bool {
    if scenario.helper {
        return false;
    }
    if options.filters.is_empty() {
        return true;
    }
    options.filters.iter().any(|f| {
        if options.exact {
            scenario.name == f
        } else {
            scenario.name.contains(f.as_str())
        }
    })
}

fn run_parent(scenarios: &[Scenario]) -> ExitCode {
    let options = parse_options();
    let chosen: Vec<&Scenario> = scenarios.iter().filter(|s| selected(&options, s)).collect();
    if options.list {
        for s in &chosen {
            println!("{}: test", s.name);
        }
        return ExitCode::SUCCESS;
    }
    let filtered_out = scenarios.iter().filter(|s| !s.helper).count() - chosen.len();
    println!("\nrunning {} tests", chosen.len());
    let started = Instant::now();
    let (mut passed, mut ignored) = (0, 0);
    let mut failures = Vec::new();
    for scenario in chosen {
        let skip = if options.ignored {
            !scenario.ignored
        } else {
            scenario.ignored && !options.include_ignored
        };
        if skip {
            println!("test {} ... ignored", scenario.name);
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
    let child = Command::new(exe)
        .env(SCENARIO_VAR, scenario.name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start scenario process: {e}"))?;
    let (outcome, stdout, stderr) = wait_with_deadline(child, scenario.timeout);
    match outcome {
        WaitOutcome::Exited(0) => Ok(()),
        other => Err(format!(
            "{}\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}",
            describe(&other)
        )),
    }
}
