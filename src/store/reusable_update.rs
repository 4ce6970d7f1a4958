//! An `UPDATE` whose prepared statement diesel keeps between calls.
//!
//! Diesel prepares every `UPDATE` anew, because one statement type can stand for several SQL
//! texts (a changeset of `Option`s leaves out the `None` columns) and its cache would otherwise
//! key them by type. [`ReusableUpdate`] is keyed by its SQL text instead, so each distinct set
//! of columns is prepared once per connection. On a SCIM PATCH, preparing the user's `UPDATE`
//! cost about as much as running it.

use diesel::RunQueryDsl;
use diesel::backend::Backend;
use diesel::query_builder::{AsChangeset, AstPass, QueryFragment, QueryId};
use diesel::result::{EmptyChangeset, Error, QueryResult};

/// `UPDATE table SET changeset WHERE condition`, built from diesel's own fragments.
pub(super) struct ReusableUpdate<T, C, W> {
    table: T,
    changeset: C,
    condition: W,
}

/// Updates the rows of `table` that match `condition` with `changes`.
pub(super) fn update<T, V, W>(
    table: T,
    changes: V,
    condition: W,
) -> ReusableUpdate<T, V::Changeset, W>
where
    V: AsChangeset<Target = T>,
{
    ReusableUpdate {
        table,
        changeset: changes.as_changeset(),
        condition,
    }
}

impl<T, C, W> QueryId for ReusableUpdate<T, C, W> {
    type QueryId = ();
    // No static id: the statement cache then keys this query by its SQL text and bind types,
    // which tell apart every set of columns the changeset can name.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<T, C, W, DB> QueryFragment<DB> for ReusableUpdate<T, C, W>
where
    DB: Backend,
    T: QueryFragment<DB>,
    C: QueryFragment<DB>,
    W: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // As diesel's own UPDATE does: `SET` with nothing after it is not SQL.
        if self.changeset.is_noop(out.backend())? {
            return Err(Error::QueryBuilderError(Box::new(EmptyChangeset)));
        }
        out.push_sql("UPDATE ");
        self.table.walk_ast(out.reborrow())?;
        out.push_sql(" SET ");
        self.changeset.walk_ast(out.reborrow())?;
        out.push_sql(" WHERE ");
        self.condition.walk_ast(out.reborrow())
    }
}

impl<T, C, W, Conn> RunQueryDsl<Conn> for ReusableUpdate<T, C, W> {}
