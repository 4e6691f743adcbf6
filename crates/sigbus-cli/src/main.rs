//! `sigbus`: watch, send, list and inspect Unix signals; run the demo and the
//! dispatch benchmarks.
#![forbid(unsafe_code)]

mod args;
mod cmd;
mod error;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::error::CliError;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
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
    }
}
