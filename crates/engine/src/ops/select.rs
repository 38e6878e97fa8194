//! List requests resolved against an object: typed filters, free-text search, sort keys, page
//! size and position.

use super::{Filter, FilterOp, ListSpec};
use crate::core::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{
    decode_cursor, App, CmpOp, Column, Cond, FieldType, Object, Selection, SortKey, Value,
};
use crate::settings::ListLimits;
use serde_json::Value as Json;
use std::sync::Arc;

/// Deepest filter nesting accepted, so a hostile filter cannot exhaust the stack.
const MAX_FILTER_DEPTH: usize = 16;

/// Resolves a list request against `obj`: field names, typed values, page size and cursor.
pub fn selection(ctx: &Ctx<'_>, obj: &Object, spec: &ListSpec) -> Result<Selection> {
    let limit = spec.limit.unwrap_or(ctx.settings.default_page_size);
    if limit == 0 || limit > ctx.settings.max_page_size {
        return Err(Error::new(
            ErrorCode::InvalidRequest,
            format!("limit must be between 1 and {}", ctx.settings.max_page_size),
        )
        .with_field("limit"));
    }
    if spec.offset.is_some_and(|o| o > i64::MAX as u64) {
        return Err(Error::invalid("offset is too large").with_field("offset"));
    }
    let limits = &ctx.settings.list;
    if spec.sort.len() > limits.max_sort_terms {
        return Err(over_limit(
            "sort",
            format!(
                "a list sorts by at most {} keys (max_sort_terms)",
                limits.max_sort_terms
            ),
        ));
    }
    let app = ctx.catalog.app_by_id(obj.app_id).cloned();
    let mut conds: Vec<Cond> = spec
        .filter
        .iter()
        .map(|f| resolve_filter(obj, f, 0, limits, app.as_deref()))
        .collect::<Result<_>>()?;
    if let Some(text) = spec
        .search
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        conds.push(search(obj, text));
    }
    let cond = Cond::and(conds);
    let (conditions, values) = cond.size();
    if conditions > limits.max_filter_conditions {
        return Err(over_limit(
            "filter",
            format!(
                "a filter makes at most {} comparisons (max_filter_conditions); this one makes {conditions}",
                limits.max_filter_conditions
            ),
        ));
    }
    if values > limits.max_in_values {
        return Err(over_limit(
            "filter",
            format!(
                "filters list at most {} values in all (max_in_values); these list {values}",
                limits.max_in_values
            ),
        ));
    }
    let sort = spec
        .sort
        .iter()
        .map(|(name, desc)| {
            Ok(SortKey {
                column: Column::resolve(obj, name)?,
                desc: *desc,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut sel = Selection {
        cond,
        sort,
        limit,
        offset: spec.offset.unwrap_or(0),
        after: None,
    };
    if let Some(c) = &spec.cursor {
        sel.after = Some(decode_cursor(obj, &sel.keys(), c)?);
        sel.offset = 0;
    }
    Ok(sel)
}

/// A free-text search: `text` in any of the object's text fields.
fn search(obj: &Object, text: &str) -> Cond {
    let columns = obj
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.ty == FieldType::Text)
        .map(|(i, _)| Column::Field(i))
        .collect();
    Cond::Search(columns, Value::Text(text.to_owned()))
}

/// A relation field of `obj` by name, and the object it points at.
pub fn follow(obj: &Object, name: &str, app: Option<&App>) -> Result<(usize, Arc<Object>)> {
    let found = obj.field(name).and_then(|(i, f)| {
        let target = app?.object(&f.relation.as_ref()?.object)?;
        Some((i, target.clone()))
    });
    found.ok_or_else(|| {
        Error::new(
            ErrorCode::UnknownField,
            format!("{} has no relation field {name:?}", obj.name),
        )
        .with_field(name)
    })
}

fn over_limit(field: &str, message: String) -> Error {
    Error::new(ErrorCode::LimitExceeded, message).with_field(field)
}

fn values_of(obj: &Object, col: Column, v: &Json, limits: &ListLimits) -> Result<Vec<Value>> {
    let n = match v {
        Json::Array(items) => items.len(),
        Json::String(s) => s.matches(',').count() + 1,
        _ => 1,
    };
    if n > limits.max_in_values {
        return Err(over_limit(
            col.name(obj),
            format!(
                "filters list at most {} values in all (max_in_values)",
                limits.max_in_values
            ),
        ));
    }
    match v {
        Json::Array(items) => items.iter().map(|i| col.value(obj, i)).collect(),
        Json::String(s) => s
            .split(',')
            .map(|p| col.value(obj, &Json::String(p.to_owned())))
            .collect(),
        other => Ok(vec![col.value(obj, other)?]),
    }
}

/// Resolves a client filter to a typed condition over `obj`'s columns; with the app, a field
/// may name a related record's field (`account.email`).
pub fn resolve_filter(
    obj: &Object,
    f: &Filter,
    depth: usize,
    limits: &ListLimits,
    app: Option<&App>,
) -> Result<Cond> {
    if depth > MAX_FILTER_DEPTH {
        return Err(Error::invalid("the filter is nested too deeply"));
    }
    let (field, op, value) = match f {
        Filter::And(fs) => {
            return fs
                .iter()
                .map(|f| resolve_filter(obj, f, depth + 1, limits, app))
                .collect::<Result<_>>()
                .map(Cond::And)
        }
        Filter::Or(fs) => {
            return fs
                .iter()
                .map(|f| resolve_filter(obj, f, depth + 1, limits, app))
                .collect::<Result<_>>()
                .map(Cond::Or)
        }
        Filter::Cmp { field, op, value } => (field, *op, value),
    };
    if let Some((relation, inner)) = field.split_once('.') {
        let (i, target) = follow(obj, relation, app)?;
        let inner = Filter::Cmp {
            field: inner.to_owned(),
            op,
            value: value.clone(),
        };
        // One level: the related object's own fields, not its relations' (no `app`).
        let cond = resolve_filter(&target, &inner, depth + 1, limits, None)?;
        return Ok(Cond::Related(i, target, Box::new(cond)));
    }
    // A value or a list of values (`in`, `between`): nothing deeper is compared, and a stored
    // export keeps its filter whole.
    if crate::model::json_depth(value) > 1 {
        return Err(Error::validation(
            field,
            "a filter value is a value or a list of values",
        ));
    }
    let col = Column::resolve(obj, field)?;
    let text = |v: &Json| match v {
        Json::String(s) => Value::Text(s.clone()),
        other => Value::Text(other.to_string()),
    };
    Ok(match op {
        FilterOp::Eq => Cond::Cmp(col, CmpOp::Eq, col.value(obj, value)?),
        FilterOp::Ne => Cond::Cmp(col, CmpOp::Ne, col.value(obj, value)?),
        FilterOp::Gt => Cond::Cmp(col, CmpOp::Gt, col.value(obj, value)?),
        FilterOp::Gte => Cond::Cmp(col, CmpOp::Gte, col.value(obj, value)?),
        FilterOp::Lt => Cond::Cmp(col, CmpOp::Lt, col.value(obj, value)?),
        FilterOp::Lte => Cond::Cmp(col, CmpOp::Lte, col.value(obj, value)?),
        FilterOp::Like => Cond::Cmp(col, CmpOp::Like, text(value)),
        FilterOp::StartsWith => Cond::Cmp(col, CmpOp::StartsWith, text(value)),
        FilterOp::EndsWith => Cond::Cmp(col, CmpOp::EndsWith, text(value)),
        FilterOp::Contains => Cond::Cmp(col, CmpOp::Contains, text(value)),
        FilterOp::NotContains => Cond::Not(Box::new(Cond::Cmp(col, CmpOp::Contains, text(value)))),
        FilterOp::In => Cond::In(col, values_of(obj, col, value, limits)?, false),
        FilterOp::NotIn => Cond::In(col, values_of(obj, col, value, limits)?, true),
        FilterOp::IsNull => Cond::IsNull(
            col,
            value.as_bool() != Some(false) && value.as_str() != Some("false"),
        ),
        FilterOp::NotNull => Cond::IsNull(col, false),
        FilterOp::Between => {
            let vs = values_of(obj, col, value, limits)?;
            let [lo, hi] = <[Value; 2]>::try_from(vs)
                .map_err(|_| Error::validation(field, "between takes exactly two values"))?;
            Cond::Between(col, lo, hi)
        }
    })
}
