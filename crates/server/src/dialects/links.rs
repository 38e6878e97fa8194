//! How dialects name an object's relations from the other side: the objects whose relation
//! fields point at it (Sugar's reverse links, Backand's collections). Each is named by the
//! pointing object, or `<object>_<field>` when that object has several fields pointing here.

use sluice_engine::model::App;
use std::collections::HashMap;

/// A relation seen from the object it points at.
#[derive(Debug, Clone)]
pub struct Reverse {
    /// The dialect's name for it (`contacts`, or `contacts_account`).
    pub name: String,
    /// The object whose field points here.
    pub object: String,
    /// That object's relation field.
    pub field: String,
}

/// Every relation of `app` that points at `object`, named, in a stable order.
pub fn reverse(app: &App, object: &str) -> Vec<Reverse> {
    let pointing = app.pointing_at(object);
    let mut per: HashMap<String, usize> = HashMap::new();
    for (o, _, _) in &pointing {
        *per.entry(o.name.to_string()).or_default() += 1;
    }
    let mut out: Vec<Reverse> = pointing
        .iter()
        .filter_map(|(o, i, _)| {
            let field = o.fields.get(*i)?.name.to_string();
            let object = o.name.to_string();
            let name = match per.get(&object) {
                Some(1) => object.clone(),
                _ => format!("{object}_{field}"),
            };
            Some(Reverse {
                name,
                object,
                field,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
