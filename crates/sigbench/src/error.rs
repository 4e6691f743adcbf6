use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a benchmark run could not be carried out. A variant whose child process
/// fails is not an error: it is a [`crate::VariantResult`] with
/// [`crate::Outcome::Failed`].
///
/// Messages are one line, lowercase, and name the offending value.
#[derive(Debug)]
#[non_exhaustive]
pub enum BenchError {
    /// `--variants` named something that is not in [`crate::variant_names`].
    UnknownVariant {
        /// The name given.
        name: String,
    },
    /// An option out of range (zero rounds, an empty variant list…).
    InvalidOption(String),
    /// The benchmark binary could not be re-executed for a variant.
    Spawn {
        /// The variant it was started for.
        variant: String,
        /// What the system said.
        source: io::Error,
    },
    /// Writing the plot failed.
    Plot {
        /// The file asked for.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// Writing the report failed.
    Output(io::Error),
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::UnknownVariant { name } => write!(
                f,
                "unknown variant {name:?} (known: {})",
                crate::variant_names().join(", ")
            ),
            BenchError::InvalidOption(what) => write!(f, "invalid option: {what}"),
            BenchError::Spawn { variant, source } => {
                write!(f, "cannot start the child process for {variant}: {source}")
            }
            BenchError::Plot { path, source } => {
                write!(f, "cannot write the plot {}: {source}", path.display())
            }
            BenchError::Output(source) => write!(f, "cannot write the report: {source}"),
        }
    }
}

impl std::error::Error for BenchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BenchError::Spawn { source, .. }
            | BenchError::Plot { source, .. }
            | BenchError::Output(source) => Some(source),
            BenchError::UnknownVariant { .. } | BenchError::InvalidOption(_) => None,
        }
    }
}

impl From<io::Error> for BenchError {
    fn from(e: io::Error) -> BenchError {
        BenchError::Output(e)
    }
}
