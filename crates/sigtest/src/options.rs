//! The libtest command line, as far as it applies to scenarios: which to list
//! or run, and which are ignored.

use crate::runner::Scenario;

/// What the command line asked for.
#[derive(Debug, Default)]
pub(crate) struct Options {
    filters: Vec<String>,
    skip: Vec<String>,
    exact: bool,
    ignored: bool,
    include_ignored: bool,
    pub(crate) list: bool,
    /// `--list --format terse`: the names alone, as cargo-nextest asks.
    pub(crate) terse: bool,
}

/// libtest options that take a value we have no use for.
const WITH_VALUE: &[&str] = &[
    "--test-threads",
    "--color",
    "--logfile",
    "--shuffle-seed",
    "-Z",
];

impl Options {
    /// Parses libtest's arguments (without the program name). Flags that make
    /// no difference here (`--nocapture`, `--test-threads N`, ...) are accepted
    /// and ignored, values included, so they are not taken for filters.
    pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Options {
        let mut options = Options::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--ignored" => options.ignored = true,
                "--include-ignored" => options.include_ignored = true,
                "--exact" => options.exact = true,
                "--list" => options.list = true,
                "--skip" => options.skip.extend(args.next()),
                "--format" => options.terse = args.next().as_deref() == Some("terse"),
                "--format=terse" => options.terse = true,
                flag if WITH_VALUE.contains(&flag) => {
                    args.next();
                }
                flag if flag.starts_with('-') => {}
                filter => options.filters.push(filter.to_owned()),
            }
        }
        options
    }

    fn matches(&self, pattern: &str, name: &str) -> bool {
        if self.exact {
            name == pattern
        } else {
            name.contains(pattern)
        }
    }

    /// Whether `scenario` is listed or run at all; the others count as
    /// filtered out (helpers are not tests and count as nothing).
    pub(crate) fn selects(&self, scenario: &Scenario) -> bool {
        !scenario.helper
            && (self.filters.is_empty() || self.filters.iter().any(|f| self.matches(f, scenario.name)))
            && !self.skip.iter().any(|s| self.matches(s, scenario.name))
            // As in libtest, `--ignored` leaves the others out altogether.
            && (!self.ignored || scenario.ignored)
    }

    /// Whether a selected scenario is reported `ignored` instead of run.
    pub(crate) fn ignores(&self, scenario: &Scenario) -> bool {
        scenario.ignored && !self.ignored && !self.include_ignored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Options {
        Options::parse(args.iter().map(|a| a.to_string()))
    }

    fn noop() {}

    const PLAIN: Scenario = Scenario::new("sends_usr1", noop);
    const SLOW: Scenario = Scenario::new("sends_many", noop).ignored();
    const HELPER: Scenario = Scenario::new("_sender", noop).helper();

    #[test]
    fn no_arguments_select_every_test_and_ignore_the_ignored() {
        let options = parse(&[]);
        assert!(options.selects(&PLAIN) && !options.ignores(&PLAIN));
        assert!(options.selects(&SLOW) && options.ignores(&SLOW));
        assert!(!options.selects(&HELPER));
    }

    #[test]
    fn filters_match_substrings_or_exact_names() {
        assert!(parse(&["usr1"]).selects(&PLAIN));
        assert!(!parse(&["usr1"]).selects(&SLOW));
        assert!(!parse(&["usr1", "--exact"]).selects(&PLAIN));
        assert!(parse(&["--exact", "sends_usr1"]).selects(&PLAIN));
        assert!(parse(&["nothing", "many"]).selects(&SLOW));
    }

    #[test]
    fn skip_leaves_out_what_it_matches() {
        let options = parse(&["--skip", "usr1"]);
        assert!(!options.selects(&PLAIN));
        assert!(options.selects(&SLOW));
    }

    #[test]
    fn ignored_runs_only_the_ignored_and_include_ignored_runs_all() {
        let only = parse(&["--ignored"]);
        assert!(!only.selects(&PLAIN));
        assert!(only.selects(&SLOW) && !only.ignores(&SLOW));
        let all = parse(&["--include-ignored"]);
        assert!(all.selects(&PLAIN) && all.selects(&SLOW) && !all.ignores(&SLOW));
    }

    #[test]
    fn values_of_irrelevant_options_are_not_filters() {
        let options = parse(&[
            "--test-threads",
            "1",
            "--color",
            "never",
            "--format",
            "terse",
        ]);
        assert!(options.filters.is_empty());
        assert!(options.terse);
        assert!(options.selects(&PLAIN));
    }
}
