//! Read-only SQL over an app's objects: parsed with a real SQL parser in the store's grammar,
//! checked against an allow-list (one SELECT, the app's objects, vetted functions), then run by
//! the store on its own tables behind its second line of defence, with a time limit and caps.

#[cfg(test)]
mod at_the_limits;
mod bounds;
mod check;

pub use check::prepare;

use crate::core::Core;
use crate::error::Result;
use crate::model::{App, CheckedQuery, Need, Principal, QueryResult, QueryView, Window};
use serde_json::Value as Json;
use std::sync::Arc;

/// Query parameters are SQL values: null, booleans, numbers and text.
pub fn check_params(params: &[Json]) -> Result<()> {
    match params.iter().position(|p| p.is_array() || p.is_object()) {
        Some(i) => Err(crate::error::Error::validation(
            "params",
            format!(
                "parameter {} is a list or an object; parameters are single values",
                i + 1
            ),
        )),
        None => Ok(()),
    }
}

pub struct Queries {
    core: Arc<Core>,
}

impl Queries {
    pub fn new(core: Arc<Core>) -> Queries {
        Queries { core }
    }

    /// Checks `sql` against `app`'s objects, seen through `view` (`None`: as stored).
    pub fn check(&self, app: &App, sql: &str, view: Option<QueryView>) -> Result<CheckedQuery> {
        let s = &self.core.settings;
        prepare(app, sql, &self.core.store.syntax(), view, &s.query)
    }

    /// Runs one read-only query over `app`'s objects (reader role is enough).
    pub async fn run(
        &self,
        who: &Principal,
        app: &str,
        sql: &str,
        params: Vec<Json>,
        view: Option<QueryView>,
    ) -> Result<QueryResult> {
        self.run_window(who, app, sql, params, view, Window::default())
            .await
    }

    /// Like `run`, keeping only `window` of the answer (an order by one of its columns, a page).
    pub async fn run_window(
        &self,
        who: &Principal,
        app: &str,
        sql: &str,
        params: Vec<Json>,
        view: Option<QueryView>,
        window: Window,
    ) -> Result<QueryResult> {
        let app = self.core.app(who, app, Need::Read)?;
        check_params(&params)?;
        let mut checked = self.check(&app, sql, view)?;
        checked.window = window;
        let _turn = self.core.expensive_turn().await?;
        let limits = self.core.settings.query.clone();
        self.core
            .read_for(who, move |ctx| ctx.tx.query(&checked, &params, &limits))
            .await
    }
}
