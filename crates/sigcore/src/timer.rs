//! `alarm` and the three interval timers (`setitimer`/`getitimer`).

use std::time::Duration;

use crate::{sys, Error, Result, Signal};

/// Schedules SIGALRM in `seconds` (0 cancels); returns the seconds that were left
/// on the previous alarm (Python's `signal.alarm`). Shares the real timer with
/// [`set_timer`]`(Timer::Real, ..)`.
///
/// # Examples
///
/// ```
/// assert_eq!(sigcore::alarm(100), 0);
/// assert!(sigcore::alarm(0) > 90); // cancelled; about 100 were left
/// ```
pub fn alarm(seconds: u32) -> u32 {
    sys::alarm(seconds)
}

/// Which interval timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Wall-clock time; delivers SIGALRM (`ITIMER_REAL`).
    Real,
    /// User CPU time of the process; delivers SIGVTALRM (`ITIMER_VIRTUAL`).
    Virtual,
    /// User and system CPU time; delivers SIGPROF (`ITIMER_PROF`).
    Profiling,
}

impl Timer {
    /// The signal the timer delivers.
    pub fn signal(self) -> Signal {
        match self {
            Timer::Real => Signal::ALRM,
            Timer::Virtual => Signal::VTALRM,
            Timer::Profiling => Signal::PROF,
        }
    }

    fn which(self) -> libc::c_int {
        match self {
            Timer::Real => libc::ITIMER_REAL,
            Timer::Virtual => libc::ITIMER_VIRTUAL,
            Timer::Profiling => libc::ITIMER_PROF,
        }
    }
}

/// A timer's setting: time to the next expiry, and the period after it (zero: one-shot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerValue {
    /// Time until the next expiry; zero means disarmed.
    pub value: Duration,
    /// Reload value after each expiry; zero makes the timer one-shot.
    pub interval: Duration,
}

/// `d` rounded up to a whole microsecond.
fn ceil_to_micros(d: Duration) -> Duration {
    let sub = d.subsec_nanos() % 1_000;
    if sub == 0 {
        d
    } else {
        d.saturating_add(Duration::from_nanos(u64::from(1_000 - sub)))
    }
}

/// Longest value the kernel accepts (`time_t` seconds, kept well inside the range).
const MAX_TIMER: Duration = Duration::from_secs(100_000_000);

/// Arms (or, with a zero `value`, disarms) an interval timer; returns its previous
/// setting (Python's `setitimer`). Resolution is a microsecond: values are
/// rounded up to the next one, so a non-zero value never disarms the timer.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for an interval without a value (the timer would
/// never start) or values over 100,000,000 seconds.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use sigcore::{Timer, TimerValue};
///
/// let ms = Duration::from_millis;
/// sigcore::set_timer(Timer::Real, TimerValue { value: ms(500), interval: ms(250) })?;
/// let now = sigcore::get_timer(Timer::Real)?;
/// assert_eq!(now.interval, ms(250));
/// assert!(now.value <= ms(500));
/// sigcore::set_timer(Timer::Real, TimerValue::default())?; // disarm
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn set_timer(timer: Timer, setting: TimerValue) -> Result<TimerValue> {
    // The kernel takes microseconds: round up (as CPython does), so that 500 ns
    // arms a 1 µs timer instead of truncating to zero, which would disarm it or
    // turn a periodic timer into a one-shot. Then check what is actually passed.
    let setting = TimerValue {
        value: ceil_to_micros(setting.value),
        interval: ceil_to_micros(setting.interval),
    };
    if setting.value.is_zero() && !setting.interval.is_zero() {
        return Err(Error::InvalidArgument(
            "a timer interval needs a non-zero initial value",
        ));
    }
    if setting.value > MAX_TIMER || setting.interval > MAX_TIMER {
        return Err(Error::InvalidArgument(
            "timer values are limited to 100,000,000 seconds",
        ));
    }
    let (value, interval) = sys::setitimer(timer.which(), setting.value, setting.interval)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EINVAL) => Error::InvalidArgument("the kernel refused the timer value"),
            _ => Error::io("setitimer", e),
        })?;
    Ok(TimerValue { value, interval })
}

/// The current setting of an interval timer (Python's `getitimer`).
///
/// # Errors
///
/// [`Error::Io`] if `getitimer` fails.
///
/// # Examples
///
/// ```
/// let idle = sigcore::get_timer(sigcore::Timer::Virtual)?;
/// assert!(idle.value.is_zero());
/// # Ok::<(), sigcore::Error>(())
/// ```
pub fn get_timer(timer: Timer) -> Result<TimerValue> {
    let (value, interval) = sys::getitimer(timer.which()).map_err(|e| Error::io("getitimer", e))?;
    Ok(TimerValue { value, interval })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_microsecond_values_round_up() {
        assert_eq!(
            ceil_to_micros(Duration::from_nanos(1)),
            Duration::from_micros(1)
        );
        assert_eq!(
            ceil_to_micros(Duration::from_nanos(1_500)),
            Duration::from_micros(2)
        );
        assert_eq!(
            ceil_to_micros(Duration::from_micros(7)),
            Duration::from_micros(7)
        );
        assert_eq!(ceil_to_micros(Duration::ZERO), Duration::ZERO);
        assert_eq!(ceil_to_micros(Duration::MAX), Duration::MAX);
    }
}
