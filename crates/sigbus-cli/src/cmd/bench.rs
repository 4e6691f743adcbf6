use sigbench::{BenchError, Options};

use crate::args::BenchArgs;
use crate::error::CliError;
use crate::output;

pub fn run(args: BenchArgs) -> Result<(), CliError> {
    if args.list {
        for name in sigbench::variant_names() {
            output::line(name);
        }
        return Ok(());
    }
    let options = Options {
        rounds: args.rounds as usize,
        warmup: args.warmup as usize,
        variants: args.variants,
        json: args.json,
        plot: args.plot,
    };
    let results = sigbench::run(&options, &mut std::io::stdout().lock()).map_err(|e| match e {
        BenchError::UnknownVariant { .. } | BenchError::InvalidOption(_) => {
            CliError::Usage(format!("{e} (see sigbus bench --list)"))
        }
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
