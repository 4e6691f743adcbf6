use std::fs::{self, OpenOptions};
use std::io::IsTerminal;
use std::path::Path;

use sigbench::{BenchError, Options};

use crate::args::BenchArgs;
use crate::error::CliError;
use crate::output;
use crate::progress::Progress;

pub fn run(args: BenchArgs) -> Result<(), CliError> {
    if args.list {
        for name in sigbench::variant_names() {
            output::line(name);
        }
        return Ok(());
    }
    let names = match &args.variants {
        Some(names) => {
            sigbench::check_variants(names).map_err(usage)?;
            names.clone()
        }
        None => sigbench::variant_names()
            .into_iter()
            .map(String::from)
            .collect(),
    };
    // Before a run of many seconds, not after it.
    if let Some(path) = &args.plot {
        check_writable(path)?;
    }
    // On a terminal without --json, sigbench draws its own progress line.
    let progress = (args.json || !std::io::stderr().is_terminal()).then(|| Progress::start(names));
    let options = Options {
        rounds: args.rounds as usize,
        warmup: args.warmup as usize,
        variants: args.variants,
        json: args.json,
        plot: args.plot,
    };
    let results = sigbench::run(&options, &mut std::io::stdout().lock());
    if let Some(progress) = progress {
        progress.finish(results.is_ok());
    }
    let results = results.map_err(|e| match e {
        BenchError::UnknownVariant { .. } | BenchError::InvalidOption(_) => usage(e),
        other => CliError::Failed(other.to_string()),
    })?;
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| r.is_failed())
        .map(|r| r.variant.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "variant(s) failed: {}",
            failed.join(", ")
        )))
    }
}

fn usage(e: BenchError) -> CliError {
    CliError::Usage(format!("{e} (see sigbus bench --list)"))
}

/// Checks that the plot can be written, leaving an existing file as it is and
/// no new file behind.
fn check_writable(path: &Path) -> Result<(), CliError> {
    let refuse = |why: String| {
        CliError::Usage(format!(
            "cannot write the plot to {}: {why}",
            path.display()
        ))
    };
    if path.is_dir() {
        return Err(refuse("it is a directory".into()));
    }
    let existed = path.exists();
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| refuse(e.to_string()))?;
    if !existed {
        let _ = fs::remove_file(path);
    }
    Ok(())
}
