//! Writing only the columns of a user row that changed.

use diesel::prelude::*;

use super::UserRow;
use crate::store::schema::users;

/// The columns whose value differs from the row as read; the others stay out of the `UPDATE`.
///
/// An `UPDATE` naming every column makes SQLite rewrite the entry of every index on the table
/// (eleven of them), even where the value is the same: a state change, which touches three
/// columns, took two and a half times as long that way. A field that is `None` is left out; for a nullable
/// column, `Some(None)` writes `NULL`.
#[derive(AsChangeset)]
#[diesel(table_name = users)]
pub(super) struct ChangedColumns {
    username: Option<String>,
    username_folded: Option<String>,
    email: Option<String>,
    alternate_email: Option<Option<String>>,
    first_name: Option<Option<String>>,
    middle_name: Option<Option<String>>,
    last_name: Option<Option<String>>,
    display_name: Option<Option<String>>,
    employee_identifier: Option<Option<String>>,
    job_title: Option<Option<String>>,
    department: Option<Option<String>>,
    company: Option<Option<String>>,
    cost_center: Option<Option<String>>,
    location: Option<Option<String>>,
    employee_type: Option<Option<String>>,
    manager_id: Option<Option<String>>,
    phone_numbers: Option<String>,
    addresses: Option<String>,
    samba_service_user: Option<bool>,
    external_id: Option<Option<String>>,
    state: Option<String>,
    state_source: Option<String>,
    state_changed_at: Option<chrono::NaiveDateTime>,
    password_hash: Option<Option<String>>,
    password_expired: Option<bool>,
    password_set_at: Option<Option<chrono::NaiveDateTime>>,
    creation_source: Option<String>,
    created_at: Option<chrono::NaiveDateTime>,
    updated_at: Option<chrono::NaiveDateTime>,
    version: Option<i64>,
    formatted_name: Option<Option<String>>,
    email_type: Option<String>,
    alternate_email_type: Option<String>,
    email_primary: Option<bool>,
    division: Option<Option<String>>,
    unix_uid: Option<Option<i64>>,
    unix_guid: Option<Option<i64>>,
}

impl ChangedColumns {
    pub(super) fn between(stored: UserRow, wanted: UserRow) -> Self {
        fn changed<T: PartialEq>(stored: T, wanted: T) -> Option<T> {
            (stored != wanted).then_some(wanted)
        }
        Self {
            username: changed(stored.username, wanted.username),
            username_folded: changed(stored.username_folded, wanted.username_folded),
            email: changed(stored.email, wanted.email),
            alternate_email: changed(stored.alternate_email, wanted.alternate_email),
            first_name: changed(stored.first_name, wanted.first_name),
            middle_name: changed(stored.middle_name, wanted.middle_name),
            last_name: changed(stored.last_name, wanted.last_name),
            display_name: changed(stored.display_name, wanted.display_name),
            employee_identifier: changed(stored.employee_identifier, wanted.employee_identifier),
            job_title: changed(stored.job_title, wanted.job_title),
            department: changed(stored.department, wanted.department),
            company: changed(stored.company, wanted.company),
            cost_center: changed(stored.cost_center, wanted.cost_center),
            location: changed(stored.location, wanted.location),
            employee_type: changed(stored.employee_type, wanted.employee_type),
            manager_id: changed(stored.manager_id, wanted.manager_id),
            phone_numbers: changed(stored.phone_numbers, wanted.phone_numbers),
            addresses: changed(stored.addresses, wanted.addresses),
            samba_service_user: changed(stored.samba_service_user, wanted.samba_service_user),
            external_id: changed(stored.external_id, wanted.external_id),
            state: changed(stored.state, wanted.state),
            state_source: changed(stored.state_source, wanted.state_source),
            state_changed_at: changed(stored.state_changed_at, wanted.state_changed_at),
            password_hash: changed(stored.password_hash, wanted.password_hash),
            password_expired: changed(stored.password_expired, wanted.password_expired),
            password_set_at: changed(stored.password_set_at, wanted.password_set_at),
            creation_source: changed(stored.creation_source, wanted.creation_source),
            created_at: changed(stored.created_at, wanted.created_at),
            updated_at: changed(stored.updated_at, wanted.updated_at),
            version: changed(stored.version, wanted.version),
            formatted_name: changed(stored.formatted_name, wanted.formatted_name),
            email_type: changed(stored.email_type, wanted.email_type),
            alternate_email_type: changed(stored.alternate_email_type, wanted.alternate_email_type),
            email_primary: changed(stored.email_primary, wanted.email_primary),
            division: changed(stored.division, wanted.division),
            unix_uid: changed(stored.unix_uid, wanted.unix_uid),
            unix_guid: changed(stored.unix_guid, wanted.unix_guid),
        }
    }
}
