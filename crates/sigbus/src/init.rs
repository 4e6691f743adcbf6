//! A container init: [`Init`] (its docs say what it does), its builder, events
//! and errors; the policy in `policy`, the `/proc` reading in `procs`.

mod policy;
mod procs;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::process::{ChildStderr, ChildStdin, ChildStdout, Command};
use std::time::{Duration, Instant};

use log::{debug, warn};
use sigcore::{ChildExit, CommandExt, Origin, RecvTimeoutError, Signal, SignalEvent};

use crate::{Bus, BusError, Overflow, Subscription};

pub use policy::{
    exec_failure_code, exit_code, forwarded_signals, suspends_init, ExitRemap, ForwardTo,
    SignalRewrites, Target,
};

/// Room in the init's mailbox; past it signals wait in the kernel.
const MAILBOX: usize = 1024;
/// How long the init sleeps at most before it reaps again while the command
/// runs: a safety net only (every SIGCHLD wakes it).
const IDLE_TICK: Duration = Duration::from_secs(1);
/// How often it looks for descendants left once the command has exited.
const SWEEP_TICK: Duration = Duration::from_millis(20);

/// Builds an [`Init`]; see [`Init::builder`].
#[must_use = "a builder does nothing until `start` or `run` is called"]
pub struct InitBuilder {
    command: Command,
    forward_to: ForwardTo,
    rewrites: SignalRewrites,
    remap: ExitRemap,
    subreaper: bool,
    wait_all: Option<Duration>,
    foreground: bool,
    parent_death: Option<(Signal, i32)>,
    observer: Option<Observer>,
}

type Observer = Box<dyn FnMut(&InitEvent) + Send>;

impl InitBuilder {
    /// Where forwarded signals go (default [`ForwardTo::Child`]).
    pub fn forward_to(mut self, forward_to: ForwardTo) -> Self {
        self.forward_to = forward_to;
        self
    }

    /// The rewrite table (default: every signal goes on unchanged).
    pub fn rewrites(mut self, rewrites: SignalRewrites) -> Self {
        self.rewrites = rewrites;
        self
    }

    /// Exit codes of the command to report as 0 (tini's `-e`).
    pub fn remap_exit(mut self, remap: ExitRemap) -> Self {
        self.remap = remap;
        self
    }

    /// Makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`) before
    /// spawning, so that orphaned descendants come to it to be reaped: what
    /// an init that is not PID 1 needs.
    pub fn subreaper(mut self, on: bool) -> Self {
        self.subreaper = on;
        self
    }

    /// When the command has exited, sends SIGTERM to every descendant left,
    /// waits up to `grace` for them, then sends SIGKILL, and returns only once
    /// none is left. `None` (the default): return as soon as the command has
    /// exited (as PID 1, the kernel then kills the rest at once).
    pub fn wait_all(mut self, grace: Option<Duration>) -> Self {
        self.wait_all = grace;
        self
    }

    /// Whether the command may take the terminal's foreground (default: yes,
    /// when standard input is the terminal this process runs in the foreground
    /// of).
    pub fn foreground(mut self, on: bool) -> Self {
        self.foreground = on;
        self
    }

    /// Asks for `signal` when this process's parent dies
    /// ([`sigcore::set_parent_death_signal`]); `parent` is the parent's pid as
    /// read first thing in `main` (`std::os::unix::process::parent_id()`). A
    /// forwarded signal goes on to the command; if the parent has died
    /// already, the init sends itself the signal at once.
    pub fn parent_death_signal(mut self, signal: Signal, parent: i32) -> Self {
        self.parent_death = Some((signal, parent));
        self
    }

    /// Calls `observer` with every [`InitEvent`] (on the thread that runs the
    /// init): for logs.
    pub fn on_event(mut self, observer: impl FnMut(&InitEvent) + Send + 'static) -> Self {
        self.observer = Some(Box::new(observer));
        self
    }

    /// Blocks and serves the signals, spawns the command, and returns the
    /// running [`Init`]; call [`Init::wait`] (or [`Init::wait_timeout`]) to
    /// forward and reap. **Call it before any thread exists** (first thing in
    /// `main`), or the threads that exist may take a signal meant for the
    /// command.
    ///
    /// # Errors
    ///
    /// [`InitError::Exec`] if the command cannot be started
    /// ([`InitError::exit_code`] is then 127 or 126), [`InitError::Signal`] or
    /// [`InitError::Bus`] if the signals cannot be served.
    pub fn start(self) -> Result<Init, InitError> {
        Init::start(self)
    }

    /// [`InitBuilder::start`] then [`Init::wait`].
    ///
    /// # Errors
    ///
    /// As for both.
    pub fn run(self) -> Result<InitExit, InitError> {
        self.start()?.wait()
    }
}

/// Something the init did, for logs ([`InitBuilder::on_event`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum InitEvent {
    /// The command started.
    Spawned {
        /// Its pid (which is also its process group id).
        pid: i32,
    },
    /// This process is neither PID 1 nor a child subreaper: orphaned
    /// descendants will not come to it, so it cannot reap them.
    NotAReaper,
    /// A signal was sent on.
    Forwarded {
        /// What the init received.
        received: Signal,
        /// What it sent (differs when rewritten).
        sent: Signal,
        /// Where.
        target: Target,
        /// Who sent the signal to the init.
        origin: Origin,
    },
    /// A signal was dropped: its rewrite is 0.
    Dropped {
        /// What the init received.
        received: Signal,
        /// Who sent it.
        origin: Origin,
    },
    /// Sending on failed (the command has exited already, say).
    ForwardFailed {
        /// What the init received.
        received: Signal,
        /// What it tried to send.
        sent: Signal,
        /// Where.
        target: Target,
        /// Why it failed.
        error: sigcore::Error,
    },
    /// The init stopped itself after passing on a job-control stop
    /// ([`suspends_init`]); SIGCONT continues it.
    Suspended {
        /// The signal received.
        received: Signal,
    },
    /// A child was reaped.
    Reaped {
        /// Its pid and how it ended.
        exit: ChildExit,
        /// Whether it was the command (else an orphan, or a child the command
        /// left behind).
        main: bool,
    },
    /// The command has exited: SIGTERM was sent to these remaining
    /// descendants ([`InitBuilder::wait_all`]).
    Terminating {
        /// The processes signalled.
        pids: Vec<i32>,
    },
    /// The grace period is over: SIGKILL was sent to these.
    Killing {
        /// The processes signalled.
        pids: Vec<i32>,
    },
    /// The init is done and reports this code.
    Exiting {
        /// The exit code.
        code: u8,
    },
}

/// How the init ended: the command's exit and the code to exit with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitExit {
    /// The exit code: [`exit_code`] of the command's status.
    pub code: u8,
    /// The command's pid and how it ended.
    pub child: ChildExit,
}

impl InitExit {
    /// Exits the process with [`InitExit::code`].
    pub fn exit(&self) -> ! {
        std::process::exit(i32::from(self.code))
    }
}

/// Why an init could not run.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// A rewrite rule that cannot be used.
    Rewrite {
        /// The rule as given (shortened to 64 characters).
        rule: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The command could not be started.
    Exec {
        /// The program.
        program: OsString,
        /// Why (`NotFound`, `PermissionDenied`…).
        error: io::Error,
    },
    /// sigcore refused or failed (serving the signals, the parent-death signal,
    /// the subreaper flag).
    Signal(sigcore::Error),
    /// The bus failed.
    Bus(BusError),
    /// The command's exit status was taken by someone else (another `wait` in
    /// this process): the init cannot tell how it ended.
    ChildLost {
        /// The command's pid.
        pid: i32,
    },
}

impl InitError {
    /// The exit code for this failure, as a shell would report it: 127 or 126
    /// for a command that cannot be started ([`exec_failure_code`]), 2 for a
    /// bad rule, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            InitError::Exec { error, .. } => exec_failure_code(error),
            InitError::Rewrite { .. } => 2,
            _ => 1,
        }
    }
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Rewrite { rule, reason } => {
                write!(f, "bad signal rewrite {rule:?}: {reason}")
            }
            InitError::Exec { program, error } => {
                write!(f, "cannot run {}: {error}", program.to_string_lossy())
            }
            InitError::Signal(e) => e.fmt(f),
            InitError::Bus(e) => e.fmt(f),
            InitError::ChildLost { pid } => write!(
                f,
                "the exit status of child {pid} was taken by another wait in this process"
            ),
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::Exec { error, .. } => Some(error),
            InitError::Signal(e) => Some(e),
            InitError::Bus(e) => Some(e),
            _ => None,
        }
    }
}

impl From<sigcore::Error> for InitError {
    fn from(e: sigcore::Error) -> InitError {
        InitError::Signal(e)
    }
}

impl From<BusError> for InitError {
    fn from(e: BusError) -> InitError {
        match e {
            BusError::Signal(e) => InitError::Signal(e),
            other => InitError::Bus(other),
        }
    }
}

/// A container init: runs one command, forwards every signal it gets to it,
/// reaps every zombie, and exits as the command did (tini and dumb-init, as a
/// library; the `sigbus init` command is a thin wrapper around it).
///
/// What it does, in order:
///
/// 1. blocks every signal it forwards (and SIGCHLD) in the calling thread: call
///    it first thing in `main`, before any thread exists (see the crate docs,
///    "Signal masks");
/// 2. sets the parent-death signal and the child-subreaper flag if asked;
/// 3. subscribes to those signals on a bus of its own (a mailbox that holds
///    signals in the kernel rather than drop any:
///    [`Overflow::Backpressure`](crate::Overflow::Backpressure));
/// 4. spawns the command with the signal mask and the ignored set its own
///    caller gave it ([`sigcore::CommandExt::reset_signals`]), in a process
///    group of its own ([`ForwardTo::Session`]: a session), which becomes the
///    terminal's foreground group when standard input is the terminal the init
///    runs in the foreground of (Ctrl-C typed there reaches the command, as a
///    shell does for its jobs);
/// 5. then, in [`Init::wait`]: each signal received is rewritten
///    ([`SignalRewrites`]) and sent on ([`ForwardTo`]); after every wake-up,
///    and at least once a second, it reaps every child that has exited, in a
///    loop until none is left (SIGCHLD coalesces: one may stand for many);
/// 6. when the command has exited (and with [`InitBuilder::wait_all`], once its
///    remaining descendants are gone too) it returns the exit code:
///    [`exit_code`] of the command's status.
///
/// The policy (which signals, what is sent where, which code) is in plain
/// functions and tables with no system calls: [`forwarded_signals`],
/// [`SignalRewrites`], [`Target::of`], [`suspends_init`], [`exit_code`],
/// [`exec_failure_code`].
///
/// # As PID 1
///
/// The kernel delivers PID 1 of a namespace only the signals it handles
/// (design fact 16): the init serves every signal it forwards, so a
/// `docker stop` (SIGTERM from the host, with sender pid 0) reaches the
/// command; when the command was killed by signal n the init exits with
/// 128 + n. When PID 1 exits the kernel kills everything left in the
/// namespace: [`InitBuilder::wait_all`] gives the rest a chance to stop first.
///
/// Outside a namespace, orphaned descendants go to the nearest child
/// subreaper ([`InitBuilder::subreaper`]) or to the machine's init: an init
/// that is neither cannot reap them and says so ([`InitEvent::NotAReaper`]).
///
/// # Caveats
///
/// - **It reaps every child of the process** (`waitid(P_ALL)`, as tini does):
///   a process running an init must run nothing else that waits for its
///   children (their `wait` would fail with `ECHILD`).
/// - **SIGPIPE**: a caller's ignored SIGPIPE does not reach the command;
///   `std::process::Command` resets it to the default in every child.
/// - A SIGRTMAX (sigcore's wake signal) sent to the init is not forwarded, nor
///   are the uncatchable and fault signals ([`forwarded_signals`]).
/// - Ctrl-Z typed at the terminal stops the command (the foreground group) but
///   not the init, so a shell running the init does not see its job stop;
///   a SIGTSTP sent to the init stops both ([`suspends_init`]).
///
/// A running `Init`: its command has started. Forward and reap with
/// [`Init::wait`].
pub struct Init {
    pid: i32,
    /// The command's standard input, if it was piped.
    pub stdin: Option<ChildStdin>,
    /// The command's standard output, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The command's standard error, if it was piped.
    pub stderr: Option<ChildStderr>,
    target: Target,
    rewrites: SignalRewrites,
    remap: ExitRemap,
    wait_all: Option<Duration>,
    observer: Option<Observer>,
    bus: Bus,
    subscription: Option<Subscription>,
    /// The command's exit, once reaped.
    main: Option<ChildExit>,
    sweep: Option<Sweep>,
    done: Option<InitExit>,
}

impl Init {
    /// A builder for an init running `command` (its program, arguments,
    /// environment, directory and standard streams as set there).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::process::Command;
    /// use std::time::Duration;
    ///
    /// // First thing in main: no thread exists yet.
    /// let mut sh = Command::new("sh");
    /// sh.args(["-c", "exit 7"]);
    /// let mut init = sigbus::Init::builder(sh).subreaper(true).start()?;
    /// let exit = init.wait_timeout(Duration::from_secs(30))?.expect("sh exits");
    /// assert_eq!(exit.code, 7);
    /// # Ok::<(), sigbus::InitError>(())
    /// ```
    pub fn builder(command: Command) -> InitBuilder {
        InitBuilder {
            command,
            forward_to: ForwardTo::default(),
            rewrites: SignalRewrites::new(),
            remap: ExitRemap::new(),
            subreaper: false,
            wait_all: None,
            foreground: true,
            parent_death: None,
            observer: None,
        }
    }

    fn start(builder: InitBuilder) -> Result<Init, InitError> {
        let InitBuilder {
            mut command,
            forward_to,
            rewrites,
            remap,
            subreaper,
            wait_all,
            foreground,
            parent_death,
            mut observer,
        } = builder;
        let served = forwarded_signals().union(Signal::CHLD.into());
        // Counted as sigcore's own block, so `reset_signals` gives the command
        // exactly the mask this thread had before.
        sigcore::block_while_served(served)?;
        if let Some((signal, parent)) = parent_death {
            match sigcore::set_parent_death_signal(signal, parent) {
                Ok(()) => {}
                // The signal would never come: act as if it had.
                Err(sigcore::Error::ParentExited { .. }) => sigcore::raise(signal)?,
                Err(e) => return Err(e.into()),
            }
        }
        if subreaper {
            sigcore::set_child_subreaper(true)?;
        }
        let bus = Bus::new();
        let subscription = bus
            .subscription(served)
            .name("init")
            .capacity(MAILBOX)
            .overflow(Overflow::Backpressure)
            .open()?;

        command.reset_signals();
        let terminal = foreground && procs::stdin_is_foreground_terminal();
        match forward_to {
            ForwardTo::Child | ForwardTo::Group => {
                command.new_process_group();
                if terminal {
                    command.foreground();
                }
            }
            ForwardTo::Session if terminal && procs::may_steal_terminal() => {
                command.new_session_with_terminal();
            }
            ForwardTo::Session => {
                command.new_session();
            }
        }
        let rewrites = match forward_to {
            ForwardTo::Session => rewrites.with_session_defaults(),
            _ => rewrites,
        };
        let mut child = command.spawn().map_err(|error| InitError::Exec {
            program: command.get_program().to_owned(),
            error,
        })?;
        let pid = child.id() as i32;
        debug!("sigbus: init spawned {pid}");
        emit(&mut observer, &InitEvent::Spawned { pid });
        if std::process::id() != 1 && !sigcore::is_child_subreaper().unwrap_or(false) {
            emit(&mut observer, &InitEvent::NotAReaper);
        }
        Ok(Init {
            pid,
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
            target: Target::of(forward_to, pid),
            rewrites,
            remap,
            wait_all,
            observer,
            bus,
            subscription: Some(subscription),
            main: None,
            sweep: None,
            done: None,
        })
        // `child` is dropped without a wait: the init reaps it.
    }

    /// The command's pid (also its process group id).
    pub fn child_pid(&self) -> i32 {
        self.pid
    }

    /// Forwards signals and reaps children until the command has exited (and,
    /// with [`InitBuilder::wait_all`], its descendants are gone); returns the
    /// exit code to report.
    ///
    /// # Errors
    ///
    /// [`InitError::ChildLost`] if something else in this process reaped the
    /// command; [`InitError::Bus`] if the init's bus was shut down.
    pub fn wait(mut self) -> Result<InitExit, InitError> {
        loop {
            if let Some(exit) = self.wait_timeout(Duration::from_secs(3600))? {
                return Ok(exit);
            }
        }
    }

    /// [`Init::wait`] for at most `timeout`: `Ok(None)` if the init is not
    /// done by then (call again to go on). Once done, it returns the same
    /// exit every time.
    ///
    /// # Errors
    ///
    /// As for [`Init::wait`].
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<InitExit>, InitError> {
        let deadline = Instant::now() + timeout;
        while self.done.is_none() {
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let tick = if self.main.is_some() {
                SWEEP_TICK
            } else {
                IDLE_TICK
            };
            let Some(subscription) = &self.subscription else {
                break;
            };
            match subscription.recv_timeout(tick.min(deadline - now)) {
                Ok(event) if event.signal == Signal::CHLD => {}
                Ok(event) => self.forward(&event),
                Err(RecvTimeoutError::Timeout) => self.check_child()?,
                Err(RecvTimeoutError::Closed) => return Err(BusError::Closed.into()),
            }
            self.reap();
            if let Some(child) = self.main {
                if self.swept() {
                    self.finish(child);
                }
            }
        }
        Ok(self.done)
    }

    fn emit(&mut self, event: &InitEvent) {
        emit(&mut self.observer, event);
    }

    /// Sends `event`'s signal on, rewritten.
    fn forward(&mut self, event: &SignalEvent) {
        let received = event.signal;
        let origin = event.origin.clone();
        match self.rewrites.translate(received) {
            None => self.emit(&InitEvent::Dropped { received, origin }),
            Some(sent) => {
                let target = self.target;
                let result = match target {
                    // Reaped: the pid may belong to someone else by now.
                    Target::Process(pid) if self.main.is_some() => {
                        Err(sigcore::Error::NoSuchProcess { pid })
                    }
                    Target::Process(pid) => sigcore::kill(pid, sent),
                    Target::Group(pgid) => sigcore::kill_process_group(pgid, sent),
                };
                match result {
                    Ok(()) => self.emit(&InitEvent::Forwarded {
                        received,
                        sent,
                        target,
                        origin,
                    }),
                    Err(error) => self.emit(&InitEvent::ForwardFailed {
                        received,
                        sent,
                        target,
                        error,
                    }),
                }
            }
        }
        if suspends_init(received) && std::process::id() != 1 {
            self.emit(&InitEvent::Suspended { received });
            let _ = sigcore::kill(std::process::id() as i32, Signal::STOP);
        }
    }

    /// Reaps every child that has exited (SIGCHLD coalesces: loop until none).
    fn reap(&mut self) {
        loop {
            match sigcore::reap_any_child() {
                Ok(Some(exit)) => {
                    let main = exit.pid == self.pid;
                    if main {
                        self.main = Some(exit);
                    }
                    self.emit(&InitEvent::Reaped { exit, main });
                }
                Ok(None) => break,
                Err(e) => {
                    warn!("sigbus: init cannot reap: {e}");
                    break;
                }
            }
        }
    }

    /// While the command runs, checks that it is still ours to reap.
    fn check_child(&self) -> Result<(), InitError> {
        if self.main.is_some() {
            return Ok(());
        }
        match sigcore::peek_child(self.pid) {
            Err(sigcore::Error::NoSuchProcess { .. }) => {
                // Reaped just now by `reap` in another call? Then `main` is set.
                Err(InitError::ChildLost { pid: self.pid })
            }
            _ => Ok(()),
        }
    }

    /// Whether nothing is left to wait for once the command has exited.
    fn swept(&mut self) -> bool {
        let Some(grace) = self.wait_all else {
            return true;
        };
        let sweep = self.sweep.get_or_insert_with(|| Sweep::new(grace));
        let left = match procs::descendants() {
            Ok(left) => left,
            Err(e) => {
                warn!("sigbus: init cannot list what is left (no /proc?): {e}");
                return true;
            }
        };
        if left.is_empty() {
            return true;
        }
        let step = sweep.step(&left);
        if let Some(event) = step {
            self.emit(&event);
        }
        false
    }

    fn finish(&mut self, child: ChildExit) {
        let code = exit_code(child.status, &self.remap);
        self.emit(&InitEvent::Exiting { code });
        self.done = Some(InitExit { code, child });
        // Release the signals now: a library caller goes on without them.
        self.subscription = None;
        self.bus.shutdown();
    }
}

impl fmt::Debug for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Init")
            .field("pid", &self.pid)
            .field("target", &self.target)
            .field("main", &self.main)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

fn emit(observer: &mut Option<Observer>, event: &InitEvent) {
    if let Some(observer) = observer.as_mut() {
        observer(event);
    }
}

/// The `wait_all` phase: TERM each descendant once, then KILL after the grace.
struct Sweep {
    kill_at: Instant,
    termed: BTreeSet<i32>,
    killed: BTreeSet<i32>,
}

impl Sweep {
    fn new(grace: Duration) -> Sweep {
        Sweep {
            kill_at: Instant::now() + grace,
            termed: BTreeSet::new(),
            killed: BTreeSet::new(),
        }
    }

    /// Signals what is `left` and has not had this phase's signal yet.
    fn step(&mut self, left: &BTreeSet<i32>) -> Option<InitEvent> {
        let killing = Instant::now() >= self.kill_at;
        let (signal, sent) = if killing {
            (Signal::KILL, &mut self.killed)
        } else {
            (Signal::TERM, &mut self.termed)
        };
        let new: Vec<i32> = left.iter().copied().filter(|p| sent.insert(*p)).collect();
        if new.is_empty() {
            return None;
        }
        for pid in &new {
            // Gone meanwhile: nothing to do.
            let _ = sigcore::kill(*pid, signal);
        }
        Some(if killing {
            InitEvent::Killing { pids: new }
        } else {
            InitEvent::Terminating { pids: new }
        })
    }
}
