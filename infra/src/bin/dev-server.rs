//! `make dev`: every function of `template.yaml` on 127.0.0.1:3000, its queues polled into
//! the workers and its schedules ticking, against DynamoDB Local and moto.

use std::net::SocketAddr;
use wati_infra::local::{start, LocalOptions};
use wati_shared::runtime::aws::AwsClients;
use wati_shared::runtime::config::{Config, LOCAL_DEFAULT_ADMIN_KEY};

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("dev-server: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let env = |k: &str, default: &str| {
        std::env::var(k)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    let log_format = Config::from_env().map_err(|e| e.to_string())?.log_format;
    wati_shared::runtime::telemetry::init(log_format);

    let mut opts = LocalOptions::new(
        env("TEMPLATE_PATH", "template.yaml"),
        env("DEV_STACK_PREFIX", "wati-local"),
    );
    opts.admin_key = env("PLATFORM_ADMIN_KEY", LOCAL_DEFAULT_ADMIN_KEY);
    opts.use_process_env = true;
    opts.overrides.insert(
        "EXPOSE_AWS_CALL_COUNTS".into(),
        env("EXPOSE_AWS_CALL_COUNTS", "true"),
    );
    if std::env::var("PLATFORM_ADMIN_KEY").is_err() {
        tracing::warn!("PLATFORM_ADMIN_KEY is not set: the platform admin key is the local default {LOCAL_DEFAULT_ADMIN_KEY}");
    }

    let aws = AwsClients::from_env().await;
    let local = start(opts, aws).await?;
    let addr: SocketAddr = format!("{}:{}", env("HOST", "127.0.0.1"), env("PORT", "3000"))
        .parse()
        .map_err(|e| format!("HOST/PORT: {e}"))?;
    let workers = local.server.spawn_workers();
    // The dashboard at `/` on the same origin as the API (CloudFront's job in AWS).
    let assets = env("DASHBOARD_DIST", "dashboard/dist");
    let server = local.server.with_assets(&assets);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("binding {addr}: {e}"))?;
    tracing::info!(
        %addr,
        table = %local.state.config.table_name,
        routes = server.template.routes().len(),
        workers = workers.len(),
        dashboard = %format!("http://{addr}/"),
        "dev server listening"
    );
    axum::serve(listener, server.app())
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| e.to_string())?;
    for w in workers {
        w.abort();
    }
    Ok(())
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
