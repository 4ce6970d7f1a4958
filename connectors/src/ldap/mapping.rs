//! From a directory account to LDAP entries and modifications. Pure: no connection here, so
//! every rule about what gets written is tested without a server.

use std::collections::HashSet;

use ldap3::Mod;

/// ppolicy's "locked until an administrator unlocks it" value of `pwdAccountLockedTime`.
pub const PERMANENT_LOCK: &str = "000001010000Z";

/// The auxiliary class of RFC 2307 accounts (`nis.schema`), for directories that Unix hosts log
/// in through.
pub const POSIX_ACCOUNT: &str = "posixAccount";

/// What Roster keeps in a directory for one user.
#[derive(Clone, PartialEq, Eq)]
pub struct LdapAccount {
    /// The login name: the entry's `uid` and RDN.
    pub uid: String,
    pub common_name: String,
    pub surname: String,
    pub given_name: Option<String>,
    pub mail: Option<String>,
    pub display_name: Option<String>,
    pub title: Option<String>,
    pub employee_number: Option<String>,
    /// The Argon2id PHC string; the directory verifies it through `{ARGON2}`.
    pub password_hash: Option<String>,
    /// The POSIX identity, for a directory whose entries are also `posixAccount`s.
    pub posix: Option<PosixIdentity>,
}

/// What a `posixAccount` entry needs beyond the person: its ids, home and shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosixIdentity {
    pub uid_number: i64,
    pub gid_number: i64,
    pub home_directory: String,
    pub login_shell: Option<String>,
}

impl PosixIdentity {
    fn attributes(&self) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("uidNumber", Some(self.uid_number.to_string())),
            ("gidNumber", Some(self.gid_number.to_string())),
            ("homeDirectory", Some(self.home_directory.clone())),
            ("loginShell", self.login_shell.clone()),
        ]
    }
}

/// Shows the account without its password hash.
impl std::fmt::Debug for LdapAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapAccount")
            .field("uid", &self.uid)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// The DN of the account's entry under `base`, with the uid escaped as RFC 4514 asks.
pub fn entry_dn(uid: &str, base: &str) -> String {
    format!("uid={},{base}", ldap3::dn_escape(uid))
}

/// A filter matching the account by uid, with the value escaped as RFC 4515 asks.
pub fn uid_filter(uid: &str) -> String {
    format!(
        "(&(objectClass=inetOrgPerson)(uid={}))",
        ldap3::ldap_escape(uid)
    )
}

/// The `userPassword` value for a PHC hash.
pub fn password_value(phc: &str) -> String {
    format!("{{ARGON2}}{phc}")
}

fn set(value: &str) -> HashSet<String> {
    HashSet::from([value.to_owned()])
}

/// The profile attributes Roster manages, with `None` for those the user has no value for.
fn managed(account: &LdapAccount) -> Vec<(&'static str, Option<String>)> {
    let mut attributes = vec![
        ("cn", Some(account.common_name.clone())),
        ("sn", Some(account.surname.clone())),
        ("givenName", account.given_name.clone()),
        ("mail", account.mail.clone()),
        ("displayName", account.display_name.clone()),
        ("title", account.title.clone()),
        ("employeeNumber", account.employee_number.clone()),
    ];
    if let Some(posix) = &account.posix {
        attributes.extend(posix.attributes());
    }
    attributes
}

/// The attributes of a new entry. A locked entry is born locked and a missing password is left
/// out, so that no bind can succeed before it should.
pub fn new_entry(account: &LdapAccount, locked: bool) -> Vec<(String, HashSet<String>)> {
    let mut classes =
        HashSet::from(["top", "person", "organizationalPerson", "inetOrgPerson"].map(String::from));
    if account.posix.is_some() {
        classes.insert(POSIX_ACCOUNT.to_owned());
    }
    let mut attributes = vec![
        ("objectClass".to_owned(), classes),
        ("uid".to_owned(), set(&account.uid)),
    ];
    for (name, value) in managed(account) {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            attributes.push((name.to_owned(), set(&value)));
        }
    }
    if let Some(hash) = &account.password_hash {
        attributes.push(("userPassword".to_owned(), set(&password_value(hash))));
    }
    if locked {
        attributes.push(("pwdAccountLockedTime".to_owned(), set(PERMANENT_LOCK)));
    }
    attributes
}

/// Replaces the profile attributes; an absent value is a replace with no values, which removes
/// the attribute and succeeds whether or not it was there (a delete would fail with 16). An
/// entry that is to be a `posixAccount` and is not one yet (the directory's option was turned
/// on after it was written) gets the class added in the same operation, so the schema accepts
/// the POSIX attributes. Turning the option off leaves them alone: the class requires them.
pub fn profile_modifications(account: &LdapAccount, is_posix_account: bool) -> Vec<Mod<String>> {
    let mut mods = Vec::new();
    if account.posix.is_some() && !is_posix_account {
        mods.push(Mod::Add("objectClass".to_owned(), set(POSIX_ACCOUNT)));
    }
    mods.extend(managed(account).into_iter().map(|(name, value)| {
        let values = value
            .filter(|v| !v.is_empty())
            .map(|v| set(&v))
            .unwrap_or_default();
        Mod::Replace(name.to_owned(), values)
    }));
    mods
}

/// Sets or lifts the permanent lock, idempotently.
pub fn lock_modification(locked: bool) -> Mod<String> {
    let values = if locked {
        set(PERMANENT_LOCK)
    } else {
        HashSet::new()
    };
    Mod::Replace("pwdAccountLockedTime".to_owned(), values)
}

/// Sets the password (or removes it when the user has none). Never sent in the same operation
/// as a lock change, and never to a locked entry: ppolicy clears the lock on a password change.
pub fn password_modification(account: &LdapAccount) -> Mod<String> {
    let values = account
        .password_hash
        .as_deref()
        .map(|hash| set(&password_value(hash)))
        .unwrap_or_default();
    Mod::Replace("userPassword".to_owned(), values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> LdapAccount {
        LdapAccount {
            uid: "alice".into(),
            common_name: "Alice Smith".into(),
            surname: "Smith".into(),
            given_name: Some("Alice".into()),
            mail: Some("alice@example.com".into()),
            display_name: None,
            title: None,
            employee_number: None,
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
            posix: None,
        }
    }

    fn posix_alice() -> LdapAccount {
        LdapAccount {
            posix: Some(PosixIdentity {
                uid_number: 5001,
                gid_number: 5001,
                home_directory: "/home/alice".into(),
                login_shell: None,
            }),
            ..alice()
        }
    }

    fn values<'a>(
        entry: &'a [(String, HashSet<String>)],
        name: &str,
    ) -> Option<&'a HashSet<String>> {
        entry.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    #[test]
    fn dns_and_filters_escape_the_uid() {
        assert_eq!(
            entry_dn("alice", "ou=people,dc=x"),
            "uid=alice,ou=people,dc=x"
        );
        assert_eq!(
            entry_dn("bob+o,neil", "ou=people,dc=x"),
            "uid=bob\\2bo\\2cneil,ou=people,dc=x"
        );
        assert_eq!(
            uid_filter("a*)(uid=*"),
            "(&(objectClass=inetOrgPerson)(uid=a\\2a\\29\\28uid=\\2a))"
        );
    }

    #[test]
    fn a_new_entry_carries_the_argon2_hash_and_no_lock_when_active() {
        let entry = new_entry(&alice(), false);
        let password = values(&entry, "userPassword").expect("password");
        assert!(password.iter().all(|v| v.starts_with("{ARGON2}$argon2id$")));
        assert!(values(&entry, "pwdAccountLockedTime").is_none());
        assert!(
            values(&entry, "objectClass")
                .expect("classes")
                .contains("inetOrgPerson")
        );
        assert!(
            values(&entry, "displayName").is_none(),
            "absent values are left out"
        );
    }

    #[test]
    fn a_locked_entry_is_born_locked_and_a_missing_password_is_left_out() {
        let mut account = alice();
        account.password_hash = None;
        let entry = new_entry(&account, true);
        assert!(values(&entry, "userPassword").is_none());
        assert_eq!(
            values(&entry, "pwdAccountLockedTime"),
            Some(&HashSet::from([PERMANENT_LOCK.to_owned()]))
        );
    }

    #[test]
    fn absent_profile_values_are_replaced_with_nothing() {
        let mods = profile_modifications(&alice(), false);
        assert!(
            mods.iter()
                .any(|m| matches!(m, Mod::Replace(n, v) if n == "displayName" && v.is_empty()))
        );
        assert!(mods.iter().any(
            |m| matches!(m, Mod::Replace(n, v) if n == "mail" && v.contains("alice@example.com"))
        ));
        assert!(!mods.iter().any(|m| matches!(m, Mod::Delete(..))));
    }

    #[test]
    fn a_plain_account_has_no_posix_class_or_attributes() {
        let entry = new_entry(&alice(), false);
        assert!(
            !values(&entry, "objectClass")
                .expect("classes")
                .contains(POSIX_ACCOUNT)
        );
        assert!(values(&entry, "uidNumber").is_none());
        let mods = profile_modifications(&alice(), false);
        assert!(!mods.iter().any(|m| matches!(m, Mod::Replace(n, _) | Mod::Add(n, _) if n == "uidNumber" || n == "objectClass")));
    }

    #[test]
    fn a_posix_account_carries_its_ids_home_and_no_empty_shell() {
        let entry = new_entry(&posix_alice(), false);
        assert!(
            values(&entry, "objectClass")
                .expect("classes")
                .contains(POSIX_ACCOUNT)
        );
        assert_eq!(values(&entry, "uidNumber"), Some(&set("5001")));
        assert_eq!(values(&entry, "gidNumber"), Some(&set("5001")));
        assert_eq!(values(&entry, "homeDirectory"), Some(&set("/home/alice")));
        assert!(values(&entry, "loginShell").is_none());
    }

    #[test]
    fn an_entry_becomes_a_posix_account_once_and_then_only_gets_replaces() {
        let first = profile_modifications(&posix_alice(), false);
        assert!(
            matches!(&first[0], Mod::Add(n, v) if n == "objectClass" && v.contains(POSIX_ACCOUNT))
        );
        assert!(
            first
                .iter()
                .any(|m| matches!(m, Mod::Replace(n, v) if n == "uidNumber" && v.contains("5001")))
        );
        let again = profile_modifications(&posix_alice(), true);
        assert!(!again.iter().any(|m| matches!(m, Mod::Add(..))));
        assert!(
            again
                .iter()
                .any(|m| matches!(m, Mod::Replace(n, v) if n == "loginShell" && v.is_empty()))
        );
    }

    #[test]
    fn locking_and_unlocking_are_replaces() {
        assert!(
            matches!(lock_modification(true), Mod::Replace(n, v) if n == "pwdAccountLockedTime" && v.contains(PERMANENT_LOCK))
        );
        assert!(matches!(lock_modification(false), Mod::Replace(_, v) if v.is_empty()));
    }

    #[test]
    fn debug_output_hides_the_hash() {
        assert!(!format!("{:?}", alice()).contains("argon2id"));
    }
}
