//! Schemas of what is not JSON: the bytes of files sent and received, the multipart upload, and
//! the records list's filters, which ride in the query string under the names of the object's
//! own fields. Generated clients need each one spelled out to send or read them at all.

#![allow(dead_code)]

use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// A file's bytes (a ZIP, a CSV or NDJSON), sent or received as is. Written `type: string, format:
/// binary` because that is what client generators turn into a file or bytes; utoipa's own `Vec<u8>`
/// is an array of integers.
pub struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for Binary {}

/// A multipart upload: the file in field `file` (its file name names the upload unless `name` is
/// given).
#[derive(ToSchema)]
pub struct UploadForm {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Conditions on the records, one query parameter each: `field=value` for equality, or
/// `field[op]=value` with `op` one of `eq ne gt gte lt lte in nin like null` (`in` and `nin` take
/// comma-separated values, `null` takes `true` or `false`). The names are the object's own fields
/// and system fields, so the set is open.
pub struct RecordFilter;

impl PartialSchema for RecordFilter {
    fn schema() -> RefOr<Schema> {
        let name = ObjectBuilder::new().schema_type(Type::String).pattern(Some(
            r"^[A-Za-z][A-Za-z0-9_]*(\[(eq|ne|gt|gte|lt|lte|in|nin|like|null)\])?$",
        ));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property_names(Some(name))
            .additional_properties(Some(AdditionalProperties::RefOr(
                ObjectBuilder::new().schema_type(Type::String).into(),
            )))
            .description(Some(
                "Conditions by field: `{\"status\": \"new\", \"age[gte]\": \"30\"}` is sent as \
                 `status=new&age[gte]=30`",
            ))
            .into()
    }
}

impl ToSchema for RecordFilter {}
