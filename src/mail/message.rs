//! The text of the Welcome and Activation emails.

use lettre::Message;
use lettre::message::{Mailbox, header::ContentType};

use crate::domain::User;

/// Why a queued email could not be turned into a message; retrying will not help.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the message: {0}")]
pub struct BuildError(String);

fn greeting(user: &User) -> String {
    match (&user.first_name, &user.display_name) {
        (Some(first), _) => format!("Hello {first},"),
        (None, Some(display)) => format!("Hello {display},"),
        _ => format!("Hello {},", user.username),
    }
}

/// Builds the email of `kind` (`welcome` or `activation`) for `user`, sent to `recipient`.
/// `link` is the set-password link of an activation email.
pub fn build(
    from: &Mailbox,
    recipient: &str,
    kind: &str,
    user: &User,
    link: Option<&str>,
) -> Result<Message, BuildError> {
    let to: Mailbox = recipient
        .parse()
        .map_err(|e| BuildError(format!("recipient {recipient:?}: {e}")))?;
    let (subject, body) = match (kind, link) {
        ("welcome", _) => {
            let expiry = if user.password.expired {
                "You will be asked to choose a new password when you first sign in.\n"
            } else {
                ""
            };
            (
                "Your account is ready",
                format!(
                    "{}\n\nYour account {} is now active. Sign in with the password your \
                     administrator gave you.\n{expiry}",
                    greeting(user),
                    user.username
                ),
            )
        }
        ("activation", Some(link)) => (
            "Activate your account",
            format!(
                "{}\n\nYour account {} is now active. Choose your password here (the link works \
                 once and expires in 7 days):\n\n{link}\n",
                greeting(user),
                user.username
            ),
        ),
        _ => {
            return Err(BuildError(format!(
                "unknown email kind {kind:?} or missing link"
            )));
        }
    };
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| BuildError(e.to_string()))
}
