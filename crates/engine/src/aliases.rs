//! The numeric-alias service (`model::alias`): front doors whose clients hold ids as 64-bit
//! integers show these numbers and take them back.

use crate::core::Core;
use crate::error::{Error, Result};
use crate::model::AliasKind;
use std::sync::Arc;

pub struct Aliases {
    core: Arc<Core>,
}

impl Aliases {
    pub fn new(core: Arc<Core>) -> Aliases {
        Aliases { core }
    }

    /// The numbers of `ids`, in order, giving the ones without a number the next.
    pub async fn numbers(&self, kind: AliasKind, ids: Vec<String>) -> Result<Vec<u64>> {
        self.core
            .transact(move |ctx| {
                let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                ctx.tx
                    .alias_numbers(kind, &refs, true)?
                    .into_iter()
                    .map(|n| n.ok_or_else(|| Error::internal("an alias was not allocated")))
                    .collect()
            })
            .await
    }

    /// The number of one id.
    pub async fn number(&self, kind: AliasKind, id: &str) -> Result<u64> {
        let mut n = self.numbers(kind, vec![id.to_owned()]).await?;
        n.pop()
            .ok_or_else(|| Error::internal("an alias was not allocated"))
    }

    /// The ids `numbers` stand for, in order (`None` for a number that stands for nothing).
    pub async fn ids_of(&self, kind: AliasKind, numbers: Vec<u64>) -> Result<Vec<Option<String>>> {
        self.core
            .read(move |ctx| ctx.tx.alias_ids(kind, &numbers))
            .await
    }

    /// The id `number` stands for, if any.
    pub async fn id_of(&self, kind: AliasKind, number: u64) -> Result<Option<String>> {
        self.core
            .read(move |ctx| Ok(ctx.tx.alias_ids(kind, &[number])?.pop().flatten()))
            .await
    }
}
