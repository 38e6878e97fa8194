//! Output for people (aligned tables) and for scripts (JSON, `--json`).

use chrono::DateTime;
use comfy_table::{presets, Table};
use serde_json::Value;

/// A cell: strings as they are, null as empty, anything else as JSON.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An aligned table with a header row.
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut t = Table::new();
    t.set_header(header.iter().map(|h| h.to_uppercase()));
    render(t, rows)
}

/// Name–value lines, aligned.
pub fn pairs(rows: impl IntoIterator<Item = Vec<String>>) -> String {
    render(Table::new(), rows)
}

/// Columns two spaces apart, no borders, no trailing blanks.
fn render(mut t: Table, rows: impl IntoIterator<Item = Vec<String>>) -> String {
    t.load_preset(presets::NOTHING);
    for r in rows {
        t.add_row(r);
    }
    for c in t.column_iter_mut() {
        c.set_padding((0, 2));
    }
    t.to_string()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Pretty JSON.
pub fn json(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// How long from `start` to `end` (RFC 3339), as `1.4 s` or `2 min 5 s`.
pub fn duration(start: &Value, end: &Value) -> String {
    let parse = |v: &Value| {
        v.as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
    };
    match (parse(start), parse(end)) {
        (Some(a), Some(b)) => {
            let ms = (b - a).num_milliseconds().max(0);
            if ms < 60_000 {
                format!("{:.1} s", ms as f64 / 1000.0)
            } else {
                format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
            }
        }
        _ => String::new(),
    }
}

fn count(v: &Value) -> String {
    v.as_u64().map(|n| n.to_string()).unwrap_or_default()
}

pub const JOB_HEADER: &[&str] = &[
    "id",
    "status",
    "operation",
    "object",
    "rows",
    "failed",
    "by",
    "created",
    "took",
];

pub fn job_row(j: &Value) -> Vec<String> {
    let p = &j["progress"];
    vec![
        cell(&j["id"]),
        cell(&j["status"]),
        cell(&j["operation"]),
        cell(&j["object"]),
        format!("{}/{}", count(&p["processed"]), count(&p["total"])),
        count(&p["failed"]),
        cell(&j["created_by"]),
        cell(&j["created_at"]),
        duration(&j["started_at"], &j["completed_at"]),
    ]
}

/// A job's counters as a two-column table.
pub fn job_summary(j: &Value) -> String {
    let p = &j["progress"];
    let mut rows = vec![
        vec!["job".into(), cell(&j["id"])],
        vec!["status".into(), cell(&j["status"])],
    ];
    for k in [
        "total",
        "processed",
        "added",
        "updated",
        "skipped",
        "deleted",
        "failed",
    ] {
        rows.push(vec![k.into(), count(&p[k])]);
    }
    rows.push(vec![
        "took".into(),
        duration(&j["started_at"], &j["completed_at"]),
    ]);
    if !j["error"].is_null() {
        rows.push(vec!["error".into(), cell(&j["error"])]);
    }
    if let Some(cb) = j.get("callback") {
        rows.push(vec![
            "callback".into(),
            format!(
                "{} ({} attempts)",
                cell(&cb["status"]),
                count(&cb["attempts"])
            ),
        ]);
    }
    pairs(rows)
}

pub const BATCH_HEADER: &[&str] = &[
    "id", "status", "total", "success", "failed", "by", "created", "took",
];

pub fn batch_row(b: &Value) -> Vec<String> {
    vec![
        cell(&b["id"]),
        cell(&b["status"]),
        count(&b["objects_total"]),
        count(&b["objects_success"]),
        count(&b["objects_failed"]),
        cell(&b["created_by"]),
        cell(&b["created_at"]),
        duration(&b["started_at"], &b["completed_at"]),
    ]
}
