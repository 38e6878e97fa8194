//! Date literals as the SOQL and SOSL Reference gives their ranges, counted from fixed days.

use super::super::dates::range;
use chrono::NaiveDate;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The range `[from, to)` of `literal` (`NAME` or `NAME:n`) on `today`, as text.
fn days(literal: &str, today: &str) -> (String, String) {
    let (name, n) = match literal.split_once(':') {
        Some((name, n)) => (name, Some(n)),
        None => (literal, None),
    };
    let (lo, hi) = range(name, n, day(today)).unwrap_or_else(|e| panic!("{literal}: {e}"));
    (lo.to_string(), hi.to_string())
}

#[test]
fn every_calendar_literal() {
    // Wednesday 2024-05-15, in the second quarter.
    let today = "2024-05-15";
    for (literal, from, to) in [
        ("YESTERDAY", "2024-05-14", "2024-05-15"),
        ("TODAY", "2024-05-15", "2024-05-16"),
        ("TOMORROW", "2024-05-16", "2024-05-17"),
        ("LAST_WEEK", "2024-05-05", "2024-05-12"),
        ("THIS_WEEK", "2024-05-12", "2024-05-19"),
        ("NEXT_WEEK", "2024-05-19", "2024-05-26"),
        ("LAST_MONTH", "2024-04-01", "2024-05-01"),
        ("THIS_MONTH", "2024-05-01", "2024-06-01"),
        ("NEXT_MONTH", "2024-06-01", "2024-07-01"),
        ("LAST_90_DAYS", "2024-02-15", "2024-05-16"),
        ("NEXT_90_DAYS", "2024-05-16", "2024-08-14"),
        ("LAST_N_DAYS:1", "2024-05-14", "2024-05-16"),
        ("LAST_N_DAYS:30", "2024-04-15", "2024-05-16"),
        ("NEXT_N_DAYS:1", "2024-05-16", "2024-05-17"),
        ("N_DAYS_AGO:3", "2024-05-12", "2024-05-13"),
        ("LAST_N_WEEKS:2", "2024-04-28", "2024-05-12"),
        ("NEXT_N_WEEKS:2", "2024-05-19", "2024-06-02"),
        ("N_WEEKS_AGO:1", "2024-05-05", "2024-05-12"),
        ("LAST_N_MONTHS:2", "2024-03-01", "2024-05-01"),
        ("NEXT_N_MONTHS:2", "2024-06-01", "2024-08-01"),
        ("N_MONTHS_AGO:12", "2023-05-01", "2023-06-01"),
        ("THIS_QUARTER", "2024-04-01", "2024-07-01"),
        ("LAST_QUARTER", "2024-01-01", "2024-04-01"),
        ("NEXT_QUARTER", "2024-07-01", "2024-10-01"),
        ("LAST_N_QUARTERS:2", "2023-10-01", "2024-04-01"),
        ("NEXT_N_QUARTERS:3", "2024-07-01", "2025-04-01"),
        ("N_QUARTERS_AGO:2", "2023-10-01", "2024-01-01"),
        ("THIS_YEAR", "2024-01-01", "2025-01-01"),
        ("LAST_YEAR", "2023-01-01", "2024-01-01"),
        ("NEXT_YEAR", "2025-01-01", "2026-01-01"),
        ("LAST_N_YEARS:2", "2022-01-01", "2024-01-01"),
        ("NEXT_N_YEARS:2", "2025-01-01", "2027-01-01"),
        ("N_YEARS_AGO:1", "2023-01-01", "2024-01-01"),
        ("LAST_N_DAYS:0", "2024-05-15", "2024-05-16"),
    ] {
        assert_eq!(days(literal, today), (from.into(), to.into()), "{literal}");
    }
}

#[test]
fn boundaries() {
    // Weeks start on Sunday: a Sunday is the first day of its own week.
    assert_eq!(
        days("THIS_WEEK", "2024-05-12"),
        ("2024-05-12".into(), "2024-05-19".into())
    );
    assert_eq!(
        days("THIS_WEEK", "2024-05-18"),
        ("2024-05-12".into(), "2024-05-19".into())
    );
    // Over the end of a year, a leap day, a month's end.
    assert_eq!(
        days("TOMORROW", "2024-12-31"),
        ("2025-01-01".into(), "2025-01-02".into())
    );
    assert_eq!(
        days("NEXT_QUARTER", "2024-11-30"),
        ("2025-01-01".into(), "2025-04-01".into())
    );
    assert_eq!(
        days("LAST_MONTH", "2024-03-31"),
        ("2024-02-01".into(), "2024-03-01".into())
    );
    assert_eq!(
        days("N_YEARS_AGO:4", "2024-02-29"),
        ("2020-01-01".into(), "2021-01-01".into())
    );
    assert_eq!(
        days("THIS_QUARTER", "2024-03-31"),
        ("2024-01-01".into(), "2024-04-01".into())
    );
}

#[test]
fn refusals() {
    let today = day("2024-05-15");
    for (name, n, says) in [
        ("THIS_FISCAL_QUARTER", None, "fiscal year"),
        ("LAST_N_FISCAL_YEARS", Some("2"), "fiscal year"),
        ("LAST_N_DAYS", None, "needs a number"),
        ("TODAY", Some("2"), "takes no number"),
        ("LAST_N_DAYS", Some("-2"), "invalid value"),
        ("LAST_N_DAYS", Some("1.5"), "invalid value"),
        ("LAST_N_DAYS", Some("99999999999"), "invalid value"),
        ("NEXT_N_YEARS", Some("10000"), "out of range"),
        ("LAST_N_DAYS", Some("4000000000"), "out of range"),
        ("NEXT_N_QUARTERS", Some("4294967295"), "out of range"),
        ("SOMEDAY", None, "unexpected token"),
    ] {
        let e = range(name, n, today).unwrap_err();
        assert!(e.contains(says), "{name}: {e}");
    }
    // The last day sluice can compare as text.
    assert!(range("TODAY", None, day("9999-12-31")).is_err());
    assert!(range("YESTERDAY", None, day("9999-12-31")).is_ok());
}
