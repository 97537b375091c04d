//! Temporal query parameters (clause 4.11): `timerel`, `timeAt`, `endTimeAt`,
//! `timeproperty`, `lastN`, and ISO 8601 durations for `aggrPeriodDuration`.
//!
//! ```text
//! timerel      = "before" / "after" / "between"
//! timeAt       = DateTime                      ; required with timerel
//! endTimeAt    = DateTime                      ; required with "between", after timeAt
//! timeproperty = "observedAt" / "createdAt" / "modifiedAt" / "deletedAt"
//! duration     = "P" [n "Y"] [n "M"] [n "W"] [n "D"] ["T" [n "H"] [n "M"] [n ["." n] "S"]]
//! ```

use chrono::{DateTime, Duration, Utc};

use crate::error::ParseError;
use crate::value::parse_datetime;

/// A temporal restriction: instances whose time lies in `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimeWindow {
    /// Inclusive start (`after`, `between`).
    pub from: Option<DateTime<Utc>>,
    /// Exclusive end (`before`, `between`).
    pub to: Option<DateTime<Utc>>,
}

/// Parses `timerel`/`timeAt`/`endTimeAt`. No `timerel` = unbounded.
pub fn parse_time_window(
    timerel: Option<&str>,
    time_at: Option<&str>,
    end_time_at: Option<&str>,
) -> Result<TimeWindow, ParseError> {
    let at = |name: &str, v: Option<&str>| -> Result<DateTime<Utc>, ParseError> {
        let v =
            v.ok_or_else(|| ParseError::new(format!("{name} is required with this timerel")))?;
        parse_datetime(v).ok_or_else(|| ParseError::new(format!("{name} '{v}' is not a DateTime")))
    };
    match timerel {
        None if time_at.is_some() || end_time_at.is_some() => {
            Err(ParseError::new("timeAt needs timerel"))
        }
        None => Ok(TimeWindow::default()),
        Some("before") => Ok(TimeWindow {
            from: None,
            to: Some(at("timeAt", time_at)?),
        }),
        Some("after") => Ok(TimeWindow {
            from: Some(at("timeAt", time_at)?),
            to: None,
        }),
        Some("between") => {
            let (from, to) = (at("timeAt", time_at)?, at("endTimeAt", end_time_at)?);
            if to <= from {
                return Err(ParseError::new("endTimeAt must be later than timeAt"));
            }
            Ok(TimeWindow {
                from: Some(from),
                to: Some(to),
            })
        }
        Some(other) => Err(ParseError::new(format!("unknown timerel '{other}'"))),
    }
}

/// Parses an ISO 8601 duration such as `PT1H`, `P1D`, `P1DT12H30M`. Years and months are
/// taken as 365 and 30 days. A zero duration is an error.
pub fn parse_duration(s: &str) -> Result<Duration, ParseError> {
    let bad = || ParseError::new(format!("'{s}' is not an ISO 8601 duration"));
    let rest = s.strip_prefix('P').ok_or_else(bad)?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return Err(bad()),
        None => (rest, None),
    };
    let mut total = Duration::zero();
    let mut parse_part = |part: &str, units: &[(char, i64)]| -> Result<(), ParseError> {
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
                continue;
            }
            let secs = units
                .iter()
                .find(|(u, _)| *u == c)
                .map(|(_, s)| *s)
                .ok_or_else(bad)?;
            let n: f64 = num.parse().map_err(|_| bad())?;
            let micros = (n * secs as f64 * 1_000_000.0).round();
            if !micros.is_finite() || micros > 1e17 {
                return Err(bad());
            }
            total += Duration::microseconds(micros as i64);
            num.clear();
        }
        if num.is_empty() { Ok(()) } else { Err(bad()) }
    };
    parse_part(
        date,
        &[
            ('Y', 365 * 86_400),
            ('M', 30 * 86_400),
            ('W', 7 * 86_400),
            ('D', 86_400),
        ],
    )?;
    if let Some(t) = time {
        parse_part(t, &[('H', 3600), ('M', 60), ('S', 1)])?;
    }
    if total <= Duration::zero() {
        return Err(ParseError::new(format!("'{s}' is an empty duration")));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_windows() {
        assert_eq!(parse_duration("PT1H").unwrap(), Duration::hours(1));
        assert_eq!(
            parse_duration("P1DT12H30M").unwrap(),
            Duration::minutes(36 * 60 + 30)
        );
        assert_eq!(
            parse_duration("PT0.5S").unwrap(),
            Duration::milliseconds(500)
        );
        assert_eq!(parse_duration("P1W").unwrap(), Duration::days(7));
        for bad in ["", "P", "PT", "1H", "PT1X", "P1H", "PT0S", "PTH"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        let w = parse_time_window(
            Some("between"),
            Some("2024-01-01T00:00:00Z"),
            Some("2024-01-02T00:00:00Z"),
        )
        .unwrap();
        assert!(w.from.is_some() && w.to.is_some());
        assert!(
            parse_time_window(
                Some("between"),
                Some("2024-01-02T00:00:00Z"),
                Some("2024-01-01T00:00:00Z")
            )
            .is_err()
        );
        assert!(parse_time_window(Some("before"), None, None).is_err());
        assert!(parse_time_window(Some("around"), Some("2024-01-01T00:00:00Z"), None).is_err());
        assert_eq!(
            parse_time_window(None, None, None).unwrap(),
            TimeWindow::default()
        );
    }
}
