//! As PID 1 of a pid namespace, as in a container (`unshare --pid --fork
//! --mount-proc`, through `sigtest`'s PID-1 tier): the init reaps orphans,
//! serves what it forwards (the kernel drops signals at their default action
//! for PID 1), a host SIGTERM reaches its command with sender pid 0, and a
//! bus program with the shutdown coordinator exits 143 at once on a second
//! host SIGTERM. Where no pid namespace can be made, every test here says
//! "skipped: no pid namespace".

use std::process::Command;
use std::time::{Duration, Instant};

use sigbus::{Bus, Init, InitEvent};
use sigcore::{ProcSignals, Signal, SignalSet};
use sigtest::{helper_command, ms, scenario, WaitOutcome};

/// Every wait in these tests ends by this.
const DEADLINE: Duration = Duration::from_secs(20);

fn skipped() -> bool {
    if sigtest::pid_namespaces() {
        return false;
    }
    println!("skipped: no pid namespace");
    true
}

/// Zombies in this pid namespace (its own `/proc`).
fn zombies_here() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| ProcSignals::of_process(*pid).is_ok_and(|p| p.state == 'Z'))
        .collect()
}

/// Prints each init event that matters to the tests on stdout, one per line.
fn print_event(event: &InitEvent) {
    match event {
        InitEvent::Forwarded {
            received, origin, ..
        } => println!(
            "forwarded {} from pid {:?} outside={}",
            received.name(),
            origin.pid(),
            origin.from_outside_namespace()
        ),
        InitEvent::NotAReaper => println!("not a reaper"),
        InitEvent::Reaped { exit, main } => println!("reaped {} main={main}", exit.pid),
        _ => {}
    }
}

/// Waits until process `pid` serves every signal of `signals` (caught and
/// blocked: a sigcore waiter has them).
fn wait_until_serving(pid: i32, signals: SignalSet) {
    let served = sigtest::eventually(DEADLINE, || {
        ProcSignals::of_process(pid).is_ok_and(|p| signals.is_subset(p.caught))
    });
    assert!(served, "process {pid} never served {signals}");
}

/// Whether process `pid` (not our child) has ended: a zombie, or gone.
fn ended(pid: i32) -> bool {
    ProcSignals::of_process(pid).map_or(true, |p| p.state == 'Z')
}

/// The harness's PID-1 tier itself: the body runs as PID 1, with a `/proc`
/// that shows only its own namespace.
fn a_pid1_scenario_runs_as_init_of_its_own_namespace() {
    assert!(sigtest::is_pid1());
    let status = ProcSignals::of_process(1).unwrap();
    assert!(status.is_namespace_init());
    assert_eq!(status.pid, std::process::id() as i32);
}

/// tini's reaping test as PID 1: the command leaves 100 orphans, which come
/// to the init (no subreaper flag needed, no warning); none stays a zombie,
/// in the whole namespace.
fn as_pid1_the_init_reaps_every_orphan() {
    let script = r#"
        (for i in $(seq 100); do sleep 0.5 & done)
        sleep 1.5
        z=0
        for s in /proc/[0-9]*/stat; do
            [ "$(cut -d' ' -f3 "$s" 2>/dev/null)" = Z ] && z=$((z + 1))
        done
        exit $z
    "#;
    let orphans = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = orphans.clone();
    let warned = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let warning = warned.clone();
    let mut init = Init::builder({
        let mut sh = Command::new("sh");
        sh.args(["-c", script]);
        sh
    })
    .on_event(move |event| match event {
        InitEvent::Reaped { main: false, .. } => {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        InitEvent::NotAReaper => warning.store(true, std::sync::atomic::Ordering::SeqCst),
        _ => {}
    })
    .start()
    .unwrap();
    let exit = init
        .wait_timeout(DEADLINE)
        .unwrap()
        .expect("the command ends");
    assert_eq!(exit.code, 0, "zombies left in the namespace while it ran");
    assert_eq!(orphans.load(std::sync::atomic::Ordering::SeqCst), 100);
    assert!(!warned.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(zombies_here(), Vec::<i32>::new());
}

/// Serves every signal, prints ready, sends SIGUSR1, SIGHUP and SIGRTMIN+1
/// to PID 1 (its init), prints what comes back, exits 0 once all three have.
fn _sends_to_pid1() {
    let all: SignalSet = Signal::all()
        .filter(|s| s.check_waitable().is_ok())
        .collect();
    sigcore::block(all).unwrap();
    let signals = sigcore::Signals::new(all).unwrap();
    let rt1 = Signal::realtime(1).unwrap();
    for signal in [Signal::USR1, Signal::HUP, rt1] {
        sigcore::kill(1, signal).unwrap();
    }
    let mut got = Vec::new();
    while got.len() < 3 {
        let event = signals.recv_timeout(DEADLINE).expect("forwarded back");
        got.push(event.signal);
    }
    got.sort();
    assert_eq!(got, [Signal::HUP, Signal::USR1, rt1]);
}

/// The kernel drops a signal at its default action sent to PID 1 from inside
/// its namespace (design fact 16); the init serves what it forwards, so a
/// command's `kill 1` reaches it and comes back.
fn as_pid1_the_init_serves_what_it_forwards() {
    let mut init = Init::builder(helper_command("_sends_to_pid1"))
        .start()
        .unwrap();
    let exit = init
        .wait_timeout(DEADLINE)
        .unwrap()
        .expect("the command ends");
    assert_eq!(exit.code, 0, "{:?}", exit.child);
}

/// PID 1 running `sleep 100` through the init, reporting its events.
fn _init_running_sleep() {
    assert!(sigtest::is_pid1());
    let mut sleep = Command::new("sleep");
    sleep.arg("100");
    let exit = Init::builder(sleep).on_event(print_event).run().unwrap();
    exit.exit();
}

/// `docker stop` without docker: a SIGTERM from the host (an ancestor
/// namespace) reaches the command through the init, with sender pid 0, and
/// the init exits 143 (the command's 128 + 15).
fn a_host_sigterm_reaches_the_command_and_the_init_exits_143() {
    if skipped() {
        return;
    }
    let helper = sigtest::run_helper_as_pid1("_init_running_sleep", &[]);
    let init = sigtest::namespace_init(helper.pid(), DEADLINE).expect("PID 1 started");
    wait_until_serving(init, Signal::TERM.into());
    sigcore::kill(init, Signal::TERM).unwrap();
    let (outcome, stdout, stderr) = helper.wait(DEADLINE);
    assert_eq!(outcome, WaitOutcome::Exited(143), "{stdout}{stderr}");
    assert!(
        stdout.contains("forwarded SIGTERM from pid Some(0) outside=true"),
        "{stdout}"
    );
    assert!(!stdout.contains("not a reaper"), "{stdout}");
}

/// A bus program as PID 1: the shutdown coordinator, the first SIGTERM's
/// origin printed, then a long drain that only a second signal cuts short.
fn _bus_with_coordinator() {
    sigcore::block([Signal::INT, Signal::TERM]).unwrap();
    let bus = Bus::new();
    let terms = bus.subscribe(Signal::TERM).unwrap();
    let coordinator = bus
        .coordinator()
        .grace(Duration::from_secs(30))
        .start()
        .unwrap();
    let first = terms.recv_timeout(DEADLINE).expect("a first SIGTERM");
    println!(
        "first SIGTERM from pid {:?} outside={}",
        first.origin.pid(),
        first.origin.from_outside_namespace()
    );
    assert!(
        coordinator.wait_timeout(DEADLINE).is_some(),
        "a clean shutdown"
    );
    // The drain: only the escape hatch (a second signal) ends it early.
    std::thread::sleep(DEADLINE);
    std::process::exit(3);
}

/// A bus program as PID 1 exits 143 within 100 ms of the second host SIGTERM
/// (sent 0.7 s after the first, past the 500 ms burst window): the kernel
/// would drop its own re-raise, so `exit_by_signal` exits 128 + 15. Events
/// from the host carry pid 0 and say they come from outside the namespace.
fn a_bus_as_pid1_exits_143_at_once_on_a_second_host_sigterm() {
    if skipped() {
        return;
    }
    let helper = sigtest::run_helper_as_pid1("_bus_with_coordinator", &[]);
    let init = sigtest::namespace_init(helper.pid(), DEADLINE).expect("PID 1 started");
    wait_until_serving(init, [Signal::INT, Signal::TERM].into());
    sigcore::kill(init, Signal::TERM).unwrap();
    std::thread::sleep(ms(700));
    assert!(!ended(init), "the first SIGTERM ended it");
    let sent = Instant::now();
    sigcore::kill(init, Signal::TERM).unwrap();
    assert!(
        sigtest::eventually(DEADLINE, || ended(init)),
        "still running"
    );
    let took = sent.elapsed();
    let (outcome, stdout, stderr) = helper.wait(DEADLINE);
    assert_eq!(outcome, WaitOutcome::Exited(143), "{stdout}{stderr}");
    assert!(
        stdout.contains("first SIGTERM from pid Some(0) outside=true"),
        "{stdout}"
    );
    println!("figure: PID 1 bus exited {took:?} after the second host SIGTERM");
    assert!(took < ms(100), "{took:?}");
}

/// PID 1 that never ends (an init whose command sleeps for ever).
fn _init_forever() {
    let mut sleep = Command::new("sleep");
    sleep.arg("1000");
    let _ = Init::builder(sleep).run();
}

/// The PID-1 tier keeps the deadline: a helper still running at its deadline
/// is killed with everything in its namespace.
fn a_pid1_helper_is_killed_with_its_namespace_at_its_deadline() {
    if skipped() {
        return;
    }
    let helper = sigtest::run_helper_as_pid1("_init_forever", &[]);
    let init = sigtest::namespace_init(helper.pid(), DEADLINE).expect("PID 1 started");
    let command = sigtest::namespace_init(init, DEADLINE).expect("the init's command");
    let (outcome, _, _) = helper.wait(ms(500));
    assert_eq!(outcome, WaitOutcome::TimedOut);
    for pid in [init, command] {
        assert!(
            sigtest::eventually(Duration::from_secs(5), || ended(pid)),
            "{pid} outlived the deadline"
        );
    }
}

fn main() {
    sigtest::run(&[
        scenario!(a_pid1_scenario_runs_as_init_of_its_own_namespace).as_pid1(),
        scenario!(as_pid1_the_init_reaps_every_orphan).as_pid1(),
        scenario!(as_pid1_the_init_serves_what_it_forwards).as_pid1(),
        scenario!(a_host_sigterm_reaches_the_command_and_the_init_exits_143),
        scenario!(a_bus_as_pid1_exits_143_at_once_on_a_second_host_sigterm),
        scenario!(a_pid1_helper_is_killed_with_its_namespace_at_its_deadline),
        scenario!(_sends_to_pid1).helper(),
        scenario!(_init_running_sleep).helper(),
        scenario!(_bus_with_coordinator).helper(),
        scenario!(_init_forever).helper(),
    ]);
}
