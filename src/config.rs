//! Configuration, layered: built-in defaults, then a TOML file, then `ROSTER_*` environment
//! variables, then command-line flags. Later layers win.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::domain::password::PasswordPolicy;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Directory for the SQLite database and other local files.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; when absent, SQLite in `data_dir/roster.db`.
    pub database_url: Option<String>,
    /// Largest number of open database connections.
    pub database_max_connections: Option<u32>,
    pub log_format: LogFormat,
    /// Seconds between two runs of the scheduler, which fires due scheduled state changes.
    pub scheduler_interval_secs: u64,
    /// The address people reach this server at, for links in emails [default: from `listen`].
    pub public_url: Option<String>,
    /// The sender of the emails Roster sends.
    pub email_from: String,
    /// How often the mail worker looks for queued email, in seconds.
    pub email_poll_seconds: u64,
    /// Where email goes; with none, messages are written as `.eml` files under `data_dir/mail`.
    pub smtp: Option<SmtpConfig>,
    /// What every new password must contain.
    pub password_policy: PasswordPolicy,
    /// Bounds on SCIM requests (`[scim]` in the file): body size, page size, filter length
    /// and depth, PATCH operations.
    #[serde(default)]
    pub scim: crate::scim::ScimLimits,
}

/// How a connection to the mail server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text: only for a relay on a trusted network or this machine.
    None,
    /// Upgrade a plain connection with STARTTLS (usually port 587).
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

/// The SMTP server email is delivered through.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    #[serde(default = "default_smtp_tls")]
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
}

fn default_smtp_port() -> u16 {
    587
}

fn default_smtp_tls() -> SmtpTls {
    SmtpTls::Starttls
}

/// Never shows the password.
impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("roster-data"),
            database_url: None,
            database_max_connections: None,
            log_format: LogFormat::Text,
            scheduler_interval_secs: 60,
            public_url: None,
            email_from: "Roster <roster@localhost>".into(),
            email_poll_seconds: 5,
            smtp: None,
            password_policy: PasswordPolicy::default(),
            scim: crate::scim::ScimLimits::default(),
        }
    }
}

/// The environment variables read as configuration; others with the prefix (such as the test
/// suite's `ROSTER_TEST_*`) are not configuration and are left alone.
const ENV_KEYS: [&str; 8] = [
    "listen",
    "data_dir",
    "database_url",
    "database_max_connections",
    "log_format",
    "scheduler_interval_secs",
    "public_url",
    "email_from",
];

/// Values given on the command line; `None` leaves the layer below in force.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Config {
    /// Reads every layer. A config file that is named but missing is an error; so is a value of
    /// the wrong type, reported with where it came from.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(Box::new(figment::Error::from(format!(
                    "config file {} does not exist",
                    path.display()
                ))));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment
            .merge(Env::prefixed("ROSTER_").only(&ENV_KEYS))
            .merge(Serialized::defaults(overrides))
            .extract::<Config>()
            .map_err(Box::new)?
            .validated()
    }

    /// Refuses values of the right type that still make no sense.
    fn validated(self) -> Result<Self, Box<figment::Error>> {
        if self.scheduler_interval_secs == 0 {
            return Err(Box::new(figment::Error::from(
                "scheduler_interval_secs must be at least 1".to_owned(),
            )));
        }
        Ok(self)
    }

    /// The base of links in emails, without a trailing slash.
    pub fn public_base_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }

    /// The database to use: the configured URL, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            self.data_dir
                .join("roster.db")
                .to_string_lossy()
                .into_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_nothing_configured_sqlite_lives_in_the_data_directory() {
        let config = Config::default();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url(), "roster-data/roster.db");
    }

    #[test]
    fn the_file_is_read_and_flags_beat_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("roster.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/roster\"\nlog_format = \"json\"\n",
        )
        .expect("write config");
        let overrides = Overrides {
            listen: Some("127.0.0.1:9100".parse().expect("address")),
            ..Overrides::default()
        };
        let config = Config::load(Some(&path), &overrides).expect("loads");
        assert_eq!(config.listen.port(), 9100);
        assert_eq!(config.data_dir, PathBuf::from("/srv/roster"));
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn the_scheduler_runs_every_minute_unless_configured_and_never_every_zero_seconds() {
        assert_eq!(Config::default().scheduler_interval_secs, 60);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("roster.toml");
        std::fs::write(&path, "scheduler_interval_secs = 1\n").expect("write config");
        let config = Config::load(Some(&path), &Overrides::default()).expect("loads");
        assert_eq!(config.scheduler_interval_secs, 1);
        std::fs::write(&path, "scheduler_interval_secs = 0\n").expect("write config");
        let error = Config::load(Some(&path), &Overrides::default()).expect_err("zero");
        assert!(
            error.to_string().contains("scheduler_interval_secs"),
            "{error}"
        );
    }

    #[test]
    fn smtp_and_the_password_policy_are_read_from_the_file_and_the_password_is_hidden() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("roster.toml");
        std::fs::write(
            &path,
            "[smtp]\nhost = \"mail.example\"\npassword = \"hunter2\"\n\n\
             [password_policy]\nmin_length = 16\nrequire_symbol = true\n",
        )
        .expect("write config");
        let config = Config::load(Some(&path), &Overrides::default()).expect("loads");
        let smtp = config.smtp.clone().expect("smtp configured");
        assert_eq!((smtp.port, smtp.tls), (587, SmtpTls::Starttls));
        assert_eq!(config.password_policy.min_length, 16);
        assert!(config.password_policy.require_uppercase, "defaults kept");
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("roster.toml");
        std::fs::write(&path, "listne = \"127.0.0.1:9000\"\n").expect("write config");
        let error = Config::load(Some(&path), &Overrides::default()).expect_err("typo");
        assert!(error.to_string().contains("listne"), "{error}");
        let missing = dir.path().join("absent.toml");
        assert!(Config::load(Some(&missing), &Overrides::default()).is_err());
    }
}
