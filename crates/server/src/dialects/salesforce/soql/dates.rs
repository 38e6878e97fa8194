//! SOQL's date literals as ranges of days: `TODAY`, `LAST_WEEK`, `NEXT_N_MONTHS:3`… Each is the
//! half-open range `[first day, day after the last)` that the SOQL and SOSL Reference ("Date
//! Formats and Date Literals") gives it, counted from today in UTC (sluice has no user time zone)
//! with weeks starting on Sunday (the `en_US` locale's first day; sluice has no locale). The fiscal
//! literals depend on an org's fiscal year settings, which sluice does not have: refused.

use chrono::{Datelike, Days, Months, NaiveDate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

/// Where a literal's range lies, in whole units from the current one (0 is this day, week…):
/// `from` inclusive, `to` exclusive.
fn span(name: &str, n: Option<u32>) -> Option<(Unit, i64, i64)> {
    use Unit::*;
    let fixed = |u, from, to| n.is_none().then_some((u, from, to));
    let counted = |u, f: fn(i64) -> (i64, i64)| {
        n.map(|n| {
            let (from, to) = f(i64::from(n));
            (u, from, to)
        })
    };
    match name {
        "YESTERDAY" => fixed(Day, -1, 0),
        "TODAY" => fixed(Day, 0, 1),
        "TOMORROW" => fixed(Day, 1, 2),
        "LAST_WEEK" => fixed(Week, -1, 0),
        "THIS_WEEK" => fixed(Week, 0, 1),
        "NEXT_WEEK" => fixed(Week, 1, 2),
        "LAST_MONTH" => fixed(Month, -1, 0),
        "THIS_MONTH" => fixed(Month, 0, 1),
        "NEXT_MONTH" => fixed(Month, 1, 2),
        // "Starts with the current day and continues for the past 90 days": 91 days.
        "LAST_90_DAYS" => fixed(Day, -90, 1),
        // "Starts 00:00:00 of the next day and continues for the next 90 days."
        "NEXT_90_DAYS" => fixed(Day, 1, 91),
        "LAST_QUARTER" => fixed(Quarter, -1, 0),
        "THIS_QUARTER" => fixed(Quarter, 0, 1),
        "NEXT_QUARTER" => fixed(Quarter, 1, 2),
        "LAST_YEAR" => fixed(Year, -1, 0),
        "THIS_YEAR" => fixed(Year, 0, 1),
        "NEXT_YEAR" => fixed(Year, 1, 2),
        // Days include today; weeks, months, quarters and years are whole ones before the
        // current one.
        "LAST_N_DAYS" => counted(Day, |n| (-n, 1)),
        "NEXT_N_DAYS" => counted(Day, |n| (1, n + 1)),
        "N_DAYS_AGO" => counted(Day, |n| (-n, 1 - n)),
        "LAST_N_WEEKS" => counted(Week, |n| (-n, 0)),
        "NEXT_N_WEEKS" => counted(Week, |n| (1, n + 1)),
        "N_WEEKS_AGO" => counted(Week, |n| (-n, 1 - n)),
        "LAST_N_MONTHS" => counted(Month, |n| (-n, 0)),
        "NEXT_N_MONTHS" => counted(Month, |n| (1, n + 1)),
        "N_MONTHS_AGO" => counted(Month, |n| (-n, 1 - n)),
        "LAST_N_QUARTERS" => counted(Quarter, |n| (-n, 0)),
        "NEXT_N_QUARTERS" => counted(Quarter, |n| (1, n + 1)),
        "N_QUARTERS_AGO" => counted(Quarter, |n| (-n, 1 - n)),
        "LAST_N_YEARS" => counted(Year, |n| (-n, 0)),
        "NEXT_N_YEARS" => counted(Year, |n| (1, n + 1)),
        "N_YEARS_AGO" => counted(Year, |n| (-n, 1 - n)),
        _ => None,
    }
}

/// The first day of the unit `today` is in.
fn start_of(unit: Unit, today: NaiveDate) -> NaiveDate {
    let first_of = |month: u32| NaiveDate::from_ymd_opt(today.year(), month, 1).unwrap_or(today);
    match unit {
        Unit::Day => today,
        Unit::Week => today - Days::new(u64::from(today.weekday().num_days_from_sunday())),
        Unit::Month => first_of(today.month()),
        Unit::Quarter => first_of((today.month() - 1) / 3 * 3 + 1),
        Unit::Year => first_of(1),
    }
}

/// `start` moved by `k` units; `None` past the calendar's ends.
fn shift(unit: Unit, start: NaiveDate, k: i64) -> Option<NaiveDate> {
    let (days, months) = match unit {
        Unit::Day => (k, 0),
        Unit::Week => (k.checked_mul(7)?, 0),
        Unit::Month => (0, k),
        Unit::Quarter => (0, k.checked_mul(3)?),
        Unit::Year => (0, k.checked_mul(12)?),
    };
    let by_days = |d: NaiveDate| match u64::try_from(days) {
        Ok(up) => d.checked_add_days(Days::new(up)),
        Err(_) => d.checked_sub_days(Days::new(days.unsigned_abs())),
    };
    let by_months = |d: NaiveDate| {
        let m = u32::try_from(months.unsigned_abs()).ok()?;
        if months >= 0 {
            d.checked_add_months(Months::new(m))
        } else {
            d.checked_sub_months(Months::new(m))
        }
    };
    by_days(start).and_then(by_months)
}

/// The days literal `name` (upper case) with its `n` stands for, from `today`; the refusal's text
/// otherwise.
pub fn range(
    name: &str,
    n: Option<&str>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), String> {
    if name.contains("FISCAL") {
        return Err(format!(
            "the date literal {name} is not supported: sluice has no fiscal year settings"
        ));
    }
    let count = match n {
        Some(text) => Some(
            text.parse::<u32>()
                .map_err(|_| format!("invalid value for the date literal {name}: {text}"))?,
        ),
        None => None,
    };
    let (unit, from, to) = span(name, count).ok_or_else(|| match (n, span(name, Some(1))) {
        (None, Some(_)) => format!("the date literal {name} needs a number: {name}:n"),
        (Some(_), None) if span(name, None).is_some() => {
            format!("the date literal {name} takes no number")
        }
        _ => format!("unexpected token: '{name}'"),
    })?;
    let start = start_of(unit, today);
    // Dates past year 9999 do not keep their order as text (SQLite stores dates as text).
    let ok = |d: NaiveDate| (1..=9999).contains(&d.year());
    match (shift(unit, start, from), shift(unit, start, to)) {
        (Some(lo), Some(hi)) if ok(lo) && ok(hi) => Ok((lo, hi)),
        _ => Err(format!("the date literal {name} is out of range")),
    }
}
