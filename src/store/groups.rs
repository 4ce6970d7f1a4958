//! User groups and their members. As with users, [`apply_group_change`] is the one way to
//! change a group, and it writes the audit events with the change.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::connection::per_backend;
use super::schema::{user_group_members, user_groups};
use super::time::{from_db, to_db};
use super::{DbConnection, StoreError, audit};
use crate::domain::audit::NewAuditEvent;
use crate::domain::{Group, GroupId, GroupName, UserId};

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = user_groups, treat_none_as_null = true)]
struct GroupRow {
    id: String,
    display_name: String,
    display_name_folded: String,
    description: Option<String>,
    external_id: Option<String>,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    version: i64,
}

impl GroupRow {
    fn from_group(group: &Group) -> Self {
        Self {
            id: group.id.to_string(),
            display_name: group.display_name.as_str().to_owned(),
            display_name_folded: group.display_name.folded(),
            description: group.description.clone(),
            external_id: group.external_id.clone(),
            created_at: to_db(group.created_at),
            updated_at: to_db(group.updated_at),
            version: group.version,
        }
    }

    fn into_group(self) -> Result<Group, StoreError> {
        let corrupt = |what: &str| StoreError::corrupt(format!("group {}: bad {what}", self.id));
        Ok(Group {
            id: self.id.parse().map_err(|_| corrupt("id"))?,
            display_name: GroupName::parse(&self.display_name)
                .map_err(|_| corrupt("displayName"))?,
            description: self.description,
            external_id: self.external_id,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
            version: self.version,
        })
    }
}

fn load(
    query: user_groups::BoxedQuery<'_, super::connection::MultiBackend>,
    conn: &mut DbConnection,
) -> Result<Vec<Group>, StoreError> {
    query
        .select(GroupRow::as_select())
        .load(conn)?
        .into_iter()
        .map(GroupRow::into_group)
        .collect()
}

/// Runs a groups query built elsewhere in the store (the SCIM filter translation).
pub(super) fn load_query(
    conn: &mut DbConnection,
    query: user_groups::BoxedQuery<'_, super::connection::MultiBackend>,
) -> Result<Vec<Group>, StoreError> {
    load(query, conn)
}

pub fn find(conn: &mut DbConnection, id: GroupId) -> Result<Option<Group>, StoreError> {
    let query = user_groups::table
        .filter(user_groups::id.eq(id.to_string()))
        .into_boxed();
    Ok(load(query, conn)?.pop())
}

/// The group with this display name, compared without regard to case.
pub fn find_by_name(conn: &mut DbConnection, name: &str) -> Result<Option<Group>, StoreError> {
    let query = user_groups::table
        .filter(user_groups::display_name_folded.eq(name.trim().to_lowercase()))
        .into_boxed();
    Ok(load(query, conn)?.pop())
}

/// One page of groups in creation order.
pub fn list(conn: &mut DbConnection, skip: i64, limit: i64) -> Result<Vec<Group>, StoreError> {
    let query = user_groups::table
        .order(user_groups::id.asc())
        .offset(skip)
        .limit(limit)
        .into_boxed();
    load(query, conn)
}

pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(user_groups::table.count().get_result(conn)?)
}

/// The members of a group, in a stable order.
pub fn members(conn: &mut DbConnection, id: GroupId) -> Result<Vec<UserId>, StoreError> {
    let ids: Vec<String> = user_group_members::table
        .filter(user_group_members::group_id.eq(id.to_string()))
        .order(user_group_members::user_id.asc())
        .select(user_group_members::user_id)
        .load(conn)?;
    ids.iter()
        .map(|id| {
            id.parse()
                .map_err(|_| StoreError::corrupt(format!("member id {id}")))
        })
        .collect()
}

/// A group one of the users asked about belongs to, with the group's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub user: UserId,
    pub group: GroupId,
    pub display_name: String,
}

/// Every group membership of these users in one query, by user then group id (a page of SCIM
/// users shows its groups without a query per user).
pub fn memberships_of_users(
    conn: &mut DbConnection,
    users: &[UserId],
) -> Result<Vec<Membership>, StoreError> {
    let ids: Vec<String> = users.iter().map(UserId::to_string).collect();
    macro_rules! load_where {
        ($conn:expr, $condition:expr) => {
            user_group_members::table
                .inner_join(user_groups::table)
                .filter($condition)
                .order((
                    user_group_members::user_id.asc(),
                    user_group_members::group_id.asc(),
                ))
                .select((
                    user_group_members::user_id,
                    user_group_members::group_id,
                    user_groups::display_name,
                ))
                .load($conn)?
        };
    }
    // One user (a GET or a write) is the common case: `= ?` is a statement diesel prepares
    // once, and on the concrete connection finds again by its type without writing out the
    // SQL; `IN (…)` with a varying number of values is prepared again on every call.
    let rows: Vec<(String, String, String)> = match ids.as_slice() {
        [one] => per_backend!(&mut *conn, |c| load_where!(
            c,
            user_group_members::user_id.eq(one)
        )),
        _ => load_where!(conn, user_group_members::user_id.eq_any(&ids)),
    };
    rows.into_iter()
        .map(|(user, group, display_name)| {
            Ok(Membership {
                user: user
                    .parse()
                    .map_err(|_| StoreError::corrupt(format!("member id {user}")))?,
                group: group
                    .parse()
                    .map_err(|_| StoreError::corrupt(format!("group id {group}")))?,
                display_name,
            })
        })
        .collect()
}

/// The groups a user belongs to.
pub fn groups_of_user(conn: &mut DbConnection, user: UserId) -> Result<Vec<GroupId>, StoreError> {
    let ids: Vec<String> = user_group_members::table
        .filter(user_group_members::user_id.eq(user.to_string()))
        .order(user_group_members::group_id.asc())
        .select(user_group_members::group_id)
        .load(conn)?;
    ids.iter()
        .map(|id| {
            id.parse()
                .map_err(|_| StoreError::corrupt(format!("group id {id}")))
        })
        .collect()
}

/// A change to one group.
#[derive(Debug, Clone, Copy)]
pub enum GroupChange<'a> {
    Create {
        group: &'a Group,
        members: &'a [UserId],
    },
    /// `group.version` must be one above the stored version. Members are added and removed as
    /// listed; adding a member twice or removing a non-member is harmless.
    Update {
        group: &'a Group,
        add: &'a [UserId],
        remove: &'a [UserId],
    },
    Delete(&'a Group),
}

/// Writes a change to a group and its audit events; call inside a write transaction.
/// A member that is not a user is refused as [`StoreError::UnknownReference`].
pub fn apply_group_change(
    conn: &mut DbConnection,
    change: GroupChange<'_>,
    events: Vec<NewAuditEvent>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Err(StoreError::Unaudited);
    }
    match change {
        GroupChange::Create { group, members } => {
            diesel::insert_into(user_groups::table)
                .values(GroupRow::from_group(group))
                .execute(conn)?;
            add_members(conn, group.id, members)?;
        }
        GroupChange::Update { group, add, remove } => {
            let updated = diesel::update(user_groups::table)
                .filter(user_groups::id.eq(group.id.to_string()))
                .filter(user_groups::version.eq(group.version - 1))
                .set(GroupRow::from_group(group))
                .execute(conn)?;
            if updated == 0 {
                let exists = find(conn, group.id)?.is_some();
                return Err(if exists {
                    StoreError::VersionMismatch
                } else {
                    StoreError::Gone
                });
            }
            remove_members(conn, group.id, remove)?;
            add_members(conn, group.id, add)?;
        }
        GroupChange::Delete(group) => {
            diesel::delete(
                user_group_members::table
                    .filter(user_group_members::group_id.eq(group.id.to_string())),
            )
            .execute(conn)?;
            let deleted =
                diesel::delete(user_groups::table.find(group.id.to_string())).execute(conn)?;
            if deleted == 0 {
                return Err(StoreError::Gone);
            }
        }
    }
    audit::append(conn, events, now)?;
    Ok(())
}

fn add_members(
    conn: &mut DbConnection,
    group: GroupId,
    users: &[UserId],
) -> Result<(), StoreError> {
    if users.is_empty() {
        return Ok(());
    }
    let present: HashSet<UserId> = members(conn, group)?.into_iter().collect();
    let mut seen = HashSet::new();
    let rows: Vec<_> = users
        .iter()
        .filter(|user| !present.contains(user) && seen.insert(**user))
        .map(|user| {
            (
                user_group_members::group_id.eq(group.to_string()),
                user_group_members::user_id.eq(user.to_string()),
            )
        })
        .collect();
    // Chunked: SQLite caps the number of bound parameters in one statement.
    for chunk in rows.chunks(400) {
        per_backend!(&mut *conn, |c| diesel::insert_into(
            user_group_members::table
        )
        .values(chunk)
        .execute(c))?;
    }
    Ok(())
}

fn remove_members(
    conn: &mut DbConnection,
    group: GroupId,
    users: &[UserId],
) -> Result<(), StoreError> {
    for chunk in users.chunks(400) {
        let ids: Vec<String> = chunk.iter().map(ToString::to_string).collect();
        diesel::delete(
            user_group_members::table
                .filter(user_group_members::group_id.eq(group.to_string()))
                .filter(user_group_members::user_id.eq_any(ids)),
        )
        .execute(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::audit::{AuditResource, EventType, Initiator};
    use crate::store::testing::{on_each_backend, sample_user};
    use crate::store::users::{UserChange, apply_user_change};
    use crate::store::write_transaction;

    fn event(group: &Group, event_type: EventType) -> Vec<NewAuditEvent> {
        vec![NewAuditEvent {
            event_type,
            initiated_by: Initiator::admin("tests"),
            resource: AuditResource::group(group.id, group.display_name.as_str()),
            details: json!({}),
        }]
    }

    fn user(conn: &mut DbConnection, name: &str) -> UserId {
        let user = sample_user(name);
        let events = vec![NewAuditEvent {
            event_type: EventType::UserCreate,
            initiated_by: Initiator::admin("tests"),
            resource: AuditResource::user(user.id, name),
            details: json!({}),
        }];
        write_transaction(conn, |c| {
            apply_user_change(c, UserChange::Create(&user), events, Utc::now())
        })
        .expect("user");
        user.id
    }

    #[test]
    fn groups_keep_their_members_and_names_are_unique_regardless_of_case() {
        on_each_backend(|store| {
            let mut conn = store.conn().expect("conn");
            let (a, b, c) = (
                user(&mut conn, "ga"),
                user(&mut conn, "gb"),
                user(&mut conn, "gc"),
            );
            let now = Utc::now();
            let group = Group::new(GroupName::parse("Engineering").expect("name"), now);
            write_transaction(&mut conn, |conn| {
                apply_group_change(
                    conn,
                    GroupChange::Create {
                        group: &group,
                        members: &[a, b, a],
                    },
                    event(&group, EventType::GroupCreate),
                    now,
                )
            })
            .expect("create");
            let mut expected = vec![a, b];
            expected.sort();
            assert_eq!(members(&mut conn, group.id).expect("members"), expected);

            let mut next = group.clone();
            next.version += 1;
            write_transaction(&mut conn, |conn| {
                apply_group_change(
                    conn,
                    GroupChange::Update {
                        group: &next,
                        add: &[c],
                        remove: &[a],
                    },
                    event(&next, EventType::GroupUpdate),
                    now,
                )
            })
            .expect("update");
            let mut expected = vec![b, c];
            expected.sort();
            assert_eq!(members(&mut conn, group.id).expect("members"), expected);
            assert_eq!(
                groups_of_user(&mut conn, c).expect("groups"),
                vec![group.id]
            );
            assert_eq!(
                find_by_name(&mut conn, "ENGINEERING")
                    .expect("find")
                    .map(|g| g.id),
                Some(group.id)
            );

            let twin = Group::new(GroupName::parse("engineering").expect("name"), now);
            let error = write_transaction(&mut conn, |conn| {
                apply_group_change(
                    conn,
                    GroupChange::Create {
                        group: &twin,
                        members: &[],
                    },
                    event(&twin, EventType::GroupCreate),
                    now,
                )
            })
            .expect_err("duplicate name");
            assert!(
                matches!(
                    error,
                    StoreError::Duplicate(crate::store::UniqueField::GroupName)
                ),
                "{error:?}"
            );
        });
    }

    #[test]
    fn a_member_that_is_not_a_user_is_refused_and_nothing_is_written() {
        on_each_backend(|store| {
            let mut conn = store.conn().expect("conn");
            let before = audit::count(&mut conn).expect("count");
            let now = Utc::now();
            let group = Group::new(GroupName::parse("Ghosts").expect("name"), now);
            let ghost = UserId::generate();
            let error = write_transaction(&mut conn, |conn| {
                apply_group_change(
                    conn,
                    GroupChange::Create {
                        group: &group,
                        members: &[ghost],
                    },
                    event(&group, EventType::GroupCreate),
                    now,
                )
            })
            .expect_err("unknown member");
            assert!(
                matches!(error, StoreError::UnknownReference(_)),
                "{error:?}"
            );
            assert_eq!(find(&mut conn, group.id).expect("find"), None);
            assert_eq!(audit::count(&mut conn).expect("count"), before);
        });
    }

    #[test]
    fn deleting_a_user_removes_it_from_its_groups() {
        on_each_backend(|store| {
            let mut conn = store.conn().expect("conn");
            let member = sample_user("leaver");
            let events = |t| {
                vec![NewAuditEvent {
                    event_type: t,
                    initiated_by: Initiator::admin("t"),
                    resource: AuditResource::user(member.id, "leaver"),
                    details: json!({}),
                }]
            };
            write_transaction(&mut conn, |c| {
                apply_user_change(
                    c,
                    UserChange::Create(&member),
                    events(EventType::UserCreate),
                    Utc::now(),
                )
            })
            .expect("user");
            let group = Group::new(GroupName::parse("Team").expect("name"), Utc::now());
            write_transaction(&mut conn, |conn| {
                apply_group_change(
                    conn,
                    GroupChange::Create {
                        group: &group,
                        members: &[member.id],
                    },
                    event(&group, EventType::GroupCreate),
                    Utc::now(),
                )
            })
            .expect("create");
            write_transaction(&mut conn, |c| {
                apply_user_change(
                    c,
                    UserChange::Delete(&member),
                    events(EventType::UserDelete),
                    Utc::now(),
                )
            })
            .expect("delete");
            assert!(members(&mut conn, group.id).expect("members").is_empty());
        });
    }
}
