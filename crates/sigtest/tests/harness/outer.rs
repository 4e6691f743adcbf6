//! The checks: each runs the inner suite (or shares a run) and asserts on
//! what the runner reported and left behind.

use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::inner::HANG_DEADLINE;
use crate::support::{alive, clean_up, logged, run_inner, Run, LEND};

const HANGING: &[&str] = &["hangs", "hangs_with_a_grandchild_on_its_pipes"];
const FAILING: &[&str] = &["panics", "exits_with_3", "dies_by_sigkill"];
const PASSING: &[&str] = &[
    "passes",
    "leaves_a_child_in_its_group",
    "leaves_a_setsid_child",
    "sees_the_inherited_dispositions",
    "knows_its_deadline",
    "leads_a_process_group_of_its_own",
    "lends_its_stdout",
];
const WITH_HELPERS: &[&str] = &[
    "drops_a_running_helper",
    "kills_a_helper_past_its_deadline_with_its_tree",
    "kill_ends_a_helper_with_its_tree",
    "a_helper_that_exits_loses_its_leftover_group",
];
const IGNORED: &[&str] = &["an_ignored_one"];

fn all_tests() -> Vec<&'static str> {
    [HANGING, FAILING, PASSING, WITH_HELPERS, IGNORED].concat()
}

const CHECKS: &[(&str, fn())] = &[
    (
        "a_panicking_scenario_fails_the_run",
        a_panicking_scenario_fails_the_run,
    ),
    (
        "exiting_non_zero_or_by_a_signal_is_a_failure",
        exiting_non_zero_or_by_a_signal_is_a_failure,
    ),
    (
        "passing_scenarios_are_reported_ok",
        passing_scenarios_are_reported_ok,
    ),
    (
        "a_hanging_scenario_is_killed_at_its_deadline_and_the_run_goes_on",
        a_hanging_scenario_is_killed_at_its_deadline_and_the_run_goes_on,
    ),
    ("no_process_outlives_the_run", no_process_outlives_the_run),
    (
        "helpers_die_with_their_group_and_tree",
        helpers_die_with_their_group_and_tree,
    ),
    (
        "the_list_names_every_test_and_no_helper",
        the_list_names_every_test_and_no_helper,
    ),
    (
        "filters_and_skip_choose_what_runs",
        filters_and_skip_choose_what_runs,
    ),
    (
        "ignored_scenarios_run_only_when_asked",
        ignored_scenarios_run_only_when_asked,
    ),
    (
        "the_summary_counts_every_outcome",
        the_summary_counts_every_outcome,
    ),
    (
        "inherited_ignored_signals_stay_ignored",
        inherited_ignored_signals_stay_ignored,
    ),
    (
        "output_held_outside_the_tree_does_not_block_the_run",
        output_held_outside_the_tree_does_not_block_the_run,
    ),
    (
        "a_scenario_dies_with_its_runner",
        a_scenario_dies_with_its_runner,
    ),
];

/// Runs the checks named by the filters (all by default), libtest-style.
pub fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let chosen: Vec<_> = CHECKS
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    if args.iter().any(|a| a == "--list") {
        for (name, _) in &chosen {
            println!("{name}: test");
        }
        return;
    }
    println!("\nrunning {} tests", chosen.len());
    let started = Instant::now();
    let mut failed = Vec::new();
    for (name, check) in &chosen {
        print!("test {name} ... ");
        let _ = std::io::stdout().flush();
        let began = Instant::now();
        let passed = catch_unwind(AssertUnwindSafe(check)).is_ok();
        println!(
            "{} ({:.2}s)",
            if passed { "ok" } else { "FAILED" },
            began.elapsed().as_secs_f64()
        );
        if !passed {
            failed.push(*name);
        }
    }
    for run in [FULL.get(), HANG.get()].into_iter().flatten().flatten() {
        clean_up(run);
    }
    if !failed.is_empty() {
        println!("\nfailures:\n    {}", failed.join("\n    "));
    }
    println!(
        "\ntest result: {}. {} passed; {} failed; 0 ignored; 0 measured; {} filtered out; \
         finished in {:.2}s\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        chosen.len() - failed.len(),
        failed.len(),
        CHECKS.len() - chosen.len(),
        started.elapsed().as_secs_f64()
    );
    std::process::exit(if failed.is_empty() { 0 } else { 101 });
}

static FULL: OnceLock<Result<Run, String>> = OnceLock::new();
static HANG: OnceLock<Result<Run, String>> = OnceLock::new();

fn simple(args: &[&str]) -> Run {
    match run_inner(args, |_| {}, |_, _| ()) {
        Ok((run, ())) => run,
        Err(e) => panic!("{e}"),
    }
}

fn shared(cell: &'static OnceLock<Result<Run, String>>, args: &[&str]) -> &'static Run {
    let run = cell.get_or_init(|| run_inner(args, |_| {}, |_, _| ()).map(|(run, ())| run));
    run.as_ref().unwrap_or_else(|e| panic!("{e}"))
}

/// Every scenario but the hanging ones: the run the most checks look at.
fn full() -> &'static Run {
    shared(&FULL, &["--skip", "hangs"])
}

/// The hanging scenarios, then a passing one.
fn hang() -> &'static Run {
    shared(&HANG, &["hangs", "passes"])
}

fn a_panicking_scenario_fails_the_run() {
    let run = full();
    assert_eq!(run.result("panics"), Some("FAILED"), "{}", run.dump());
    let report = run.failure("panics");
    assert!(report.contains("exited with code 101"), "{report}");
    assert!(
        report.contains("deliberate panic in a scenario"),
        "{report}"
    );
    assert_eq!(run.code, Some(101), "{}", run.dump());
}

fn exiting_non_zero_or_by_a_signal_is_a_failure() {
    let run = full();
    assert_eq!(run.result("exits_with_3"), Some("FAILED"), "{}", run.dump());
    assert!(
        run.failure("exits_with_3").contains("exited with code 3"),
        "{}",
        run.dump()
    );
    assert_eq!(
        run.result("dies_by_sigkill"),
        Some("FAILED"),
        "{}",
        run.dump()
    );
    assert!(
        run.failure("dies_by_sigkill")
            .contains("killed by signal 9"),
        "{}",
        run.dump()
    );
}

fn passing_scenarios_are_reported_ok() {
    let run = full();
    for name in PASSING {
        assert_eq!(run.result(name), Some("ok"), "{name}: {}", run.dump());
    }
    let alone = simple(&["passes", "--exact"]);
    assert_eq!(alone.code, Some(0), "{}", alone.dump());
    assert!(
        alone
            .summary()
            .starts_with("test result: ok. 1 passed; 0 failed"),
        "{}",
        alone.dump()
    );
}

fn a_hanging_scenario_is_killed_at_its_deadline_and_the_run_goes_on() {
    let run = hang();
    for name in HANGING {
        assert_eq!(run.result(name), Some("FAILED"), "{}", run.dump());
        assert!(
            run.failure(name)
                .contains("ran past its deadline and was killed"),
            "{}",
            run.dump()
        );
    }
    assert_eq!(run.result("passes"), Some("ok"), "{}", run.dump());
    assert_eq!(run.code, Some(101), "{}", run.dump());
    let deadlines = HANG_DEADLINE * HANGING.len() as u32;
    assert!(run.took >= deadlines, "{}", run.dump());
    assert!(
        run.took < deadlines + Duration::from_millis(1500),
        "{}",
        run.dump()
    );
}

fn no_process_outlives_the_run() {
    let expected: [(&Run, &[&str]); 2] = [
        (
            full(),
            &["group-sleep", "setsid-sleep", "drop-setsid", "exit-group"],
        ),
        (hang(), &["hang-sleep"]),
    ];
    for (run, tags) in expected {
        for tag in tags {
            let logged = run.log.iter().any(|l| l.tag == *tag);
            assert!(logged, "{tag} not started: {}", run.dump());
        }
        // Killed processes linger as zombies until init reaps them; `alive`
        // does not count those.
        let none_left = sigtest::eventually(Duration::from_secs(1), || run.survivors().is_empty());
        assert!(
            none_left,
            "left running: {:?}\n{}",
            run.survivors(),
            run.dump()
        );
    }
    // Leftover `sleep`s would have held the pipes for 30 s and more.
    assert!(full().took < Duration::from_secs(5), "{}", full().dump());
}

fn helpers_die_with_their_group_and_tree() {
    let run = full();
    for name in WITH_HELPERS {
        assert_eq!(run.result(name), Some("ok"), "{name}: {}", run.dump());
    }
}

fn listed(run: &Run) -> Vec<&str> {
    let mut names: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .collect();
    names.sort_unstable();
    names
}

fn the_list_names_every_test_and_no_helper() {
    let run = simple(&["--list"]);
    let mut expected = all_tests();
    expected.sort_unstable();
    assert_eq!(listed(&run), expected, "{}", run.dump());
    assert!(run
        .stdout
        .contains(&format!("\n{} tests, 0 benchmarks", expected.len())));
    assert!(run.log.is_empty(), "--list ran something: {}", run.dump());
    let ignored = simple(&["--list", "--ignored"]);
    assert_eq!(listed(&ignored), IGNORED, "{}", ignored.dump());
    let terse = simple(&["--list", "--format", "terse"]);
    assert_eq!(listed(&terse), expected, "{}", terse.dump());
    assert!(!terse.stdout.contains("benchmarks"), "{}", terse.dump());
}

fn filters_and_skip_choose_what_runs() {
    let run = simple(&["pass", "exits_with", "--skip", "3", "--test-threads", "1"]);
    assert!(run.stdout.contains("running 1 test\n"), "{}", run.dump());
    assert_eq!(run.result("passes"), Some("ok"), "{}", run.dump());
    assert_eq!(run.result("exits_with_3"), None, "{}", run.dump());
    let others = all_tests().len() - 1;
    let summary = format!(
        "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; {others} filtered out;"
    );
    assert!(run.summary().starts_with(&summary), "{}", run.dump());
    assert_eq!(run.code, Some(0), "{}", run.dump());
    // Were `1` taken for a filter, it would be the only one: nothing would run.
    let threads = simple(&["--list", "--test-threads", "1", "--color", "never"]);
    assert_eq!(
        listed(&threads).len(),
        all_tests().len(),
        "{}",
        threads.dump()
    );
    let exact = simple(&["pass", "--exact"]);
    assert!(
        exact.stdout.contains("running 0 tests\n"),
        "{}",
        exact.dump()
    );
}

fn ignored_scenarios_run_only_when_asked() {
    let ran = |run: &Run| run.log.iter().any(|l| l.tag == "ignored-ran");
    let run = full();
    assert_eq!(
        run.result("an_ignored_one"),
        Some("ignored"),
        "{}",
        run.dump()
    );
    assert!(!ran(run), "{}", run.dump());
    let only = simple(&["--ignored"]);
    assert_eq!(only.result("an_ignored_one"), Some("ok"), "{}", only.dump());
    assert!(ran(&only), "{}", only.dump());
    let others = all_tests().len() - 1;
    let summary = format!(
        "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; {others} filtered out;"
    );
    assert!(only.summary().starts_with(&summary), "{}", only.dump());
    let included = simple(&["--include-ignored", "an_ignored", "passes"]);
    assert_eq!(
        included.result("an_ignored_one"),
        Some("ok"),
        "{}",
        included.dump()
    );
    assert_eq!(included.result("passes"), Some("ok"), "{}", included.dump());
}

fn the_summary_counts_every_outcome() {
    let run = full();
    let ran = all_tests().len() - HANGING.len();
    assert!(
        run.stdout.contains(&format!("running {ran} tests\n")),
        "{}",
        run.dump()
    );
    let summary = format!(
        "test result: FAILED. {} passed; {} failed; {} ignored; 0 measured; {} filtered out;",
        PASSING.len() + WITH_HELPERS.len(),
        FAILING.len(),
        IGNORED.len(),
        HANGING.len()
    );
    assert!(
        run.summary().starts_with(&summary),
        "want {summary}\n{}",
        run.dump()
    );
}

fn inherited_ignored_signals_stay_ignored() {
    let ignoring = |command: &mut std::process::Command| {
        command.env(crate::support::DISPOSITIONS, "INT=ign,TERM=ign");
        // SAFETY: signal is async-signal-safe, as required between fork and
        // exec; an ignored disposition survives exec, as under nohup.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                libc::signal(libc::SIGTERM, libc::SIG_IGN);
                Ok(())
            });
        }
    };
    let (run, ()) = run_inner(
        &["sees_the_inherited_dispositions", "--exact"],
        ignoring,
        |_, _| (),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        run.result("sees_the_inherited_dispositions"),
        Some("ok"),
        "{}",
        run.dump()
    );
}

/// Takes a copy of the lending scenario's stdout (the pipe to its harness)
/// with `pidfd_getfd`: a process outside its tree, which no kill reaches.
fn borrow_stdout(lend: &std::path::Path) -> Result<OwnedFd, String> {
    let mut pid = None;
    sigtest::eventually(Duration::from_secs(5), || {
        pid = std::fs::read_to_string(lend)
            .ok()
            .and_then(|p| p.parse::<i32>().ok());
        pid.is_some()
    });
    let pid = pid.ok_or("the scenario never wrote its pid")?;
    // SAFETY: pidfd_open takes two integers; pidfd_getfd takes three and
    // returns a new descriptor, which we then own; close takes one we own.
    let fd = unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid, 0) as i32;
        if pidfd < 0 {
            return Err(format!("pidfd_open: {}", std::io::Error::last_os_error()));
        }
        let fd = libc::syscall(libc::SYS_pidfd_getfd, pidfd, 1, 0) as i32;
        let error = std::io::Error::last_os_error();
        libc::close(pidfd);
        if fd < 0 {
            return Err(format!("pidfd_getfd: {error}"));
        }
        OwnedFd::from_raw_fd(fd)
    };
    Ok(fd)
}

fn output_held_outside_the_tree_does_not_block_the_run() {
    let lend = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("harness-{}-lend", std::process::id()));
    let taken = lend.with_extension("taken");
    let (run, borrowed) = run_inner(
        &["lends_its_stdout", "--exact"],
        |command| {
            command.env(LEND, &lend);
        },
        |_, _| {
            let borrowed = borrow_stdout(&lend);
            std::fs::write(&taken, "").unwrap();
            borrowed
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_file(&lend);
    let _ = std::fs::remove_file(&taken);
    let _held = match borrowed {
        Ok(fd) => fd,
        Err(e) => {
            print!("(skipped: {e}) ");
            return;
        }
    };
    assert_eq!(
        run.result("lends_its_stdout"),
        Some("FAILED"),
        "{}",
        run.dump()
    );
    let report = run.failure("lends_its_stdout");
    assert!(
        report.contains("output pipes were still open"),
        "{}",
        run.dump()
    );
    assert!(
        report.contains("before lending"),
        "output read so far is kept: {}",
        run.dump()
    );
    assert!(run.took < Duration::from_millis(2500), "{}", run.dump());
}

/// Killing the runner (as Ctrl-C does: the scenario, in a group of its own,
/// does not get the terminal's SIGINT) kills the scenario too.
fn a_scenario_dies_with_its_runner() {
    let killed_runner = |runner: i32, log: &std::path::Path| {
        let mut scenario = None;
        sigtest::eventually(Duration::from_secs(5), || {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            scenario = logged(&log).into_iter().find(|l| l.tag == "hang-self");
            scenario.is_some()
        });
        // SAFETY: kill takes two integers and touches no memory.
        unsafe { libc::kill(runner, libc::SIGKILL) };
        scenario.expect("the scenario never started")
    };
    let (run, scenario) =
        run_inner(&["hangs", "--exact"], |_| {}, killed_runner).unwrap_or_else(|e| panic!("{e}"));
    let died = sigtest::eventually(Duration::from_secs(1), || {
        !alive(scenario.pid, Some(&scenario.comm))
    });
    if !died {
        // SAFETY: as above.
        unsafe { libc::kill(scenario.pid, libc::SIGKILL) };
    }
    assert!(died, "the scenario outlived its runner: {}", run.dump());
    assert!(run.took < Duration::from_millis(900), "{}", run.dump());
}
