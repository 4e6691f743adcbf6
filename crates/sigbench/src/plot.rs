//! A hand-written SVG latency-percentile plot, HDR style: x is the percentile on
//! a log scale of `1 / (1 - p)`, y is µs (log scale, so a 256-thread fan-out and
//! a single wake-up fit on one chart), one polyline per latency variant.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use crate::VariantResult;

const WIDTH: f64 = 980.0;
const HEIGHT: f64 = 580.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 250.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
/// Decades of `1 / (1 - p)` on the x axis: 0% to 99.99%.
const DECADES: f64 = 4.0;

/// Distinct colours (Tableau 10 plus four), cycled.
const PALETTE: &[&str] = &[
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#1b9e77", "#d95f02", "#7570b3", "#e7298a",
];

/// Writes the plot of every latency result to `path`.
pub(crate) fn write(path: &Path, results: &[VariantResult]) -> io::Result<()> {
    std::fs::write(path, svg(results))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Tick values of the 1-2-5 sequence covering `[low, high]`.
fn ticks(low: f64, high: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = 10f64.powf(low.log10().floor());
    while decade <= high {
        for step in [1.0, 2.0, 5.0] {
            let tick = decade * step;
            if tick >= low && tick <= high {
                ticks.push(tick);
            }
        }
        decade *= 10.0;
    }
    ticks
}

pub(crate) fn svg(results: &[VariantResult]) -> String {
    let series: Vec<(&str, &[(f64, f64)])> = results
        .iter()
        .filter_map(|r| Some((r.variant.as_str(), r.latency()?.curve.as_slice())))
        .filter(|(_, curve)| !curve.is_empty())
        .collect();
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let values = series.iter().flat_map(|(_, c)| c.iter().map(|p| p.1));
    let low = values.clone().fold(f64::INFINITY, f64::min);
    // An empty run still gets axes: 1 to 100 µs.
    let low = if low.is_finite() { low.max(0.01) } else { 1.0 };
    let high = values.fold(0.0, f64::max).max(low * 10.0);
    // Whole 1-2-5 steps around the data.
    let y_low = ticks(low / 10.0, low).last().copied().unwrap_or(low);
    let y_high = ticks(high, high * 10.0).first().copied().unwrap_or(high);
    let (log_low, log_high) = (y_low.log10(), y_high.log10());
    let x_at = |x: f64| LEFT + x.clamp(0.0, DECADES) / DECADES * plot_w;
    let y_at = |us: f64| {
        let t = (us.max(y_low).log10() - log_low) / (log_high - log_low);
        TOP + plot_h * (1.0 - t)
    };

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="28" font-size="16" text-anchor="middle">Signal dispatch latency by percentile (kill → event in the receiving thread)</text>"#,
        LEFT + plot_w / 2.0
    );
    // Grid and axes.
    for (decade, label) in ["0%", "90%", "99%", "99.9%", "99.99%"].iter().enumerate() {
        let x = x_at(decade as f64);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/>"##,
            TOP + plot_h
        );
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#,
            TOP + plot_h + 18.0
        );
    }
    for tick in ticks(y_low, y_high) {
        let y = y_at(tick);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/>"##,
            LEFT + plot_w
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{tick}</text>"#,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile (log scale of 1/(1-p))</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 16.0
    );
    let _ = writeln!(
        s,
        r#"<text x="18" y="{:.1}" text-anchor="middle" transform="rotate(-90 18 {:.1})">latency, µs (log scale)</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );
    if series.is_empty() {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">no latency results</text>"#,
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0
        );
    }
    // One polyline per variant; baselines dashed. Legend on the right.
    for (i, (name, curve)) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let dash = if name.starts_with("floor") {
            r#" stroke-dasharray="6 3""#
        } else {
            ""
        };
        let points: Vec<String> = curve
            .iter()
            .map(|(x, us)| format!("{:.1},{:.1}", x_at(*x), y_at(*us)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.8"{dash} points="{}"/>"#,
            points.join(" ")
        );
        let y = TOP + 8.0 + 18.0 * i as f64;
        let x = LEFT + plot_w + 16.0;
        let _ = writeln!(
            s,
            r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="2.5"{dash}/>"#,
            x + 24.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            x + 30.0,
            y + 4.0,
            escape(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LatencyStats, Outcome, Percentiles};

    #[test]
    fn ticks_follow_one_two_five() {
        assert_eq!(ticks(1.0, 60.0), [1.0, 2.0, 5.0, 10.0, 20.0, 50.0]);
        assert_eq!(ticks(3.0, 4.0), Vec::<f64>::new());
    }

    #[test]
    fn every_latency_variant_gets_a_polyline_and_a_legend_entry() {
        let result = |name: &str| VariantResult {
            variant: name.into(),
            outcome: Outcome::Latency(LatencyStats {
                rounds: 100,
                warmup: 0,
                scaled: false,
                latency: Percentiles::default(),
                first: None,
                curve: vec![(0.0, 5.0), (1.0, 7.0), (2.0, 30.0)],
            }),
        };
        let failed = VariantResult {
            variant: "sigbus".into(),
            outcome: Outcome::Failed("x".into()),
        };
        let svg = svg(&[result("floor"), result("a<b"), failed]);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("a&lt;b"));
        assert!(svg.contains("99.99%"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn an_empty_run_still_makes_a_valid_picture() {
        let svg = svg(&[]);
        assert!(svg.contains("no latency results"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }
}
