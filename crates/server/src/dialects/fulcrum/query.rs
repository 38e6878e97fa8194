//! Fulcrum's Query API: `q` (SQL over the app's forms), `format` (`csv`, the default, `json` or
//! `geojson`), `headers` (CSV header line, default yes), `page`, `per_page`, `sort_column` and
//! `sort_direction` (Query API reference), from the query string or a JSON body.

use super::{caller, count_param, query_error, query_map, view};
use crate::extract::json_body;
use crate::native::documents::query_csv_with;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State as S};
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::Json as AxJson;
use serde_json::{json, Map, Value as Json};
use sluice_engine::model::{QueryResult, Window};
use sluice_engine::{Error, ErrorCode, Result};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Rows a page holds when only `page` is given (Fulcrum's index views' page size; ours for the
/// Query API, whose reference gives none), at most the query row cap, so a page asked for
/// without a size never trips the cap.
const DEFAULT_PER_PAGE: u64 = 20_000;

/// The JSON body's keys over the query string's (the Python client POSTs `{"q","format"}`).
fn params(
    raw: Option<&str>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Map<String, Json>> {
    let mut p = query_map(raw);
    if let Some(Json::Object(m)) = json_body(body)? {
        p.extend(m);
    }
    Ok(p)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv { header: bool },
    Json,
    GeoJson,
}

fn format_of(p: &Map<String, Json>) -> Result<Format> {
    // "Include headers in CSV format. Defaults to yes."
    let header = !p.get("headers").is_some_and(|h| {
        matches!(
            super::super::text(h).trim().to_ascii_lowercase().as_str(),
            "false" | "no" | "0"
        )
    });
    match p.get("format").and_then(Json::as_str).unwrap_or("csv") {
        "csv" => Ok(Format::Csv { header }),
        "json" => Ok(Format::Json),
        "geojson" => Ok(Format::GeoJson),
        other => Err(Error::invalid(format!(
            "format must be csv, json or geojson, not {other:?}"
        ))
        .with_field("format")),
    }
}

/// The part of the answer asked for: `sort_column` (a result column) and `sort_direction`
/// (`asc`, the default, or `desc`), and a page when `page` or `per_page` is given.
fn window_of(p: &Map<String, Json>, max_rows: u64) -> Result<Window> {
    let (page, per_page) = (count_param(p, "page")?, count_param(p, "per_page")?);
    let page = (page.is_some() || per_page.is_some()).then(|| {
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE.min(max_rows));
        ((page.unwrap_or(1) - 1).saturating_mul(per_page), per_page)
    });
    let desc = match p.get("sort_direction").map(super::super::text) {
        None => false,
        Some(d) if d.eq_ignore_ascii_case("asc") => false,
        Some(d) if d.eq_ignore_ascii_case("desc") => true,
        Some(_) => {
            return Err(
                Error::invalid("sort_direction must be asc or desc").with_field("sort_direction")
            )
        }
    };
    let order_by = p
        .get("sort_column")
        .map(super::super::text)
        .filter(|c| !c.is_empty())
        .map(|c| (c, desc));
    Ok(Window { order_by, page })
}

pub async fn query(
    S(state): S<State>,
    method: Method,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    if method != Method::GET && method != Method::POST {
        return query_error(&Error::new(ErrorCode::MethodNotAllowed, "use GET or POST"));
    }
    let started = Instant::now();
    let result = async {
        let p = params(raw.as_deref(), body)?;
        let (who, app) = caller(&state, &headers, &p).await?;
        let sql = p
            .get("q")
            .and_then(Json::as_str)
            .ok_or_else(|| Error::new(ErrorCode::Required, "q is required").with_field("q"))?;
        let max_rows = state.engine.settings().query.max_rows as u64;
        let (format, window) = (format_of(&p)?, window_of(&p, max_rows)?);
        let sort = window.order_by.as_ref().map(|(c, _)| c.clone());
        let r = state
            .engine
            .queries()
            .run_window(&who, &app, sql, Vec::new(), Some(view()), window)
            .await?;
        // SQLite reads an unknown quoted name as a string (and orders by it): refuse it as
        // PostgreSQL does.
        if let Some(c) = sort.filter(|c| r.column(c).is_none()) {
            return Err(
                Error::invalid(format!("sort_column {c:?} is not a column of the query"))
                    .with_field("sort_column"),
            );
        }
        Ok((format, r))
    }
    .await;
    match result {
        Ok((Format::Csv { header }, r)) => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            query_csv_with(&r, header),
        )
            .into_response(),
        Ok((Format::Json, r)) => {
            let fields: Vec<Json> = r
                .columns
                .iter()
                .zip(&r.types)
                .map(|(n, t)| json!({"name": n, "type": t}))
                .collect();
            let rows: Vec<Json> = r
                .rows
                .into_iter()
                .map(|row| Json::Object(r.columns.iter().cloned().zip(row).collect()))
                .collect();
            let date = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            AxJson(json!({"fields": fields, "rows": rows, "time": started.elapsed().as_secs_f64(), "date": date})).into_response()
        }
        Ok((Format::GeoJson, r)) => AxJson(geojson(r)).into_response(),
        Err(e) => query_error(&e),
    }
}

/// A geometry value as GeoJSON: an object as it is, a JSON text holding one, or WKT
/// `POINT(x y)` (optionally `SRID=4326;`).
fn geometry_of(v: &Json) -> Json {
    match v {
        Json::Object(_) => v.clone(),
        Json::String(s) => {
            if let Ok(g @ Json::Object(_)) = serde_json::from_str::<Json>(s) {
                return g;
            }
            let wkt = s.rsplit(';').next().unwrap_or(s).trim();
            let point = wkt
                .get(..5)
                .filter(|p| p.eq_ignore_ascii_case("point"))
                .and_then(|_| wkt[5..].trim().strip_prefix('('))
                .and_then(|r| r.strip_suffix(')'))
                .map(|xy| xy.split_whitespace().filter_map(|n| n.parse::<f64>().ok()))
                .map(|ns| ns.collect::<Vec<f64>>());
            match point {
                Some(xy) if xy.len() >= 2 => json!({"type": "Point", "coordinates": xy}),
                _ => Json::Null,
            }
        }
        _ => Json::Null,
    }
}

/// Rows as a GeoJSON FeatureCollection: each row's columns are a feature's properties. The
/// geometry is the `_geometry` column (taken out of the properties), as Fulcrum's docs say; sluice
/// objects have no geometry type, so without one a point is made of numeric `_longitude` and
/// `_latitude` columns (ours); otherwise the feature has `"geometry": null`.
fn geojson(r: QueryResult) -> Json {
    let geometry_at = r.column("_geometry");
    let (lon, lat) = (r.column("_longitude"), r.column("_latitude"));
    let columns = r.columns;
    let features: Vec<Json> = r
        .rows
        .into_iter()
        .map(|row| {
            let geometry = match (geometry_at, lon.map(|i| &row[i]), lat.map(|i| &row[i])) {
                (Some(i), _, _) => geometry_of(&row[i]),
                (None, Some(Json::Number(x)), Some(Json::Number(y))) => {
                    json!({"type": "Point", "coordinates": [x, y]})
                }
                _ => Json::Null,
            };
            let properties: Map<String, Json> = columns
                .iter()
                .cloned()
                .zip(row)
                .enumerate()
                .filter(|(i, _)| Some(*i) != geometry_at)
                .map(|(_, kv)| kv)
                .collect();
            json!({"type": "Feature", "properties": properties, "geometry": geometry})
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}
