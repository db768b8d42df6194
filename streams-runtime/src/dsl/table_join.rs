//! KTable-KTable joins (Java's `KTableKTableInnerJoin`, `LeftJoin`, `OuterJoin`, `RightJoin` and
//! `KTableKTableJoinMerger`): an update of either table joins the other table's current row
//! (read from its store) and is forwarded as a change of the joined table, with the old value
//! joined too when downstream needs it (an aggregation subtracting it, a filter).

use super::{Change, Operator, StreamJoiner, TableRows};
use crate::error::ProcessingError;
use crate::graph::Children;
use crate::record::Record;
use crate::task::TaskContext;
use std::marker::PhantomData;

/// Which values a table join needs for a result: an inner join both, a left join the left
/// table's, an outer join neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinNeeds {
    /// A result needs a left row.
    pub left: bool,
    /// A result needs a right row.
    pub right: bool,
}

/// One side of a table-table join: updates of this table (`LEFT`: the left one) join the other
/// table's current row, read from `other` (its store). `V1`/`V2` are the left and right tables'
/// value types.
pub struct TableJoin<J, T, V1, V2, const LEFT: bool> {
    joiner: J,
    other: T,
    needs: JoinNeeds,
    send_old_values: bool,
    types: PhantomData<fn(V1, V2)>,
}

impl<J, T, V1, V2, const LEFT: bool> TableJoin<J, T, V1, V2, LEFT> {
    /// A side joining with the other table's rows `other`; old values are joined when
    /// `send_old_values`.
    pub fn new(joiner: J, other: T, needs: JoinNeeds, send_old_values: bool) -> Self {
        TableJoin {
            joiner,
            other,
            needs,
            send_old_values,
            types: PhantomData,
        }
    }

    /// The joiner (the other side is made from this one).
    pub fn joiner(&self) -> &J {
        &self.joiner
    }
}

/// One table's update and the other's row, joined in (left, right) order: `None` when a result
/// needs a value that is absent.
fn joined<K, V1, V2, J: StreamJoiner<K, V1, V2>>(
    joiner: &mut J,
    needs: JoinNeeds,
    key: &K,
    left: Option<&V1>,
    right: Option<&V2>,
) -> Option<J::Out> {
    if (left.is_none() && needs.left) || (right.is_none() && needs.right) || (left.is_none() && right.is_none()) {
        return None;
    }
    joiner.join(key, left, right)
}

/// The per-update work of one side; `$this` is its value type, `$pair` orders (this, other).
macro_rules! table_join_side {
    ($left:literal, $this:ident, $other:ident, $pair:ident) => {
        impl<J, K, V1, V2, T> Operator<K, Change<$this>> for TableJoin<J, T, V1, V2, $left>
        where
            J: StreamJoiner<K, V1, V2>,
            T: TableRows<Key = K, Value = $other>,
        {
            type KeyOut = K;
            type ValueOut = Change<J::Out>;
            #[inline]
            fn process<Ch: Children<K, Change<J::Out>>>(
                &mut self,
                _: &'static str,
                record: Record<K, Change<$this>>,
                children: &mut Ch,
                task: &mut TaskContext,
            ) -> Result<(), ProcessingError> {
                let row = self.other.latest(&record.key)?;
                let (other, other_ts) = row.unzip();
                // The other side's row is needed for any result (an inner join, the right side
                // of a left join), or nothing changes at all.
                let other_needed = if $left { self.needs.right } else { self.needs.left };
                if other.is_none() && (other_needed || (record.value.new.is_none() && record.value.old.is_none())) {
                    return Ok(());
                }
                let timestamp = other_ts.map_or(record.timestamp, |t| t.max(record.timestamp));
                let Record {
                    key, value, headers, ..
                } = record;
                let (needs, send_old) = (self.needs, self.send_old_values);
                let new = {
                    let (l, r) = $pair(value.new.as_ref(), other.as_ref());
                    joined(&mut self.joiner, needs, &key, l, r)
                };
                let old = if send_old {
                    let (l, r) = $pair(value.old.as_ref(), other.as_ref());
                    joined(&mut self.joiner, needs, &key, l, r)
                } else {
                    None
                };
                children.forward(
                    Record {
                        key,
                        value: Change { new, old },
                        timestamp,
                        headers,
                    },
                    task,
                )
            }
        }
    };
}

/// A left table's update and a right row in the join's order.
fn left_first<'a, V1, V2>(this: Option<&'a V1>, other: Option<&'a V2>) -> (Option<&'a V1>, Option<&'a V2>) {
    (this, other)
}

/// A right table's update and a left row in the join's order.
fn right_second<'a, V1, V2>(this: Option<&'a V2>, other: Option<&'a V1>) -> (Option<&'a V1>, Option<&'a V2>) {
    (other, this)
}

table_join_side!(true, V1, V2, left_first);
table_join_side!(false, V2, V1, right_second);
