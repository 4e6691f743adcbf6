use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use libc::c_int;

use crate::{sys, Error, Result};

/// A valid signal of this system: one of the 31 standard signals or a real-time
/// signal between [`Signal::rtmin`] and [`Signal::rtmax`].
///
/// The numbers glibc keeps for itself (32 and 33, for thread cancellation and
/// `setxid`) are not valid signals here, as in Python's `signal.valid_signals()`.
///
/// ```
/// use sigcore::{DefaultAction, Signal};
///
/// let usr1: Signal = "usr1".parse()?;
/// assert_eq!(usr1, Signal::USR1);
/// assert_eq!(usr1.name(), "SIGUSR1");
/// assert_eq!(usr1.number(), 10);
/// assert_eq!(usr1.default_action(), DefaultAction::Terminate);
/// assert_eq!("SIGRTMIN+3".parse::<Signal>()?.number(), Signal::rtmin().number() + 3);
/// assert!("USR3".parse::<Signal>().is_err());
/// # Ok::<(), sigcore::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(c_int);

/// What the kernel does with a signal whose disposition is the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefaultAction {
    /// End the process.
    Terminate,
    /// End the process and dump core.
    Core,
    /// Discard the signal.
    Ignore,
    /// Stop (suspend) the process.
    Stop,
    /// Continue a stopped process.
    Continue,
}

impl DefaultAction {
    /// A short lowercase word: `terminate`, `core`, `ignore`, `stop`, `continue`.
    pub fn as_str(self) -> &'static str {
        match self {
            DefaultAction::Terminate => "terminate",
            DefaultAction::Core => "core",
            DefaultAction::Ignore => "ignore",
            DefaultAction::Stop => "stop",
            DefaultAction::Continue => "continue",
        }
    }
}

impl fmt::Display for DefaultAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! standard_signals {
    ($($(#[$doc:meta])* $konst:ident = $libc:ident, $name:literal, $action:ident;)*) => {
        impl Signal {
            $($(#[$doc])* pub const $konst: Signal = Signal(libc::$libc);)*
        }

        fn standard_name(number: c_int) -> Option<&'static str> {
            match number {
                $(libc::$libc => Some($name),)*
                _ => None,
            }
        }

        fn standard_action(number: c_int) -> DefaultAction {
            match number {
                $(libc::$libc => DefaultAction::$action,)*
                _ => DefaultAction::Terminate,
            }
        }

        fn standard_by_name(upper: &str) -> Option<c_int> {
            match upper {
                $($name => Some(libc::$libc),)*
                // Historical aliases that `kill -l` and Python also accept.
                "IOT" => Some(libc::SIGABRT),
                "POLL" => Some(libc::SIGIO),
                "CLD" => Some(libc::SIGCHLD),
                _ => None,
            }
        }
    };
}

standard_signals! {
    /// Hangup: the controlling terminal closed; daemons use it for "reload".
    HUP = SIGHUP, "HUP", Terminate;
    /// Interrupt from the keyboard (Ctrl-C).
    INT = SIGINT, "INT", Terminate;
    /// Quit from the keyboard (Ctrl-\).
    QUIT = SIGQUIT, "QUIT", Core;
    /// Illegal instruction (a fault; cannot be served by a waiter).
    ILL = SIGILL, "ILL", Core;
    /// Trace or breakpoint trap (a fault; cannot be served by a waiter).
    TRAP = SIGTRAP, "TRAP", Core;
    /// Abort, as sent by `abort(3)`.
    ABRT = SIGABRT, "ABRT", Core;
    /// Bus error (a fault; cannot be served by a waiter).
    BUS = SIGBUS, "BUS", Core;
    /// Arithmetic fault (a fault; cannot be served by a waiter).
    FPE = SIGFPE, "FPE", Core;
    /// Kill: can never be caught, blocked or ignored.
    KILL = SIGKILL, "KILL", Terminate;
    /// User-defined signal 1.
    USR1 = SIGUSR1, "USR1", Terminate;
    /// Invalid memory reference (a fault; cannot be served by a waiter).
    SEGV = SIGSEGV, "SEGV", Core;
    /// User-defined signal 2.
    USR2 = SIGUSR2, "USR2", Terminate;
    /// Write to a pipe with no reader.
    PIPE = SIGPIPE, "PIPE", Terminate;
    /// Timer signal from `alarm` and the real interval timer.
    ALRM = SIGALRM, "ALRM", Terminate;
    /// Polite request to terminate.
    TERM = SIGTERM, "TERM", Terminate;
    /// Coprocessor stack fault (unused on Linux).
    STKFLT = SIGSTKFLT, "STKFLT", Terminate;
    /// A child stopped, continued or terminated.
    CHLD = SIGCHLD, "CHLD", Ignore;
    /// Continue if stopped.
    CONT = SIGCONT, "CONT", Continue;
    /// Stop: can never be caught, blocked or ignored.
    STOP = SIGSTOP, "STOP", Stop;
    /// Stop typed at the terminal (Ctrl-Z).
    TSTP = SIGTSTP, "TSTP", Stop;
    /// Terminal input for a background process.
    TTIN = SIGTTIN, "TTIN", Stop;
    /// Terminal output for a background process.
    TTOU = SIGTTOU, "TTOU", Stop;
    /// Urgent condition on a socket.
    URG = SIGURG, "URG", Ignore;
    /// CPU time limit exceeded.
    XCPU = SIGXCPU, "XCPU", Core;
    /// File size limit exceeded.
    XFSZ = SIGXFSZ, "XFSZ", Core;
    /// Virtual (user CPU time) timer expired.
    VTALRM = SIGVTALRM, "VTALRM", Terminate;
    /// Profiling timer expired.
    PROF = SIGPROF, "PROF", Terminate;
    /// The terminal window changed size.
    WINCH = SIGWINCH, "WINCH", Ignore;
    /// I/O is possible on a descriptor.
    IO = SIGIO, "IO", Terminate;
    /// Power failure.
    PWR = SIGPWR, "PWR", Terminate;
    /// Bad system call.
    SYS = SIGSYS, "SYS", Core;
}

/// Highest standard (non-real-time) signal number on Linux.
const LAST_STANDARD: c_int = 31;

impl Signal {
    /// The signal numbered `number`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSignal`] when `number` is not a valid signal of this system:
    /// 0 or negative, above [`Signal::rtmax`], or one of the numbers libc reserves.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigcore::Signal;
    ///
    /// assert_eq!(sigcore::Signal::new(15)?, Signal::TERM);
    /// assert!(Signal::new(0).is_err());
    /// assert!(Signal::new(65).is_err());
    /// # Ok::<(), sigcore::Error>(())
    /// ```
    pub fn new(number: i32) -> Result<Signal> {
        check_number(i64::from(number)).map(Signal)
    }

    /// Wraps a number already known to be valid.
    pub(crate) const fn from_valid(number: c_int) -> Signal {
        Signal(number)
    }

    /// The lowest real-time signal available to programs (`SIGRTMIN`, 34 with glibc).
    pub fn rtmin() -> Signal {
        Signal(sys::rtmin())
    }

    /// The highest real-time signal (`SIGRTMAX`, 64 on Linux).
    pub fn rtmax() -> Signal {
        Signal(sys::rtmax())
    }

    /// `SIGRTMIN+offset`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSignal`] when the result would pass [`Signal::rtmax`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt3 = sigcore::Signal::realtime(3)?;
    /// assert_eq!(rt3.name(), "SIGRTMIN+3");
    /// # Ok::<(), sigcore::Error>(())
    /// ```
    pub fn realtime(offset: u32) -> Result<Signal> {
        Signal::new(sys::rtmin().saturating_add(offset.min(i32::MAX as u32) as i32))
    }

    /// The signal's number, as passed to `kill(2)`.
    pub const fn number(self) -> i32 {
        self.0
    }

    /// Whether this is a real-time (queued) signal.
    pub fn is_realtime(self) -> bool {
        self.0 > LAST_STANDARD
    }

    /// The canonical name: `SIGUSR1`, `SIGRTMIN+3`, `SIGRTMAX-1`, as `kill -l` spells it.
    pub fn name(self) -> &'static str {
        names()[self.0 as usize]
    }

    /// The system's description (`strsignal(3)`), such as "User defined signal 1".
    pub fn description(self) -> &'static str {
        descriptions()[self.0 as usize]
    }

    /// What happens when the signal arrives with its default disposition.
    pub fn default_action(self) -> DefaultAction {
        standard_action(self.0)
    }

    /// Whether a program can install a handler for it at all (all but SIGKILL and
    /// SIGSTOP).
    pub fn can_catch(self) -> bool {
        self.0 != libc::SIGKILL && self.0 != libc::SIGSTOP
    }

    /// Checks that a waiter thread can serve this signal.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] for SIGKILL and SIGSTOP (they cannot be caught or
    /// blocked), for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP (raised by faults,
    /// they go synchronously to the faulting thread; blocking them turns a fault into
    /// an immediate kill, and Rust's runtime uses SIGSEGV/SIGBUS for stack overflow),
    /// and for SIGRTMAX (or the signal sigcore took instead, see the crate docs),
    /// which sigcore sends to its own waiter thread to wake it.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigcore::Signal;
    ///
    /// assert!(Signal::USR1.check_waitable().is_ok());
    /// assert!(Signal::KILL.check_waitable().is_err());
    /// assert!(Signal::SEGV.check_waitable().is_err());
    /// ```
    pub fn check_waitable(self) -> Result<()> {
        let reason = match self.0 {
            libc::SIGKILL | libc::SIGSTOP => "it can never be caught or blocked",
            libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE | libc::SIGTRAP => {
                "it reports a fault synchronously to the faulting thread, so no waiter \
                 thread can serve it"
            }
            n if n >= sys::rtmax() - 7 && n == crate::waiter::wake_signal().number() => {
                "sigcore reserves it to wake its waiter thread"
            }
            _ => return Ok(()),
        };
        Err(Error::Forbidden {
            signal: self,
            reason,
        })
    }

    /// Every valid signal of this system, lowest number first (Python's
    /// `signal.valid_signals()`).
    pub fn all() -> impl Iterator<Item = Signal> {
        (1..=LAST_STANDARD)
            .chain(sys::rtmin()..=sys::rtmax())
            .map(Signal)
    }
}

fn check_number(number: i64) -> Result<c_int> {
    let reason = if number <= 0 {
        "signal numbers start at 1"
    } else if number > i64::from(sys::rtmax()) {
        "above SIGRTMAX"
    } else if number > i64::from(LAST_STANDARD) && number < i64::from(sys::rtmin()) {
        "reserved by the C library for its own threads"
    } else {
        return Ok(number as c_int);
    };
    Err(Error::InvalidSignal { number, reason })
}

fn names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let (rtmin, rtmax) = (sys::rtmin(), sys::rtmax());
        (0..=rtmax)
            .map(|n| match standard_name(n) {
                Some(name) => leak(format!("SIG{name}")),
                None if n == rtmin => "SIGRTMIN",
                None if n == rtmax => "SIGRTMAX",
                // `kill -l` splits the range in the middle: RTMIN+1..RTMIN+15, then
                // RTMAX-14..RTMAX-1.
                None if n > rtmin && n - rtmin <= (rtmax - rtmin) / 2 => {
                    leak(format!("SIGRTMIN+{}", n - rtmin))
                }
                None if n > rtmin => leak(format!("SIGRTMAX-{}", rtmax - n)),
                None => "",
            })
            .collect()
    })
}

fn descriptions() -> &'static [&'static str] {
    static DESCRIPTIONS: OnceLock<Vec<&'static str>> = OnceLock::new();
    DESCRIPTIONS.get_or_init(|| {
        (0..=sys::rtmax())
            .map(|n| leak(sys::strsignal(n)))
            .collect()
    })
}

/// Tables are built once per process and live as long as it does.
fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

impl FromStr for Signal {
    type Err = Error;

    /// Parses `"USR1"`, `"SIGUSR1"`, `"sigusr1"`, `"10"`, `"RTMIN"`, `"RTMIN+3"`,
    /// `"SIGRTMAX-1"`. Surrounding whitespace is not accepted.
    fn from_str(input: &str) -> Result<Signal> {
        if input.is_empty() {
            return Err(Error::parse(input, "empty signal name"));
        }
        if input.trim().is_empty() {
            return Err(Error::parse(input, "blank signal name"));
        }
        if let Some(digits) = input.strip_prefix('-') {
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::parse(input, "signal numbers start at 1"));
            }
        }
        if input.bytes().all(|b| b.is_ascii_digit()) {
            let number = input.parse::<i64>().unwrap_or(i64::MAX);
            return check_number(number).map(Signal);
        }
        if !input.is_ascii() {
            return Err(Error::parse(input, "not a signal name"));
        }
        let upper = input.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        if let Some(number) = standard_by_name(bare) {
            return Ok(Signal(number));
        }
        parse_realtime(input, bare)
    }
}

fn parse_realtime(input: &str, bare: &str) -> Result<Signal> {
    let (base, rest, sign) = if let Some(rest) = bare.strip_prefix("RTMIN") {
        (sys::rtmin(), rest, 1)
    } else if let Some(rest) = bare.strip_prefix("RTMAX") {
        (sys::rtmax(), rest, -1)
    } else {
        return Err(Error::parse(input, "not a signal name (try `sigbus list`)"));
    };
    if rest.is_empty() {
        return Ok(Signal(base));
    }
    let digits = match (sign, rest.as_bytes()[0]) {
        (1, b'+') | (-1, b'-') => &rest[1..],
        (1, _) => return Err(Error::parse(input, "expected RTMIN+N")),
        _ => return Err(Error::parse(input, "expected RTMAX-N")),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::parse(input, "the real-time offset must be a number"));
    }
    let span = i64::from(sys::rtmax() - sys::rtmin());
    match digits.parse::<i64>() {
        Ok(offset) if offset <= span => Ok(Signal(base + sign * offset as c_int)),
        _ => Err(Error::parse(
            input,
            "the real-time offset leaves the SIGRTMIN..SIGRTMAX range",
        )),
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

impl TryFrom<i32> for Signal {
    type Error = Error;

    fn try_from(number: i32) -> Result<Signal> {
        Signal::new(number)
    }
}

impl From<Signal> for i32 {
    fn from(signal: Signal) -> i32 {
        signal.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling_of_a_name() {
        for text in ["USR1", "SIGUSR1", "sigusr1", "usr1", "SigUsr1", "10"] {
            assert_eq!(text.parse::<Signal>().unwrap(), Signal::USR1, "{text}");
        }
        assert_eq!("IOT".parse::<Signal>().unwrap(), Signal::ABRT);
        assert_eq!("SIGCLD".parse::<Signal>().unwrap(), Signal::CHLD);
    }

    #[test]
    fn parses_realtime_offsets() {
        let (min, max) = (Signal::rtmin().number(), Signal::rtmax().number());
        assert_eq!("RTMIN".parse::<Signal>().unwrap().number(), min);
        assert_eq!("RTMIN+3".parse::<Signal>().unwrap().number(), min + 3);
        assert_eq!("SIGRTMAX-1".parse::<Signal>().unwrap().number(), max - 1);
        assert_eq!("sigrtmax".parse::<Signal>().unwrap().number(), max);
        assert_eq!("RTMIN+0".parse::<Signal>().unwrap().number(), min);
    }

    #[test]
    fn refuses_bad_input_with_a_reason() {
        for text in [
            "",
            " ",
            "\t",
            "0",
            "-1",
            "65",
            "32",
            "33",
            "USR3",
            "RTMIN+99",
            "RTMAX-99",
            "RTMIN-1",
            "RTMAX+1",
            "RTMIN+",
            "RTMIN+x",
            " USR1",
            "USR1 ",
            "SIG",
            "ÜSR1",
            "99999999999999999999999",
            "+10",
        ] {
            let err = text.parse::<Signal>().unwrap_err();
            let message = err.to_string();
            assert!(message.contains("invalid signal"), "{text:?}: {message}");
        }
    }

    #[test]
    fn very_long_input_is_shortened_in_the_message() {
        let input = "X".repeat(10_000);
        let message = input.parse::<Signal>().unwrap_err().to_string();
        assert!(message.len() < 200, "{message}");
    }

    #[test]
    fn numbers_outside_the_valid_ranges_are_refused() {
        assert!(Signal::new(0).is_err());
        assert!(Signal::new(-1).is_err());
        assert!(Signal::new(32).is_err());
        assert!(Signal::new(Signal::rtmax().number() + 1).is_err());
        assert!(Signal::realtime(u32::MAX).is_err());
    }

    #[test]
    fn names_round_trip_for_every_valid_signal() {
        for signal in Signal::all() {
            assert_eq!(signal.name().parse::<Signal>().unwrap(), signal);
            assert_eq!(
                signal.number().to_string().parse::<Signal>().unwrap(),
                signal
            );
            assert!(!signal.description().is_empty());
        }
    }

    #[test]
    fn names_follow_kill_l() {
        let min = Signal::rtmin().number();
        assert_eq!(Signal::new(min + 15).unwrap().name(), "SIGRTMIN+15");
        assert_eq!(Signal::new(min + 16).unwrap().name(), "SIGRTMAX-14");
        assert_eq!(Signal::rtmax().name(), "SIGRTMAX");
        assert_eq!(Signal::HUP.name(), "SIGHUP");
    }

    #[test]
    fn valid_signals_skip_the_libc_reserved_numbers() {
        let all: Vec<i32> = Signal::all().map(Signal::number).collect();
        assert_eq!(all.first(), Some(&1));
        assert!(!all.contains(&32) && !all.contains(&33));
        assert_eq!(
            all.len(),
            31 + (Signal::rtmax().number() - Signal::rtmin().number() + 1) as usize
        );
    }

    #[test]
    fn descriptions_come_from_the_system() {
        assert_eq!(Signal::USR1.description(), "User defined signal 1");
        assert_eq!(Signal::TERM.description(), "Terminated");
    }

    #[test]
    fn default_actions_match_signal_7() {
        assert_eq!(Signal::CHLD.default_action(), DefaultAction::Ignore);
        assert_eq!(Signal::QUIT.default_action(), DefaultAction::Core);
        assert_eq!(Signal::TSTP.default_action(), DefaultAction::Stop);
        assert_eq!(Signal::CONT.default_action(), DefaultAction::Continue);
        assert_eq!(Signal::rtmin().default_action(), DefaultAction::Terminate);
    }

    #[test]
    fn faults_and_uncatchables_are_forbidden() {
        for signal in [
            Signal::KILL,
            Signal::STOP,
            Signal::SEGV,
            Signal::BUS,
            Signal::ILL,
            Signal::FPE,
            Signal::TRAP,
            Signal::rtmax(),
        ] {
            let err = signal.check_waitable().unwrap_err();
            assert!(matches!(err, Error::Forbidden { .. }), "{signal}");
        }
        assert!(Signal::USR1.check_waitable().is_ok());
        assert!(!Signal::KILL.can_catch());
    }
}
