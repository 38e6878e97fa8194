//! Each operator with each kind of value, as SQL and parameters: strings without regard to case,
//! numbers, booleans, nulls, ids, dates and dateTimes, date literals, IN lists and LIKE.

use super::{filter, refused};
use serde_json::json;

const AGE: &str = "\"t0\".\"Age\"";

#[test]
fn comparisons_of_numbers() {
    for (op, sql) in [
        ("=", "="),
        ("!=", "<>"),
        ("<>", "<>"),
        ("<", "<"),
        ("<=", "<="),
        (">", ">"),
        (">=", ">="),
    ] {
        let (w, p) = filter(&format!("SELECT Id FROM Contact WHERE Age {op} 30"));
        if op.contains('!') || op == "<>" {
            assert_eq!(w, format!("({AGE} IS NULL OR {AGE} <> ?)"));
        } else {
            assert_eq!(w, format!("({AGE} {sql} ?)"));
        }
        assert_eq!(p, [json!(30)]);
    }
    let (w, p) = filter("SELECT Id FROM Contact WHERE Score >= -2.5 AND Score < 10");
    assert_eq!(w, "(\"t0\".\"Score\" >= ?) AND (\"t0\".\"Score\" < ?)");
    assert_eq!(p, [json!(-2.5), json!(10)]);
    // A fraction against an integer field compares as a real number.
    let (w, p) = filter("SELECT Id FROM Contact WHERE Age > 29.5");
    assert_eq!(w, format!("({AGE} > CAST(? AS DOUBLE PRECISION))"));
    assert_eq!(p, [json!(29.5)]);
    let (_, p) = filter("SELECT Id FROM Contact WHERE Age = 3.0");
    assert_eq!(p, [json!(3.0)]);
    let e = refused(&format!(
        "SELECT Id FROM Contact WHERE Age = 1{}",
        "0".repeat(400)
    ));
    assert_eq!(e.code, "MALFORMED_QUERY");
    assert!(
        e.message.contains("numeric value out of range"),
        "{}",
        e.message
    );
}

#[test]
fn strings_compare_without_regard_to_case() {
    let (w, p) = filter("SELECT Id FROM Contact WHERE LastName = 'McDonald' OR Email > 'B'");
    assert_eq!(
        w,
        "(LOWER(\"t0\".\"LastName\") = ?) OR (LOWER(\"t0\".\"Email\") > ?)"
    );
    assert_eq!(p, [json!("mcdonald"), json!("b")]);
    let (w, _) = filter("SELECT Id FROM Contact WHERE LastName != 'x'");
    assert_eq!(
        w,
        "(\"t0\".\"LastName\" IS NULL OR LOWER(\"t0\".\"LastName\") <> ?)"
    );
}

#[test]
fn ids_compare_exactly_in_lower_case() {
    let (w, p) = filter(
        "SELECT Id FROM Contact WHERE Id = '0190A5E2-AAAA-7BBB-8CCC-DDDDEEEEFFFF' \
         OR AccountId = 'Not-A-Uuid' OR CreatedById = 'Rita'",
    );
    assert_eq!(
        w,
        "(\"t0\".\"id\" = ?) OR (\"t0\".\"AccountId\" = ?) OR (\"t0\".\"created_by\" = ?)"
    );
    assert_eq!(
        p,
        [
            json!("0190a5e2-aaaa-7bbb-8ccc-ddddeeeeffff"),
            json!("Not-A-Uuid"),
            json!("Rita")
        ]
    );
}

#[test]
fn nulls() {
    let (w, p) = filter("SELECT Id FROM Contact WHERE Email = null AND Account.Name != NULL");
    assert_eq!(
        w,
        "(\"t0\".\"Email\" IS NULL) AND (\"t1\".\"Name\" IS NOT NULL)"
    );
    assert!(p.is_empty());
    let (w, _) = filter("SELECT Id FROM Contact WHERE NOT Email = null");
    assert_eq!(w, "(\"t0\".\"Email\" IS NOT NULL)");
}

#[test]
fn booleans_and_their_null_is_false() {
    let vip = "\"t0\".\"Vip\"";
    let yes = format!("({vip} = ?)");
    let no = format!("({vip} IS NULL OR {vip} <> ?)");
    for (cond, expect) in [
        ("Vip = true", &yes),
        ("Vip = TRUE", &yes),
        ("Vip != false", &yes),
        ("Vip != null", &yes),
        ("Vip = false", &no),
        ("Vip = null", &no),
        ("Vip != true", &no),
        ("NOT Vip = true", &no),
    ] {
        let (w, p) = filter(&format!("SELECT Id FROM Contact WHERE {cond}"));
        assert_eq!(&w, expect, "{cond}");
        assert_eq!(p, [json!(true)], "{cond}");
    }
    for bad in ["Vip < true", "Vip IN (true)", "Vip = 1", "Vip = 'true'"] {
        refused(&format!("SELECT Id FROM Contact WHERE {bad}"));
    }
}

#[test]
fn in_and_not_in() {
    let (w, p) =
        filter("SELECT Id FROM Contact WHERE LastName IN ('A', 'b') AND Age NOT IN (1, 2)");
    assert_eq!(
        w,
        "(LOWER(\"t0\".\"LastName\") IN (?, ?)) AND ({AGE} IS NULL OR {AGE} NOT IN (?, ?))"
            .replace("{AGE}", AGE)
    );
    assert_eq!(p, [json!("a"), json!("b"), json!(1), json!(2)]);
    let (w, _) = filter("SELECT Id FROM Contact WHERE Age IN (1, null)");
    assert_eq!(w, format!("({AGE} IN (?) OR {AGE} IS NULL)"));
    let (w, _) = filter("SELECT Id FROM Contact WHERE Age NOT IN (1, null)");
    assert_eq!(w, format!("({AGE} IS NOT NULL AND {AGE} NOT IN (?))"));
    let (w, _) = filter("SELECT Id FROM Contact WHERE Age IN (null)");
    assert_eq!(w, format!("({AGE} IS NULL)"));
    let (w, _) = filter("SELECT Id FROM Contact WHERE NOT Age IN (1, 2.5)");
    assert_eq!(
        w,
        format!("({AGE} IS NULL OR {AGE} NOT IN (?, CAST(? AS DOUBLE PRECISION)))")
    );
    let (w, p) = filter("SELECT Id FROM Contact WHERE Birthdate IN (2000-01-01, 2000-02-29)");
    assert_eq!(w, "(\"t0\".\"Birthdate\" IN (?, ?))");
    assert_eq!(p, [json!("2000-01-01"), json!("2000-02-29")]);
    let e = refused("SELECT Id FROM Contact WHERE Age IN (1, 'two')");
    assert_eq!(e.code, "INVALID_FIELD");
}

#[test]
fn like_patterns() {
    let (w, p) =
        filter(r"SELECT Id FROM Contact WHERE LastName LIKE 'Mc\_D%' AND NOT Email LIKE '%\%%'");
    assert_eq!(
        w,
        "(LOWER(\"t0\".\"LastName\") LIKE ? ESCAPE '\\') AND \
         (\"t0\".\"Email\" IS NULL OR LOWER(\"t0\".\"Email\") NOT LIKE ? ESCAPE '\\')"
    );
    assert_eq!(p, [json!(r"mc\_d%"), json!(r"%\%%")]);
    // A backslash written `\\` is the character, escaped for LIKE.
    let (_, p) = filter(r"SELECT Id FROM Contact WHERE LastName LIKE 'a\\b'");
    assert_eq!(p, [json!(r"a\\b")]);
    for bad in [
        "Age LIKE '1%'",
        "Id LIKE 'a%'",
        "LastName LIKE 5",
        "Birthdate LIKE '2024%'",
    ] {
        assert_eq!(
            refused(&format!("SELECT Id FROM Contact WHERE {bad}")).code,
            "INVALID_FIELD",
            "{bad}"
        );
    }
}

#[test]
fn dates_and_datetimes() {
    let (w, p) = filter(
        "SELECT Id FROM Contact WHERE Birthdate >= 2000-01-31 \
         AND LastSeen < 2024-01-31T10:00:00+01:00 AND CreatedDate > 2024-01-31T10:00:00Z",
    );
    assert_eq!(
        w,
        "(\"t0\".\"Birthdate\" >= ?) AND (\"t0\".\"LastSeen\" < ?) AND (\"t0\".\"created_at\" > ?)"
    );
    assert_eq!(
        p,
        [
            json!("2000-01-31"),
            json!("2024-01-31T09:00:00.000Z"),
            json!("2024-01-31T10:00:00.000Z")
        ]
    );
    // A date is no dateTime, and neither is quoted (Salesforce's message).
    let e = refused("SELECT Id FROM Contact WHERE CreatedDate > 2024-01-31");
    assert_eq!(e.code, "INVALID_FIELD");
    assert!(
        e.message.ends_with(
            "value of filter criterion for field 'CreatedDate' must be of type dateTime and \
             should not be enclosed in quotes"
        ),
        "{}",
        e.message
    );
    assert_eq!(
        refused("SELECT Id FROM Contact WHERE Birthdate = 2024-01-31T00:00:00Z").code,
        "INVALID_FIELD"
    );
    assert_eq!(
        refused("SELECT Id FROM Contact WHERE Birthdate = '2024-01-31'").code,
        "INVALID_FIELD"
    );
    let e = refused("SELECT Id FROM Contact WHERE LastName = 5");
    assert!(
        e.message
            .ends_with("must be of type string and should be enclosed in quotes"),
        "{}",
        e.message
    );
}

#[test]
fn date_literals_are_ranges_of_days() {
    // now() is Wednesday 2024-05-15.
    let d = "\"t0\".\"Birthdate\"";
    let (w, p) = filter("SELECT Id FROM Contact WHERE Birthdate = TODAY");
    assert_eq!(w, format!("({d} >= ? AND {d} < ?)"));
    assert_eq!(p, [json!("2024-05-15"), json!("2024-05-16")]);
    let (w, p) = filter("SELECT Id FROM Contact WHERE Birthdate != THIS_MONTH");
    assert_eq!(w, format!("({d} IS NULL OR {d} < ? OR {d} >= ?)"));
    assert_eq!(p, [json!("2024-05-01"), json!("2024-06-01")]);
    for (op, sql, end) in [
        ("<", "<", "2024-05-12"),
        ("<=", "<", "2024-05-19"),
        (">", ">=", "2024-05-19"),
        (">=", ">=", "2024-05-12"),
    ] {
        let (w, p) = filter(&format!(
            "SELECT Id FROM Contact WHERE Birthdate {op} THIS_WEEK"
        ));
        assert_eq!(w, format!("({d} {sql} ?)"), "{op}");
        assert_eq!(p, [json!(end)], "{op}");
    }
    let (w, _) = filter("SELECT Id FROM Contact WHERE NOT Birthdate < TODAY");
    assert_eq!(w, format!("({d} IS NULL OR {d} >= ?)"));
    // On a dateTime field the days are UTC midnights.
    let (w, p) = filter("SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:7");
    assert_eq!(
        w,
        "(\"t0\".\"created_at\" >= ? AND \"t0\".\"created_at\" < ?)"
    );
    assert_eq!(
        p,
        [
            json!("2024-05-08T00:00:00.000Z"),
            json!("2024-05-16T00:00:00.000Z")
        ]
    );
    for bad in [
        "Age = TODAY",
        "LastName = TODAY",
        "Vip = TODAY",
        "Birthdate IN (TODAY)",
    ] {
        assert_eq!(
            refused(&format!("SELECT Id FROM Contact WHERE {bad}")).code,
            "INVALID_FIELD",
            "{bad}"
        );
    }
    assert_eq!(
        refused("SELECT Id FROM Contact WHERE CreatedDate = NEXT_N_YEARS:99999").code,
        "MALFORMED_QUERY"
    );
}

#[test]
fn json_fields_are_selected_but_not_filtered() {
    let e = refused("SELECT Id FROM Contact WHERE Data = 'x'");
    assert_eq!(e.code, "INVALID_FIELD");
    assert!(
        e.message
            .ends_with("field 'Data' can not be filtered in query call"),
        "{}",
        e.message
    );
}
