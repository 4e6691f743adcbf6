//! The child side: one variant per process, chosen through the environment.

use std::ffi::OsString;

use sigcore::SignalSet;

use crate::variants::{self, Params, Variant, IDLE, PING};
use crate::{Outcome, VariantResult};

/// Names the variant a re-executed benchmark binary runs.
pub(crate) const ENV_VARIANT: &str = "SIGBENCH_VARIANT";
/// Measured rounds (before any scaling).
pub(crate) const ENV_ROUNDS: &str = "SIGBENCH_ROUNDS";
/// Warm-up rounds (before any scaling).
pub(crate) const ENV_WARMUP: &str = "SIGBENCH_WARMUP";

/// Runs one benchmark variant and exits, if this process was started as a
/// benchmark child by [`crate::run`]; otherwise returns at once.
///
/// Call it first thing in `main` of every binary that runs benchmarks, before
/// any thread exists: the child blocks the benchmark's signals (SIGUSR1,
/// SIGUSR2, SIGRTMIN+1) in its only thread so that every thread it spawns
/// inherits the mask. The child prints its result as one JSON line on stdout
/// and exits 0, or prints a one-line error on stderr and exits 1.
///
/// # Examples
///
/// ```no_run
/// // First thing in `main`:
/// sigbench::child_main_if_requested();
/// // ... the binary's own work, e.g. sigbench::run(...)
/// ```
pub fn child_main_if_requested() {
    let Some(name) = std::env::var_os(ENV_VARIANT) else {
        return;
    };
    let name = name.to_string_lossy().into_owned();
    match run_child(&name) {
        Ok(result) => {
            println!("{}", result.to_json());
            std::process::exit(0);
        }
        Err(message) => {
            eprintln!("sigbench: {name}: {message}");
            std::process::exit(1);
        }
    }
}

fn run_child(name: &str) -> Result<VariantResult, String> {
    // Before anything else: no thread may exist with these signals unblocked.
    let signals = SignalSet::from([PING, IDLE, variants::stream_signal()?]);
    sigcore::block(signals).map_err(variants::failed("blocking the signals"))?;
    // An ignored disposition inherited across exec would discard them.
    for signal in signals {
        sigcore::set_default(signal).map_err(variants::failed("resetting a disposition"))?;
    }
    let variant = Variant::find(name).ok_or_else(|| format!("unknown variant {name:?}"))?;
    let params = Params {
        rounds: count(ENV_ROUNDS)?,
        warmup: count(ENV_WARMUP)?,
    };
    let outcome: Outcome = variant.run(params)?;
    Ok(VariantResult {
        variant: name.to_owned(),
        outcome,
    })
}

fn count(key: &str) -> Result<usize, String> {
    let value = std::env::var_os(key).unwrap_or_else(|| OsString::from("missing"));
    value
        .to_str()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{key} must be a count, not {value:?}"))
}
