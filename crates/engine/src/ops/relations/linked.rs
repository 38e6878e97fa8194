//! Lists of the records linked to one record (`ListSpec.linked`): the condition that keeps them,
//! after the record itself is found (a vendor answers "no parent record" otherwise).

use crate::core::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{CmpOp, Column, Cond, Linked, Need, Object, Principal, RecordId, Value};

/// The condition on `listed` (an object of app `app`) that keeps the records `l` links to.
pub fn linked_cond(
    ctx: &mut Ctx<'_>,
    who: &Principal,
    app: &str,
    listed: &Object,
    l: &Linked,
) -> Result<Cond> {
    let (_, parent) = ctx.object(who, app, &l.object, Need::Read)?;
    let id = RecordId::parse(&l.id)?;
    let record = ctx
        .tx
        .get_record(&parent, id.as_str())?
        .ok_or_else(|| Error::not_found(format!("no record with id {:?}", id.as_str())))?;
    let points_at = |o: &Object, target: &str| {
        o.field(&l.field)
            .filter(|(_, f)| f.relation.as_ref().is_some_and(|r| r.object == target))
            .map(|(i, _)| i)
    };
    let unknown = || {
        Error::new(
            ErrorCode::UnknownField,
            format!(
                "no relation {:?} links {} to {}",
                l.field, parent.name, listed.name
            ),
        )
        .with_field(l.field.as_str())
    };
    if l.forward {
        let i = points_at(&parent, listed.name.as_str()).ok_or_else(unknown)?;
        return Ok(match record.values.get(i) {
            Some(Value::Text(target)) => {
                Cond::Cmp(Column::Id, CmpOp::Eq, Value::Text(target.clone()))
            }
            // An empty relation links nothing.
            _ => Cond::In(Column::Id, Vec::new(), false),
        });
    }
    let i = points_at(listed, parent.name.as_str()).ok_or_else(unknown)?;
    Ok(Cond::Cmp(
        Column::Field(i),
        CmpOp::Eq,
        Value::Text(record.id),
    ))
}
