//! The parent side: one child process per variant, results gathered, reported.

use std::io::{IsTerminal, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use sigcore::CommandExt;

use crate::child::{ENV_ROUNDS, ENV_VARIANT, ENV_WARMUP};
use crate::variants::{check_variants, variant_names};
use crate::{plot, report, BenchError, Options, Outcome, VariantResult};

/// Runs the chosen variants, each in a child process of its own (a re-execution
/// of [`std::env::current_exe`], whose `main` must call
/// [`crate::child_main_if_requested`] first), then writes the table (or JSON
/// lines with `options.json`) to `out` and the plot if asked.
///
/// A variant whose child crashes, times out or reports an error becomes a
/// result with [`Outcome::Failed`], and the run goes on.
///
/// # Errors
///
/// [`BenchError::UnknownVariant`] and [`BenchError::InvalidOption`] before
/// anything runs; [`BenchError::Spawn`] if the binary cannot be re-executed;
/// [`BenchError::Output`] and [`BenchError::Plot`] when writing fails.
///
/// # Examples
///
/// ```no_run
/// let options = sigbench::Options {
///     variants: Some(vec!["floor-hop".into(), "sigbus".into()]),
///     ..Default::default()
/// };
/// let results = sigbench::run(&options, &mut std::io::stdout())?;
/// assert_eq!(results.len(), 2);
/// # Ok::<(), sigbench::BenchError>(())
/// ```
pub fn run(options: &Options, out: &mut dyn Write) -> Result<Vec<VariantResult>, BenchError> {
    let names = selected(options)?;
    let exe = std::env::current_exe().map_err(|source| BenchError::Spawn {
        variant: names[0].clone(),
        source,
    })?;
    let progress = std::io::stderr().is_terminal() && !options.json;
    let mut results = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        if progress {
            eprint!("\rsigbench: [{}/{}] {name:<24}", i + 1, names.len());
        }
        results.push(run_child(&exe, name, options)?);
    }
    if progress {
        eprint!("\r{:60}\r", "");
    }
    report::write(out, options, &results)?;
    if let Some(path) = &options.plot {
        plot::write(path, &results).map_err(|source| BenchError::Plot {
            path: path.clone(),
            source,
        })?;
    }
    Ok(results)
}

fn selected(options: &Options) -> Result<Vec<String>, BenchError> {
    if options.rounds == 0 {
        return Err(BenchError::InvalidOption(
            "rounds must be at least 1".into(),
        ));
    }
    let names = match &options.variants {
        Some(names) => {
            check_variants(names)?;
            names.clone()
        }
        None => variant_names().into_iter().map(String::from).collect(),
    };
    if names.is_empty() {
        return Err(BenchError::InvalidOption("no variant selected".into()));
    }
    Ok(names)
}

/// Generous: a healthy round takes microseconds (milliseconds for K = 256).
fn timeout(options: &Options) -> Duration {
    let rounds = (options.rounds + options.warmup) as u64;
    Duration::from_secs(60) + Duration::from_micros(rounds.saturating_mul(500))
}

fn run_child(exe: &Path, name: &str, options: &Options) -> Result<VariantResult, BenchError> {
    let mut child = Command::new(exe)
        // A parent that serves signals (the sigbus CLI) would pass its blocked
        // mask on across exec: Ctrl-C could not stop the child.
        .reset_signals()
        .env(ENV_VARIANT, name)
        .env(ENV_ROUNDS, options.rounds.to_string())
        .env(ENV_WARMUP, options.warmup.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| BenchError::Spawn {
            variant: name.to_owned(),
            source,
        })?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let waited = wait(&mut child, timeout(options));
    let (stdout, stderr) = (join(stdout), join(stderr));
    let outcome = match waited {
        Ok(status) if status.success() => parse(&stdout, name),
        Ok(status) => Err(failure(status, &stderr)),
        Err(e) => Err(e),
    };
    Ok(outcome.unwrap_or_else(|error| VariantResult {
        variant: name.to_owned(),
        outcome: Outcome::Failed(error),
    }))
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

fn join(reader: thread::JoinHandle<String>) -> String {
    reader.join().unwrap_or_default()
}

/// Waits for the child, killing it past `limit`.
fn wait(child: &mut Child, limit: Duration) -> Result<ExitStatus, String> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {} s", limit.as_secs()));
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for the child: {e}")),
        }
    }
}

fn failure(status: ExitStatus, stderr: &str) -> String {
    let said = stderr
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("")
        .trim();
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signo)) => match sigcore::Signal::new(signo) {
            Ok(signal) => format!("killed by {}", signal.name()),
            Err(_) => format!("killed by signal {signo}"),
        },
        _ => status.to_string(),
    };
    if said.is_empty() {
        how
    } else {
        format!("{how}: {said}")
    }
}

fn parse(stdout: &str, name: &str) -> Result<VariantResult, String> {
    let line = stdout
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .ok_or("the child printed no result")?;
    let value: Value =
        serde_json::from_str(line).map_err(|e| format!("unreadable child result: {e}"))?;
    let result = VariantResult::from_json(&value)?;
    if result.variant != name {
        return Err(format!("the child ran {:?} instead", result.variant));
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_variants_and_zero_rounds_are_refused_before_running() {
        let unknown = Options {
            variants: Some(vec!["floor".into(), "sigbuss".into()]),
            ..Options::default()
        };
        let err = selected(&unknown).unwrap_err();
        assert!(matches!(&err, BenchError::UnknownVariant { name } if name == "sigbuss"));
        assert!(err.to_string().starts_with("unknown variant \"sigbuss\""));
        let zero = Options {
            rounds: 0,
            ..Options::default()
        };
        assert!(matches!(selected(&zero), Err(BenchError::InvalidOption(_))));
    }

    #[test]
    fn failures_name_the_signal_and_the_last_words() {
        let killed = ExitStatus::from_raw(libc::SIGSEGV);
        assert_eq!(failure(killed, ""), "killed by SIGSEGV");
        let exited = ExitStatus::from_raw(1 << 8);
        assert_eq!(
            failure(exited, "noise\nsigbench: floor: kill: denied\n\n"),
            "exit status 1: sigbench: floor: kill: denied"
        );
    }
}
