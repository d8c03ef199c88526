//! Logging: JSON lines in Lambda, readable text on a terminal. Every line written while a
//! request is served carries that request's id (the `request` span's fields).

use crate::runtime::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            // Lambda adds its own timestamp to every line.
            .without_time()
            .try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}
