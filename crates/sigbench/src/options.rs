use std::path::PathBuf;

/// What [`crate::run`] measures and how it reports.
///
/// # Examples
///
/// ```
/// let quick = sigbench::Options {
///     rounds: 2_000,
///     variants: Some(vec!["floor-hop".into(), "sigbus".into()]),
///     ..Default::default()
/// };
/// assert_eq!(quick.warmup, 1_000);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Measured rounds per latency variant (fan-out with K ≥ 64 runs a tenth).
    /// Throughput variants stream `max(rounds, 20_000)` events; `alloc` routes
    /// `rounds` events.
    pub rounds: usize,
    /// Unmeasured rounds before the measured ones.
    pub warmup: usize,
    /// Variants to run, by name (`None`: all, in [`crate::variant_names`] order).
    pub variants: Option<Vec<String>>,
    /// One JSON object per line instead of the table.
    pub json: bool,
    /// Where to write an SVG latency-percentile plot.
    pub plot: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            rounds: 20_000,
            warmup: 1_000,
            variants: None,
            json: false,
            plot: None,
        }
    }
}
