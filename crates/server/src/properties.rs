//! Properties of every front door's decoders over generated input: any bytes, any JSON, any query
//! string — decoded or refused, never a panic; and list queries mean what they say.

use crate::fuzz;
use crate::native::records::list_spec;
use proptest::prelude::*;
use serde_json::{Map, Value as Json};
use sluice_engine::ops::{Filter, FilterOp};

/// Arbitrary JSON, a few levels deep.
fn json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        "[a-zA-Z0-9/_.$ ?=&\\[\\]{}-]{0,16}".prop_map(Json::from),
        prop_oneof![
            Just("GET"),
            Just("POST"),
            Just("PUT"),
            Just("DELETE"),
            Just("/1/objects/x"),
            Just("/v10/A/filter")
        ]
        .prop_map(Json::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("method".to_owned()),
                    Just("url".to_owned()),
                    Just("data".to_owned()),
                    Just("parameters".to_owned()),
                    Just("headers".to_owned()),
                    Just("filter".to_owned()),
                    Just("requests".to_owned()),
                    Just("operations".to_owned()),
                    Just("body".to_owned()),
                    "[a-z$_]{1,8}",
                ],
                inner,
                0..6,
            )
            .prop_map(|m| Json::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_are_decoded_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        fuzz::native_request(&bytes);
        fuzz::native_bulk(&bytes);
        fuzz::backand(&bytes);
        fuzz::sugar(&bytes);
        fuzz::bigin(&bytes);
        fuzz::fulcrum(&bytes);
    }

    #[test]
    fn any_json_is_decoded_or_refused(v in json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        let wrapped = [
            bytes.clone(),
            serde_json::to_vec(&serde_json::json!({"operations": [v.clone()]})).unwrap(),
            serde_json::to_vec(&serde_json::json!([v.clone()])).unwrap(),
            serde_json::to_vec(&serde_json::json!({"requests": [v.clone()]})).unwrap(),
        ];
        for b in &wrapped {
            fuzz::native_bulk(b);
            fuzz::backand(b);
            fuzz::sugar(b);
            fuzz::bigin(b);
            fuzz::fulcrum(b);
        }
    }

    #[test]
    fn list_filters_mean_what_they_say(
        field in "[a-z][a-z_]{0,8}",
        op in prop_oneof![Just(("gte", FilterOp::Gte)), Just(("ne", FilterOp::Ne)), Just(("like", FilterOp::Like)), Just(("null", FilterOp::IsNull))],
        value in "[a-zA-Z0-9@.]{0,12}",
        limit in 1u64..5000,
    ) {
        prop_assume!(!["limit", "offset", "cursor", "count", "sort"].contains(&field.as_str()));
        let q = format!("{field}[{}]={value}&limit={limit}&sort=-{field}", op.0);
        let spec = list_spec(&q).unwrap();
        prop_assert_eq!(spec.limit, Some(limit as usize));
        prop_assert_eq!(spec.sort, vec![(field.clone(), true)]);
        prop_assert_eq!(spec.filter, vec![Filter::Cmp { field, op: op.1, value: Json::String(value) }]);
    }

    #[test]
    fn any_query_string_is_parsed_or_refused(q in ".{0,200}") {
        let _ = list_spec(&q);
    }
}
