//! Listing users with the admin API's filters, search, sort and paging, done in SQL so that a
//! large directory is never loaded whole.

use diesel::prelude::*;

use super::schema::users;
use super::users::UserRow;
use super::{DbConnection, StoreError};
use crate::domain::User;

type Db = <DbConnection as diesel::Connection>::Backend;
type Boxed<'a> = users::BoxedQuery<'a, Db>;

diesel::define_sql_function!(fn lower(text: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>);

/// A user field that lists can filter and sort on, by its JumpCloud name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    Id,
    Username,
    Email,
    AlternateEmail,
    FirstName,
    MiddleName,
    LastName,
    DisplayName,
    EmployeeIdentifier,
    JobTitle,
    Department,
    Company,
    CostCenter,
    Location,
    EmployeeType,
    Manager,
    State,
    CreationSource,
    Created,
}

impl UserField {
    pub const ALL: [UserField; 19] = [
        Self::Id,
        Self::Username,
        Self::Email,
        Self::AlternateEmail,
        Self::FirstName,
        Self::MiddleName,
        Self::LastName,
        Self::DisplayName,
        Self::EmployeeIdentifier,
        Self::JobTitle,
        Self::Department,
        Self::Company,
        Self::CostCenter,
        Self::Location,
        Self::EmployeeType,
        Self::Manager,
        Self::State,
        Self::CreationSource,
        Self::Created,
    ];

    /// The name the admin API uses for the field.
    pub fn api_name(self) -> &'static str {
        match self {
            Self::Id => "_id",
            Self::Username => "username",
            Self::Email => "email",
            Self::AlternateEmail => "alternateEmail",
            Self::FirstName => "firstname",
            Self::MiddleName => "middlename",
            Self::LastName => "lastname",
            Self::DisplayName => "displayname",
            Self::EmployeeIdentifier => "employeeIdentifier",
            Self::JobTitle => "jobTitle",
            Self::Department => "department",
            Self::Company => "company",
            Self::CostCenter => "costCenter",
            Self::Location => "location",
            Self::EmployeeType => "employeeType",
            Self::Manager => "manager",
            Self::State => "state",
            Self::CreationSource => "creationSource",
            Self::Created => "created",
        }
    }

    pub fn from_api_name(name: &str) -> Option<Self> {
        match name {
            "id" => Some(Self::Id),
            _ => Self::ALL.into_iter().find(|f| f.api_name() == name),
        }
    }
}

/// How a filter compares a field with its value(s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    /// Any of the values.
    In,
    /// Contains the value, ignoring case.
    Search,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub field: UserField,
    pub op: FilterOp,
    /// One value, or several for `In`.
    pub values: Vec<String>,
}

/// What to list. All conditions must hold; `search` matches usernames, emails and names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    pub conditions: Vec<Condition>,
    pub search: Option<String>,
    /// Fields in priority order, `true` for descending.
    pub sort: Vec<(UserField, bool)>,
    pub skip: i64,
    pub limit: i64,
}

/// Runs `$body` with `$c` bound to the column of `$field`.
macro_rules! with_column {
    ($field:expr, |$c:ident| $body:expr) => {
        match $field {
            UserField::Id => {
                let $c = users::id;
                $body
            }
            UserField::Username => {
                let $c = users::username;
                $body
            }
            UserField::Email => {
                let $c = users::email;
                $body
            }
            UserField::AlternateEmail => {
                let $c = users::alternate_email;
                $body
            }
            UserField::FirstName => {
                let $c = users::first_name;
                $body
            }
            UserField::MiddleName => {
                let $c = users::middle_name;
                $body
            }
            UserField::LastName => {
                let $c = users::last_name;
                $body
            }
            UserField::DisplayName => {
                let $c = users::display_name;
                $body
            }
            UserField::EmployeeIdentifier => {
                let $c = users::employee_identifier;
                $body
            }
            UserField::JobTitle => {
                let $c = users::job_title;
                $body
            }
            UserField::Department => {
                let $c = users::department;
                $body
            }
            UserField::Company => {
                let $c = users::company;
                $body
            }
            UserField::CostCenter => {
                let $c = users::cost_center;
                $body
            }
            UserField::Location => {
                let $c = users::location;
                $body
            }
            UserField::EmployeeType => {
                let $c = users::employee_type;
                $body
            }
            UserField::Manager => {
                let $c = users::manager_id;
                $body
            }
            UserField::State => {
                let $c = users::state;
                $body
            }
            UserField::CreationSource => {
                let $c = users::creation_source;
                $body
            }
            // Ids are UUID v7, ordered by creation time, so they sort like `created`.
            UserField::Created => {
                let $c = users::id;
                $body
            }
        }
    };
}

/// `%`, `_` and the escape character itself, escaped for a LIKE pattern.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn apply_condition<'a>(query: Boxed<'a>, condition: &Condition) -> Boxed<'a> {
    let value = condition.values.first().cloned().unwrap_or_default();
    let values = condition.values.clone();
    with_column!(condition.field, |column| match condition.op {
        FilterOp::Eq => query.filter(column.eq(value)),
        FilterOp::Ne => query.filter(column.ne(value)),
        FilterOp::Gt => query.filter(column.gt(value)),
        FilterOp::Ge => query.filter(column.ge(value)),
        FilterOp::Lt => query.filter(column.lt(value)),
        FilterOp::Le => query.filter(column.le(value)),
        FilterOp::In => query.filter(column.eq_any(values)),
        FilterOp::Search => query.filter(
            lower(column.nullable())
                .like(like_pattern(&value))
                .escape('\\')
        ),
    })
}

fn filtered<'a>(query: &'a UserQuery) -> Boxed<'a> {
    let mut boxed = users::table.into_boxed::<Db>();
    for condition in &query.conditions {
        boxed = apply_condition(boxed, condition);
    }
    if let Some(term) = query.search.as_deref().filter(|t| !t.is_empty()) {
        let pattern = like_pattern(term);
        boxed = boxed.filter(
            lower(users::username.nullable())
                .like(pattern.clone())
                .escape('\\')
                .or(lower(users::email.nullable())
                    .like(pattern.clone())
                    .escape('\\'))
                .or(lower(users::first_name).like(pattern.clone()).escape('\\'))
                .or(lower(users::last_name).like(pattern.clone()).escape('\\'))
                .or(lower(users::display_name).like(pattern).escape('\\')),
        );
    }
    boxed
}

/// One page of the users the query selects, and how many it selects in all.
pub fn list(conn: &mut DbConnection, query: &UserQuery) -> Result<(Vec<User>, i64), StoreError> {
    let total: i64 = filtered(query).count().get_result(conn)?;
    let mut page = filtered(query);
    for (index, (field, descending)) in query.sort.iter().enumerate() {
        page = with_column!(*field, |column| match (index, *descending) {
            (0, false) => page.order_by(column.asc()),
            (0, true) => page.order_by(column.desc()),
            (_, false) => page.then_order_by(column.asc()),
            (_, true) => page.then_order_by(column.desc()),
        });
    }
    // The id last, so that equal sort keys still page in a stable order.
    page = if query.sort.is_empty() {
        page.order_by(users::id.asc())
    } else {
        page.then_order_by(users::id.asc())
    };
    let users = page
        .offset(query.skip)
        .limit(query.limit)
        .select(UserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(UserRow::into_user)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((users, total))
}
