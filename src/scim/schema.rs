//! The attributes Roster publishes, with their SCIM characteristics (RFC 7643 §7). One list
//! serves `/Schemas`, PATCH path checks and `attributes`/`excludedAttributes`.

use serde_json::{Value, json};

pub use crate::store::scim_query::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, ROSTER_SCHEMA, USER_SCHEMA};

/// RFC 7643 `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    DateTime,
    Reference,
    Complex,
}

/// RFC 7643 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    WriteOnly,
}

/// RFC 7643 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Default,
    /// Only when the client names the attribute: in `attributes`, or in the body of the write
    /// the response answers.
    Request,
    Never,
}

/// One attribute of a schema.
#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    pub name: &'static str,
    pub kind: Kind,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    /// `server` when true, `none` otherwise.
    pub unique: bool,
    pub description: &'static str,
    pub sub_attributes: &'static [Attribute],
    /// For references: the resource types they point to (`uri` when empty).
    pub reference_types: &'static [&'static str],
    /// RFC 7643 `canonicalValues`: the only values accepted, when not empty.
    pub canonical_values: &'static [&'static str],
}

const fn attr(name: &'static str, kind: Kind, description: &'static str) -> Attribute {
    Attribute {
        name,
        kind,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        unique: false,
        description,
        sub_attributes: &[],
        reference_types: &[],
        canonical_values: &[],
    }
}

const fn one_of(mut attribute: Attribute, values: &'static [&'static str]) -> Attribute {
    attribute.canonical_values = values;
    attribute
}

const fn refers_to(mut attribute: Attribute, types: &'static [&'static str]) -> Attribute {
    attribute.reference_types = types;
    attribute
}

const fn read_only(mut attribute: Attribute) -> Attribute {
    attribute.mutability = Mutability::ReadOnly;
    attribute
}

const fn multi(mut attribute: Attribute, sub_attributes: &'static [Attribute]) -> Attribute {
    attribute.multi_valued = true;
    attribute.sub_attributes = sub_attributes;
    attribute
}

const fn complex(mut attribute: Attribute, sub_attributes: &'static [Attribute]) -> Attribute {
    attribute.sub_attributes = sub_attributes;
    attribute
}

const fn on_request(mut attribute: Attribute) -> Attribute {
    attribute.returned = Returned::Request;
    attribute
}

const fn case_exact(mut attribute: Attribute) -> Attribute {
    attribute.case_exact = true;
    attribute
}

const TYPED_VALUE: [Attribute; 3] = [
    attr("value", Kind::String, "The value."),
    attr("type", Kind::String, "A label: work, home, other, mobile."),
    attr("primary", Kind::Boolean, "The preferred value."),
];

const PHONE: [Attribute; 2] = [
    attr("value", Kind::String, "The number."),
    attr("type", Kind::String, "A label: work, home, mobile, other."),
];

const ADDRESS: [Attribute; 7] = [
    attr("type", Kind::String, "A label: work, home, other."),
    attr("streetAddress", Kind::String, "Street and number."),
    attr("locality", Kind::String, "City."),
    attr("region", Kind::String, "State or region."),
    attr("postalCode", Kind::String, "Postal code."),
    attr("country", Kind::String, "Country."),
    // Not stored: the parts are. Read-only, so a client's value is ignored (RFC 7644 §3.5.1).
    read_only(attr(
        "formatted",
        Kind::String,
        "The full address; not stored.",
    )),
];

const NAME: [Attribute; 4] = [
    attr(
        "formatted",
        Kind::String,
        "The full name; built from its parts when none was given.",
    ),
    attr("familyName", Kind::String, "Last name."),
    attr("givenName", Kind::String, "First name."),
    attr("middleName", Kind::String, "Middle name."),
];

const MEMBER_REF: [Attribute; 4] = [
    case_exact(attr(
        "value",
        Kind::String,
        "The id of the member (a user).",
    )),
    refers_to(
        case_exact(attr("$ref", Kind::Reference, "The member's URI.")),
        &["User"],
    ),
    // Roster derives members from user ids; a display name sent with one is not kept.
    read_only(attr("display", Kind::String, "Its display name.")),
    one_of(
        attr("type", Kind::String, "The kind of member: always User."),
        &["User"],
    ),
];

const GROUP_REF: [Attribute; 3] = [
    read_only(case_exact(attr("value", Kind::String, "The group's id."))),
    read_only(case_exact(attr(
        "$ref",
        Kind::Reference,
        "The group's URI.",
    ))),
    read_only(attr("display", Kind::String, "The group's display name.")),
];

/// Core User attributes (RFC 7643 §4.1) that Roster stores.
pub const USER_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        required: true,
        unique: true,
        ..attr(
            "userName",
            Kind::String,
            "Login name; unique regardless of case.",
        )
    },
    complex(attr("name", Kind::Complex, "The person's name."), &NAME),
    attr("displayName", Kind::String, "Name shown to people."),
    attr("title", Kind::String, "Job title."),
    attr(
        "userType",
        Kind::String,
        "Employee type, such as Contractor or Employee.",
    ),
    // Required so that it cannot be removed: the state it stands for always exists. A create
    // without it takes the default state and a replace without it keeps the state.
    Attribute {
        required: true,
        ..attr(
            "active",
            Kind::Boolean,
            "True exactly when the lifecycle state is ACTIVATED. false suspends an active user; \
             true activates within the integration's policy.",
        )
    },
    Attribute {
        mutability: Mutability::WriteOnly,
        returned: Returned::Never,
        ..attr(
            "password",
            Kind::String,
            "Kept only as an Argon2id hash; pushed to directories once the user is active. The \
             identity provider's password policy governs it.",
        )
    },
    multi(
        attr(
            "emails",
            Kind::Complex,
            "The work address (primary) and one other.",
        ),
        &TYPED_VALUE,
    ),
    multi(
        attr("phoneNumbers", Kind::Complex, "Phone numbers."),
        &PHONE,
    ),
    multi(
        attr("addresses", Kind::Complex, "Postal addresses."),
        &ADDRESS,
    ),
    read_only(multi(
        attr("groups", Kind::Complex, "Groups the user belongs to."),
        &GROUP_REF,
    )),
];

const MANAGER: [Attribute; 3] = [
    case_exact(attr("value", Kind::String, "The manager's id.")),
    refers_to(
        case_exact(attr("$ref", Kind::Reference, "The manager's URI.")),
        &["User"],
    ),
    read_only(attr(
        "displayName",
        Kind::String,
        "The manager's display name.",
    )),
];

/// Enterprise User extension attributes (RFC 7643 §4.3) that Roster stores.
pub const ENTERPRISE_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        unique: true,
        ..case_exact(attr(
            "employeeNumber",
            Kind::String,
            "The HR system's id; unique.",
        ))
    },
    attr("costCenter", Kind::String, "Cost center."),
    attr("organization", Kind::String, "Company."),
    attr("division", Kind::String, "Division."),
    attr("department", Kind::String, "Department."),
    complex(
        attr("manager", Kind::Complex, "The user's manager."),
        &MANAGER,
    ),
];

/// Roster's lifecycle extension (DESIGN.md §6).
pub const ROSTER_ATTRIBUTES: &[Attribute] = &[
    // The lifecycle facts are read-only and returned on request: identity providers read
    // `active`, and an admin or a script asks for the rest (`attributes=` this extension's URN).
    //
    // Read-only because the state changes only through `active`, under the integration's
    // policy; a create may still choose it (DESIGN.md §2), see KNOWN_DEVIATIONS.md.
    on_request(read_only(one_of(
        case_exact(attr(
            "state",
            Kind::String,
            "STAGED, ACTIVATED or SUSPENDED. Sent on create, it beats the default state and \
             active; afterwards the state follows active.",
        )),
        &["STAGED", "ACTIVATED", "SUSPENDED"],
    ))),
    on_request(read_only(attr(
        "stateChangedAt",
        Kind::DateTime,
        "When the state last changed.",
    ))),
    on_request(read_only(case_exact(attr(
        "passwordStatus",
        Kind::String,
        "PENDING until a password is set, then SET, or EXPIRED when a new one must be chosen.",
    )))),
    // Set through `emails`, the standard place for a second address.
    on_request(read_only(attr(
        "alternateEmail",
        Kind::String,
        "The second address: the emails entry that is not primary.",
    ))),
    // JumpCloud's free-text location, which neither the core schema nor the enterprise
    // extension has a place for.
    attr(
        "location",
        Kind::String,
        "Where the user works: an office, a site, a city.",
    ),
    // An account that can never be suspended is an administrator's decision, not an identity
    // provider's: only the admin API and the command line set it.
    on_request(read_only(attr(
        "sambaServiceUser",
        Kind::Boolean,
        "The directory's Samba service account; never suspended.",
    ))),
    on_request(read_only(multi(
        attr(
            "scheduledStateChanges",
            Kind::Complex,
            "Pending scheduled state changes.",
        ),
        &SCHEDULED,
    ))),
];

const SCHEDULED: [Attribute; 2] = [
    read_only(case_exact(attr(
        "state",
        Kind::String,
        "The state the user will move to.",
    ))),
    read_only(attr("runAt", Kind::DateTime, "When.")),
];

/// Core Group attributes.
pub const GROUP_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        required: true,
        unique: true,
        ..attr(
            "displayName",
            Kind::String,
            "The group's name; unique regardless of case.",
        )
    },
    multi(
        attr("members", Kind::Complex, "Users in the group."),
        &MEMBER_REF,
    ),
];

/// `id`, `externalId` and `meta`, common to every resource (RFC 7643 §3.1).
pub const COMMON_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        returned: Returned::Always,
        unique: true,
        ..read_only(case_exact(attr(
            "id",
            Kind::String,
            "Roster's id for the resource.",
        )))
    },
    case_exact(attr(
        "externalId",
        Kind::String,
        "The client's id for the resource.",
    )),
    read_only(complex(
        attr("meta", Kind::Complex, "Resource metadata."),
        &META,
    )),
];

const META: [Attribute; 5] = [
    read_only(case_exact(attr(
        "resourceType",
        Kind::String,
        "User or Group.",
    ))),
    read_only(attr(
        "created",
        Kind::DateTime,
        "When the resource was created.",
    )),
    read_only(attr(
        "lastModified",
        Kind::DateTime,
        "When it last changed.",
    )),
    read_only(case_exact(attr("location", Kind::Reference, "Its URI."))),
    read_only(case_exact(attr("version", Kind::String, "Its ETag."))),
];

/// The attributes of one schema URN, if Roster publishes it.
pub fn attributes_of(schema: &str) -> Option<&'static [Attribute]> {
    [
        (USER_SCHEMA, USER_ATTRIBUTES),
        (ENTERPRISE_SCHEMA, ENTERPRISE_ATTRIBUTES),
        (ROSTER_SCHEMA, ROSTER_ATTRIBUTES),
        (GROUP_SCHEMA, GROUP_ATTRIBUTES),
    ]
    .into_iter()
    .find(|(urn, _)| urn.eq_ignore_ascii_case(schema))
    .map(|(_, attributes)| attributes)
}

/// Finds an attribute by name, ignoring case, among `attributes` and the common ones.
pub fn find(attributes: &'static [Attribute], name: &str) -> Option<&'static Attribute> {
    attributes
        .iter()
        .chain(COMMON_ATTRIBUTES)
        .find(|attribute| attribute.name.eq_ignore_ascii_case(name))
}

/// A sub-attribute by name, ignoring case.
pub fn find_sub(parent: &Attribute, name: &str) -> Option<&'static Attribute> {
    parent
        .sub_attributes
        .iter()
        .find(|attribute| attribute.name.eq_ignore_ascii_case(name))
}

fn attribute_json(attribute: &Attribute) -> Value {
    let mut json = json!({
        "name": attribute.name,
        "type": match attribute.kind {
            Kind::String => "string",
            Kind::Boolean => "boolean",
            Kind::DateTime => "dateTime",
            Kind::Reference => "reference",
            Kind::Complex => "complex",
        },
        "multiValued": attribute.multi_valued,
        "description": attribute.description,
        "required": attribute.required,
        "caseExact": attribute.case_exact,
        "mutability": match attribute.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::WriteOnly => "writeOnly",
        },
        "returned": match attribute.returned {
            Returned::Always => "always",
            Returned::Default => "default",
            Returned::Request => "request",
            Returned::Never => "never",
        },
        "uniqueness": if attribute.unique { "server" } else { "none" },
    });
    if attribute.kind == Kind::Reference {
        json["referenceTypes"] = if attribute.reference_types.is_empty() {
            json!(["uri"])
        } else {
            json!(attribute.reference_types)
        };
    }
    if !attribute.canonical_values.is_empty() {
        json["canonicalValues"] = json!(attribute.canonical_values);
    }
    if !attribute.sub_attributes.is_empty() {
        json["subAttributes"] = attribute
            .sub_attributes
            .iter()
            .map(attribute_json)
            .collect();
    }
    json
}

/// The `/Schemas` entry for one schema.
pub fn schema_json(
    id: &str,
    name: &str,
    description: &str,
    attributes: &[Attribute],
    base: &str,
) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes.iter().map(attribute_json).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": format!("{base}/Schemas/{id}"),
        },
    })
}

/// The schema extensions of the User resource, with their attributes.
pub const EXTENSIONS: [(&str, &[Attribute]); 2] = [
    (ENTERPRISE_SCHEMA, ENTERPRISE_ATTRIBUTES),
    (ROSTER_SCHEMA, ROSTER_ATTRIBUTES),
];

/// Every schema Roster publishes.
pub fn all_schemas(base: &str) -> Vec<Value> {
    let user_attributes: Vec<Attribute> = USER_ATTRIBUTES
        .iter()
        .chain(&COMMON_ATTRIBUTES[1..2])
        .copied()
        .collect();
    let group_attributes: Vec<Attribute> = GROUP_ATTRIBUTES
        .iter()
        .chain(&COMMON_ATTRIBUTES[1..2])
        .copied()
        .collect();
    vec![
        schema_json(USER_SCHEMA, "User", "User account", &user_attributes, base),
        schema_json(
            ENTERPRISE_SCHEMA,
            "EnterpriseUser",
            "Enterprise user",
            ENTERPRISE_ATTRIBUTES,
            base,
        ),
        schema_json(
            ROSTER_SCHEMA,
            "RosterUser",
            "Roster lifecycle",
            ROSTER_ATTRIBUTES,
            base,
        ),
        schema_json(GROUP_SCHEMA, "Group", "Group", &group_attributes, base),
    ]
}
