//! A reaper that reaps children nobody else waits for, without stealing the
//! status of those someone does.
//!
//! SIGCHLD coalesces and names one child, and `waitpid(-1)` steals statuses from
//! every other waiter in the process (`std::process::Child::wait` then fails
//! with `ECHILD`). So on each SIGCHLD (and when a grace period runs out) the
//! reaper looks at every child of the process (`/proc/self/task/*/children`),
//! one pid at a time:
//!
//! - children spawned through [`Reaper::spawn`] are its own: reaped at once and
//!   handed to their [`ReapedChild`] handle;
//! - any other child is someone else's until it has been a zombie for the
//!   grace period of [`Unowned::After`] (peeked at with `waitid(WNOWAIT)`,
//!   which leaves it to its owner): a `Child::wait` or `Command::status` reaps
//!   its child as soon as it exits, well within that, while an orphan adopted
//!   as a subreaper or PID 1, or a child spawned and forgotten, stays a zombie
//!   and is reaped then.
//!
//! The trade-off, measured by the test "1,000 `Command::status()` calls racing
//! a SIGCHLD storm": with the default policy none gets `ECHILD`; with
//! [`Unowned::All`] (reap at once, as tini does) some would. A `Child` waited for
//! later than the grace period after its exit loses its status: spawn such
//! children with [`Reaper::spawn`], or choose [`Unowned::Never`].

use std::collections::HashMap;
use std::io;
use std::process::{ChildStderr, ChildStdin, ChildStdout, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, select, Receiver, Sender};
use log::{debug, warn};
use sigcore::{ChildExit, CommandExt, Origin, Pidfd, Signal, SignalEvent};

use crate::{Bus, BusError, Subscription};

/// What the reaper does with children it did not spawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unowned {
    /// Reap them once they have been zombies this long (the default: 1 s).
    After(Duration),
    /// Reap them as soon as they exit, as an init does: right only for a
    /// process that runs nothing else that waits (their `wait` would fail).
    All,
    /// Leave them alone: reap only children spawned through the reaper.
    Never,
}

impl Default for Unowned {
    fn default() -> Unowned {
        Unowned::After(Duration::from_secs(1))
    }
}

/// Builds a [`Reaper`]; see [`Bus::reaper`].
#[must_use = "a builder does nothing until `start` is called"]
pub struct ReaperBuilder<'a> {
    bus: &'a Bus,
    unowned: Unowned,
    subreaper: bool,
}

impl ReaperBuilder<'_> {
    /// What to do with children the reaper did not spawn (default
    /// [`Unowned::default`]).
    pub fn unowned(mut self, unowned: Unowned) -> Self {
        self.unowned = unowned;
        self
    }

    /// Makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`), so that
    /// orphaned descendants come to it to be reaped, not to PID 1.
    pub fn subreaper(mut self, on: bool) -> Self {
        self.subreaper = on;
        self
    }

    /// Starts the reaper thread, subscribed to SIGCHLD.
    ///
    /// # Errors
    ///
    /// As for [`Bus::subscribe`] (SIGCHLD must be servable), plus
    /// [`BusError::Signal`] if the subreaper flag cannot be set and
    /// [`BusError::Spawn`].
    pub fn start(self) -> Result<Reaper, BusError> {
        if self.subreaper {
            sigcore::set_child_subreaper(true)?;
        }
        let subscription = self.bus.subscription(Signal::CHLD).name("reaper").open()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            unowned: self.unowned,
            stopped: AtomicBool::new(false),
        });
        let (stop_tx, stop_rx) = bounded(1);
        let run = Run {
            bus: self.bus.clone(),
            subscription,
            shared: Arc::clone(&shared),
        };
        let builder = thread::Builder::new().name("sigbus-reaper".into());
        let thread =
            sigcore::spawn_blocked(builder, move || run.run(stop_rx)).map_err(BusError::Spawn)?;
        Ok(Reaper {
            shared,
            stop: stop_tx,
            thread: Mutex::new(Some(thread)),
        })
    }
}

impl Bus {
    /// A builder for a [`Reaper`]: reaps children nobody else waits for (see the
    /// module docs for the rule and its trade-off), publishes each one as a
    /// SIGCHLD event with [`Origin::Reaped`] to every other subscription of
    /// SIGCHLD on this bus, and spawns children whose status it keeps for their
    /// [`ReapedChild`] handle.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::process::Command;
    /// use sigbus::{ChildStatus, Signal};
    ///
    /// sigbus::block(Signal::CHLD)?;
    /// let bus = sigbus::Bus::new();
    /// let reaper = bus.reaper().start()?;
    /// let child = reaper.spawn(Command::new("sh").args(["-c", "exit 3"]))?;
    /// let exit = child.wait_timeout(std::time::Duration::from_secs(10)).unwrap();
    /// assert_eq!(exit.status, ChildStatus::Exited(3));
    /// reaper.stop();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reaper(&self) -> ReaperBuilder<'_> {
        ReaperBuilder {
            bus: self,
            unowned: Unowned::default(),
            subreaper: false,
        }
    }
}

/// Reaps children; see [`Bus::reaper`]. Stops on [`Reaper::stop`] or when the
/// bus shuts down.
pub struct Reaper {
    shared: Arc<Shared>,
    stop: Sender<()>,
    thread: Mutex<Option<thread::JoinHandle<()>>>,
}

struct Shared {
    state: Mutex<State>,
    unowned: Unowned,
    stopped: AtomicBool,
}

#[derive(Default)]
struct State {
    /// Children spawned through the reaper, by pid.
    owned: HashMap<i32, Arc<Slot>>,
    /// Other children seen as zombies, and when first seen.
    zombies: HashMap<i32, Instant>,
}

/// Where a spawned child's exit waits for its handle.
#[derive(Default)]
struct Slot {
    exit: Mutex<Option<ChildExit>>,
    done: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Reaper {
    /// Spawns `command`, its child registered with the reaper before any
    /// SIGCHLD for it can be handled: its exit is kept for the returned handle.
    /// The child gets normal signals: [`sigcore::CommandExt::reset_signals`]
    /// is applied (the signal mask and ignores the process started with, not
    /// the blocks sigcore and the bus added).
    ///
    /// # Errors
    ///
    /// The error of [`Command::spawn`]; [`io::ErrorKind::Other`] if the reaper
    /// has stopped (nobody would reap the child).
    pub fn spawn(&self, command: &mut Command) -> io::Result<ReapedChild> {
        if self.shared.stopped.load(Ordering::SeqCst) {
            return Err(io::Error::other("the reaper has stopped"));
        }
        // Held across spawn and registration: the reaper cannot look at the
        // child before it is known as ours.
        let mut state = self.shared.lock();
        let mut child = command.reset_signals().spawn()?;
        let pid = child.id() as i32;
        let slot = Arc::new(Slot::default());
        state.owned.insert(pid, Arc::clone(&slot));
        drop(state);
        debug!("sigbus: reaper spawned child {pid}");
        Ok(ReapedChild {
            pid,
            pidfd: Pidfd::open(pid).ok(),
            slot,
            shared: Arc::clone(&self.shared),
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
        })
    }

    /// Stops the reaper thread and waits for it. Children spawned through it
    /// are then reaped by their handle's `wait` itself.
    pub fn stop(&self) {
        let _ = self.stop.try_send(());
        if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

/// A child spawned through a [`Reaper`]: its exit, kept for it.
pub struct ReapedChild {
    pid: i32,
    pidfd: Option<Pidfd>,
    slot: Arc<Slot>,
    shared: Arc<Shared>,
    /// The child's standard input, if it was piped.
    pub stdin: Option<ChildStdin>,
    /// The child's standard output, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The child's standard error, if it was piped.
    pub stderr: Option<ChildStderr>,
}

impl ReapedChild {
    /// The child's process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// A pidfd for the child, where the kernel has them (Linux 5.3+): signals
    /// sent through it cannot reach a process that reused the pid.
    pub fn pidfd(&self) -> Option<&Pidfd> {
        self.pidfd.as_ref()
    }

    /// Sends `signal` to the child, through its pidfd where there is one.
    ///
    /// # Errors
    ///
    /// [`sigcore::Error::NoSuchProcess`] once it has exited and been reaped.
    pub fn kill(&self, signal: Signal) -> sigcore::Result<()> {
        match &self.pidfd {
            Some(pidfd) => pidfd.send(signal),
            None if self.try_wait().is_some() => {
                Err(sigcore::Error::NoSuchProcess { pid: self.pid })
            }
            None => sigcore::kill(self.pid, signal),
        }
    }

    /// The exit, if the child has exited (and been reaped).
    pub fn try_wait(&self) -> Option<ChildExit> {
        if let Some(exit) = *self.slot.exit.lock().unwrap_or_else(|p| p.into_inner()) {
            return Some(exit);
        }
        self.reap_if_alone()
    }

    /// Waits for the child to exit.
    pub fn wait(&self) -> ChildExit {
        loop {
            if let Some(exit) = self.wait_timeout(Duration::from_secs(1)) {
                return exit;
            }
        }
    }

    /// Waits at most `timeout` for the child to exit.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<ChildExit> {
        let deadline = Instant::now() + timeout;
        let mut exit = self.slot.exit.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(done) = *exit {
                return Some(done);
            }
            if self.shared.stopped.load(Ordering::SeqCst) {
                drop(exit);
                // No reaper: poll for it ourselves.
                return self.poll_alone(deadline);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            // Wake up now and then to notice a reaper that stopped.
            let step = (deadline - now).min(Duration::from_millis(100));
            exit = self
                .slot
                .done
                .wait_timeout(exit, step)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Without a reaper running, reaps the child itself.
    fn reap_if_alone(&self) -> Option<ChildExit> {
        if !self.shared.stopped.load(Ordering::SeqCst) {
            return None;
        }
        let exit = sigcore::reap_child(self.pid).ok().flatten()?;
        *self.slot.exit.lock().unwrap_or_else(|p| p.into_inner()) = Some(exit);
        Some(exit)
    }

    fn poll_alone(&self, deadline: Instant) -> Option<ChildExit> {
        loop {
            if let Some(exit) = self.reap_if_alone() {
                return Some(exit);
            }
            if let Some(exit) = *self.slot.exit.lock().unwrap_or_else(|p| p.into_inner()) {
                return Some(exit);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl std::fmt::Debug for ReapedChild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReapedChild")
            .field("pid", &self.pid)
            .field(
                "exit",
                &*self.slot.exit.lock().unwrap_or_else(|p| p.into_inner()),
            )
            .finish()
    }
}

/// The reaper thread.
struct Run {
    bus: Bus,
    subscription: Subscription,
    shared: Arc<Shared>,
}

impl Run {
    fn run(self, stop: Receiver<()>) {
        // A first look: children that exited before the reaper started.
        let mut next = self.scan();
        loop {
            let timeout = next.map_or(Duration::from_secs(3600), |at| {
                at.saturating_duration_since(Instant::now())
            });
            select! {
                recv(self.subscription.receiver()) -> event => {
                    if event.is_err() {
                        break; // the bus shut down
                    }
                    // SIGCHLD coalesces: drain, then one scan covers them all.
                    while self.subscription.try_recv().is_ok() {}
                }
                recv(stop) -> _ => break,
                default(timeout) => {}
            }
            next = self.scan();
        }
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Wake handles that wait, so they reap by themselves from now on.
        for slot in self.shared.lock().owned.values() {
            slot.done.notify_all();
        }
        debug!("sigbus: reaper stopped");
    }

    /// Looks at every child; reaps what is the reaper's to reap. Returns when
    /// to look again for zombies whose grace period is still running.
    fn scan(&self) -> Option<Instant> {
        let mut state = self.shared.lock();
        let children = match sigcore::children() {
            Ok(children) => children,
            Err(e) => {
                warn!("sigbus: reaper cannot list children: {e}");
                return Some(Instant::now() + Duration::from_secs(1));
            }
        };
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        for pid in &children {
            if let Some(slot) = state.owned.get(pid).cloned() {
                if let Ok(Some(exit)) = sigcore::reap_child(*pid) {
                    state.owned.remove(pid);
                    *slot.exit.lock().unwrap_or_else(|p| p.into_inner()) = Some(exit);
                    slot.done.notify_all();
                    self.publish(exit, false);
                }
                continue;
            }
            let reap_now = match self.shared.unowned {
                Unowned::Never => false,
                Unowned::All => true,
                Unowned::After(grace) => match sigcore::peek_child(*pid) {
                    Ok(Some(_)) => {
                        let first = *state.zombies.entry(*pid).or_insert(now);
                        let due = first + grace;
                        if now < due {
                            next = Some(next.map_or(due, |n| n.min(due)));
                        }
                        now >= due
                    }
                    _ => false,
                },
            };
            if reap_now {
                if let Ok(Some(exit)) = sigcore::reap_child(*pid) {
                    state.zombies.remove(pid);
                    self.publish(exit, true);
                }
            }
        }
        // Zombies someone else reaped meanwhile are gone from the list.
        state
            .zombies
            .retain(|pid, _| children.binary_search(pid).is_ok());
        next
    }

    fn publish(&self, exit: ChildExit, orphan: bool) {
        debug!(
            "sigbus: reaped {} {} ({})",
            if orphan { "orphan" } else { "child" },
            exit.pid,
            exit.status
        );
        let event = SignalEvent::report(
            Signal::CHLD,
            Origin::Reaped {
                pid: exit.pid,
                uid: exit.uid,
                status: exit.status,
                orphan,
            },
        );
        self.bus.publish(&event, self.subscription.id());
    }
}
