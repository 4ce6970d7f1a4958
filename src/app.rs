//! `roster serve`: opens the database, applies migrations and runs the HTTP server and the
//! scheduler until a shutdown signal arrives.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::config::Config;
use crate::http::{self, AppState};
use crate::provisioning::{Dispatcher, DispatcherOptions};
use crate::scheduler;
use crate::store::{Backend, Store, StoreOptions, redact_url};

/// Opens the configured database, creating the SQLite data directory when needed, and brings
/// its schema up to date.
pub fn open_store(config: &Config) -> anyhow::Result<Store> {
    let url = config.database_url();
    if Backend::of_url(&url) == Backend::Sqlite {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
    }
    let mut options = StoreOptions::new(&url);
    if let Some(max) = config.database_max_connections {
        options.max_connections = max;
    }
    let store = Store::open(&options)
        .with_context(|| format!("cannot open the database at {}", redact_url(&url)))?;
    let applied = store
        .migrate()
        .with_context(|| format!("cannot migrate the database at {}", redact_url(&url)))?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "database schema updated");
    }
    Ok(store)
}

/// Runs the server on `listener` until Ctrl-C or SIGTERM.
pub async fn serve(config: Config, store: Store, listener: TcpListener) -> anyhow::Result<()> {
    let address = listener.local_addr().context("listener has no address")?;
    let state = web::Data::new(AppState::new(store.clone()));
    let admin_settings = web::Data::new(http::admin::AdminSettings {
        password_policy: config.password_policy.clone(),
    });
    let base_url = match &config.public_url {
        Some(_) => config.public_base_url(),
        None => format!("http://{address}"),
    };
    let mailer = crate::mail::Mailer::new(&config, store.clone(), base_url)?;
    let (stop_mail, mail_shutdown) = tokio::sync::watch::channel(false);
    let mail_worker = actix_web::rt::spawn(mailer.run(
        std::time::Duration::from_secs(config.email_poll_seconds.max(1)),
        mail_shutdown,
    ));
    let scim_limits = web::Data::new(config.scim);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(TracingLogger::<http::RequestSpan>::new())
            .app_data(state.clone())
            .app_data(admin_settings.clone())
            .app_data(scim_limits.clone())
            .configure(http::routes)
    })
    .listen(listener)
    .with_context(|| format!("cannot serve on {address}"))?
    .run();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        listen = %address,
        backend = store.backend().name(),
        data_dir = %config.data_dir.display(),
        "roster started"
    );
    let scheduler = scheduler::worker::spawn(
        store.clone(),
        Duration::from_secs(config.scheduler_interval_secs),
    );
    // The provisioning dispatcher runs beside the server and stops when the server does.
    let (stop_dispatcher, dispatcher_stopped) = tokio::sync::oneshot::channel::<()>();
    let dispatcher = Dispatcher::new(store.clone(), DispatcherOptions::default());
    let dispatcher_worker = tokio::spawn(dispatcher.run(async move {
        let _ = dispatcher_stopped.await;
    }));
    let served = server.await.context("HTTP server failed");
    scheduler.abort();
    let _ = stop_mail.send(true);
    let _ = mail_worker.await;
    let _ = stop_dispatcher.send(());
    if let Err(error) = dispatcher_worker.await {
        tracing::error!(error.message = %error, "the provisioning dispatcher ended abnormally");
    }
    served
}

/// Binds the configured address, with an error that names it.
pub fn bind(config: &Config) -> anyhow::Result<TcpListener> {
    TcpListener::bind(config.listen).with_context(|| format!("cannot listen on {}", config.listen))
}
