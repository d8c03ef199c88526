//! Logging: JSON lines in Lambda, readable text on a terminal. Every line written while a
//! request is served carries that request's id (the `request` span's fields).

use crate::runtime::config::LogFormat;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const DEFAULT_FILTER: &str = "info,aws_config=warn,aws_smithy_runtime=warn";

/// Installs the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init(format: LogFormat) {
    let _ = match format {
        LogFormat::Json => tracing_subscriber::fmt()
            .with_target(false)
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            // Lambda adds its own timestamp to every line.
            .without_time()
            .finish()
            .with(filter())
            .try_init(),
        LogFormat::Text => tracing_subscriber::fmt()
            .with_target(false)
            .with_ansi(false)
            .finish()
            .with(filter())
            .try_init(),
    };
}

/// `RUST_LOG` as `target=level` directives (`info`, `warn,wati_shared=debug`): the plain
/// target filter, not `EnvFilter`, whose span and regex matching linked the regex engine
/// into every function. An unreadable value falls back to the default.
fn filter() -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| DEFAULT_FILTER.parse().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn the_default_filter_reads_as_target_directives() {
        let t: Targets = DEFAULT_FILTER.parse().expect("the default filter parses");
        assert!(t.would_enable("wati_shared::store", &Level::INFO));
        assert!(!t.would_enable("wati_shared::store", &Level::DEBUG));
        assert!(!t.would_enable("aws_config::loader", &Level::INFO));
        assert!(t.would_enable("aws_smithy_runtime::client", &Level::WARN));
    }
}
