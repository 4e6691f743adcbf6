//! One latency histogram per measurement: nanoseconds in, microsecond
//! percentiles and a plot curve out.

use hdrhistogram::Histogram;

use crate::Percentiles;

/// Largest value kept apart (60 s); larger ones saturate.
const HIGHEST_NS: u64 = 60_000_000_000;

/// Curve resolution: points per decade of `1 / (1 - p)`.
const CURVE_STEPS_PER_DECADE: u32 = 50;

/// A latency histogram in nanoseconds, 3 significant digits. All memory is
/// allocated up front: recording never allocates.
pub(crate) struct Recorder {
    histogram: Histogram<u64>,
}

impl Recorder {
    pub(crate) fn new() -> Recorder {
        Recorder {
            histogram: Histogram::new_with_bounds(1, HIGHEST_NS, 3)
                .expect("constant bounds are valid"),
        }
    }

    pub(crate) fn record(&mut self, nanos: u64) {
        self.histogram.saturating_record(nanos.max(1));
    }

    pub(crate) fn len(&self) -> u64 {
        self.histogram.len()
    }

    pub(crate) fn percentiles(&self) -> Percentiles {
        let us = |q: f64| self.histogram.value_at_quantile(q) as f64 / 1000.0;
        Percentiles {
            min_us: self.histogram.min() as f64 / 1000.0,
            p50_us: us(0.50),
            p90_us: us(0.90),
            p99_us: us(0.99),
            p999_us: us(0.999),
            max_us: self.histogram.max() as f64 / 1000.0,
        }
    }

    /// `(x, µs)` points with `x = log10(1 / (1 - p))`, from the minimum up to
    /// p99.99 or as far as the samples go (x ≤ log10(samples)), then the maximum.
    pub(crate) fn curve(&self) -> Vec<(f64, f64)> {
        let samples = self.len();
        if samples == 0 {
            return Vec::new();
        }
        let last_x = (samples as f64).log10().min(4.0);
        let steps = (last_x * f64::from(CURVE_STEPS_PER_DECADE)).floor() as u32;
        let mut points: Vec<(f64, f64)> = (0..=steps)
            .map(|i| {
                let x = f64::from(i) / f64::from(CURVE_STEPS_PER_DECADE);
                let q = 1.0 - 10f64.powf(-x);
                (x, self.histogram.value_at_quantile(q) as f64 / 1000.0)
            })
            .collect();
        points.push((last_x, self.histogram.max() as f64 / 1000.0));
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_in_microseconds() {
        let mut recorder = Recorder::new();
        for ns in 1..=1000u64 {
            recorder.record(ns * 1000);
        }
        let p = recorder.percentiles();
        assert_eq!(p.min_us, 1.0);
        assert!((p.p50_us - 500.0).abs() < 1.0, "{p:?}");
        assert!((p.p99_us - 990.0).abs() < 1.0, "{p:?}");
        assert!((p.max_us - 1000.0).abs() < 1.0, "{p:?}");
    }

    #[test]
    fn the_curve_rises_and_stops_where_the_samples_do() {
        let mut recorder = Recorder::new();
        for ns in 1..=100u64 {
            recorder.record(ns * 1000);
        }
        let curve = recorder.curve();
        assert_eq!(curve.first().unwrap().0, 0.0);
        assert!((curve.last().unwrap().0 - 2.0).abs() < 1e-9);
        assert!(curve.windows(2).all(|w| w[0].1 <= w[1].1));
    }
}
