//! TEMPORARY STUB until the translator merges.
pub struct Translated {
    pub object: String,
    pub sql: String,
    pub params: Vec<serde_json::Value>,
    pub headers: Vec<String>,
}
pub struct SoqlError {
    pub code: &'static str,
    pub message: String,
}
pub fn translate(
    _soql: &str,
    _app: &sluice_engine::model::App,
    _syntax: sluice_engine::model::SqlSyntax,
    _now: chrono::DateTime<chrono::Utc>,
) -> Result<Translated, SoqlError> {
    Err(SoqlError {
        code: "MALFORMED_QUERY",
        message: "stub".into(),
    })
}
