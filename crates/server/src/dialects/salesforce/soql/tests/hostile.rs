//! Hostile input on a thread with the stack request handlers have (`THREAD_STACK_BYTES`): each
//! is refused with a message naming its limit, never a crash; and the largest queries the bounds
//! let through translate and pass the guard on both stores.

use super::super::{translate_within, Bounds};
use super::{app, guarded, now, postgres, refused, refused_within, sqlite};
use sluice_engine::settings::defaults::{
    MAX_IN_VALUES, MAX_SORT_TERMS, QUERY_MAX_NESTING, QUERY_MAX_RESULT_COLUMNS, THREAD_STACK_BYTES,
};

/// Runs `f` on a thread of the request handlers' stack size.
fn on_request_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(THREAD_STACK_BYTES)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

/// Bounds with no limit on the query's length, so each other bound is met by a query longer than
/// Salesforce's 100,000 characters.
fn unbounded_length() -> Bounds {
    Bounds {
        max_len: usize::MAX,
        ..Bounds::default()
    }
}

fn nested(levels: usize) -> String {
    format!(
        "SELECT Id FROM Contact WHERE {}Age = 1{}",
        "(".repeat(levels),
        ")".repeat(levels)
    )
}

fn or_chain(terms: usize) -> String {
    format!(
        "SELECT Id FROM Contact WHERE {}",
        vec!["Age = 1"; terms].join(" OR ")
    )
}

fn in_list(values: usize) -> String {
    format!(
        "SELECT Id FROM Contact WHERE Age IN ({})",
        vec!["1"; values].join(",")
    )
}

fn fields(n: usize) -> String {
    let names: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
    format!("SELECT {} FROM Contact", names.join(", "))
}

#[test]
fn deep_and_long_queries_are_refused() {
    on_request_stack(|| {
        let long = unbounded_length();
        for (soql, says) in [
            (nested(100_000), "query_max_nesting"),
            (
                format!(
                    "SELECT Id FROM Contact WHERE {}Age = 1",
                    "NOT ".repeat(100_000)
                ),
                "query_max_nesting",
            ),
            (or_chain(100_000), "query_max_expression_terms"),
            (in_list(100_000), "max_in_values"),
            (fields(100_000), "query_max_result_columns"),
            (
                format!(
                    "SELECT Id FROM Contact ORDER BY {}",
                    vec!["Age"; 10_000].join(", ")
                ),
                "max_sort_terms",
            ),
        ] {
            let e = refused_within(&soql, &long);
            assert_eq!(e.code, "MALFORMED_QUERY");
            assert!(e.message.contains(says), "{says}: {}", e.message);
            // Within Salesforce's own length they are refused for their length first.
            let e = refused(&soql);
            assert!(
                e.message
                    .contains("cannot be longer than 100000 characters")
                    || e.message.contains(says),
                "{says}: {}",
                e.message
            );
        }
        let e = refused(&"(".repeat(200_000));
        assert_eq!(
            e.message,
            "SOQL statements cannot be longer than 100000 characters."
        );
    });
}

#[test]
fn the_largest_queries_within_the_bounds_pass_the_guard() {
    on_request_stack(|| {
        let a = app();
        let max_nesting = QUERY_MAX_NESTING - 3;
        // Each bound at its limit, with the kind of condition the SQL nests deepest.
        let deepest = format!(
            "SELECT Id FROM Contact WHERE {}Age NOT IN (1, 2.5){}",
            "Age = 1 OR (".repeat(max_nesting),
            ")".repeat(max_nesting)
        );
        let nots = format!(
            "SELECT Id FROM Contact WHERE {}LastName IN ('a', null)",
            "NOT ".repeat(max_nesting)
        );
        let mut at_limits = vec![
            deepest.clone(),
            nots,
            in_list(MAX_IN_VALUES),
            format!(
                "SELECT Id FROM Contact ORDER BY {}",
                vec!["Age"; MAX_SORT_TERMS].join(", ")
            ),
            // Every field of Contact and of both parents, then system fields under many names.
            "SELECT Id, LastName, Email, Age, Score, Vip, Birthdate, LastSeen, Data, AccountId, \
             Owner__c, Account.Name, Account.Rating, Account.Active, Account.Founded, \
             Account.Extra, Owner__r.Name, CreatedDate, LastModifiedDate, SystemModstamp, \
             CreatedById, LastModifiedById FROM Contact"
                .to_owned(),
        ];
        // A chain of the shortest conditions, as long as the guard's expression bound allows.
        at_limits.push(or_chain(900));
        for soql in &at_limits {
            for syntax in [sqlite(), postgres()] {
                let t = translate_within(soql, &a, &syntax, now(), &Bounds::default())
                    .unwrap_or_else(|e| panic!("{}: {e}", &soql[..80.min(soql.len())]));
                guarded(&a, &t, &syntax);
            }
        }
        // One more level is refused by the bound, before the guard sees it.
        let e = refused(&nested(max_nesting + 1));
        assert!(e.message.contains("query_max_nesting"), "{}", e.message);
        let e = refused(&in_list(MAX_IN_VALUES + 1));
        assert!(e.message.contains("max_in_values"), "{}", e.message);
        let e = refused(&fields(QUERY_MAX_RESULT_COLUMNS + 1));
        assert!(
            e.message.contains("query_max_result_columns"),
            "{}",
            e.message
        );
        // A chain the guard finds too long is refused in Salesforce's terms.
        let e = refused(&or_chain(1_000));
        assert_eq!(e.code, "MALFORMED_QUERY");
        assert!(
            e.message.contains("query_max_expression_terms"),
            "{}",
            e.message
        );
        let e = refused(&or_chain(1_001));
        assert!(
            e.message.contains("at most 1000 conditions"),
            "{}",
            e.message
        );
    });
}
