//! Which email an activation sends, and to which address (JumpCloud's rules).

use super::{Email, LifecycleState, User};

/// The caller's wish, from `{"email": true|false|"address"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailRequest {
    /// Send to the default address.
    Default,
    /// Send nothing.
    None,
    /// Send to this address.
    To(Email),
}

/// The two messages a newly active user can get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailKind {
    /// The user already has a password: tell them the account is ready.
    Welcome,
    /// The user has no password yet: send a one-time link to set one.
    Activation,
}

impl EmailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Welcome => "welcome",
            Self::Activation => "activation",
        }
    }
}

/// What to do about the email for `user` (in its state after the activation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailDecision {
    Send {
        kind: EmailKind,
        to: Email,
    },
    /// Nothing is sent: the caller asked for none.
    NotRequested,
    /// Nothing is sent: staged users never get mail.
    SuppressedStaged,
    /// Nothing is sent: the user has no address (an identity provider created it without one)
    /// and none was given.
    NoAddress,
}

/// Applies the rules: staged users get nothing; a user with a password gets a Welcome email,
/// one without an Activation email; the address is the one given, else the alternate email,
/// else the company email.
pub fn decide(user: &User, request: &EmailRequest) -> EmailDecision {
    if *request == EmailRequest::None {
        return EmailDecision::NotRequested;
    }
    if user.state == LifecycleState::Staged {
        return EmailDecision::SuppressedStaged;
    }
    let kind = if user.password.is_set() {
        EmailKind::Welcome
    } else {
        EmailKind::Activation
    };
    let to = match request {
        EmailRequest::To(address) => address.clone(),
        _ => user
            .alternate_email
            .clone()
            .unwrap_or_else(|| user.email.clone()),
    };
    if to.is_stand_in() {
        return EmailDecision::NoAddress;
    }
    EmailDecision::Send { kind, to }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::{StateSource, UserName};

    fn user(state: LifecycleState, alternate: Option<&str>, password: bool) -> User {
        let mut user = User::new(
            UserName::parse("ann").expect("valid"),
            Email::parse("email", "ann@corp.example").expect("valid"),
            state,
            StateSource::Admin,
            "admin".into(),
            Utc::now(),
        );
        user.alternate_email = alternate.map(|a| Email::parse("alternateEmail", a).expect("valid"));
        if password {
            user.password.hash = Some("$argon2id$stub".into());
        }
        user
    }

    fn send(kind: EmailKind, to: &str) -> EmailDecision {
        EmailDecision::Send {
            kind,
            to: Email::parse("email", to).expect("valid"),
        }
    }

    #[test]
    fn a_user_with_a_password_gets_a_welcome_email() {
        let ann = user(LifecycleState::Activated, None, true);
        assert_eq!(
            decide(&ann, &EmailRequest::Default),
            send(EmailKind::Welcome, "ann@corp.example")
        );
    }

    #[test]
    fn a_user_without_a_password_gets_an_activation_email_at_the_alternate_address() {
        let ann = user(LifecycleState::Activated, Some("ann@home.example"), false);
        assert_eq!(
            decide(&ann, &EmailRequest::Default),
            send(EmailKind::Activation, "ann@home.example")
        );
    }

    #[test]
    fn a_given_address_comes_first() {
        let ann = user(LifecycleState::Activated, Some("ann@home.example"), false);
        let given = EmailRequest::To(Email::parse("email", "it@corp.example").expect("valid"));
        assert_eq!(
            decide(&ann, &given),
            send(EmailKind::Activation, "it@corp.example")
        );
    }

    #[test]
    fn staged_users_and_refusals_get_nothing() {
        let staged = user(LifecycleState::Staged, None, true);
        assert_eq!(
            decide(&staged, &EmailRequest::Default),
            EmailDecision::SuppressedStaged
        );
        let active = user(LifecycleState::Activated, None, true);
        assert_eq!(
            decide(&active, &EmailRequest::None),
            EmailDecision::NotRequested
        );
    }

    #[test]
    fn a_user_without_an_address_gets_nothing_unless_one_is_given() {
        let mut nomail = user(LifecycleState::Activated, None, false);
        nomail.email = Email::stand_in(nomail.id);
        assert_eq!(
            decide(&nomail, &EmailRequest::Default),
            EmailDecision::NoAddress
        );
        let given = EmailRequest::To(Email::parse("email", "it@corp.example").expect("valid"));
        assert_eq!(
            decide(&nomail, &given),
            send(EmailKind::Activation, "it@corp.example")
        );
        nomail.alternate_email = Some(Email::parse("email", "n@home.example").expect("valid"));
        assert_eq!(
            decide(&nomail, &EmailRequest::Default),
            send(EmailKind::Activation, "n@home.example")
        );
    }
}
