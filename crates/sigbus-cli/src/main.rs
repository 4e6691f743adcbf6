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
    // Before anything else: `sigbus init -p` asks for a signal when this parent
    // dies, and must notice a parent that died before it could ask.
    let parent = std::os::unix::process::parent_id() as i32;
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
    match run(cli.command, parent) {
        Ok(code) => code,
        Err(e) => e.report(),
    }
}

fn run(command: Command, parent: i32) -> Result<ExitCode, CliError> {
    let done = match command {
        // The command's own exit code, 0 to 255.
        Command::Init(args) => return Ok(cmd::init::run(&args, parent)),
        Command::List(args) => cmd::list::run(&args),
        Command::Watch(args) => cmd::watch::run(&args),
        Command::Send(args) => cmd::send::run(&args),
        Command::Inspect(args) => cmd::inspect::run(&args),
        Command::Demo(args) => cmd::demo::run(&args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Completions(args) => cmd::docs::completions(&args),
        Command::Man(args) => cmd::docs::man(&args),
    };
    done.map(|()| ExitCode::SUCCESS)
}
