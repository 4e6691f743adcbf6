use std::fmt;
use std::io::Write;
use std::process::ExitCode;

/// A failure of a subcommand, with the exit code it maps to.
#[derive(Debug)]
pub enum CliError {
    /// Bad input (unknown signal, bad pid, forbidden signal): exit 2.
    Usage(String),
    /// The command ran but failed (no such process, permission denied): exit 1.
    Failed(String),
}

impl CliError {
    /// Prints the one-line message to stderr and returns the exit code.
    pub fn report(&self) -> ExitCode {
        let _ = writeln!(std::io::stderr(), "sigbus: {self}");
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            CliError::Failed(_) => ExitCode::from(1),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Failed(m) => f.write_str(m),
        }
    }
}

/// sigcore errors caused by what the user typed are usage errors; the rest are
/// failures.
impl From<sigcore::Error> for CliError {
    fn from(e: sigcore::Error) -> CliError {
        use sigcore::Error as E;
        match e {
            E::Parse { .. }
            | E::InvalidSignal { .. }
            | E::Forbidden { .. }
            | E::InvalidPid { .. }
            | E::InvalidArgument(_) => CliError::Usage(e.to_string()),
            _ => CliError::Failed(e.to_string()),
        }
    }
}

impl From<sigbus::BusError> for CliError {
    fn from(e: sigbus::BusError) -> CliError {
        match e {
            sigbus::BusError::Signal(e) => e.into(),
            other => CliError::Failed(other.to_string()),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::Failed(e.to_string())
    }
}

/// Help and version go to stdout with exit 0; a parse error gets clap's whole
/// report on stderr (what is wrong, the usage, a tip) and exit 2.
pub fn clap_exit(e: clap::Error) -> ExitCode {
    let _ = e.print();
    // clap's codes are ours: 0 for help and version, 2 for usage errors.
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}
