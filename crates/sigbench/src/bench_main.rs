//! The `dispatch` benchmark's command line (`cargo bench --bench dispatch --
//! ...`), hand-rolled: `cargo bench` passes `--bench`, which is ignored.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::{BenchError, Options};

const USAGE: &str =
    "usage: dispatch [--rounds N] [--warmup N] [--variants a,b,...] [--json] [--plot FILE.svg]";

/// The whole `cargo bench --bench dispatch` program: a benchmark child runs
/// its variant and exits here; the parent parses `std::env::args`, runs the
/// variants and prints the table. Call it first thing in `main`, before any
/// thread exists, with [`CountingAlloc`](crate::CountingAlloc) as the global
/// allocator for the `alloc` variant.
pub fn bench_main() -> ExitCode {
    crate::child_main_if_requested();
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}\nvariants: {}", crate::variant_names().join(", "));
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("dispatch: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match crate::run(&options, &mut std::io::stdout().lock()) {
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

/// `Ok(None)` asks for the usage text.
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
