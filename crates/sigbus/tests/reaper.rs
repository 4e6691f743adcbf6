//! The reaper: reaps what nobody waits for, steals nothing from `Child::wait`,
//! never hangs on a coalesced SIGCHLD, keeps spawned children's exits for their
//! handles, and reaps orphans as a subreaper. Each scenario runs in a process
//! of its own (see `sigtest`).

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use sigbus::{Bus, Unowned};
use sigcore::{ChildStatus, CommandExt, Origin, Signal};
use sigtest::scenario;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn me() -> i32 {
    std::process::id() as i32
}

/// Zombie children of this process, from /proc.
fn zombies() -> Vec<i32> {
    sigcore::children()
        .unwrap()
        .into_iter()
        .filter(|pid| sigcore::ProcSignals::of_process(*pid).is_ok_and(|p| p.state == 'Z'))
        .collect()
}

fn reaped_orphans(sub: &sigbus::Subscription, want: usize, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    let mut seen = 0;
    while seen < want && Instant::now() < deadline {
        if let Ok(event) = sub.recv_timeout(Duration::from_millis(50)) {
            if let Origin::Reaped { orphan: true, .. } = event.origin {
                seen += 1;
            }
        }
    }
    seen
}

/// The choice of design: 1,000 `Command::status()` calls racing a SIGCHLD storm
/// (300 children spawned and forgotten, plus SIGCHLD sent by hand) with the
/// reaper running. None gets `ECHILD`; the forgotten ones are reaped (as
/// orphans, after the grace period), and no zombie is left.
fn status_calls_never_race_the_reaper() {
    sigcore::block(Signal::CHLD).unwrap();
    let bus = Bus::new();
    // Room for the kernel's SIGCHLDs of the storm and the reaper's reports.
    let reported = bus
        .subscription(Signal::CHLD)
        .capacity(10_000)
        .open()
        .unwrap();
    let reaper = bus
        .reaper()
        .unowned(Unowned::After(Duration::from_millis(500)))
        .start()
        .unwrap();
    let storming = Arc::new(AtomicBool::new(true));
    let storm = {
        let storming = Arc::clone(&storming);
        thread::spawn(move || {
            let mut forgotten = 0;
            while storming.load(Ordering::SeqCst) && forgotten < 300 {
                drop(Command::new("true").spawn().unwrap()); // never waited for
                forgotten += 1;
                sigcore::kill(me(), Signal::CHLD).unwrap();
            }
            forgotten
        })
    };
    let mut failures = Vec::new();
    for round in 0..1000 {
        match Command::new("true").status() {
            Ok(status) => assert!(status.success(), "round {round}: {status}"),
            Err(e) => failures.push(format!("round {round}: {e}")),
        }
    }
    storming.store(false, Ordering::SeqCst);
    let forgotten = storm.join().unwrap();
    assert!(
        failures.is_empty(),
        "{} ECHILD: {failures:?}",
        failures.len()
    );
    let orphans = reaped_orphans(&reported, forgotten, secs(20));
    assert_eq!(
        orphans, forgotten,
        "every forgotten child is reaped, as an orphan"
    );
    assert!(
        sigtest::eventually(secs(5), || zombies().is_empty()),
        "{:?}",
        zombies()
    );
    println!("figure: 1000 Command::status() beside {forgotten} forgotten children: 0 ECHILD, {orphans} reaped");
    reaper.stop();
}

/// The other design (reap everything at once, as an init does) for contrast:
/// it steals from `Command::status()`. Printed, not asserted (it is a race).
fn reaping_everything_steals_from_status_calls() {
    sigcore::block(Signal::CHLD).unwrap();
    let bus = Bus::new();
    let reaper = bus.reaper().unowned(Unowned::All).start().unwrap();
    let mut stolen = 0;
    for _ in 0..300 {
        if Command::new("true").status().is_err() {
            stolen += 1;
        }
    }
    println!("figure: Unowned::All: {stolen} of 300 Command::status() calls got ECHILD");
    reaper.stop();
}

/// Children spawned through the reaper: exit codes, signals, try_wait,
/// wait_timeout, the pidfd, and waiting after the reaper stopped.
fn spawned_children_are_waited_through_the_reaper() {
    sigcore::block([Signal::CHLD, Signal::TERM]).unwrap();
    let bus = Bus::new();
    let reaper = bus.reaper().start().unwrap();
    for code in [0, 1, 7, 255] {
        let child = reaper
            .spawn(Command::new("sh").args(["-c", &format!("exit {code}")]))
            .unwrap();
        let exit = child.wait_timeout(secs(10)).expect("exited");
        assert_eq!(exit.status, ChildStatus::Exited(code));
        assert_eq!(exit.pid, child.pid());
    }
    let sleeper = reaper
        .spawn(Command::new("sleep").arg("30").reset_signals())
        .unwrap();
    assert!(sleeper.try_wait().is_none());
    assert!(sleeper.wait_timeout(Duration::from_millis(50)).is_none());
    assert!(sleeper.pidfd().is_some(), "this kernel has pidfds");
    sleeper.kill(Signal::TERM).unwrap();
    let exit = sleeper.wait_timeout(secs(10)).unwrap();
    assert_eq!(exit.status, ChildStatus::Killed(libc::SIGTERM));
    assert_eq!(exit.shell_status(), 143);

    // Stopped reaper: the handle reaps by itself.
    let late = reaper
        .spawn(Command::new("sh").args(["-c", "sleep 0.2; exit 5"]))
        .unwrap();
    reaper.stop();
    assert_eq!(
        late.wait_timeout(secs(10)).unwrap().status,
        ChildStatus::Exited(5)
    );
    assert!(
        reaper.spawn(&mut Command::new("true")).is_err(),
        "a stopped reaper spawns nothing"
    );
}

/// Fifty children exiting at the same moment give fewer SIGCHLDs than exits;
/// every handle still gets its exit, 20 times over, and no zombie is left.
fn a_coalesced_sigchld_reaps_every_child() {
    sigcore::block(Signal::CHLD).unwrap();
    let bus = Bus::new();
    let reaper = bus.reaper().start().unwrap();
    for round in 0..20 {
        let children: Vec<_> = (0..50)
            .map(|i| {
                reaper
                    .spawn(Command::new("sh").args(["-c", &format!("sleep 0.1; exit {}", i % 7)]))
                    .unwrap()
            })
            .collect();
        for (i, child) in children.iter().enumerate() {
            let exit = child
                .wait_timeout(secs(10))
                .unwrap_or_else(|| panic!("round {round}: child {i} never reaped"));
            assert_eq!(exit.status, ChildStatus::Exited(i as i32 % 7));
        }
    }
    assert!(zombies().is_empty(), "{:?}", zombies());
    reaper.stop();
}

/// As a child subreaper, orphaned grandchildren come to this process: 100 of
/// them are reaped (and reported as orphans on the bus), no zombie left.
fn orphans_come_to_a_subreaper_and_are_reaped() {
    sigcore::block(Signal::CHLD).unwrap();
    let bus = Bus::new();
    let reported = bus
        .subscription(Signal::CHLD)
        .capacity(10_000)
        .open()
        .unwrap();
    let reaper = bus
        .reaper()
        .subreaper(true)
        .unowned(Unowned::After(Duration::from_millis(200)))
        .start()
        .unwrap();
    let status = Command::new("sh")
        .args(["-c", "for i in $(seq 100); do sleep 0.3 & done; exit 0"])
        .status()
        .unwrap();
    assert!(status.success());
    let orphans = reaped_orphans(&reported, 100, secs(20));
    assert_eq!(orphans, 100);
    assert!(
        sigtest::eventually(secs(5), || zombies().is_empty()),
        "{:?}",
        zombies()
    );
    reaper.stop();
    sigcore::set_child_subreaper(false).unwrap();
}

fn main() {
    sigtest::run(&[
        scenario!(status_calls_never_race_the_reaper).timeout(secs(120)),
        scenario!(reaping_everything_steals_from_status_calls),
        scenario!(spawned_children_are_waited_through_the_reaper),
        scenario!(a_coalesced_sigchld_reaps_every_child).timeout(secs(120)),
        scenario!(orphans_come_to_a_subreaper_and_are_reaped),
    ]);
}
