//! `sigbus completions SHELL` and `sigbus man [SUBCOMMAND]`: generated from the
//! same clap definition as `--help`, so they never drift from it.

use std::io::{self, Write};

use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs, ManArgs};
use crate::error::CliError;

pub fn completions(args: &CompletionsArgs) -> Result<(), CliError> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "sigbus", &mut script);
    write(&script)
}

pub fn man(args: &ManArgs) -> Result<(), CliError> {
    // `help` is not a page of its own; building names the subcommands
    // `sigbus-NAME`, the title of their pages.
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let page = match &args.subcommand {
        None => command,
        Some(name) => command.find_subcommand(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
            CliError::Usage(format!(
                "no manual page for {name:?}: the subcommands are {}",
                known.join(", ")
            ))
        })?,
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .source(concat!("sigbus ", env!("CARGO_PKG_VERSION")))
        .render(&mut roff)?;
    write(&roff)
}

/// Writes everything to stdout; a reader that closed the pipe early (`| head`)
/// is not an error.
fn write(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
