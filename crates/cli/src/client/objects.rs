//! `sluice objects`: list, show, create an object, and update one (add, change, rename and drop
//! fields; add and drop indexes) through the object's `PATCH`.

use super::args::{ClientArgs, ObjectUpdateArgs, ObjectsCommand};
use super::commands::{list_of, show};
use super::output::{cell, table};
use super::{seg, Api, Usage};
use serde_json::{json, Map, Value};

fn usage(msg: String) -> anyhow::Error {
    Usage(msg).into()
}

/// `name:type[:required][:unique][:indexed]` as a field definition.
pub fn field_spec(s: &str) -> anyhow::Result<Value> {
    let mut parts = s.split(':');
    let (Some(name), Some(ty)) = (parts.next(), parts.next()) else {
        return Err(usage(format!(
            "a field is NAME:TYPE[:required][:unique][:indexed], not {s:?}"
        )));
    };
    let mut f = json!({"name": name, "type": ty});
    for flag in parts {
        match flag {
            "required" | "unique" | "indexed" => f[flag] = json!(true),
            other => return Err(usage(format!("unknown field flag {other:?} in {s:?}"))),
        }
    }
    Ok(f)
}

/// A value given on the command line: JSON when it parses as JSON, else text.
pub fn value_of(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| json!(s))
}

/// `NAME:CHANGE` as (field, the change's keys): `required`, `not-required`, `unique`,
/// `not-unique`, `default=VALUE`, `no-default`, `label=TEXT`.
fn change_spec(s: &str) -> anyhow::Result<(String, Map<String, Value>)> {
    let bad = || {
        usage(format!(
        "a change is NAME:required|not-required|unique|not-unique|default=VALUE|no-default|label=TEXT, not {s:?}"
    ))
    };
    let (name, change) = s.split_once(':').ok_or_else(bad)?;
    let mut m = Map::new();
    match change.split_once('=') {
        Some(("default", v)) => {
            m.insert("default".into(), value_of(v));
        }
        Some(("label", v)) => {
            m.insert("label".into(), json!(v));
        }
        Some(_) => return Err(bad()),
        None => {
            let (key, value) = match change {
                "required" => ("required", json!(true)),
                "not-required" => ("required", json!(false)),
                "unique" => ("unique", json!(true)),
                "not-unique" => ("unique", json!(false)),
                "no-default" => ("default", Value::Null),
                _ => return Err(bad()),
            };
            m.insert(key.into(), value);
        }
    }
    Ok((name.to_owned(), m))
}

/// The object's `PATCH` body from the flags.
pub fn patch_body(a: &ObjectUpdateArgs) -> anyhow::Result<Value> {
    let mut body = json!({});
    if let Some(l) = &a.label {
        body["label"] = json!(l);
    }
    if !a.add.is_empty() {
        let add = a
            .add
            .iter()
            .map(|f| field_spec(f))
            .collect::<anyhow::Result<Vec<_>>>()?;
        body["add"] = json!(add);
    }
    if !a.change.is_empty() {
        let mut changes = Map::new();
        for c in &a.change {
            let (name, keys) = change_spec(c)?;
            let entry = changes.entry(name).or_insert_with(|| json!({}));
            if let Value::Object(m) = entry {
                m.extend(keys);
            }
        }
        body["change"] = Value::Object(changes);
    }
    if !a.rename.is_empty() {
        let mut renames = Map::new();
        for r in &a.rename {
            match r.split_once('=') {
                Some((from, to)) if !from.is_empty() && !to.is_empty() => {
                    renames.insert(from.to_owned(), json!(to));
                }
                _ => return Err(usage(format!("--rename takes OLD=NEW, not {r:?}"))),
            }
        }
        body["rename"] = Value::Object(renames);
    }
    for (key, list) in [
        ("drop", &a.drop),
        ("index", &a.index),
        ("unindex", &a.unindex),
    ] {
        if !list.is_empty() {
            body[key] = json!(list);
        }
    }
    if body.as_object().is_some_and(Map::is_empty) {
        return Err(usage(
            "nothing to change: give --add, --change, --rename, --drop, --index, --unindex or --label"
                .into(),
        ));
    }
    Ok(body)
}

pub async fn run(api: &Api, args: &ClientArgs, c: ObjectsCommand) -> anyhow::Result<i32> {
    let row = |o: &Value| {
        let fields = list_of(o, "fields")
            .iter()
            .map(|f| {
                let mut d = format!("{}:{}", cell(&f["name"]), cell(&f["type"]));
                for flag in ["required", "unique", "indexed"] {
                    if f[flag] == true {
                        d.push(':');
                        d.push_str(flag);
                    }
                }
                d
            })
            .collect::<Vec<_>>()
            .join(" ");
        vec![cell(&o["name"]), cell(&o["label"]), cell(&o["id"]), fields]
    };
    let header = &["name", "label", "id", "fields"];
    let v = match c {
        ObjectsCommand::List { app } => api.get(&format!("/v1/apps/{}/objects", seg(&app))).await?,
        ObjectsCommand::Show { name, app } => {
            let path = format!("/v1/apps/{}/objects/{}", seg(&app), seg(&name));
            api.get(&path).await?
        }
        ObjectsCommand::Create {
            name,
            app,
            label,
            fields,
        } => {
            let fields = fields
                .iter()
                .map(|f| field_spec(f))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut body = json!({"name": name, "fields": fields});
            if let Some(l) = label {
                body["label"] = json!(l);
            }
            api.post(&format!("/v1/apps/{}/objects", seg(&app)), &body)
                .await?
        }
        ObjectsCommand::Update(a) => {
            let body = patch_body(&a)?;
            let path = format!("/v1/apps/{}/objects/{}", seg(&a.app), seg(&a.name));
            api.json(reqwest::Method::PATCH, &path, Some(&body)).await?
        }
    };
    show(args, &v, |v| match v.get("objects") {
        Some(_) => table(header, list_of(v, "objects").iter().map(row)),
        None => table(header, [row(v)]),
    });
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_the_patch_keys() {
        assert_eq!(
            change_spec("city:default=Paris").unwrap(),
            (
                "city".into(),
                json!({"default": "Paris"}).as_object().unwrap().clone()
            )
        );
        assert_eq!(
            change_spec("age:not-required").unwrap().1["required"],
            false
        );
        assert_eq!(change_spec("n:default=3").unwrap().1["default"], 3);
        assert!(change_spec("age").is_err());
        assert!(change_spec("age:maybe").is_err());
    }
}
