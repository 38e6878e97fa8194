//! Salesforce names to sluice names, for ingest columns and SOQL alike: Salesforce is
//! case-insensitive in object and field names (an object may also be named by its label), `Id` is
//! the record id, and a relationship is named after its field (`Account` for `AccountId`,
//! `Account__r` for `Account__c`).

use sluice_engine::model::{App, Field, Object};
use std::sync::Arc;

/// The object `given` names: its name in any case, else its label.
pub fn object<'a>(app: &'a App, given: &str) -> Option<&'a Arc<Object>> {
    app.object_by_name_or_label(given)
}

/// The sluice field `given` names on `obj` (`id` for Salesforce's `Id`), whatever its case.
pub fn field(obj: &Object, given: &str) -> Option<String> {
    if given.eq_ignore_ascii_case("id") {
        return Some("id".to_owned());
    }
    obj.field_ci(given).map(|(_, f)| f.name.to_string())
}

/// The relation field of `obj` a relationship name reaches: the field of that name, else
/// `<name>Id` (standard relationships: `Account` is the field `AccountId`), else for a custom
/// relationship `<x>__r` the field `<x>__c`.
pub fn relation<'o>(obj: &'o Object, name: &str) -> Option<&'o Field> {
    let named = |n: &str| {
        obj.relations()
            .map(|(_, f, _)| f)
            .find(|f| f.name.as_str().eq_ignore_ascii_case(n))
    };
    let custom = name
        .len()
        .checked_sub(3)
        .filter(|&cut| {
            name.get(cut..)
                .is_some_and(|s| s.eq_ignore_ascii_case("__r"))
        })
        .and_then(|cut| name.get(..cut))
        .map(|stem| format!("{stem}__c"));
    named(name)
        .or_else(|| named(&format!("{name}Id")))
        .or_else(|| custom.as_deref().and_then(named))
}

/// `relation`, with the object the field points at.
pub fn related<'a>(app: &'a App, obj: &Object, name: &str) -> Option<(String, &'a Arc<Object>)> {
    let f = relation(obj, name)?;
    let target = app.object(&f.relation.as_ref()?.object)?;
    Some((f.name.to_string(), target))
}
