//! SCIM 2.0 against the running server: the requests Okta's and Entra ID's provisioning
//! clients send (reference/idp-lifecycle.md A8–A10, behaviours 29–51), and Roster's rules.

mod entra;
mod lifecycle;
mod okta;
mod profile;
mod rules;

use conformance_tests::{Server, client, roster_command};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const ROSTER: &str = "urn:ietf:params:scim:schemas:extension:roster:2.0:User";
pub const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// A running server with a token for one integration.
pub struct Scim {
    pub server: Server,
    pub token: String,
    extra: Vec<String>,
}

/// A response: status, headers and the JSON body (null when there is none).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a SCIM error with this status (as a string) and, when given, scimType.
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.body["schemas"], json!([ERROR]), "{self:?}");
        assert_eq!(self.body["status"], json!(status.to_string()), "{self:?}");
        if let Some(scim_type) = scim_type {
            assert_eq!(self.body["scimType"], scim_type, "{self:?}");
        }
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "a detail says what is wrong: {self:?}"
        );
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/scim+json")),
            "{self:?}"
        );
    }
}

impl Scim {
    /// A server on SQLite with a token for the integration `okta` (kind okta).
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A server started with extra arguments (such as a PostgreSQL URL, which the CLI calls
    /// get too).
    pub fn start_with(extra: &[&str]) -> Self {
        let server = Server::start(extra);
        let mut scim = Scim {
            server,
            token: String::new(),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        scim.token = scim.issue("okta", Some("okta"), false);
        scim
    }

    /// Runs a `roster` command against the server's database; returns its stdout on success.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        roster_command(self.server.workdir.path())
            .args(args)
            .args(&self.extra)
            .output()
            .expect("run roster")
    }

    pub fn issue(&self, integration: &str, kind: Option<&str>, read_only: bool) -> String {
        let mut args = vec!["token", "issue", "--integration", integration];
        if let Some(kind) = kind {
            args.extend(["--kind", kind]);
        }
        if read_only {
            args.push("--read-only");
        }
        let output = self.cli(&args);
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }

    /// How many audit events there are, from `roster audit verify`.
    pub fn audit_events(&self) -> u64 {
        let output = self.cli(&["audit", "verify"]);
        assert!(output.status.success(), "{output:?}");
        let text = String::from_utf8(output.stdout).expect("utf-8");
        text.split_whitespace()
            .find_map(|word| word.parse().ok())
            .unwrap_or_else(|| panic!("no count in {text:?}"))
    }

    pub fn send_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = client()
            .request(method, self.server.url(&format!("/scim/v2{path}")))
            .header("Accept", "application/scim+json");
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/scim+json; charset=utf-8")
                .body(body.to_string());
        }
        let response = request.send().expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.send_as(Some(&self.token), method, path, body, &[])
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, Some(body))
    }

    pub fn patch(&self, path: &str, operations: Value) -> Reply {
        self.send(
            Method::PATCH,
            path,
            Some(&json!({"schemas": [PATCH], "Operations": operations})),
        )
    }

    pub fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::PUT, path, Some(body))
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None)
    }

    /// The user's lifecycle extension, which a default read leaves out (its attributes are
    /// returned on request).
    pub fn lifecycle(&self, id: &str) -> Value {
        let reply = self.get(&format!("/Users/{id}?attributes={ROSTER}"));
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body[ROSTER].clone()
    }

    /// The user's lifecycle state, as the extension shows it when asked.
    pub fn state(&self, id: &str) -> String {
        self.lifecycle(id)["state"]
            .as_str()
            .expect("the state is returned when asked for")
            .to_owned()
    }

    /// Creates a user (201 expected) and returns its resource.
    pub fn create_user(&self, user_name: &str, active: bool) -> Value {
        let reply = self.post("/Users", &okta_user(user_name, active));
        assert_eq!(reply.status, 201, "{reply:?}");
        reply.body
    }
}

/// `text` percent-encoded for a query string.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The user Okta's create step sends.
pub fn okta_user(user_name: &str, active: bool) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": active,
    })
}

pub fn id_of(resource: &Value) -> String {
    resource["id"].as_str().expect("id").to_owned()
}
