//! Where each SCIM attribute a filter or a sort may name is stored: a fixed list, so that an
//! attribute not on it is refused by name rather than evaluated in memory.

use scim_v2::filter::AttrPath;

use super::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, ROSTER_SCHEMA, USER_SCHEMA};

/// How a SCIM attribute is stored.
#[derive(Debug, Clone, Copy)]
pub(super) enum Column {
    /// A text column; `folded` means the column already holds the lower-cased value, so a
    /// case-insensitive match needs no `lower()` on the column side (and can use its index).
    Text {
        name: &'static str,
        case_exact: bool,
        folded: bool,
        nullable: bool,
    },
    Bool(&'static str),
    Time(&'static str),
    /// `active`: true exactly when the state is ACTIVATED.
    Active,
    /// Group membership, looked up in `user_group_members`.
    MemberOf,
}

pub(super) const fn text(name: &'static str, case_exact: bool, nullable: bool) -> Column {
    Column::Text {
        name,
        case_exact,
        folded: false,
        nullable,
    }
}

pub(super) const fn folded(name: &'static str, nullable: bool) -> Column {
    Column::Text {
        name,
        case_exact: false,
        folded: true,
        nullable,
    }
}

/// The lower-cased `schema:name.sub` of a path, with the core schema implied when absent.
pub(super) fn path_key(path: &AttrPath, core: &str) -> String {
    let schema = path.uri.as_deref().unwrap_or(core).to_ascii_lowercase();
    let mut key = format!("{schema}:{}", path.name.to_ascii_lowercase());
    if let Some(sub) = &path.sub_attr {
        key.push('.');
        key.push_str(&sub.to_ascii_lowercase());
    }
    key
}

/// The user column behind a single-valued attribute path, if any.
pub(super) fn user_column(key: &str) -> Option<Column> {
    let core = USER_SCHEMA.to_ascii_lowercase();
    let enterprise = ENTERPRISE_SCHEMA.to_ascii_lowercase();
    let roster = ROSTER_SCHEMA.to_ascii_lowercase();
    let (schema, attr) = key.rsplit_once(':')?;
    let column = if schema == core {
        match attr {
            "id" => text("id", true, false),
            "externalid" => text("external_id", true, true),
            "username" => folded("username_folded", false),
            "displayname" => text("display_name", false, true),
            "nickname" => return None,
            "title" => text("job_title", false, true),
            "usertype" => text("employee_type", false, true),
            "name.givenname" => text("first_name", false, true),
            "name.familyname" => text("last_name", false, true),
            "name.middlename" => text("middle_name", false, true),
            "active" => Column::Active,
            "meta.created" => Column::Time("created_at"),
            "meta.lastmodified" => Column::Time("updated_at"),
            "groups.value" | "groups" => Column::MemberOf,
            _ => return None,
        }
    } else if schema == enterprise {
        match attr {
            "employeenumber" => text("employee_identifier", true, true),
            "costcenter" => text("cost_center", false, true),
            "organization" => text("company", false, true),
            "division" => text("division", false, true),
            "department" => text("department", false, true),
            "manager" | "manager.value" => text("manager_id", true, true),
            _ => return None,
        }
    } else if schema == roster {
        match attr {
            "state" => text("state", true, false),
            "statechangedat" => Column::Time("state_changed_at"),
            "alternateemail" => folded("alternate_email", true),
            "location" => text("location", false, true),
            "sambaserviceuser" => Column::Bool("samba_service_user"),
            _ => return None,
        }
    } else {
        return None;
    };
    Some(column)
}

pub(super) fn group_column(key: &str) -> Option<Column> {
    let core = GROUP_SCHEMA.to_ascii_lowercase();
    let (schema, attr) = key.rsplit_once(':')?;
    if schema != core {
        return None;
    }
    Some(match attr {
        "id" => text("id", true, false),
        "externalid" => text("external_id", true, true),
        "displayname" => folded("display_name_folded", false),
        "meta.created" => Column::Time("created_at"),
        "meta.lastmodified" => Column::Time("updated_at"),
        "members" | "members.value" => Column::MemberOf,
        _ => return None,
    })
}
