//! Migration versions from the UTC clock: `YYYYMMDD_HHMMSS`, without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

const SECS_PER_DAY: i64 = 86_400;

/// A UTC calendar time, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Timestamp {
    /// The current UTC time.
    pub fn now() -> Timestamp {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Timestamp::from_unix(i64::try_from(secs).unwrap_or(i64::MAX / 2))
    }

    /// The calendar time of `secs` seconds after 1970-01-01 00:00:00 UTC.
    pub fn from_unix(secs: i64) -> Timestamp {
        let days = secs.div_euclid(SECS_PER_DAY);
        let of_day = secs.rem_euclid(SECS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        // `of_day` is in 0..86_400, so the parts fit a u32.
        let of_day = u32::try_from(of_day).unwrap_or(0);
        Timestamp {
            year,
            month,
            day,
            hour: of_day / 3600,
            minute: of_day / 60 % 60,
            second: of_day % 60,
        }
    }

    /// Seconds since 1970-01-01 00:00:00 UTC.
    pub fn to_unix(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * SECS_PER_DAY
            + i64::from(self.hour * 3600 + self.minute * 60 + self.second)
    }

    /// Reads a version written as a timestamp (`20241124_120000` is
    /// `20241124120000`); `None` when it is not a valid date and time.
    pub fn from_version(version: u64) -> Option<Timestamp> {
        let (date, time) = (version / 1_000_000, version % 1_000_000);
        let t = Timestamp {
            year: i64::try_from(date / 10_000).ok()?,
            month: u32::try_from(date / 100 % 100).ok()?,
            day: u32::try_from(date % 100).ok()?,
            hour: u32::try_from(time / 10_000).ok()?,
            minute: u32::try_from(time / 100 % 100).ok()?,
            second: u32::try_from(time % 100).ok()?,
        };
        let valid = (1000..=9999).contains(&t.year)
            && (1..=12).contains(&t.month)
            && (1..=days_in_month(t.year, t.month)).contains(&t.day)
            && t.hour < 24
            && t.minute < 60
            && t.second < 60;
        valid.then_some(t)
    }

    /// The version number: `20241124120000` for 2024-11-24 12:00:00.
    pub fn version(self) -> u64 {
        let year = u64::try_from(self.year.clamp(0, 9999)).unwrap_or(0);
        let date = year * 10_000 + u64::from(self.month) * 100 + u64::from(self.day);
        let time =
            u64::from(self.hour) * 10_000 + u64::from(self.minute) * 100 + u64::from(self.second);
        date * 1_000_000 + time
    }

    /// `2024-11-24 12:00:00 UTC`.
    pub fn display(self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// The version as written in file names and attributes: `20241124_120000`.
pub fn version_text(version: u64) -> String {
    format!("{:08}_{:06}", version / 1_000_000, version % 1_000_000)
}

/// The version for a new migration: now, or one second after the newest
/// existing version when that is not older than now (two `new` commands in
/// the same second, or a clock behind the versions already written).
pub fn next_version(now: Timestamp, existing: &[u64]) -> u64 {
    let candidate = now.version();
    let Some(&newest) = existing.iter().max() else {
        return candidate;
    };
    if candidate > newest {
        return candidate;
    }
    match Timestamp::from_version(newest) {
        Some(t) => Timestamp::from_unix(t.to_unix() + 1).version(),
        None => newest + 1,
    }
}

/// Year, month (1–12) and day (1–31) of the day `z` days after 1970-01-01,
/// in the proleptic Gregorian calendar (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are small and positive by construction.
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// Days from 1970-01-01 to the given date (the inverse of [`civil_from_days`]).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400); // [0, 399]
    let mp = if month > 2 { month - 3 } else { month + 9 }; // [0, 11]
    let doy = (153 * mp + 2) / 5 + day - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
#[expect(
    clippy::inconsistent_digit_grouping,
    reason = "versions are written YYYYMMDD_HHMMSS, as in migration attributes"
)]
mod tests {
    use super::*;

    #[test]
    fn known_days_convert_both_ways() {
        let cases = [
            (0, (1970, 1, 1)),
            (-1, (1969, 12, 31)),
            (59, (1970, 3, 1)),
            (10_957, (2000, 1, 1)),
            (11_016, (2000, 2, 29)),
            (11_017, (2000, 3, 1)),
            (19_417, (2023, 3, 1)),
            (19_782, (2024, 2, 29)),
            (20_051, (2024, 11, 24)),
            (47_482, (2100, 1, 1)),
            (-719_468, (0, 3, 1)),
        ];
        for (days, date) in cases {
            assert_eq!(civil_from_days(days), date, "day {days}");
            assert_eq!(days_from_civil(date.0, date.1, date.2), days, "{date:?}");
        }
    }

    #[test]
    fn every_day_of_four_centuries_round_trips_in_order() {
        let mut previous = civil_from_days(-1);
        for days in 0..146_097 {
            let date = civil_from_days(days);
            assert_eq!(days_from_civil(date.0, date.1, date.2), days);
            assert!(date > previous, "{date:?} after {previous:?}");
            assert!(date.2 <= days_in_month(date.0, date.1));
            previous = date;
        }
    }

    #[test]
    fn unix_seconds_become_versions() {
        // 2024-11-24 12:00:00 UTC
        let t = Timestamp::from_unix(1_732_449_600);
        assert_eq!(t.version(), 20241124_120000);
        assert_eq!(version_text(t.version()), "20241124_120000");
        assert_eq!(t.display(), "2024-11-24 12:00:00 UTC");
        assert_eq!(
            Timestamp::from_unix(1_732_449_600 + 43_199).version(),
            20241124_235959
        );
        assert_eq!(Timestamp::from_unix(0).version(), 19700101_000000);
    }

    #[test]
    fn versions_read_back_only_when_they_are_dates() {
        let t = Timestamp::from_version(20240229_235959).expect("a valid date");
        assert_eq!(t.version(), 20240229_235959);
        assert_eq!(Timestamp::from_unix(t.to_unix()), t);
        assert_eq!(Timestamp::from_version(20230229_120000), None);
        assert_eq!(Timestamp::from_version(20241301_120000), None);
        assert_eq!(Timestamp::from_version(20241124_126000), None);
        assert_eq!(Timestamp::from_version(1), None);
    }

    #[test]
    fn next_version_is_now_unless_taken() {
        let now = Timestamp::from_version(20241124_120000).expect("valid");
        assert_eq!(next_version(now, &[]), 20241124_120000);
        assert_eq!(next_version(now, &[20241101_000000]), 20241124_120000);
        assert_eq!(next_version(now, &[20241124_120000]), 20241124_120001);
        assert_eq!(next_version(now, &[20241231_235959, 1]), 20250101_000000);
        assert_eq!(next_version(now, &[99999999_999999]), 100000000_000000);
    }
}
