//! `sigbus`: watch, send, list and inspect Unix signals; run the demo and the
//! dispatch benchmarks.
#![forbid(unsafe_code)]

mod args;
mod argv;
mod clock;
mod cmd;
mod error;
mod output;
mod procinfo;
mod progress;
mod users;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::error::CliError;

// Counts allocations for `sigbus bench`'s `alloc` variant (one relaxed atomic
// add per allocation; the CLI allocates little).
#[global_allocator]
static ALLOC: sigbench::CountingAlloc = sigbench::CountingAlloc;

fn main() -> ExitCode {
    // `sigbus bench` re-executes this binary once per variant; such a child runs
    // its variant and exits here, before any thread exists.
    sigbench::child_main_if_requested();
    let cli = match Cli::try_parse_from(argv::kill_style(std::env::args_os().collect())) {
        Ok(cli) => cli,
        Err(e) => return error::clap_exit(e),
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format_timestamp_millis()
        .init();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::List(args) => cmd::list::run(&args),
        Command::Watch(args) => cmd::watch::run(&args),
        Command::Send(args) => cmd::send::run(&args),
        Command::Inspect(args) => cmd::inspect::run(&args),
        Command::Demo(args) => cmd::demo::run(&args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Completions(args) => cmd::docs::completions(&args),
        Command::Man(args) => cmd::docs::man(&args),
    }
}
