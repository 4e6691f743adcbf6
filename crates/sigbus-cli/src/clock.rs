//! Wall-clock time of an event, for `watch`'s timestamps.
//!
//! sigcore stamps each event with the monotonic clock when its waiter accepts
//! it ([`sigcore::SignalEvent::at`]); a reader wants the time of day. The two
//! are joined at print time: now on the wall clock, less how long ago the event
//! was accepted. Text output shows RFC 3339 in UTC with milliseconds
//! (`2025-01-31T12:34:56.789Z`); JSON gives seconds since the Unix epoch as a
//! number with millisecond precision (`1738326896.789`), which scripts compare
//! and subtract directly.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch at which `at` happened (0 before 1970).
pub fn epoch_millis(at: Instant) -> u64 {
    let now = SystemTime::now();
    let then = now.checked_sub(at.elapsed()).unwrap_or(now);
    then.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Seconds since the Unix epoch, millisecond precision, for JSON.
pub fn epoch_seconds(millis: u64) -> f64 {
    millis as f64 / 1000.0
}

/// RFC 3339 in UTC with milliseconds: `2025-01-31T12:34:56.789Z`.
pub fn rfc3339(millis: u64) -> String {
    let (secs, ms) = (millis / 1000, millis % 1000);
    let (days, of_day) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_738_326_896_789), "2025-01-31T12:34:56.789Z");
        assert_eq!(rfc3339(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(epoch_seconds(1_738_326_896_789), 1_738_326_896.789);
    }

    #[test]
    fn an_event_just_accepted_is_now() {
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let stamped = epoch_millis(Instant::now());
        let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        assert!(
            stamped + 1 >= before.as_millis() as u64,
            "{stamped} {before:?}"
        );
        assert!(stamped <= after.as_millis() as u64, "{stamped} {after:?}");
    }
}
