//! The mail worker: takes queued emails from the email outbox and delivers them through SMTP,
//! or writes them as `.eml` files when no SMTP server is configured.

mod message;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::watch;

use crate::config::{Config, SmtpTls};
use crate::domain::UserId;
use crate::store::email_outbox::{self, QueuedEmail};
use crate::store::{Store, StoreError, users};

/// Emails taken per step.
const BATCH: i64 = 50;
/// How long a claimed email is reserved for the worker that took it.
const LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// Attempts before an email is parked for an admin to look at.
const MAX_ATTEMPTS: i32 = 6;

/// Where messages go.
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// `.eml` files in this directory.
    Files(PathBuf),
}

/// Delivers queued email.
pub struct Mailer {
    store: Store,
    transport: Transport,
    from: Mailbox,
    base_url: String,
}

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub sent: usize,
    pub failed: usize,
}

fn smtp_transport(
    config: &crate::config::SmtpConfig,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let builder = match config.tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
            .with_context(|| format!("SMTP host {}", config.host))?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
            .with_context(|| format!("SMTP host {}", config.host))?,
    };
    let mut builder = builder
        .port(config.port)
        .timeout(Some(Duration::from_secs(30)));
    if let (Some(user), Some(password)) = (&config.username, &config.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// Writes under a temporary name and renames, so a reader never sees half a message.
fn write_eml(dir: &std::path::Path, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, bytes)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, dir.join(name)).context("cannot rename the message file")?;
    Ok(())
}

/// Waits before retry `attempt`: 1, 4, 16, 64 minutes…, capped at a day.
fn backoff(attempt: i32) -> chrono::Duration {
    let minutes = 4_i64.saturating_pow(u32::try_from(attempt.max(1) - 1).unwrap_or(0));
    chrono::Duration::minutes(minutes.min(24 * 60))
}

impl Mailer {
    /// `base_url` starts the links in emails (the configured public URL or the bound address).
    pub fn new(config: &Config, store: Store, base_url: String) -> anyhow::Result<Self> {
        let transport = match &config.smtp {
            Some(smtp) => Transport::Smtp(smtp_transport(smtp)?),
            None => Transport::Files(config.data_dir.join("mail")),
        };
        let from = config
            .email_from
            .parse()
            .with_context(|| format!("email_from {:?} is not a mailbox", config.email_from))?;
        Ok(Self {
            store,
            transport,
            from,
            base_url,
        })
    }

    /// Delivers every email due at `now`, once each.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> Result<Outcome, StoreError> {
        let claimed = self
            .store
            .run(move |conn| email_outbox::claim_due(conn, now, now + LEASE, BATCH))
            .await?;
        let mut outcome = Outcome::default();
        for email in claimed {
            let id = email.id;
            let attempts = email.attempts;
            match self.deliver(email).await {
                Ok(()) => {
                    outcome.sent += 1;
                    self.store
                        .run(move |conn| email_outbox::mark_sent(conn, id, Utc::now()))
                        .await?;
                }
                Err(error) => {
                    outcome.failed += 1;
                    let retry = (attempts < MAX_ATTEMPTS).then(|| now + backoff(attempts));
                    tracing::warn!(email.id = id, attempts, parked = retry.is_none(), error.message = %error, "email delivery failed");
                    let text = error.to_string();
                    self.store
                        .run(move |conn| {
                            email_outbox::mark_failed(conn, id, &text, retry, Utc::now())
                        })
                        .await?;
                }
            }
        }
        Ok(outcome)
    }

    async fn deliver(&self, email: QueuedEmail) -> anyhow::Result<()> {
        let user_id: UserId = email.user_id.parse().context("bad user id in the outbox")?;
        let user = self
            .store
            .run(move |conn| users::find(conn, user_id))
            .await?
            .context("the user was deleted before the email went out")?;
        let link = email
            .link_token
            .as_deref()
            // The page at /set-password asks for the new password (see http::admin).
            .map(|token| format!("{}/set-password?token={token}", self.base_url));
        let message = message::build(
            &self.from,
            &email.recipient,
            &email.kind,
            &user,
            link.as_deref(),
        )?;
        self.send(email.id, &email.kind, message).await?;
        tracing::info!(email.id = email.id, user.id = %user.id, email.kind = %email.kind, "email delivered");
        Ok(())
    }

    async fn send(&self, id: i64, kind: &str, message: Message) -> anyhow::Result<()> {
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.context("SMTP delivery")?;
            }
            Transport::Files(dir) => {
                let dir = dir.clone();
                let name = format!("{id:08}-{kind}.eml");
                let bytes = message.formatted();
                tokio::task::spawn_blocking(move || write_eml(&dir, &name, &bytes))
                    .await
                    .context("the file writer stopped")??;
            }
        }
        Ok(())
    }

    /// Calls [`deliver_due`](Self::deliver_due) every `interval` until `shutdown` turns true.
    pub async fn run(self, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(error) = self.deliver_due(Utc::now()).await {
                tracing::warn!(error.message = %error, "mail worker step failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => break,
            }
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn retries_back_off_and_stay_under_a_day() {
        assert_eq!(backoff(1), chrono::Duration::minutes(1));
        assert_eq!(backoff(2), chrono::Duration::minutes(4));
        assert_eq!(backoff(30), chrono::Duration::minutes(24 * 60));
    }
}
