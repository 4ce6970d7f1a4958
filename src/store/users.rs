//! Users: reading them, and the one way to change them ([`apply_user_change`]), which writes
//! the row and its audit events together.

use diesel::prelude::*;

use super::connection::per_backend;
use super::one_of::one_of;
use super::reusable_update;

mod changed_columns;
use super::schema::users;
use super::time::{from_db, to_db};
use super::{DbConnection, StoreError, audit};
use crate::domain::audit::NewAuditEvent;
use crate::domain::{Email, LifecycleState, PasswordStatus, User, UserId, UserName};
use changed_columns::ChangedColumns;

/// A user as stored. An absent optional value is inserted as a bound NULL rather than left to
/// the column's default (none of these columns has one): the INSERT's SQL is then the same
/// for every user, so diesel prepares it once and finds it by type instead of writing it out.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub(super) struct UserRow {
    id: String,
    username: String,
    username_folded: String,
    email: String,
    alternate_email: Option<String>,
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
    display_name: Option<String>,
    employee_identifier: Option<String>,
    job_title: Option<String>,
    department: Option<String>,
    company: Option<String>,
    cost_center: Option<String>,
    location: Option<String>,
    employee_type: Option<String>,
    manager_id: Option<String>,
    phone_numbers: String,
    addresses: String,
    samba_service_user: bool,
    external_id: Option<String>,
    state: String,
    state_source: String,
    state_changed_at: chrono::NaiveDateTime,
    password_hash: Option<String>,
    password_expired: bool,
    password_set_at: Option<chrono::NaiveDateTime>,
    creation_source: String,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    version: i64,
    formatted_name: Option<String>,
    email_type: String,
    alternate_email_type: String,
    email_primary: bool,
    division: Option<String>,
    unix_uid: Option<i64>,
    unix_guid: Option<i64>,
}

impl UserRow {
    fn from_user(user: &User) -> Result<Self, StoreError> {
        Ok(Self {
            id: user.id.to_string(),
            username: user.username.as_str().to_owned(),
            username_folded: user.username.folded(),
            email: user.email.as_str().to_owned(),
            alternate_email: user.alternate_email.as_ref().map(|e| e.as_str().to_owned()),
            first_name: user.first_name.clone(),
            middle_name: user.middle_name.clone(),
            last_name: user.last_name.clone(),
            display_name: user.display_name.clone(),
            employee_identifier: user.employee_identifier.clone(),
            job_title: user.job_title.clone(),
            department: user.department.clone(),
            company: user.company.clone(),
            cost_center: user.cost_center.clone(),
            location: user.location.clone(),
            employee_type: user.employee_type.clone(),
            manager_id: user.manager.map(|id| id.to_string()),
            phone_numbers: to_json(&user.phone_numbers)?,
            addresses: to_json(&user.addresses)?,
            samba_service_user: user.samba_service_user,
            external_id: user.external_id.clone(),
            state: user.state.as_str().to_owned(),
            state_source: user.state_source.to_string(),
            state_changed_at: to_db(user.state_changed_at),
            password_hash: user.password.hash.clone(),
            password_expired: user.password.expired,
            password_set_at: user.password.set_at.map(to_db),
            creation_source: user.creation_source.clone(),
            created_at: to_db(user.created_at),
            updated_at: to_db(user.updated_at),
            version: user.version,
            formatted_name: user.formatted_name.clone(),
            email_type: user.email_type.clone(),
            alternate_email_type: user.alternate_email_type.clone(),
            email_primary: user.email_primary,
            division: user.division.clone(),
            unix_uid: user.unix_uid,
            unix_guid: user.unix_guid,
        })
    }

    pub(super) fn into_user(self) -> Result<User, StoreError> {
        let corrupt = |field: &str, error: &dyn std::fmt::Display| {
            StoreError::corrupt(format!("user {}: {field}: {error}", self.id))
        };
        let email = |field: &'static str, text: &str| {
            Email::parse(field, text).map_err(|e| corrupt(field, &e))
        };
        Ok(User {
            id: self.id.parse().map_err(|e| corrupt("id", &e))?,
            username: UserName::parse(&self.username).map_err(|e| corrupt("username", &e))?,
            email: email("email", &self.email)?,
            email_type: self.email_type.clone(),
            alternate_email_type: self.alternate_email_type.clone(),
            email_primary: self.email_primary,
            formatted_name: self.formatted_name.clone(),
            alternate_email: self
                .alternate_email
                .as_deref()
                .map(|text| email("alternateEmail", text))
                .transpose()?,
            first_name: self.first_name.clone(),
            middle_name: self.middle_name.clone(),
            last_name: self.last_name.clone(),
            display_name: self.display_name.clone(),
            employee_identifier: self.employee_identifier.clone(),
            job_title: self.job_title.clone(),
            department: self.department.clone(),
            company: self.company.clone(),
            cost_center: self.cost_center.clone(),
            division: self.division.clone(),
            unix_uid: self.unix_uid,
            unix_guid: self.unix_guid,
            location: self.location.clone(),
            employee_type: self.employee_type.clone(),
            manager: self
                .manager_id
                .as_deref()
                .map(str::parse::<UserId>)
                .transpose()
                .map_err(|e| corrupt("manager", &e))?,
            phone_numbers: serde_json::from_str(&self.phone_numbers)
                .map_err(|e| corrupt("phoneNumbers", &e))?,
            addresses: serde_json::from_str(&self.addresses)
                .map_err(|e| corrupt("addresses", &e))?,
            samba_service_user: self.samba_service_user,
            external_id: self.external_id.clone(),
            state: self.state.parse().map_err(|e| corrupt("state", &e))?,
            state_source: self
                .state_source
                .parse()
                .map_err(|e| corrupt("state_source", &e))?,
            state_changed_at: from_db(self.state_changed_at),
            password: PasswordStatus {
                hash: self.password_hash.clone(),
                expired: self.password_expired,
                set_at: self.password_set_at.map(from_db),
            },
            creation_source: self.creation_source.clone(),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
            version: self.version,
        })
    }
}

/// Serializing the JSON columns cannot fail for these plain types; should it ever, the store
/// reports it rather than panicking in a request.
fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(StoreError::corrupt)
}

/// The user with this id, if there is one.
pub fn find(conn: &mut DbConnection, id: UserId) -> Result<Option<User>, StoreError> {
    let id = id.to_string();
    // On the concrete connection, diesel finds the prepared statement by the query's type; on
    // the combined one it would write out the SQL first to look it up, on every call.
    per_backend!(conn, |c| users::table
        .find(&id)
        .select(UserRow::as_select())
        .first(c)
        .optional())?
    .map(UserRow::into_user)
    .transpose()
}

/// The users with these ids that exist, in no particular order.
pub fn find_many(conn: &mut DbConnection, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
    let ids: Vec<String> = ids.iter().map(UserId::to_string).collect();
    users::table
        .filter(one_of!(users::table, users::id, &ids))
        .select(UserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(UserRow::into_user)
        .collect()
}

/// Which of these ids belong to users that exist.
pub fn existing(
    conn: &mut DbConnection,
    ids: &[UserId],
) -> Result<std::collections::HashSet<UserId>, StoreError> {
    let ids: Vec<String> = ids.iter().map(UserId::to_string).collect();
    let found: Vec<String> = users::table
        .filter(one_of!(users::table, users::id, &ids))
        .select(users::id)
        .load(conn)?;
    found
        .iter()
        .map(|id| {
            id.parse()
                .map_err(|e| StoreError::corrupt(format!("user {id}: id: {e}")))
        })
        .collect()
}

/// The user with this username, compared without regard to case.
pub fn find_by_username(
    conn: &mut DbConnection,
    username: &str,
) -> Result<Option<User>, StoreError> {
    let folded = username.to_lowercase();
    // Asked before every create an identity provider makes: see `find` for the concrete
    // connection.
    per_backend!(conn, |c| users::table
        .filter(users::username_folded.eq(&folded))
        .select(UserRow::as_select())
        .first(c)
        .optional())?
    .map(UserRow::into_user)
    .transpose()
}

/// One page of users in creation order (ids are time-ordered, so this order is stable).
pub fn list(conn: &mut DbConnection, skip: i64, limit: i64) -> Result<Vec<User>, StoreError> {
    users::table
        .order(users::id.asc())
        .offset(skip)
        .limit(limit)
        .select(UserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(UserRow::into_user)
        .collect()
}

/// The first POSIX id Roster hands out: below it are the local accounts of most Unix systems.
pub const FIRST_UNIX_ID: i64 = 5000;

/// The next free POSIX id: one above the highest assigned, never below [`FIRST_UNIX_ID`]. Must
/// run in the write transaction that stores it. SQLite's single writer makes that safe by
/// itself; on PostgreSQL a transaction-scoped advisory lock makes concurrent creations take
/// their turn (the unique index on `unix_uid` would refuse a duplicate anyway).
pub fn next_unix_id(conn: &mut DbConnection) -> Result<i64, StoreError> {
    /// An arbitrary key that only this allocation uses.
    const UNIX_ID_LOCK: i64 = 0x726f_7374_6572_7569;
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({UNIX_ID_LOCK})")).execute(pg)?;
    }
    let highest: Option<i64> = users::table
        .select(diesel::dsl::max(users::unix_uid))
        .first(conn)?;
    Ok(highest.map_or(FIRST_UNIX_ID, |id| (id + 1).max(FIRST_UNIX_ID)))
}

/// How many users are in each state (the billing counts).
pub fn count_by_state(conn: &mut DbConnection) -> Result<Vec<(LifecycleState, i64)>, StoreError> {
    let rows: Vec<(String, i64)> = users::table
        .group_by(users::state)
        .select((users::state, diesel::dsl::count_star()))
        .load(conn)?;
    rows.into_iter()
        .map(|(state, count)| {
            let state = state.parse().map_err(StoreError::corrupt)?;
            Ok((state, count))
        })
        .collect()
}

/// A change to one user, as [`apply_user_change`] writes it.
#[derive(Debug, Clone, Copy)]
pub enum UserChange<'a> {
    Create(&'a User),
    /// `before` is the user as read from the store, `after` the new content with `version`
    /// one above `before`'s. The row is written only while it is still at `before.version`,
    /// and only the columns that differ from `before` are written.
    Update {
        before: &'a User,
        after: &'a User,
    },
    Delete(&'a User),
}

/// Writes a change to a user together with the audit events that describe it. This is the only
/// way the store changes a user, so no change can skip the audit trail. Call it inside a
/// [`write_transaction`](super::write_transaction) so that the change, its events and any
/// outbox jobs commit or fail together.
pub fn apply_user_change(
    conn: &mut DbConnection,
    change: UserChange<'_>,
    events: Vec<NewAuditEvent>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    apply_user_changes(conn, &[change], events, now)
}

/// [`apply_user_change`] for several changes at once, with the events of all of them appended
/// together (the scheduler applies a batch of schedules this way).
pub fn apply_user_changes(
    conn: &mut DbConnection,
    changes: &[UserChange<'_>],
    events: Vec<NewAuditEvent>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Err(StoreError::Unaudited);
    }
    for change in changes {
        write_row(conn, *change)?;
    }
    audit::append(conn, events, now)?;
    Ok(())
}

/// The row write of one change, guarded by the version it was read at. An update compares
/// with the user as the caller read it rather than reading the row again: the version guard
/// makes sure that is still what is stored.
fn write_row(conn: &mut DbConnection, change: UserChange<'_>) -> Result<(), StoreError> {
    match change {
        // The statements of a create and an update run on the concrete connection: through the
        // combined one, each would write out its SQL just to find its prepared statement.
        UserChange::Create(user) => {
            let row = UserRow::from_user(user)?;
            per_backend!(&mut *conn, |c| diesel::insert_into(users::table)
                .values(&row)
                .execute(c))?;
        }
        UserChange::Update { before, after } => {
            debug_assert_eq!(after.version, before.version + 1, "one version per write");
            let changes =
                ChangedColumns::between(UserRow::from_user(before)?, UserRow::from_user(after)?);
            let id = after.id.to_string();
            let guard = users::id.eq(&id).and(users::version.eq(before.version));
            let updated = per_backend!(&mut *conn, |c| reusable_update::update(
                users::table,
                &changes,
                guard
            )
            .execute(c))?;
            if updated == 0 {
                return Err(gone_or_changed(conn, after.id)?);
            }
        }
        UserChange::Delete(user) => {
            let deleted = diesel::delete(users::table.find(user.id.to_string()))
                .filter(users::version.eq(user.version))
                .execute(conn)?;
            if deleted == 0 {
                return Err(gone_or_changed(conn, user.id)?);
            }
        }
    }
    Ok(())
}

/// Tells apart the two reasons a guarded write touched no row.
fn gone_or_changed(conn: &mut DbConnection, id: UserId) -> Result<StoreError, StoreError> {
    let exists = diesel::select(diesel::dsl::exists(users::table.find(id.to_string())))
        .get_result::<bool>(conn)?;
    Ok(if exists {
        StoreError::VersionMismatch
    } else {
        StoreError::Gone
    })
}

/// Direct reports of a manager.
pub fn direct_reports(conn: &mut DbConnection, manager: UserId) -> Result<Vec<User>, StoreError> {
    users::table
        .filter(users::manager_id.eq(manager.to_string()))
        .order(users::id.asc())
        .select(UserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(UserRow::into_user)
        .collect()
}

/// Runs a users query built elsewhere in the store (the SCIM filter translation).
pub(super) fn load_query(
    conn: &mut DbConnection,
    query: users::BoxedQuery<'_, super::connection::MultiBackend>,
) -> Result<Vec<User>, StoreError> {
    query
        .select(UserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(UserRow::into_user)
        .collect()
}
