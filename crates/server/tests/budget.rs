//! The request path's cost, guarded by counts a noisy machine cannot change: one 1,000-row
//! `/v1/bulk` request and one single create may not allocate, hand work between threads or run SQL
//! statements more than 20% past the budgets in `budget.json`. A change that makes the path
//! cheaper lowers them there.

use serde_json::Value;
use sluice_engine::counters::{CountingAlloc, Counts};

#[global_allocator]
static ALLOC: CountingAlloc<std::alloc::System> = CountingAlloc(std::alloc::System);

/// How far past its budget a count may go before the test fails.
const SLACK: f64 = 0.20;

fn over_budget(request: &str, counts: Counts, budget: &Value) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, got) in [
        ("allocations", counts.allocations),
        ("handoffs", counts.handoffs),
        ("statements", counts.statements),
    ] {
        let Some(allowed) = budget[request][name].as_u64() else {
            failures.push(format!("budget.json has no {request}.{name}"));
            continue;
        };
        eprintln!("{request}.{name}: {got} (budget {allowed})");
        // A budget of none allows none.
        let over = match allowed {
            0 if got > 0 => f64::INFINITY,
            0 => 0.0,
            _ => got as f64 / allowed as f64 - 1.0,
        };
        if over > SLACK {
            failures.push(format!(
                "{request}.{name}: {got} is {:.0}% over its budget of {allowed}",
                over * 100.0
            ));
        }
    }
    failures
}

#[test]
fn a_bulk_request_and_a_single_create_stay_within_their_budgets() {
    let budget: Value = serde_json::from_str(include_str!("budget.json")).expect("budget.json");
    let rt = sluice_server::runtime::runtime().expect("runtime");
    let measured = rt
        .block_on(sluice_server::budget::measure())
        .expect("measured");
    let mut failures = over_budget("bulk_1000", measured.bulk, &budget);
    failures.extend(over_budget("single_create", measured.single, &budget));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
