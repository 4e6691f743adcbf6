//! The command line as `kill` users type it, rewritten for clap before parsing.
//!
//! `sigbus send` takes its signal in any of kill(1)'s spellings: `-s TERM`,
//! `-TERM`, `-9`, `-SIGRTMIN+2`, or first among the operands (`send TERM PID`).
//! clap cannot tell `-TERM` from a cluster of short flags, nor a leading operand
//! from a pid, so this pass turns the last two spellings into `--signal=NAME`,
//! which clap then parses and checks like any option. Only `send`'s own
//! arguments are touched; every other subcommand gets its arguments unchanged.
//!
//! Negative pids stay what they are: a `-N` is read as a signal only where kill
//! reads one, before the first operand and when no signal was given yet, so
//! `send TERM -1` still reaches the pid check and is refused.

use std::ffi::OsString;

use crate::args::parse_send_signal;

/// Rewrites `send`'s kill-style signal into `--signal=NAME`; any other command
/// line is returned as it is.
pub fn kill_style(mut args: Vec<OsString>) -> Vec<OsString> {
    // `sigbus` has no global options, so the subcommand is always argv[1].
    if args.len() < 2 || args[1] != "send" {
        return args;
    }
    let rest = args.split_off(2);
    let mut out = args;
    let mut signal_given = false;
    let mut first_operand: Option<usize> = None;
    let mut operands_only = false;
    let mut rest = rest.into_iter();
    while let Some(arg) = rest.next() {
        let text = match arg.to_str() {
            Some(text) if !operands_only => text,
            _ => {
                first_operand.get_or_insert(out.len());
                out.push(arg);
                continue;
            }
        };
        match text {
            "--" => operands_only = true,
            // Options that take the next argument as their value, which may
            // look like a flag (`--value -7`).
            "--value" | "-s" | "--signal" => {
                signal_given |= text != "--value";
                out.push(arg);
                if let Some(value) = rest.next() {
                    out.push(value);
                }
                continue;
            }
            _ if text.starts_with("--") => signal_given |= text.starts_with("--signal="),
            _ if text.len() > 1
                && text.starts_with('-')
                && !signal_given
                && first_operand.is_none() =>
            {
                signal_given = true;
                let name = &text[1..];
                if parse_send_signal(name).is_ok() || !(text.starts_with("-s") || text == "-h") {
                    // `-TERM`, `-9`, `-0`; also `-FOO`, so that clap's error
                    // names the signal it could not read.
                    out.push(format!("--signal={name}").into());
                    continue;
                }
                // `-sTERM` (a short option with its value attached) or `-h`.
                signal_given = text.starts_with("-s");
            }
            _ if !text.starts_with('-') || text == "-" => {
                first_operand.get_or_insert(out.len());
            }
            _ => {}
        }
        out.push(arg);
    }
    if let Some(at) = first_operand.filter(|_| !signal_given) {
        // Moved in front, so that it stays an option even after a `--`.
        let mut option = OsString::from("--signal=");
        option.push(out.remove(at));
        out.insert(2, option);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(line: &str) -> String {
        let args = line.split(' ').map(OsString::from).collect();
        kill_style(args)
            .iter()
            .map(|a| a.to_str().unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn kill_spellings_become_the_signal_option() {
        let cases = [
            ("sigbus send TERM 42", "sigbus send --signal=TERM 42"),
            ("sigbus send -TERM 42", "sigbus send --signal=TERM 42"),
            ("sigbus send -9 42 43", "sigbus send --signal=9 42 43"),
            ("sigbus send -0 42", "sigbus send --signal=0 42"),
            ("sigbus send 0 42", "sigbus send --signal=0 42"),
            (
                "sigbus send -SIGRTMIN+2 42",
                "sigbus send --signal=SIGRTMIN+2 42",
            ),
            ("sigbus send -sigterm 42", "sigbus send --signal=sigterm 42"),
            ("sigbus send -stop 42", "sigbus send --signal=stop 42"),
            ("sigbus send -FOO 42", "sigbus send --signal=FOO 42"),
            (
                "sigbus send --pidfd -USR1 42",
                "sigbus send --pidfd --signal=USR1 42",
            ),
            (
                "sigbus send --value -7 USR2 42",
                "sigbus send --signal=USR2 --value -7 42",
            ),
            (
                "sigbus send USR2 42 --value -7",
                "sigbus send --signal=USR2 42 --value -7",
            ),
            ("sigbus send -- USR1 42", "sigbus send --signal=USR1 -- 42"),
        ];
        for (given, expected) in cases {
            assert_eq!(rewrite(given), expected, "{given}");
        }
    }

    #[test]
    fn explicit_options_and_pids_are_left_alone() {
        for line in [
            "sigbus send -s TERM 42",
            "sigbus send -sTERM 42",
            "sigbus send --signal TERM 42",
            "sigbus send --signal=TERM 42",
            "sigbus send -s TERM -1",
            "sigbus send -h",
            "sigbus send --help",
            "sigbus send -s",
        ] {
            assert_eq!(rewrite(line), line);
        }
    }

    #[test]
    fn a_negative_pid_after_the_signal_stays_a_pid() {
        assert_eq!(
            rewrite("sigbus send TERM -1"),
            "sigbus send --signal=TERM -1"
        );
        assert_eq!(
            rewrite("sigbus send -TERM -1"),
            "sigbus send --signal=TERM -1"
        );
        assert_eq!(
            rewrite("sigbus send -TERM 42 -9"),
            "sigbus send --signal=TERM 42 -9"
        );
    }

    #[test]
    fn other_subcommands_are_untouched() {
        for line in [
            "sigbus watch -TERM",
            "sigbus watch USR1 --timeout -3",
            "sigbus inspect -1",
            "sigbus help send",
            "sigbus -V",
        ] {
            assert_eq!(rewrite(line), line);
        }
    }
}
