//! The init's policy as plain functions and tables: which signals it forwards,
//! what it sends for each, where, and the exit code it reports. Nothing here
//! makes a system call, so every rule is unit-tested (tini keeps
//! `reap_zombies` apart from `wait_and_forward_signal` the same way).

use std::collections::BTreeMap;
use std::fmt;
use std::io;

use sigcore::{ChildStatus, Signal, SignalSet};

use super::InitError;

/// Every signal an init takes and passes on: each signal a waiter thread can
/// serve, except SIGCHLD (the init's own business: it reaps).
///
/// Left out, because no process can take them or sigcore keeps them: SIGKILL
/// and SIGSTOP (never caught), the fault signals SIGSEGV, SIGBUS, SIGILL,
/// SIGFPE and SIGTRAP (a kill of them still reaches the init, whose default
/// action then ends it), and sigcore's wake signal (SIGRTMAX unless something
/// else held it; [`Signal::check_waitable`] names it).
///
/// # Examples
///
/// ```
/// use sigcore::Signal;
///
/// let forwarded = sigbus::forwarded_signals();
/// assert!(forwarded.contains(Signal::TERM) && forwarded.contains(Signal::rtmin()));
/// assert!(!forwarded.contains(Signal::CHLD) && !forwarded.contains(Signal::KILL));
/// assert!(!forwarded.contains(Signal::SEGV));
/// ```
pub fn forwarded_signals() -> SignalSet {
    Signal::all()
        .filter(|s| *s != Signal::CHLD && s.check_waitable().is_ok())
        .collect()
}

/// Where an init sends the signals it forwards, and how the child starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ForwardTo {
    /// To the child alone (tini's default). The child still leads a process
    /// group of its own, so a signal for the init's group (a terminal's
    /// Ctrl-C) does not reach it twice.
    #[default]
    Child,
    /// To the child's process group (tini `-g`): the child and whatever it
    /// starts without moving it to another group.
    Group,
    /// The child starts a session of its own (`setsid`) and signals go to its
    /// process group (dumb-init's default). Job-control stops (SIGTSTP,
    /// SIGTTIN, SIGTTOU) are sent as SIGSTOP unless rewritten: the kernel
    /// discards them for a group without a parent in its session, as this
    /// one is.
    Session,
}

/// What a forwarded signal is aimed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// One process (`kill(pid)`).
    Process(i32),
    /// A process group (`kill(-pgid)`).
    Group(i32),
}

impl Target {
    /// The target of `mode` for a child `pid` (which leads its own group).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigbus::{ForwardTo, Target};
    ///
    /// assert_eq!(Target::of(ForwardTo::Child, 42), Target::Process(42));
    /// assert_eq!(Target::of(ForwardTo::Session, 42), Target::Group(42));
    /// ```
    pub fn of(mode: ForwardTo, pid: i32) -> Target {
        match mode {
            ForwardTo::Child => Target::Process(pid),
            ForwardTo::Group | ForwardTo::Session => Target::Group(pid),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Process(pid) => write!(f, "process {pid}"),
            Target::Group(pgid) => write!(f, "process group {pgid}"),
        }
    }
}

/// The signal rewrite table (dumb-init's `-r s:r`): a received signal is sent
/// on as another one, or dropped. Signals without an entry go on unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignalRewrites {
    table: BTreeMap<Signal, Option<Signal>>,
}

impl SignalRewrites {
    /// An empty table: every signal goes on as it came.
    pub fn new() -> SignalRewrites {
        SignalRewrites::default()
    }

    /// Sends `from` on as `to`, or drops it (`to` = `None`). A later rule for
    /// the same signal replaces the earlier one.
    ///
    /// # Errors
    ///
    /// [`InitError::Rewrite`] when `from` is not one of the
    /// [`forwarded_signals`] (an init never receives it to rewrite).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigcore::Signal;
    ///
    /// let mut rewrites = sigbus::SignalRewrites::new();
    /// rewrites.set(Signal::TERM, Some(Signal::INT))?.set(Signal::WINCH, None)?;
    /// assert_eq!(rewrites.translate(Signal::TERM), Some(Signal::INT));
    /// assert_eq!(rewrites.translate(Signal::WINCH), None);
    /// assert_eq!(rewrites.translate(Signal::HUP), Some(Signal::HUP));
    /// assert!(rewrites.set(Signal::CHLD, None).is_err());
    /// # Ok::<(), sigbus::InitError>(())
    /// ```
    pub fn set(&mut self, from: Signal, to: Option<Signal>) -> Result<&mut Self, InitError> {
        if let Some(reason) = not_forwarded(from) {
            return Err(InitError::Rewrite {
                rule: format!("{}:{}", from.name(), to.map_or("0", Signal::name)),
                reason,
            });
        }
        self.table.insert(from, to);
        Ok(self)
    }

    /// Parses and adds a rule `FROM:TO`, each side a signal as the CLI spells
    /// it (`USR1`, `SIGTERM`, `15`, `RTMIN+3`), `TO` = `0` to drop `FROM`.
    ///
    /// # Errors
    ///
    /// [`InitError::Rewrite`] naming the rule and what is wrong with it.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigcore::Signal;
    ///
    /// let mut rewrites = sigbus::SignalRewrites::new();
    /// rewrites.add_rule("SIGTERM:QUIT")?.add_rule("RTMIN+3:0")?;
    /// assert_eq!(rewrites.translate(Signal::TERM), Some(Signal::QUIT));
    /// assert_eq!(rewrites.translate(Signal::realtime(3)?), None);
    /// assert!(rewrites.add_rule("TERM").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_rule(&mut self, rule: &str) -> Result<&mut Self, InitError> {
        let (from, to) = SignalRewrites::parse_rule(rule)?;
        self.set(from, to)
    }

    /// Parses a rule `FROM:TO` (see [`SignalRewrites::add_rule`]) without
    /// adding it.
    ///
    /// # Errors
    ///
    /// [`InitError::Rewrite`] naming the rule and what is wrong with it.
    pub fn parse_rule(rule: &str) -> Result<(Signal, Option<Signal>), InitError> {
        let bad = |reason: String| InitError::Rewrite {
            rule: rule.chars().take(64).collect(),
            reason,
        };
        let Some((from, to)) = rule.split_once(':') else {
            return Err(bad("expected FROM:TO, such as TERM:INT or WINCH:0".into()));
        };
        let from: Signal = from
            .parse()
            .map_err(|e: sigcore::Error| bad(e.to_string()))?;
        if let Some(reason) = not_forwarded(from) {
            return Err(bad(reason));
        }
        let to = match to {
            "0" => None,
            to => Some(to.parse().map_err(|e: sigcore::Error| bad(e.to_string()))?),
        };
        Ok((from, to))
    }

    /// What to send for a received `signal`: itself, its rewrite, or `None` to
    /// drop it.
    pub fn translate(&self, signal: Signal) -> Option<Signal> {
        match self.table.get(&signal) {
            Some(rewrite) => *rewrite,
            None => Some(signal),
        }
    }

    /// Whether the table has a rule for `signal`.
    pub fn has_rule(&self, signal: Signal) -> bool {
        self.table.contains_key(&signal)
    }

    /// The rules, lowest received signal first.
    pub fn rules(&self) -> impl Iterator<Item = (Signal, Option<Signal>)> + '_ {
        self.table.iter().map(|(from, to)| (*from, *to))
    }

    /// The table of [`ForwardTo::Session`]: job-control stops become SIGSTOP
    /// where no rule says otherwise.
    pub(crate) fn with_session_defaults(mut self) -> SignalRewrites {
        for stop in [Signal::TSTP, Signal::TTIN, Signal::TTOU] {
            self.table.entry(stop).or_insert(Some(Signal::STOP));
        }
        self
    }
}

/// Why an init cannot rewrite `signal` (it never receives it), if so.
fn not_forwarded(signal: Signal) -> Option<String> {
    if signal == Signal::CHLD {
        return Some("SIGCHLD is not forwarded: the init reaps on it".into());
    }
    signal
        .check_waitable()
        .err()
        .map(|e| format!("an init cannot receive it: {e}"))
}

/// Whether the init stops itself after forwarding `signal` (dumb-init): a
/// job-control stop sent to the init stops it too once the child has it, so
/// a shell sees its job stop; SIGCONT continues both. Never as PID 1, which
/// the kernel does not stop from inside its namespace.
pub fn suspends_init(signal: Signal) -> bool {
    matches!(signal, Signal::TSTP | Signal::TTIN | Signal::TTOU)
}

/// Exit codes an init reports as 0 (tini's `-e`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ExitRemap([u64; 4]);

impl ExitRemap {
    /// No code remapped.
    pub fn new() -> ExitRemap {
        ExitRemap::default()
    }

    /// Reports `code` as 0.
    pub fn insert(&mut self, code: u8) -> &mut Self {
        self.0[usize::from(code / 64)] |= 1 << (code % 64);
        self
    }

    /// Whether `code` is reported as 0.
    pub fn contains(&self, code: u8) -> bool {
        self.0[usize::from(code / 64)] & (1 << (code % 64)) != 0
    }
}

impl FromIterator<u8> for ExitRemap {
    fn from_iter<I: IntoIterator<Item = u8>>(codes: I) -> ExitRemap {
        let mut remap = ExitRemap::new();
        for code in codes {
            remap.insert(code);
        }
        remap
    }
}

/// The exit code an init reports for its child: the child's own code, or
/// 128 + n when signal n ended it (what a shell shows); then 0 if that code is
/// remapped.
///
/// # Examples
///
/// ```
/// use sigbus::{exit_code, ExitRemap};
/// use sigcore::ChildStatus;
///
/// let none = ExitRemap::new();
/// assert_eq!(exit_code(ChildStatus::Exited(7), &none), 7);
/// assert_eq!(exit_code(ChildStatus::Killed(15), &none), 143);
/// assert_eq!(exit_code(ChildStatus::Dumped(3), &none), 131);
/// let remap: ExitRemap = [143].into_iter().collect();
/// assert_eq!(exit_code(ChildStatus::Killed(15), &remap), 0);
/// ```
pub fn exit_code(status: ChildStatus, remap: &ExitRemap) -> u8 {
    let code = match status {
        ChildStatus::Exited(code) => code,
        ChildStatus::Killed(n)
        | ChildStatus::Dumped(n)
        | ChildStatus::Trapped(n)
        | ChildStatus::Stopped(n) => 128 + n,
        ChildStatus::Continued => 0,
    };
    // As a shell and tini do: only the low 8 bits reach the parent anyway.
    let code = (code & 0xff) as u8;
    if remap.contains(code) {
        0
    } else {
        code
    }
}

/// Linux's `ENOEXEC` (sigbus does not link libc): the file is not a program
/// the kernel can run (std has no `ErrorKind` for it).
const ENOEXEC: i32 = 8;

/// The exit code for a child that could not be started, as shells use them:
/// 127 when the program was not found, 126 when it was found but could not be
/// run (not executable, a directory, not a binary or script the kernel runs,
/// busy).
///
/// # Examples
///
/// ```
/// use std::io::{Error, ErrorKind};
///
/// assert_eq!(sigbus::exec_failure_code(&Error::from(ErrorKind::NotFound)), 127);
/// assert_eq!(sigbus::exec_failure_code(&Error::from(ErrorKind::PermissionDenied)), 126);
/// ```
pub fn exec_failure_code(error: &io::Error) -> u8 {
    match error.kind() {
        io::ErrorKind::NotFound => 127,
        io::ErrorKind::PermissionDenied
        | io::ErrorKind::IsADirectory
        | io::ErrorKind::ExecutableFileBusy => 126,
        _ if error.raw_os_error() == Some(ENOEXEC) => 126,
        // Anything else (a failing setup step before exec) is the same to a
        // shell: found, but could not be run.
        _ => 126,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(name: &str) -> Signal {
        name.parse().unwrap()
    }

    #[test]
    fn forwarded_signals_are_what_can_be_served_but_sigchld() {
        let forwarded = forwarded_signals();
        for signal in Signal::all() {
            let expected = signal != Signal::CHLD && signal.check_waitable().is_ok();
            assert_eq!(forwarded.contains(signal), expected, "{signal:?}");
        }
        for never in [
            Signal::KILL,
            Signal::STOP,
            Signal::SEGV,
            Signal::BUS,
            Signal::ILL,
            Signal::FPE,
            Signal::TRAP,
            Signal::CHLD,
        ] {
            assert!(!forwarded.contains(never), "{never:?}");
        }
        // Every other standard signal and every real-time one but the wake.
        assert_eq!(forwarded.len(), Signal::all().count() - 9);
    }

    #[test]
    fn rules_parse_every_spelling_and_zero_drops() {
        let cases = [
            ("TERM:INT", Signal::TERM, Some(Signal::INT)),
            ("SIGTERM:SIGQUIT", Signal::TERM, Some(Signal::QUIT)),
            ("15:2", Signal::TERM, Some(Signal::INT)),
            ("usr1:0", Signal::USR1, None),
            ("1:31", Signal::HUP, Some(Signal::SYS)),
            ("TSTP:STOP", Signal::TSTP, Some(Signal::STOP)),
            ("USR2:KILL", Signal::USR2, Some(Signal::KILL)),
        ];
        for (rule, from, to) in cases {
            assert_eq!(
                SignalRewrites::parse_rule(rule).unwrap(),
                (from, to),
                "{rule}"
            );
        }
        let rt3 = Signal::realtime(3).unwrap();
        let rt4 = Signal::realtime(4).unwrap();
        assert_eq!(
            SignalRewrites::parse_rule("RTMIN+3:SIGRTMIN+4").unwrap(),
            (rt3, Some(rt4))
        );
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        for (rule, says) in [
            ("TERM", "FROM:TO"),
            ("", "FROM:TO"),
            ("TERM:", "empty"),
            (":TERM", "empty"),
            ("USR3:TERM", "USR3"),
            ("TERM:USR3", "USR3"),
            ("TERM:99", "99"),
            ("CHLD:TERM", "SIGCHLD"),
            ("KILL:TERM", "SIGKILL"),
            ("SEGV:TERM", "SIGSEGV"),
            ("TERM:-1", "-1"),
        ] {
            let error = SignalRewrites::parse_rule(rule).unwrap_err();
            let text = error.to_string();
            assert!(matches!(error, InitError::Rewrite { .. }), "{rule}");
            assert!(text.contains(says), "{rule}: {text}");
        }
        let wake = Signal::all()
            .find(|s| s.is_realtime() && s.check_waitable().is_err())
            .unwrap();
        assert!(SignalRewrites::parse_rule(&format!("{}:TERM", wake.number())).is_err());
    }

    #[test]
    fn the_table_rewrites_drops_and_passes_the_rest() {
        // dumb-init's cases: a swap, a self-map, the lowest and highest.
        let mut table = SignalRewrites::new();
        for rule in [
            "TERM:INT",
            "INT:TERM",
            "QUIT:QUIT",
            "1:31",
            "31:1",
            "WINCH:0",
        ] {
            table.add_rule(rule).unwrap();
        }
        let sent = |name: &str| table.translate(sig(name));
        assert_eq!(sent("TERM"), Some(Signal::INT));
        assert_eq!(sent("INT"), Some(Signal::TERM));
        assert_eq!(sent("QUIT"), Some(Signal::QUIT));
        assert_eq!(sent("HUP"), Some(Signal::SYS));
        assert_eq!(sent("SYS"), Some(Signal::HUP));
        assert_eq!(sent("WINCH"), None);
        assert_eq!(sent("CONT"), Some(Signal::CONT));
        assert_eq!(sent("USR1"), Some(Signal::USR1));
        // A later rule replaces an earlier one.
        table.add_rule("WINCH:USR2").unwrap();
        assert_eq!(table.translate(Signal::WINCH), Some(Signal::USR2));
        assert_eq!(table.rules().count(), 6);
    }

    #[test]
    fn session_mode_stops_with_sigstop_unless_told_otherwise() {
        let mut table = SignalRewrites::new();
        table.add_rule("TTIN:TERM").unwrap();
        let table = table.with_session_defaults();
        assert_eq!(table.translate(Signal::TSTP), Some(Signal::STOP));
        assert_eq!(table.translate(Signal::TTOU), Some(Signal::STOP));
        assert_eq!(table.translate(Signal::TTIN), Some(Signal::TERM));
        assert_eq!(table.translate(Signal::CONT), Some(Signal::CONT));
    }

    #[test]
    fn job_control_stops_suspend_the_init_and_nothing_else_does() {
        for signal in Signal::all() {
            let expected = matches!(signal, Signal::TSTP | Signal::TTIN | Signal::TTOU);
            assert_eq!(suspends_init(signal), expected, "{signal:?}");
        }
    }

    #[test]
    fn exit_codes_pass_through_and_remap() {
        let none = ExitRemap::new();
        for code in 0..=255 {
            assert_eq!(exit_code(ChildStatus::Exited(code), &none), code as u8);
            let only: ExitRemap = [code as u8].into_iter().collect();
            assert_eq!(exit_code(ChildStatus::Exited(code), &only), 0);
            let others: ExitRemap = (0..=255u8).filter(|c| i32::from(*c) != code).collect();
            assert_eq!(exit_code(ChildStatus::Exited(code), &others), code as u8);
        }
        for n in [1, 2, 3, 9, 10, 12, 15, 34, 64] {
            assert_eq!(exit_code(ChildStatus::Killed(n), &none), 128 + n as u8);
            assert_eq!(exit_code(ChildStatus::Dumped(n), &none), 128 + n as u8);
        }
        assert_eq!(exit_code(ChildStatus::Exited(256 + 3), &none), 3);
    }

    #[test]
    fn exec_failures_map_to_shell_codes() {
        use io::ErrorKind::*;
        assert_eq!(exec_failure_code(&io::Error::from(NotFound)), 127);
        for kind in [PermissionDenied, IsADirectory, ExecutableFileBusy] {
            assert_eq!(exec_failure_code(&io::Error::from(kind)), 126, "{kind:?}");
        }
        assert_eq!(
            exec_failure_code(&io::Error::from_raw_os_error(ENOEXEC)),
            126
        );
        assert_eq!(exec_failure_code(&io::Error::from_raw_os_error(2)), 127);
        assert_eq!(exec_failure_code(&io::Error::from_raw_os_error(13)), 126);
    }

    #[test]
    fn targets_follow_the_mode() {
        assert_eq!(Target::of(ForwardTo::Child, 7), Target::Process(7));
        assert_eq!(Target::of(ForwardTo::Group, 7), Target::Group(7));
        assert_eq!(Target::of(ForwardTo::Session, 7), Target::Group(7));
        assert_eq!(Target::Group(7).to_string(), "process group 7");
    }
}
