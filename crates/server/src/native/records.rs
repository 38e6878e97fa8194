//! Native record listing: query-string filters (`age[gte]=30`), `sort`, `limit`, `cursor`, `count`.

use serde_json::Value as Json;
use sluice_engine::ops::{Filter, FilterOp, ListSpec};
use sluice_engine::{Error, Result};

fn filter_op(s: &str) -> Option<FilterOp> {
    Some(match s {
        "eq" => FilterOp::Eq,
        "ne" => FilterOp::Ne,
        "gt" => FilterOp::Gt,
        "gte" => FilterOp::Gte,
        "lt" => FilterOp::Lt,
        "lte" => FilterOp::Lte,
        "in" => FilterOp::In,
        "nin" => FilterOp::NotIn,
        "like" => FilterOp::Like,
        "null" => FilterOp::IsNull,
        _ => return None,
    })
}

/// One condition as the list API writes it: `field` or `field[op]` with its value.
pub fn filter(key: &str, value: Json) -> Result<Filter> {
    let (field, op) = match key.split_once('[') {
        Some((f, rest)) => {
            let op = rest.strip_suffix(']').and_then(filter_op).ok_or_else(|| {
                Error::invalid(format!("unknown filter operator in {key:?}")).with_field(f)
            })?;
            (f.to_owned(), op)
        }
        None => (key.to_owned(), FilterOp::Eq),
    };
    Ok(Filter::Cmp { field, op, value })
}

/// `-created_at,name` as sort keys.
pub fn sort_keys(s: &str) -> Vec<(String, bool)> {
    s.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| match s.strip_prefix('-') {
            Some(f) => (f.to_owned(), true),
            None => (s.trim_start_matches('+').to_owned(), false),
        })
        .collect()
}

/// `account,account.owner` as expand paths.
pub fn expand_paths(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The `expand` of a single read's query string.
pub fn expand_of(query: &str) -> Result<Vec<String>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| Error::invalid("the query string is malformed"))?;
    Ok(pairs
        .iter()
        .filter(|(k, _)| k == "expand")
        .flat_map(|(_, v)| expand_paths(v))
        .collect())
}

/// Parses a list query string into a list request.
pub fn list_spec(query: &str) -> Result<ListSpec> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| Error::invalid("the query string is malformed"))?;
    let mut spec = ListSpec::default();
    let number = |k: &str, v: &str| {
        v.parse::<u64>()
            .map_err(|_| Error::invalid(format!("{k} must be a whole number")).with_field(k))
    };
    for (k, v) in pairs {
        match k.as_str() {
            "limit" => spec.limit = Some(number("limit", &v)? as usize),
            "offset" => spec.offset = Some(number("offset", &v)?),
            "cursor" => spec.cursor = Some(v),
            "count" => spec.count = matches!(v.as_str(), "true" | "1" | "yes"),
            "sort" => spec.sort = sort_keys(&v),
            "expand" => spec.expand = expand_paths(&v),
            _ => spec.filter.push(filter(&k, Json::String(v))?),
        }
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_filters_and_paging() {
        let s = list_spec("email=a%40b.c&age[gte]=30&sort=-created_at,name&limit=50&count=true")
            .unwrap();
        assert_eq!(s.limit, Some(50));
        assert!(s.count);
        assert_eq!(
            s.sort,
            vec![("created_at".into(), true), ("name".into(), false)]
        );
        assert_eq!(s.filter.len(), 2);
        assert_eq!(
            s.filter[1],
            Filter::Cmp {
                field: "age".into(),
                op: FilterOp::Gte,
                value: Json::String("30".into())
            }
        );
    }

    #[test]
    fn refuses_bad_operators_and_numbers() {
        assert!(list_spec("age[between]=1").is_err());
        assert!(list_spec("limit=ten").is_err());
    }
}
