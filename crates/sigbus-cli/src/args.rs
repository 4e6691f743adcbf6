use clap::{Args, Parser, Subcommand};
use sigcore::Signal;

/// Unix signals from any thread: watch them arrive, send them, list them, and see
/// how any process handles them.
#[derive(Parser, Debug)]
#[command(name = "sigbus", version, about, long_about = None)]
#[command(
    after_help = "Logging: set RUST_LOG=debug (or trace) to see sigcore/sigbus internals on stderr.\n\
Exit codes: 0 success, 1 the command failed (no such process, permission denied), 2 bad input."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List every valid signal of this system: number, name, default action,
    /// whether it can be caught, description (`kill -l` plus `strsignal`).
    List(ListArgs),
    /// Print this process's pid, then report every signal it receives, once per
    /// worker thread, until --count, --timeout or Ctrl-C.
    Watch(WatchArgs),
    /// Send a signal to processes: kill(2), sigqueue(3) with --value, or
    /// pidfd_send_signal(2) with --pidfd.
    Send(SendArgs),
    /// Show how a process (and with --threads each of its threads) handles each
    /// signal: blocked, ignored, caught, pending. Python's getsignal for any process.
    /// Also its state and owner, kernel threads, pid-namespace inits, zombie
    /// children, and blocked signals nothing will ever take (an inherited mask).
    /// Whether a process is a child subreaper is not shown: /proc does not say,
    /// and prctl(PR_GET_CHILD_SUBREAPER) reads only the caller's own flag.
    Inspect(InspectArgs),
    /// A few-second tour: worker threads get SIGUSR1, SIGHUP reloads a config, an
    /// interval timer ticks, a sigqueue payload and a child's exit arrive, a
    /// targeted event reaches one actor, and SIGTERM shuts everything down.
    Demo(DemoArgs),
    /// Measure dispatch latency (kill to the event in a worker's hand) of sigcore
    /// and sigbus against raw sigwaitinfo baselines and signal-hook, each variant
    /// in its own process; also fan-out, real-time throughput and allocations.
    /// For steadier numbers pin it to one CPU: `taskset -c 1 sigbus bench`.
    Bench(BenchArgs),
    /// Run a command as a container init would: forward every signal to it, reap
    /// every zombie, exit as it did (tini and dumb-init). Use as a Dockerfile's
    /// `ENTRYPOINT ["/usr/local/bin/sigbus", "init", "--"]`.
    Init(InitArgs),
    /// Write a shell completion script to stdout, e.g.
    /// `sigbus completions bash > /etc/bash_completion.d/sigbus`.
    Completions(CompletionsArgs),
    /// Write the manual page (roff) to stdout: `sigbus man | man -l -`, or
    /// `sigbus man send` for one subcommand's page.
    Man(ManArgs),
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// One JSON object per line: number, name, description, default_action,
    /// catchable, waitable.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Signals to watch: names (USR1, SIGUSR1, usr1), numbers (10) or RTMIN+N.
    #[arg(value_name = "SIGNAL", default_values = ["USR1", "USR2", "HUP"], value_parser = parse_waitable)]
    pub signals: Vec<Signal>,
    /// Worker threads, each subscribed to every watched signal.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub workers: u32,
    /// Stop after each worker has seen this many events. With --timeout, exit 1
    /// if the timeout comes first (a script can wait for a signal or fail).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Stop after this many seconds (fractions allowed); exit 0 unless --count
    /// was not reached.
    #[arg(long, value_name = "SECS", allow_negative_numbers = true, value_parser = parse_seconds)]
    pub timeout: Option<f64>,
    /// One JSON object per line: {"pid":N} first, then seq, signal, number,
    /// origin, pid, uid, value, worker, time (seconds since the Unix epoch) per
    /// event, then {"summary":{...}}. Text lines end with at=RFC 3339 UTC time.
    #[arg(long)]
    pub json: bool,
}

/// The usage line of `send`: the three spellings `kill` users know
/// (see [`crate::argv`], which turns the last two into `--signal`).
const SEND_USAGE: &str = "sigbus send [OPTIONS] <SIGNAL> <PID>...
       sigbus send [OPTIONS] -s <SIGNAL> <PID>...
       sigbus send [OPTIONS] -<SIGNAL> <PID>...";

#[derive(Args, Debug)]
#[command(
    override_usage = SEND_USAGE,
    after_help = "Examples: sigbus send TERM 4242, sigbus send -s USR1 4242, sigbus send -9 4242, \
sigbus send -SIGRTMIN+2 4242 --value 7.\n\
Signal 0 sends nothing: `sigbus send 0 PID` (or -0) exits 0 when every PID exists and may be \
signalled, 1 otherwise, like `kill -0`."
)]
pub struct SendArgs {
    /// The signal: a name (USR1, SIGTERM), a number, RTMIN+N, or 0 to only check
    /// that the processes exist and may be signalled. May also be given first,
    /// without -s, as `SIGNAL` or `-SIGNAL` (-TERM, -9), as with kill(1).
    #[arg(short = 's', long = "signal", value_name = "SIGNAL", value_parser = parse_send_signal)]
    pub signal: SendSignal,
    /// Target process ids (positive; process groups are not reachable from here).
    #[arg(value_name = "PID", required = true, allow_negative_numbers = true, value_parser = parse_pid)]
    pub pids: Vec<i32>,
    /// Send with sigqueue(3) carrying this integer payload.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        conflicts_with = "pidfd"
    )]
    pub value: Option<i32>,
    /// Send through a pidfd (pidfd_open + pidfd_send_signal), immune to pid reuse.
    #[arg(long)]
    pub pidfd: bool,
}

/// What `send` was asked to send: a signal, or signal 0 (nothing, only the
/// checks `kill -0` makes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendSignal {
    /// Signal 0: does the process exist, and may this user signal it?
    Probe,
    /// A real signal.
    Signal(Signal),
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The process to inspect.
    #[arg(value_name = "PID", allow_negative_numbers = true, value_parser = parse_pid)]
    pub pid: i32,
    /// Also show each thread (its own mask and thread-directed pending signals).
    #[arg(long)]
    pub threads: bool,
    /// List every signal, not only those with something to show.
    #[arg(long)]
    pub all: bool,
    /// One JSON object per process or thread: pid, tid, name, state, uid, user,
    /// kernel_thread, namespace_init, zombie_children, blocked_unhandled,
    /// blocked, ignored, caught, pending, shared_pending.
    #[arg(long)]
    pub json: bool,
}

/// The options of `init` next to tini's and dumb-init's.
const INIT_AFTER_HELP: &str = "\
Exit status: the command's code, or 128+N when signal N killed it (0 when remapped with -e); \
127 when the command is not found, 126 when it cannot be run; 2 for a usage error.

Forwarded: every signal a process can catch, real-time ones included, except SIGCHLD (the init \
reaps on it) and sigcore's wake signal (SIGRTMAX); SIGKILL and SIGSTOP cannot be caught, and \
fault signals (SEGV, BUS, ILL, FPE, TRAP) are not taken. A SIGTSTP, SIGTTIN or SIGTTOU sent to \
the init stops the init too once forwarded; SIGCONT continues both.

Zombies: reaped as PID 1 or as a child subreaper (-s); otherwise a warning says orphans will not \
come to it. When standard input is the terminal it runs in the foreground of, the command's \
process group becomes the terminal's foreground group (Ctrl-C reaches it).

  sigbus init          tini        dumb-init
  -s, --subreaper      -s          (none)
  -g, --group          -g          -c (single child) is the opposite
  --session            (none)      default (setsid)
  -r FROM:TO           (none)      -r s:r (1..31 only)
  -e CODE              -e CODE     (none)
  -p SIGNAL            -p SIGNAL   (none)
  --wait-all[=GRACE]   (none)      (TERM to the group on exit, no wait)
  -v, --json           -v, -w      -v

Examples: sigbus init -- sh -c 'exit 7' exits 7; sigbus init -s -g -r TERM:INT -- ./server";

#[derive(Args, Debug)]
#[command(
    override_usage = "sigbus init [OPTIONS] [--] <CMD> [ARGS]...",
    after_help = INIT_AFTER_HELP
)]
pub struct InitArgs {
    /// Become a child subreaper (PR_SET_CHILD_SUBREAPER): orphaned descendants
    /// come to this init to be reaped. Needed unless it runs as PID 1.
    #[arg(short = 's', long)]
    pub subreaper: bool,
    /// Forward signals to the command's process group (the command and what it
    /// starts), not to the command alone.
    #[arg(short = 'g', long, conflicts_with = "session")]
    pub group: bool,
    /// Start the command in a session of its own (setsid) and forward to its
    /// process group, as dumb-init does; SIGTSTP, SIGTTIN and SIGTTOU are then
    /// sent as SIGSTOP unless rewritten.
    #[arg(long)]
    pub session: bool,
    /// Send signal FROM on as TO (names, numbers or RTMIN+N; TO = 0 drops FROM).
    /// Repeatable.
    #[arg(short = 'r', long = "rewrite", value_name = "FROM:TO", value_parser = parse_rewrite)]
    pub rewrites: Vec<(Signal, Option<Signal>)>,
    /// Exit 0 when the command's status is CODE (0..=255; 128+N for signal N).
    /// Repeatable.
    #[arg(short = 'e', long = "remap-exit", value_name = "CODE")]
    pub remap_exit: Vec<u8>,
    /// When the command has exited, send SIGTERM to every process it left, wait
    /// up to GRACE seconds (default 5), then SIGKILL; exit once none is left.
    #[arg(
        long,
        value_name = "GRACE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "5",
        value_parser = parse_grace
    )]
    pub wait_all: Option<f64>,
    /// Signal this init gets when its parent dies (forwarded like any other).
    #[arg(short = 'p', long = "pdeath", value_name = "SIGNAL", value_parser = parse_signal)]
    pub pdeath: Option<Signal>,
    /// Log each forward and reap on stderr (-vv: also the spawn).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Write one JSON object per line on stderr for each event: spawn, forward,
    /// drop, reap, terminate, kill, suspend, warning, exit, error.
    #[arg(long)]
    pub json: bool,
    /// The command and its arguments.
    #[arg(
        value_name = "CMD",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        value_parser = clap::value_parser!(std::ffi::OsString)
    )]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Worker actors to start.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub workers: u32,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Measured rounds per latency variant (after --warmup unmeasured ones).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub rounds: u64,
    /// Unmeasured warm-up rounds per variant.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
    pub warmup: u64,
    /// Comma-separated variants to run (default: all). See `sigbus bench --list`.
    #[arg(long, value_delimiter = ',', value_name = "A,B,...")]
    pub variants: Option<Vec<String>>,
    /// Print the variant names and exit.
    #[arg(long)]
    pub list: bool,
    /// One JSON object per variant: variant, rounds, p50_us, p90_us, p99_us,
    /// p999_us, max_us, ratio_p50_floor_hop, ratio_p50_peer, events_per_s, lost, ...
    #[arg(long)]
    pub json: bool,
    /// Write a latency percentile plot (SVG) to this file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// A subcommand whose page to write (sigbus-SUBCOMMAND(1)) instead of sigbus(1).
    #[arg(value_name = "SUBCOMMAND")]
    pub subcommand: Option<String>,
}

fn parse_signal(text: &str) -> Result<Signal, String> {
    let signal: Signal = text.parse().map_err(|e: sigcore::Error| e.to_string())?;
    Ok(signal)
}

/// A signal a waiter thread can serve (not SIGKILL, SIGSEGV…).
fn parse_waitable(text: &str) -> Result<Signal, String> {
    let signal = parse_signal(text)?;
    signal.check_waitable().map_err(|e| e.to_string())?;
    Ok(signal)
}

/// A signal, or `0` for the existence and permission check of `kill -0`.
pub fn parse_send_signal(text: &str) -> Result<SendSignal, String> {
    if text == "0" {
        return Ok(SendSignal::Probe);
    }
    parse_signal(text).map(SendSignal::Signal)
}

fn parse_pid(text: &str) -> Result<i32, String> {
    match text.parse::<i64>() {
        Ok(pid) if pid > 0 && pid <= i64::from(i32::MAX) => Ok(pid as i32),
        Ok(pid) if pid <= 0 => Err(format!(
            "refusing pid {pid}: 0 and negative pids reach process groups or every process"
        )),
        _ => Err(format!("bad pid {text:?}: expected a positive process id")),
    }
}

fn parse_rewrite(text: &str) -> Result<(Signal, Option<Signal>), String> {
    sigbus::SignalRewrites::parse_rule(text).map_err(|e| e.to_string())
}

fn parse_grace(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && (0.0..=1e9).contains(&secs) => Ok(secs),
        _ => Err(format!(
            "bad grace period {text:?}: expected a number of seconds, 0 or more"
        )),
    }
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 1e9 => Ok(secs),
        _ => Err(format!(
            "bad timeout {text:?}: expected a positive number of seconds"
        )),
    }
}
