//! Milliseconds since the Unix epoch (UTC). Time is always passed into the domain, never read.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A point in time, in whole milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Seconds elapsed from `earlier` to `self` (negative when `self` is earlier).
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        (self.0 - earlier.0) as f64 / 1000.0
    }

    /// `self` moved by a (possibly fractional) number of hours, saturating; NaN hours move
    /// nothing (rather than jumping to the start of time).
    pub fn plus_hours(self, hours: f64) -> Timestamp {
        if hours.is_nan() {
            return self;
        }
        let millis = (hours * 3_600_000.0).round();
        let millis = if millis.is_finite() {
            millis.clamp(i64::MIN as f64, i64::MAX as f64) as i64
        } else if millis > 0.0 {
            i64::MAX
        } else {
            i64::MIN
        };
        Timestamp(self.0.saturating_add(millis))
    }

    /// Parses RFC 3339 (`2026-11-23T10:00:00Z`).
    pub fn parse_rfc3339(text: &str) -> Result<Self, time::error::Parse> {
        let parsed =
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)?;
        // Floor, not truncation: 1969-12-31T23:59:59.9995Z lies before the epoch, in ms -1.
        Ok(Self(
            parsed.unix_timestamp_nanos().div_euclid(1_000_000) as i64
        ))
    }

    /// RFC 3339 in UTC with millisecond precision; falls back to the raw number when out of range.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(at) => at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| self.0.to_string()),
            Err(_) => self.0.to_string(),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// On the wire a timestamp is an RFC 3339 string.
impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

/// Accepts an RFC 3339 string, or milliseconds since the epoch as an integer (a whole float
/// such as `1.7e12` too) or as a string of digits — the form `to_rfc3339` falls back to for
/// times beyond year 9999, so every timestamp round-trips.
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TimestampVisitor)
    }
}

struct TimestampVisitor;

impl serde::de::Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "an RFC 3339 time such as 2026-11-23T10:00:00Z or whole milliseconds since the epoch",
        )
    }

    fn visit_i64<E: serde::de::Error>(self, millis: i64) -> Result<Timestamp, E> {
        Ok(Timestamp(millis))
    }

    fn visit_u64<E: serde::de::Error>(self, millis: u64) -> Result<Timestamp, E> {
        i64::try_from(millis)
            .map(Timestamp)
            .map_err(|_| E::custom(format!("{millis} milliseconds is out of range")))
    }

    fn visit_f64<E: serde::de::Error>(self, millis: f64) -> Result<Timestamp, E> {
        // 2^63 as f64; every whole float strictly inside ±2^63 converts exactly.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if millis.is_finite() && millis.fract() == 0.0 && millis.abs() < LIMIT {
            Ok(Timestamp(millis as i64))
        } else {
            Err(E::custom(format!(
                "{millis} is not a whole number of milliseconds since the epoch"
            )))
        }
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
        match Timestamp::parse_rfc3339(text) {
            Ok(at) => Ok(at),
            Err(error) => text.parse::<i64>().map(Timestamp).map_err(|_| {
                E::custom(format!(
                    "expected an RFC 3339 time such as 2026-11-23T10:00:00Z or milliseconds since the epoch: {error}"
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_to_the_millisecond() {
        let at = Timestamp::parse_rfc3339("2026-11-23T10:00:00.250Z").expect("valid time");
        assert_eq!(at.as_millis(), 1_795_428_000_250);
        assert_eq!(at.to_rfc3339(), "2026-11-23T10:00:00.25Z");
    }

    #[test]
    fn hours_may_be_fractional() {
        let at = Timestamp::from_millis(0).plus_hours(1.5);
        assert_eq!(at.as_millis(), 5_400_000);
        assert_eq!(at.seconds_since(Timestamp::from_millis(0)), 5400.0);
    }
    fn parse(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).expect("valid time")
    }

    fn from_json(value: serde_json::Value) -> Result<Timestamp, serde_json::Error> {
        serde_json::from_value(value)
    }

    #[test]
    fn an_offset_is_converted_to_utc() {
        assert_eq!(
            parse("2026-11-23T12:00:00+02:00"),
            parse("2026-11-23T10:00:00Z")
        );
        assert_eq!(
            parse("2026-11-23T10:00:00Z").to_rfc3339(),
            "2026-11-23T10:00:00Z"
        );
    }

    #[test]
    fn sub_millisecond_times_before_the_epoch_round_down() {
        assert_eq!(parse("1969-12-31T23:59:59.9995Z").as_millis(), -1);
        assert_eq!(parse("1970-01-01T00:00:00.0005Z").as_millis(), 0);
        assert_eq!(
            Timestamp::from_millis(-1).to_rfc3339(),
            "1969-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn a_time_without_offset_is_refused() {
        assert!(Timestamp::parse_rfc3339("2026-11-23T10:00:00").is_err());
        assert!(Timestamp::parse_rfc3339("2026-11-23").is_err());
    }

    #[test]
    fn times_beyond_year_9999_round_trip_as_digits() {
        for millis in [i64::MAX, i64::MIN, 253_402_300_800_000] {
            let at = Timestamp::from_millis(millis);
            assert_eq!(at.to_rfc3339(), millis.to_string());
            let wire = serde_json::to_value(at).expect("serializes");
            assert_eq!(from_json(wire).expect("deserializes"), at);
        }
    }

    #[test]
    fn the_wire_form_is_a_string_and_reads_back() {
        let at = Timestamp::from_millis(1_795_428_000_250);
        let wire = serde_json::to_value(at).expect("serializes");
        assert_eq!(wire, serde_json::json!("2026-11-23T10:00:00.25Z"));
        assert_eq!(from_json(wire).expect("deserializes"), at);
    }

    #[test]
    fn milliseconds_may_be_an_integer_or_a_whole_float() {
        use serde_json::json;
        assert_eq!(
            from_json(json!(1_795_428_000_000_i64)).expect("integer"),
            Timestamp::from_millis(1_795_428_000_000)
        );
        assert_eq!(
            from_json(json!(-5)).expect("negative"),
            Timestamp::from_millis(-5)
        );
        assert_eq!(
            from_json(json!(1.7e12)).expect("whole float"),
            Timestamp::from_millis(1_700_000_000_000)
        );
        let fractional = from_json(json!(1.5)).expect_err("fractional").to_string();
        assert!(
            fractional.contains("whole number of milliseconds"),
            "{fractional}"
        );
        let huge = from_json(json!(u64::MAX))
            .expect_err("beyond i64")
            .to_string();
        assert!(huge.contains("out of range"), "{huge}");
    }

    #[test]
    fn other_shapes_are_refused_with_an_example() {
        for value in [
            serde_json::json!(true),
            serde_json::json!("yesterday"),
            serde_json::json!({}),
        ] {
            let message = from_json(value.clone()).expect_err("refused").to_string();
            assert!(
                message.contains("2026-11-23T10:00:00Z"),
                "{value}: {message}"
            );
        }
    }

    #[test]
    fn plus_hours_saturates_and_ignores_nan() {
        let at = Timestamp::from_millis(1_000);
        assert_eq!(at.plus_hours(f64::NAN), at);
        assert_eq!(at.plus_hours(f64::INFINITY).as_millis(), i64::MAX);
        assert_eq!(
            at.plus_hours(f64::NEG_INFINITY).as_millis(),
            i64::MIN + 1_000
        );
        assert_eq!(
            Timestamp::from_millis(-1).plus_hours(-1e300).as_millis(),
            i64::MIN
        );
        assert_eq!(at.plus_hours(1e300).as_millis(), i64::MAX);
        assert_eq!(at.plus_hours(-0.5).as_millis(), 1_000 - 1_800_000);
        assert_eq!(
            Timestamp::from_millis(i64::MAX).plus_hours(1.0).as_millis(),
            i64::MAX
        );
    }

    #[test]
    fn seconds_since_is_negative_for_a_later_reference() {
        let early = Timestamp::from_millis(0);
        let late = Timestamp::from_millis(1_500);
        assert_eq!(late.seconds_since(early), 1.5);
        assert_eq!(early.seconds_since(late), -1.5);
        assert!(early < late);
    }
}
