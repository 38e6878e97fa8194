//! Salesforce names to sluice names: Salesforce is case-insensitive in object and field names,
//! `Id` is the record id, and a relationship is named after its field (`Account` for `AccountId`,
//! `Account__r` for `Account__c`).

use sluice_engine::model::{App, Object};
use std::sync::Arc;

/// The object `given` names, whatever its case.
pub fn object<'a>(app: &'a App, given: &str) -> Option<&'a Arc<Object>> {
    app.object(given).or_else(|| {
        app.objects
            .values()
            .find(|o| o.name.as_str().eq_ignore_ascii_case(given))
    })
}

/// The sluice field `given` names on `obj` (`id` for Salesforce's `Id`), whatever its case.
pub fn field(obj: &Object, given: &str) -> Option<String> {
    if given.eq_ignore_ascii_case("id") {
        return Some("id".to_owned());
    }
    obj.fields
        .iter()
        .find(|f| f.name.as_str().eq_ignore_ascii_case(given))
        .map(|f| f.name.to_string())
}

/// The relation field of `obj` that relationship `given` goes through, and the object it points
/// at: the field named `given`, `given` + `Id`, or `given` with `__r` read as `__c`.
pub fn relation<'a>(app: &'a App, obj: &Object, given: &str) -> Option<(String, &'a Arc<Object>)> {
    let custom = given
        .len()
        .checked_sub(3)
        .filter(|&i| given.is_char_boundary(i) && given[i..].eq_ignore_ascii_case("__r"))
        .map(|i| format!("{}__c", &given[..i]));
    let candidates = [Some(given.to_owned()), Some(format!("{given}Id")), custom];
    candidates.iter().flatten().find_map(|name| {
        let f = obj
            .fields
            .iter()
            .find(|f| f.name.as_str().eq_ignore_ascii_case(name))?;
        let target = app.object(&f.relation.as_ref()?.object)?;
        Some((f.name.to_string(), target))
    })
}
