//! A tiny benchmark run, end to end: child processes, results, JSON, plot.
//!
//! `harness = false`: the benchmark children are re-executions of this binary,
//! and `main` must hand them over before any thread exists (libtest would have
//! started its own threads first).

use std::process::ExitCode;
use std::time::Instant;

use serde_json::Value;
use sigbench::{BenchError, Options, Outcome, VariantResult};

#[global_allocator]
static ALLOC: sigbench::CountingAlloc = sigbench::CountingAlloc;

const VARIANTS: &[&str] = &[
    "floor",
    "floor-hop",
    "sigbus",
    "sigbus-async",
    "sigbus-fd",
    "sigbus-fanout-4",
    "peer-tokio",
    "rt-throughput-1",
    "alloc",
    "alloc-async",
];

/// The latency variants among them: one plot line each.
const LATENCY: usize = 7;

type Outcomes = Result<(), String>;

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Outcomes {
    if condition {
        Ok(())
    } else {
        Err(message())
    }
}

fn unknown_variant_is_a_typed_error() -> Outcomes {
    let options = Options {
        variants: Some(vec!["floor".into(), "no-such-variant".into()]),
        ..Options::default()
    };
    match sigbench::run(&options, &mut Vec::new()) {
        Err(BenchError::UnknownVariant { name }) => {
            ensure(name == "no-such-variant", || format!("named {name:?}"))
        }
        other => Err(format!("expected UnknownVariant, got {other:?}")),
    }
}

fn every_requested_variant_has_a_result(results: &[VariantResult]) -> Outcomes {
    ensure(results.len() == VARIANTS.len(), || {
        format!("{} results for {} variants", results.len(), VARIANTS.len())
    })?;
    for (result, name) in results.iter().zip(VARIANTS) {
        ensure(result.variant == *name, || {
            format!("{} where {name} was expected", result.variant)
        })?;
        match &result.outcome {
            Outcome::Latency(stats) => {
                ensure(stats.rounds == 200, || {
                    format!("{name}: {} rounds", stats.rounds)
                })?;
                ensure(stats.latency.p50_us > 0.0, || format!("{name}: p50 is 0"))?;
                if name.contains("fanout") {
                    let first = stats
                        .first
                        .ok_or(format!("{name}: no first-receiver stats"))?;
                    ensure(first.p50_us <= stats.latency.p50_us, || {
                        format!("{name}: first p50 above last p50")
                    })?;
                }
            }
            Outcome::Throughput(stats) => {
                ensure(stats.lost == 0, || format!("{name}: {} lost", stats.lost))?;
                ensure(stats.violations == 0, || {
                    format!("{name}: {} out of order", stats.violations)
                })?;
                ensure(stats.events_per_s > 0.0, || format!("{name}: no rate"))?;
            }
            Outcome::Alloc(stats) => {
                ensure(stats.allocs_per_event.is_finite(), || {
                    format!("{name}: allocs/event {}", stats.allocs_per_event)
                })?;
                ensure(stats.events == 200, || {
                    format!("{name}: {} events", stats.events)
                })?;
            }
            Outcome::Failed(error) => return Err(format!("{name} failed: {error}")),
        }
    }
    Ok(())
}

fn json_lines_and_plot_are_written(output: &str, plot: &str) -> Outcomes {
    let lines: Vec<Value> = output
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("not JSON lines: {e}"))?;
    ensure(lines.len() == VARIANTS.len(), || {
        format!("{} lines for {} variants", lines.len(), VARIANTS.len())
    })?;
    for line in &lines {
        for key in [
            "variant",
            "rounds",
            "p50_us",
            "p90_us",
            "p99_us",
            "p999_us",
            "max_us",
            "ratio_p50_floor_hop",
            "ratio_p50_peer",
            "ratio_p50_sigbus",
            "ratio_p99_sigbus",
            "ratio_p50_peer_tokio",
            "ratio_p99_peer_tokio",
            "events_per_s",
            "lost",
            "allocs_per_event",
            "rss_kib_per_1000_subs",
        ] {
            ensure(line.get(key).is_some(), || {
                format!("{key} missing in {line}")
            })?;
        }
    }
    let sigbus = lines
        .iter()
        .find(|l| l["variant"] == "sigbus")
        .ok_or("no sigbus line")?;
    ensure(sigbus["ratio_p50_floor_hop"].as_f64().is_some(), || {
        "sigbus has no ratio to floor-hop".into()
    })?;
    ensure(sigbus["ratio_p50_peer"].is_null(), || {
        "a peer ratio without a peer in the run".into()
    })?;
    let polled = lines
        .iter()
        .find(|l| l["variant"] == "sigbus-async")
        .ok_or("no sigbus-async line")?;
    for key in ["ratio_p50_sigbus", "ratio_p50_peer_tokio"] {
        ensure(polled[key].as_f64().is_some(), || {
            format!("sigbus-async has no {key}")
        })?;
    }
    ensure(
        plot.starts_with("<svg") && plot.trim_end().ends_with("</svg>"),
        || "the plot is not an SVG document".into(),
    )?;
    ensure(plot.matches("<polyline").count() == LATENCY, || {
        "one polyline per latency variant expected".into()
    })
}

fn main() -> ExitCode {
    sigbench::child_main_if_requested();
    // A deadline for the whole run, without a thread: SIGALRM's default action
    // ends this process (the benchmark children, forked, do not inherit it).
    // SAFETY: alarm takes an integer and touches no memory.
    unsafe { libc::alarm(600) };
    let started = Instant::now();
    let plot = std::env::temp_dir().join(format!("sigbench-smoke-{}.svg", std::process::id()));
    let options = Options {
        rounds: 200,
        warmup: 50,
        variants: Some(VARIANTS.iter().map(|v| v.to_string()).collect()),
        json: true,
        plot: Some(plot.clone()),
    };
    let mut output = Vec::new();
    let run = sigbench::run(&options, &mut output);
    let output = String::from_utf8_lossy(&output).into_owned();
    let svg = std::fs::read_to_string(&plot).unwrap_or_default();
    let _ = std::fs::remove_file(&plot);

    let tests: Vec<(&str, Outcomes)> = vec![
        (
            "unknown_variant_is_a_typed_error",
            unknown_variant_is_a_typed_error(),
        ),
        (
            "every_requested_variant_has_a_result",
            match &run {
                Ok(results) => every_requested_variant_has_a_result(results),
                Err(e) => Err(format!("the run failed: {e}")),
            },
        ),
        (
            "json_lines_and_plot_are_written",
            json_lines_and_plot_are_written(&output, &svg),
        ),
    ];
    println!("\nrunning {} tests", tests.len());
    let mut failed = 0;
    for (name, outcome) in &tests {
        match outcome {
            Ok(()) => println!("test {name} ... ok"),
            Err(why) => {
                failed += 1;
                println!("test {name} ... FAILED\n    {why}");
            }
        }
    }
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out; finished in {:.2}s\n",
        tests.len() - failed,
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
