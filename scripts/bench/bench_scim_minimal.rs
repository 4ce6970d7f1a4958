//! The baseline of the SCIM benchmark (`scripts/bench-scim.sh`): a bare actix-web server, one
//! worker thread, that answers the benchmark's SCIM routes with a fixed User resource built
//! once and held in memory. It reads no database and checks nothing, so it measures what
//! HTTP, actix-web and the load generator cost on one core.
//!
//!     bench_scim_minimal <LISTEN_ADDR> <USER_JSON_FILE> <TOTAL_RESULTS>
//!
//! USER_JSON_FILE holds one User resource (the script saves one Roster served, so that both
//! send bodies of the same size). Routes:
//!
//! - `GET /scim/v2/Users/{id}`, `PATCH /scim/v2/Users/{id}`: 200 with the user;
//! - `POST /scim/v2/Users`: 201 with the user;
//! - `GET /scim/v2/Users`: a filter gets a ListResponse holding the user, anything else a
//!   ListResponse of 100 copies of it with `totalResults` TOTAL_RESULTS.

use std::net::SocketAddr;

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer};
use anyhow::Context;
use serde_json::{Value, json};

const CONTENT_TYPE: &str = "application/scim+json";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const PAGE_SIZE: usize = 100;

/// The bodies, serialized once at start.
struct Bodies {
    user: Bytes,
    filtered: Bytes,
    page: Bytes,
}

fn list(total: usize, resources: Vec<Value>) -> Bytes {
    let count = resources.len();
    Bytes::from(
        json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": 1,
            "itemsPerPage": count,
            "Resources": resources,
        })
        .to_string(),
    )
}

fn respond(status: StatusCode, body: &Bytes) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(CONTENT_TYPE)
        .body(body.clone())
}

async fn get_user(bodies: web::Data<Bodies>) -> HttpResponse {
    respond(StatusCode::OK, &bodies.user)
}

async fn create_user(bodies: web::Data<Bodies>, _body: Bytes) -> HttpResponse {
    respond(StatusCode::CREATED, &bodies.user)
}

async fn patch_user(bodies: web::Data<Bodies>, _body: Bytes) -> HttpResponse {
    respond(StatusCode::OK, &bodies.user)
}

async fn list_users(request: HttpRequest, bodies: web::Data<Bodies>) -> HttpResponse {
    let filtered = request.query_string().contains("filter=");
    respond(
        StatusCode::OK,
        if filtered {
            &bodies.filtered
        } else {
            &bodies.page
        },
    )
}

fn main() -> anyhow::Result<()> {
    const USAGE: &str = "usage: bench_scim_minimal <LISTEN_ADDR> <USER_JSON_FILE> <TOTAL_RESULTS>";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, user_file, total] = args.as_slice() else {
        anyhow::bail!(USAGE);
    };
    let listen: SocketAddr = listen.parse().context(USAGE)?;
    anyhow::ensure!(
        listen.ip().is_loopback(),
        "listen on a loopback address only"
    );
    let total: usize = total.parse().context(USAGE)?;
    let text =
        std::fs::read_to_string(user_file).with_context(|| format!("cannot read {user_file}"))?;
    let user: Value =
        serde_json::from_str(&text).with_context(|| format!("{user_file} is not JSON"))?;
    let bodies = web::Data::new(Bodies {
        user: Bytes::from(user.to_string()),
        filtered: list(1, vec![user.clone()]),
        page: list(total, vec![user; PAGE_SIZE]),
    });
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new().app_data(bodies.clone()).service(
                web::scope("/scim/v2")
                    .route("/Users", web::get().to(list_users))
                    .route("/Users", web::post().to(create_user))
                    .route("/Users/{id}", web::get().to(get_user))
                    .route("/Users/{id}", web::patch().to(patch_user)),
            )
        })
        .workers(1)
        .bind(listen)
        .with_context(|| format!("cannot listen on {listen}"))?
        .run()
        .await
        .context("server failed")
    })
}
