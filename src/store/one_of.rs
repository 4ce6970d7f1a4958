//! `column IN (…)` written so that its prepared statement can be reused when there is one value.

use diesel::expression::BoxableExpression;
use diesel::sql_types::Bool;

use super::connection::MultiBackend;

/// A condition on the table `T`, boxed so that either spelling fits the same query.
pub(super) type Condition<'a, T> = Box<dyn BoxableExpression<T, MultiBackend, SqlType = Bool> + 'a>;

/// `column = ?` for one value, `column IN (?, …)` for several, as a [`Condition`] on `table`:
/// `one_of!(users::table, users::id, &ids)`.
///
/// Most writes concern one user, and diesel keeps the prepared statement of `= ?`, while it
/// prepares `IN (…)` again on every call because the number of placeholders varies. Preparing
/// took as long as running the query.
macro_rules! one_of {
    ($table:ty, $column:expr, $values:expr) => {{
        let values: &[String] = $values;
        let condition: $crate::store::one_of::Condition<'_, $table> = match values {
            [one] => Box::new($column.eq(one)),
            _ => Box::new($column.eq_any(values)),
        };
        condition
    }};
}
pub(super) use one_of;
