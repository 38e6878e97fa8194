//! The grammar: keywords in any case, literals, lists of AND and OR, and each refusal worded as
//! Salesforce words it, at the place it found it.

use super::super::lex::{lex, Tok};
use super::{filter, ok, refused};
use chrono::{TimeZone, Utc};
use serde_json::json;

fn toks(soql: &str) -> Vec<Tok> {
    lex(soql).unwrap().into_iter().map(|t| t.tok).collect()
}

#[test]
fn keywords_and_names_are_case_insensitive() {
    let t = ok("select id, lastname from contact where lastname = 'x' order by lastname limit 5");
    assert_eq!(t.headers, ["id", "lastname"]);
    assert_eq!(
        t.sql,
        "SELECT \"t0\".\"id\" AS \"id\", \"t0\".\"LastName\" AS \"lastname\" FROM \"Contact\" AS \"t0\" \
         WHERE (LOWER(\"t0\".\"LastName\") = ?) ORDER BY \"t0\".\"LastName\" ASC NULLS FIRST LIMIT ?"
    );
    assert_eq!(t.params, [json!("x"), json!(5)]);
    let u = ok("SeLeCt Id, LASTNAME FrOm CONTACT");
    assert_eq!(u.headers, ["Id", "LASTNAME"]);
    assert_eq!(u.object, "Contact");
}

#[test]
fn strings_take_salesforces_escapes() {
    let (_, p) = filter("SELECT Id FROM Contact WHERE LastName = 'O\\'Brien \\\\ \\n\\t \\\"'");
    assert_eq!(p, [json!("o'brien \\ \n\t \"")]);
    assert!(toks(r"'a\%b\_c'").contains(&Tok::Str {
        value: "a%b_c".into(),
        pattern: r"a\%b\_c".into()
    }));
    let e = refused(r"SELECT Id FROM Contact WHERE LastName = 'a\qb'");
    assert_eq!(e.code, "MALFORMED_QUERY");
    assert!(
        e.message.contains(r"illegal escape sequence \q"),
        "{}",
        e.message
    );
    let e = refused("SELECT Id FROM Contact WHERE LastName = 'open");
    assert!(e.message.contains("unterminated"), "{}", e.message);
    let e = refused("SELECT Id FROM Contact WHERE LastName = \"x\"");
    assert!(e.message.contains("single quotes"), "{}", e.message);
}

#[test]
fn numbers_dates_and_datetimes() {
    assert_eq!(
        toks("-12 3.5 +7"),
        [
            Tok::Num("-12".into()),
            Tok::Num("3.5".into()),
            Tok::Num("+7".into()),
            Tok::Eof
        ]
    );
    let d = chrono::NaiveDate::from_ymd_opt(2024, 1, 31).unwrap();
    assert_eq!(toks("2024-01-31")[0], Tok::Date(d));
    let at = Utc.with_ymd_and_hms(2024, 1, 31, 9, 0, 0).unwrap();
    for text in [
        "2024-01-31T09:00:00Z",
        "2024-01-31T10:00:00+01:00",
        "2024-01-31T04:30:00-04:30",
        "2024-01-31t09:00:00z",
    ] {
        assert_eq!(toks(text)[0], Tok::DateTime(at), "{text}");
    }
    let ms =
        Utc.with_ymd_and_hms(2024, 1, 31, 9, 0, 0).unwrap() + chrono::Duration::milliseconds(250);
    assert_eq!(toks("2024-01-31T09:00:00.25Z")[0], Tok::DateTime(ms));
    for bad in [
        "2024-02-30",
        "2024-1-5",
        "2024-01-31T25:00:00Z",
        "2024-01-31T10:00:00",
        "2024-01-31T10:00Z",
        "12abc",
    ] {
        let e = lex(bad).unwrap_err();
        assert_eq!(e.code, "MALFORMED_QUERY", "{bad}");
    }
}

#[test]
fn and_or_not_and_parentheses() {
    let (w, _) = filter("SELECT Id FROM Contact WHERE Age = 1 AND Age = 2 AND Age = 3");
    assert_eq!(
        w,
        "(\"t0\".\"Age\" = ?) AND (\"t0\".\"Age\" = ?) AND (\"t0\".\"Age\" = ?)"
    );
    let (w, _) =
        filter("SELECT Id FROM Contact WHERE Age = 1 OR (Age = 2 AND (Age = 3 OR Age = 4))");
    assert_eq!(
        w,
        "(\"t0\".\"Age\" = ?) OR ((\"t0\".\"Age\" = ?) AND ((\"t0\".\"Age\" = ?) OR (\"t0\".\"Age\" = ?)))"
    );
    // NOT goes down to the comparisons (De Morgan), each admitting the records it leaves out.
    let (w, _) = filter("SELECT Id FROM Contact WHERE NOT (Age = 1 OR Age > 2)");
    assert_eq!(
        w,
        "(\"t0\".\"Age\" IS NULL OR \"t0\".\"Age\" <> ?) AND (\"t0\".\"Age\" IS NULL OR \"t0\".\"Age\" <= ?)"
    );
    let (w, _) = filter("SELECT Id FROM Contact WHERE NOT NOT Age = 1");
    assert_eq!(w, "(\"t0\".\"Age\" = ?)");
    let (w, _) = filter("SELECT Id FROM Contact WHERE ((Age = 1))");
    assert_eq!(w, "(\"t0\".\"Age\" = ?)");
    // Salesforce requires parentheses to mix AND and OR.
    let e = refused("SELECT Id FROM Contact WHERE Age = 1 AND Age = 2 OR Age = 3");
    assert_eq!(e.code, "MALFORMED_QUERY");
    assert!(
        e.message.ends_with("unexpected token: 'OR'"),
        "{}",
        e.message
    );
    let e = refused("SELECT Id FROM Contact WHERE Age = 1 OR Age = 2 AND Age = 3");
    assert!(
        e.message.ends_with("unexpected token: 'AND'"),
        "{}",
        e.message
    );
}

#[test]
fn errors_say_where_as_salesforce_does() {
    let e = refused("SELECT Id, FROM Contact");
    assert_eq!(e.code, "MALFORMED_QUERY");
    assert_eq!(
        e.message,
        "\nSELECT Id, FROM Contact\n           ^\nERROR at Row:1:Column:12\nunexpected token: 'FROM'"
    );
    let e = refused("SELECT Id\nFROM Contact\nWHERE");
    assert_eq!(
        e.message,
        "\nWHERE\n     ^\nERROR at Row:3:Column:6\nunexpected token: '<EOF>'"
    );
    // A long line shows the part around the place.
    let long = format!(
        "SELECT Id FROM Contact WHERE LastName = '{}' AND",
        "x".repeat(500)
    );
    let e = refused(&long);
    let shown = e.message.lines().nth(1).unwrap();
    assert!(shown.len() <= 120, "{shown}");
    let column = format!("Column:{}", long.len() + 1);
    assert!(e.message.contains(&column), "{}", e.message);
}

#[test]
fn what_bulk_api_2_refuses_is_refused_by_name() {
    for (soql, named) in [
        ("SELECT COUNT() FROM Contact", "aggregate function"),
        ("SELECT count(Id) FROM Contact", "aggregate function"),
        ("SELECT MAX(Age) FROM Contact", "aggregate function"),
        ("SELECT FIELDS(ALL) FROM Contact", "FIELDS()"),
        (
            "SELECT Id, (SELECT Id FROM Contacts) FROM Account",
            "nested query",
        ),
        (
            "SELECT TYPEOF What WHEN Account THEN Name END FROM Event",
            "TYPEOF",
        ),
        ("SELECT Id FROM Contact GROUP BY Id", "GROUP BY"),
        (
            "SELECT Id FROM Contact WHERE Age = 1 GROUP BY Id",
            "GROUP BY",
        ),
        ("SELECT Id FROM Contact LIMIT 5 OFFSET 10", "OFFSET"),
        ("SELECT Id FROM Contact OFFSET 10", "OFFSET"),
        ("SELECT Id FROM Contact WITH SECURITY_ENFORCED", "WITH"),
        ("SELECT Id FROM Contact USING SCOPE Mine", "USING SCOPE"),
        ("SELECT Id FROM Contact FOR UPDATE", "FOR VIEW"),
        ("SELECT Id FROM Contact ALL ROWS", "ALL ROWS"),
        (
            "SELECT Id FROM Contact, Contact.Account",
            "more than one object",
        ),
        (
            "SELECT Id FROM Contact WHERE Id IN (SELECT ContactId FROM Case)",
            "semi-join",
        ),
        ("SELECT Id FROM Contact WHERE Name = :name", "bind variable"),
        (
            "SELECT Id FROM Contact WHERE CALENDAR_YEAR(CreatedDate) = 2024",
            "CALENDAR_YEAR()",
        ),
        (
            "SELECT Id FROM Contact WHERE Tags__c INCLUDES ('a')",
            "INCLUDES",
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate = THIS_FISCAL_YEAR",
            "fiscal",
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate = LAST_N_FISCAL_QUARTERS:2",
            "fiscal",
        ),
    ] {
        let e = refused(soql);
        assert_eq!(e.code, "MALFORMED_QUERY", "{soql}: {}", e.message);
        assert!(e.message.contains(named), "{soql}: {}", e.message);
    }
}

#[test]
fn malformed_queries() {
    for soql in [
        "",
        "SELECT",
        "SELECT Id",
        "SELECT Id FROM",
        "SELECT Id FROM Contact WHERE",
        "SELECT Id FROM Contact WHERE Age",
        "SELECT Id FROM Contact WHERE Age =",
        "SELECT Id FROM Contact WHERE Age = 1)",
        "SELECT Id FROM Contact WHERE (Age = 1",
        "SELECT Id FROM Contact WHERE Age IN ()",
        "SELECT Id FROM Contact WHERE Age IN (1,)",
        "SELECT Id FROM Contact WHERE Age NOT 1",
        "SELECT Id FROM Contact ORDER BY",
        "SELECT Id FROM Contact ORDER BY Age NULLS",
        "SELECT Id FROM Contact LIMIT",
        "SELECT Id FROM Contact LIMIT -1",
        "SELECT Id FROM Contact LIMIT 1.5",
        "SELECT Id FROM Contact LIMIT 2147483648",
        "SELECT Id FROM Contact;",
        "SELECT * FROM Contact",
        "SELECT Id FROM Contact WHERE Age = 1 Age = 2",
        "SELECT Id FROM Contact c d",
        "SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS",
        "SELECT Id FROM Contact WHERE CreatedDate = TODAY:3",
        "SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:x",
        "SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:-1",
        "SELECT Id FROM Contact WHERE CreatedDate = SOMEDAY",
        "SELECT Id FROM Contact WHERE Age < null",
    ] {
        let e = refused(soql);
        assert_eq!(e.code, "MALFORMED_QUERY", "{soql}: {}", e.message);
    }
    assert!(ok("SELECT Id FROM Contact LIMIT 2147483647")
        .params
        .contains(&json!(2147483647)));
}

#[test]
fn a_from_alias_prefixes_fields() {
    let t = ok("SELECT c.LastName, c.Account.Name FROM Contact c WHERE c.Age > 3 ORDER BY c.Age");
    assert_eq!(t.headers, ["c.LastName", "c.Account.Name"]);
    assert!(
        t.sql.contains("\"t0\".\"LastName\" AS \"c.LastName\""),
        "{}",
        t.sql
    );
    assert!(
        t.sql.contains("\"t1\".\"Name\" AS \"c.Account.Name\""),
        "{}",
        t.sql
    );
    assert!(
        t.sql
            .contains("WHERE (\"t0\".\"Age\" > ?) ORDER BY \"t0\".\"Age\""),
        "{}",
        t.sql
    );
}

#[test]
fn order_by_directions_and_nulls() {
    let t = ok(
        "SELECT Id FROM Contact ORDER BY Age DESC, LastName ASC NULLS LAST, \
                Email NULLS FIRST, Score DESC NULLS FIRST",
    );
    assert!(
        t.sql.ends_with(
            "ORDER BY \"t0\".\"Age\" DESC NULLS LAST, \"t0\".\"LastName\" ASC NULLS LAST, \
             \"t0\".\"Email\" ASC NULLS FIRST, \"t0\".\"Score\" DESC NULLS FIRST"
        ),
        "{}",
        t.sql
    );
    let t = ok("SELECT Id FROM Contact ORDER BY Account.Name LIMIT 10");
    assert!(t.sql.contains("LEFT JOIN"), "{}", t.sql);
    assert!(
        t.sql
            .ends_with("ORDER BY \"t1\".\"Name\" ASC NULLS FIRST LIMIT ?"),
        "{}",
        t.sql
    );
}
