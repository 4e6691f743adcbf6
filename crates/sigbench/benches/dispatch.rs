//! `cargo bench --bench dispatch [-- --rounds N --variants a,b --json --plot FILE.svg]`
//!
//! Signal dispatch latency of sigcore and sigbus against raw `sigwaitinfo`
//! baselines and signal-hook; see the `sigbench` crate docs for what is measured.

use std::path::PathBuf;
use std::process::ExitCode;

use sigbench::{BenchError, Options};

// Counts allocations for the `alloc` variant.
#[global_allocator]
static ALLOC: sigbench::CountingAlloc = sigbench::CountingAlloc;

const USAGE: &str =
    "usage: dispatch [--rounds N] [--warmup N] [--variants a,b,...] [--json] [--plot FILE.svg]";

fn main() -> ExitCode {
    // A benchmark child runs its variant and exits here, before any thread exists.
    sigbench::child_main_if_requested();
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!(
                "{USAGE}\nvariants: {}",
                sigbench::variant_names().join(", ")
            );
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("dispatch: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match sigbench::run(&options, &mut std::io::stdout().lock()) {
        Ok(results) if results.iter().any(|r| r.is_failed()) => ExitCode::FAILURE,
        Ok(_) => ExitCode::SUCCESS,
        Err(e @ (BenchError::UnknownVariant { .. } | BenchError::InvalidOption(_))) => {
            eprintln!("dispatch: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("dispatch: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Hand-rolled: `cargo bench` passes `--bench`, which is ignored. `Ok(None)`
/// asks for the usage text.
fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options::default();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--bench" => {}
            "--json" => options.json = true,
            "-h" | "--help" => return Ok(None),
            "--rounds" => options.rounds = count("--rounds", &value("--rounds")?)?,
            "--warmup" => options.warmup = count("--warmup", &value("--warmup")?)?,
            "--plot" => options.plot = Some(PathBuf::from(value("--plot")?)),
            "--variants" => {
                let list = value("--variants")?;
                options.variants = Some(
                    list.split(',')
                        .map(str::trim)
                        .filter(|name| !name.is_empty())
                        .map(String::from)
                        .collect(),
                );
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(options))
}

fn count(flag: &str, text: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("{flag} takes a whole number, not {text:?}"))
}
