//! `sigbus demo`: the tour a newcomer runs first. Every step sends something,
//! waits for the actors' reports, and prints which thread handled what.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, Sender};
use sigbus::{Actor, ActorRef, Bus, Context, ShutdownNotice};
use sigcore::{ChildStatus, CommandExt, Origin, Signal, SignalEvent, SignalSet, Timer, TimerValue};

use crate::args::DemoArgs;
use crate::error::CliError;
use crate::output;

/// How long a step waits for its reports before the demo fails.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// A line an actor sends back to main: which thread, what happened.
struct Report {
    thread: String,
    text: String,
}

struct Reporter(Sender<Report>);

impl Reporter {
    fn say(&self, ctx: &Context<()>, text: String) {
        let _ = self.0.send(Report {
            thread: ctx.name().to_owned(),
            text,
        });
    }
}

fn origin_text(event: &SignalEvent) -> String {
    match &event.origin {
        Origin::User { pid, .. } => format!("kill from pid {pid}"),
        Origin::Queue { pid, value, .. } => format!("sigqueue from pid {pid}, value {value}"),
        Origin::Local { sender } => format!("targeted, from {}", sender.as_deref().unwrap_or("?")),
        other => other.to_string(),
    }
}

/// Worker actors: report every event, and stop (after saying so) on shutdown.
struct Worker(Reporter);

impl Actor for Worker {
    type Msg = ();

    fn handle_signal(&mut self, ctx: &mut Context<()>, event: SignalEvent) {
        self.0.say(
            ctx,
            format!(
                "got {} #{} ({})",
                event.signal,
                event.seq,
                origin_text(&event)
            ),
        );
    }

    fn on_shutdown(&mut self, ctx: &mut Context<()>, notice: &ShutdownNotice) {
        let by = notice.signal.map_or("request", Signal::name);
        self.0.say(
            ctx,
            format!("shutdown notice ({by}): finishing and stopping"),
        );
        ctx.stop();
    }
}

/// Holds a config value; SIGHUP re-reads it from the file.
struct Reloader {
    path: PathBuf,
    color: String,
    out: Reporter,
}

fn read_color(path: &PathBuf) -> String {
    fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("color")
                    .map(|v| v.trim_start_matches([' ', '=']).trim().to_owned())
            })
        })
        .unwrap_or_else(|| "(unreadable)".into())
}

impl Actor for Reloader {
    type Msg = ();

    fn handle_signal(&mut self, ctx: &mut Context<()>, event: SignalEvent) {
        let fresh = read_color(&self.path);
        let old = std::mem::replace(&mut self.color, fresh);
        self.out.say(
            ctx,
            format!(
                "{} ({}): config reloaded, color {old} -> {}",
                event.signal,
                origin_text(&event),
                self.color
            ),
        );
    }

    fn on_shutdown(&mut self, ctx: &mut Context<()>, _: &ShutdownNotice) {
        self.out
            .say(ctx, format!("stopping with color {}", self.color));
        ctx.stop();
    }
}

/// Counts SIGALRM ticks; reports SIGCHLD events.
struct Watcher {
    ticks: u32,
    out: Reporter,
}

impl Actor for Watcher {
    type Msg = ();

    fn handle_signal(&mut self, ctx: &mut Context<()>, event: SignalEvent) {
        match event.origin {
            Origin::Child { pid, status, .. } => {
                let what = match status {
                    ChildStatus::Exited(code) => format!("exited with code {code}"),
                    other => other.to_string(),
                };
                self.out.say(ctx, format!("SIGCHLD: child {pid} {what}"));
            }
            _ => {
                self.ticks += 1;
                self.out.say(
                    ctx,
                    format!(
                        "tick {} ({} from the {})",
                        self.ticks, event.signal, event.origin
                    ),
                );
            }
        }
    }

    fn on_shutdown(&mut self, ctx: &mut Context<()>, _: &ShutdownNotice) {
        self.out.say(ctx, "stopping".into());
        ctx.stop();
    }
}

struct Tour {
    reports: Receiver<Report>,
    step: u32,
}

impl Tour {
    fn step(&mut self, title: &str) {
        self.step += 1;
        output::line(&format!("\n[{}] {title}", self.step));
    }

    /// Waits for `count` reports, prints them sorted by thread name.
    fn expect(&mut self, count: usize) -> Result<Vec<Report>, CliError> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        let mut got = Vec::new();
        while got.len() < count {
            match self.reports.recv_deadline(deadline) {
                Ok(report) => got.push(report),
                Err(_) => {
                    return Err(CliError::Failed(format!(
                        "step {}: expected {count} report(s) within {STEP_TIMEOUT:?}, got {}",
                        self.step,
                        got.len()
                    )))
                }
            }
        }
        got.sort_by(|a, b| a.thread.cmp(&b.thread));
        for report in &got {
            output::line(&format!("    {:<10} {}", report.thread, report.text));
        }
        Ok(got)
    }

    /// Checks that nothing else is reported for a moment.
    fn expect_quiet(&mut self, what: &str) -> Result<(), CliError> {
        match self.reports.recv_timeout(Duration::from_millis(150)) {
            Ok(extra) => Err(CliError::Failed(format!(
                "step {}: {what}, but {} reported {:?}",
                self.step, extra.thread, extra.text
            ))),
            Err(_) => Ok(()),
        }
    }
}

pub fn run(args: &DemoArgs) -> Result<(), CliError> {
    let served = SignalSet::from([
        Signal::USR1,
        Signal::USR2,
        Signal::HUP,
        Signal::ALRM,
        Signal::CHLD,
        Signal::INT,
        Signal::TERM,
    ]);
    // First, before any thread exists: every thread created from here on
    // inherits this mask, so the kernel leaves these signals to sigcore's waiter.
    sigcore::block(served)?;
    let pid = std::process::id() as i32;
    output::line(&format!(
        "sigbus demo (pid {pid}): each signal below is handled on a named thread, not on main"
    ));

    let config = std::env::temp_dir().join(format!("sigbus-demo-{pid}.conf"));
    fs::write(&config, "color = blue\n")?;
    let result = tour(args, pid, &config);
    let _ = fs::remove_file(&config);
    result
}

fn tour(args: &DemoArgs, pid: i32, config: &PathBuf) -> Result<(), CliError> {
    let bus = Bus::new();
    let (tx, reports) = unbounded();
    let mut tour = Tour { reports, step: 0 };
    let workers: Vec<ActorRef<()>> = (1..=args.workers)
        .map(|i| {
            let tx = tx.clone();
            bus.actor(format!("worker-{i}"))
                .signals([Signal::USR1, Signal::USR2])
                .spawn(move || Worker(Reporter(tx.clone())))
        })
        .collect::<Result<_, _>>()?;
    let (path, reload_tx) = (config.clone(), tx.clone());
    bus.actor("reloader")
        .signals(Signal::HUP)
        .spawn(move || Reloader {
            color: read_color(&path),
            path: path.clone(),
            out: Reporter(reload_tx.clone()),
        })?;
    let ticker_tx = tx.clone();
    bus.actor("ticker")
        .signals(Signal::ALRM)
        .spawn(move || Watcher {
            ticks: 0,
            out: Reporter(ticker_tx.clone()),
        })?;
    let reaper_tx = tx.clone();
    bus.actor("reaper")
        .signals(Signal::CHLD)
        .spawn(move || Watcher {
            ticks: 0,
            out: Reporter(reaper_tx.clone()),
        })?;
    let coordinator = bus.shutdown_coordinator(Duration::from_secs(2))?;
    let n = workers.len();

    tour.step(&format!(
        "kill({pid}, SIGUSR1) from main: every worker thread gets it"
    ));
    sigcore::kill(pid, Signal::USR1)?;
    tour.expect(n)?;

    tour.step("SIGHUP after editing the config file: the reloader re-reads it");
    fs::write(config, "color = green\n")?;
    sigcore::kill(pid, Signal::HUP)?;
    tour.expect(1)?;

    tour.step("setitimer(ITIMER_REAL, 40 ms, every 40 ms): SIGALRM ticks");
    let ms = Duration::from_millis;
    sigcore::set_timer(
        Timer::Real,
        TimerValue {
            value: ms(40),
            interval: ms(40),
        },
    )?;
    let armed = sigcore::get_timer(Timer::Real)?;
    output::line(&format!(
        "    {:<10} getitimer: interval {:?}, next in {:?}",
        "main", armed.interval, armed.value
    ));
    tour.expect(3)?;
    sigcore::set_timer(Timer::Real, TimerValue::default())?;
    // A tick may have been on its way when the timer was disarmed.
    while tour.reports.recv_timeout(ms(100)).is_ok() {}

    tour.step("sigqueue(SIGUSR2, 42): the payload arrives intact");
    sigcore::sigqueue(pid, Signal::USR2, 42)?;
    for report in tour.expect(n)? {
        if !report.text.contains("value 42") {
            return Err(CliError::Failed(format!("payload lost: {}", report.text)));
        }
    }

    tour.step("a child runs `exit 3`: its exit arrives as SIGCHLD with the code");
    let mut child = Command::new("sh")
        .args(["-c", "exit 3"])
        .reset_signals()
        .spawn()
        .map_err(|e| CliError::Failed(format!("cannot run sh: {e}")))?;
    tour.expect(1)?;
    let status = child.wait()?;
    output::line(&format!(
        "    {:<10} reaped child {}: {status}",
        "main",
        child.id()
    ));

    let target = &workers[n / 2];
    tour.step(&format!(
        "targeted delivery to {} only (no kernel signal involved)",
        target.name()
    ));
    target
        .signal(Signal::USR1)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    tour.expect(1)?;
    tour.expect_quiet("only the target should react")?;

    tour.step("SIGTERM: graceful shutdown, every actor gets a notice and stops");
    sigcore::kill(pid, Signal::TERM)?;
    tour.expect(n + 3)?;
    let outcome = coordinator
        .wait()
        .ok_or_else(|| CliError::Failed("the bus shut down before SIGTERM was handled".into()))?;
    output::line(&format!(
        "\ndone: all actors stopped in {:.1} ms after {}; signals released; exit 0",
        outcome.took.as_secs_f64() * 1e3,
        outcome.signal.map_or("a request", Signal::name)
    ));
    Ok(())
}
