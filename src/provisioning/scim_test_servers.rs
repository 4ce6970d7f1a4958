//! Servers for the SCIM connector's tests: a second Roster as the downstream app (a real SCIM
//! 2.0 service provider on its own SQLite database), and a proxy in front of it that answers
//! scripted faults before it passes requests through. The proxy is the only stand-in: every
//! request it does not fault reaches the real downstream.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::Utc;
use serde_json::{Value, json};

use crate::domain::integration::IntegrationKind;
use crate::http::AppState;
use crate::service::scim_tokens;
use crate::store::scim_query::ROSTER_SCHEMA;
use crate::store::testing::{TestDatabase, sqlite};

/// An HTTP server on its own thread and actix system, stopped when dropped.
struct RunningServer {
    system: actix_web::rt::System,
    origin: String,
}

impl RunningServer {
    fn start(
        serve: impl FnOnce(TcpListener) -> std::io::Result<actix_web::dev::Server> + Send + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let origin = format!("http://{}", listener.local_addr().expect("address"));
        let (started, system) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = serve(listener).expect("serve");
                let _ = started.send(actix_web::rt::System::current());
                let _ = server.await;
            });
        });
        Self {
            system: system.recv().expect("the server thread started"),
            origin,
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.system.stop();
    }
}

/// A second Roster serving SCIM, with a token for the integration `downstream`.
pub(crate) struct Downstream {
    /// `http://127.0.0.1:PORT/scim/v2`
    pub base_url: String,
    pub token: String,
    http: reqwest::Client,
    _server: RunningServer,
    _database: TestDatabase,
}

impl Downstream {
    pub fn start() -> Self {
        let database = sqlite();
        let token = scim_tokens::issue(
            &mut database.store.conn().expect("conn"),
            "downstream",
            Some(IntegrationKind::Generic),
            false,
            Utc::now(),
        )
        .expect("token")
        .token;
        let state = web::Data::new(AppState::new(database.store.clone()));
        let server = RunningServer::start(move |listener| {
            Ok(HttpServer::new(move || {
                App::new()
                    .app_data(state.clone())
                    .configure(crate::http::routes)
            })
            .workers(1)
            .disable_signals()
            .listen(listener)?
            .run())
        });
        Self {
            base_url: format!("{}/scim/v2", server.origin),
            token,
            http: reqwest::Client::new(),
            _server: server,
            _database: database,
        }
    }

    /// Sends a SCIM request with the downstream's token; returns the status and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the downstream answers");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// The lifecycle extension of the downstream's user `id`, which its SCIM API returns only
    /// when asked.
    pub async fn lifecycle(&self, id: &str) -> Value {
        let (status, user) = self
            .call(
                reqwest::Method::GET,
                &format!("/Users/{id}?attributes={ROSTER_SCHEMA}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{user}");
        user[ROSTER_SCHEMA].clone()
    }

    /// The downstream's user with this userName, as its SCIM API returns it.
    pub async fn find(&self, user_name: &str) -> Option<Value> {
        let filter = roster_connectors::scim::user_name_filter(user_name);
        let mut url = reqwest::Url::parse(&format!("{}/Users", self.base_url)).expect("url");
        url.query_pairs_mut().append_pair("filter", &filter);
        let (status, list) = self
            .call(
                reqwest::Method::GET,
                &format!("/Users?{}", url.query().unwrap_or_default()),
                None,
            )
            .await;
        assert_eq!(status, 200, "{list}");
        let found = list["Resources"].as_array().cloned().unwrap_or_default();
        assert!(found.len() <= 1, "one user per userName: {list}");
        found.into_iter().next()
    }
}

/// A scripted answer in place of the downstream's.
#[derive(Debug, Clone)]
pub(crate) struct Fault {
    /// Only requests with this method get the fault; `None`: any request.
    pub method: Option<&'static str>,
    pub status: u16,
    pub retry_after: Option<&'static str>,
    pub detail: &'static str,
}

impl Fault {
    pub fn any(status: u16) -> Self {
        Self {
            method: None,
            status,
            retry_after: None,
            detail: "injected fault",
        }
    }

    fn response(&self) -> HttpResponse {
        let status = actix_web::http::StatusCode::from_u16(self.status).expect("status");
        let mut response = HttpResponse::build(status);
        response.content_type(crate::scim::CONTENT_TYPE);
        if let Some(wait) = self.retry_after {
            response.insert_header(("Retry-After", wait));
        }
        response.json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": self.status.to_string(),
            "detail": self.detail,
        }))
    }
}

#[derive(Default)]
struct Script {
    /// Each is answered once, to the first request it matches.
    queue: VecDeque<Fault>,
    /// Answered to every request while set.
    always: Option<Fault>,
    /// `METHOD path status` of every request, in order.
    seen: Vec<String>,
}

struct ProxyState {
    downstream: String,
    script: Mutex<Script>,
    http: reqwest::Client,
}

/// A proxy in front of a [`Downstream`] that can answer faults instead.
pub(crate) struct FaultProxy {
    /// `http://127.0.0.1:PORT/scim/v2`: give this to the resource instead of the downstream's.
    pub base_url: String,
    state: Arc<ProxyState>,
    _server: RunningServer,
}

impl FaultProxy {
    pub fn start(downstream: &Downstream) -> Self {
        let origin = downstream.base_url.trim_end_matches("/scim/v2").to_owned();
        let state = Arc::new(ProxyState {
            downstream: origin,
            script: Mutex::new(Script::default()),
            http: reqwest::Client::new(),
        });
        let shared = web::Data::from(Arc::clone(&state));
        let server = RunningServer::start(move |listener| {
            Ok(HttpServer::new(move || {
                App::new()
                    .app_data(shared.clone())
                    .default_service(web::to(pass))
            })
            .workers(1)
            .disable_signals()
            .listen(listener)?
            .run())
        });
        Self {
            base_url: format!("{}/scim/v2", server.origin),
            state,
            _server: server,
        }
    }

    pub fn queue(&self, fault: Fault) {
        self.script().queue.push_back(fault);
    }

    pub fn always(&self, fault: Option<Fault>) {
        self.script().always = fault;
    }

    /// `METHOD path status` of every request so far.
    pub fn seen(&self) -> Vec<String> {
        self.script().seen.clone()
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.state.script.lock().expect("script lock")
    }
}

async fn pass(
    state: web::Data<ProxyState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let fault = {
        let mut script = state.script.lock().expect("script lock");
        script.always.clone().or_else(|| {
            let index = script
                .queue
                .iter()
                .position(|f| f.method.is_none_or(|m| m == method))?;
            script.queue.remove(index)
        })
    };
    let response = match fault {
        Some(fault) => fault.response(),
        None => forward(&state, &request, body).await,
    };
    state
        .script
        .lock()
        .expect("script lock")
        .seen
        .push(format!("{method} {path} {}", response.status().as_u16()));
    response
}

async fn forward(state: &ProxyState, request: &HttpRequest, body: web::Bytes) -> HttpResponse {
    let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes()).expect("method");
    let target = format!("{}{}", state.downstream, request.uri());
    let mut outgoing = state.http.request(method, target).body(body.to_vec());
    for name in ["authorization", "content-type", "accept"] {
        if let Some(value) = request.headers().get(name).and_then(|v| v.to_str().ok()) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing
        .send()
        .await
        .expect("the downstream answers the proxy");
    let status = actix_web::http::StatusCode::from_u16(answer.status().as_u16()).expect("status");
    let content_type = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let bytes = answer.bytes().await.expect("body");
    HttpResponse::build(status)
        .content_type(content_type)
        .body(bytes.to_vec())
}
