//! `GET /assets/docs.json`, what the `/docs` page shows: the OpenAPI document with every
//! `summary` and `description` (CommonMark, as OpenAPI has them) rendered to HTML by
//! pulldown-cmark, so the page needs no Markdown code of its own and nothing from elsewhere.

use axum::Json;
use pulldown_cmark::{html, Event, Options, Parser};
use serde_json::Value;

pub async fn docs_json() -> Json<Value> {
    // The document is plain data, so it always converts; were it not to, the page says it could
    // not load rather than the server failing.
    let mut doc = serde_json::to_value(crate::openapi::document()).unwrap_or_default();
    render_texts(&mut doc);
    Json(doc)
}

/// Renders in place every string held under a `summary` or `description` key. The page shows no
/// examples, so a `description` inside one being rendered too does no harm.
fn render_texts(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                match x {
                    Value::String(s) if k == "summary" || k == "description" => *s = markdown(s),
                    _ => render_texts(x),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(render_texts),
        _ => {}
    }
}

/// `text` as HTML. Raw HTML in it is shown as text: in these descriptions `<token>` is a
/// placeholder, not a tag.
fn markdown(text: &str) -> String {
    let events = Parser::new_ext(text, Options::ENABLE_TABLES).map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        e => e,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::markdown;

    #[test]
    fn markdown_becomes_html_and_raw_html_stays_text() {
        assert_eq!(
            markdown("Send `Authorization: Bearer <token>`, **always**; see <b>this</b>."),
            "<p>Send <code>Authorization: Bearer &lt;token&gt;</code>, <strong>always</strong>; \
             see &lt;b&gt;this&lt;/b&gt;.</p>\n"
        );
        let block = markdown(
            "# Head\n\n- a [link](/docs)\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\n```\ncode\n```",
        );
        for tag in [
            "<h1>",
            "<li>",
            "<a href=\"/docs\">",
            "<table>",
            "<td>",
            "<pre><code>",
        ] {
            assert!(block.contains(tag), "{tag} in {block}");
        }
    }
}
