//! Tracing subscriber setup: text or JSON lines on stderr, filtered by the settings.
//!
//! Tests stay quiet: nothing installs a subscriber in them unless `TEST_LOG` is set and
//! they call [`init_for_tests`].

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The filter for one-shot CLI commands when `BATON_LOG` is unset or unusable.
pub const CLI_DEFAULT_FILTER: &str = "warn,sqlx=error";

/// Installs the global subscriber. Returns false if one was installed already (the first
/// one stays: a process has one global subscriber).
pub fn init(
    filter: &str,
    format: LogFormat,
) -> Result<bool, tracing_subscriber::filter::ParseError> {
    let filter = EnvFilter::try_new(filter)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, never into log files or collectors.
        .with_ansi(std::io::stderr().is_terminal());
    let installed = match format {
        LogFormat::Text => builder.try_init().is_ok(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
            .is_ok(),
    };
    Ok(installed)
}

/// For the one-shot commands (`shell`, `apply`, …): `BATON_LOG` if it parses, else
/// [`CLI_DEFAULT_FILTER`], as text. `baton serve` calls [`init`] with its settings instead.
pub fn init_cli() {
    let filter = std::env::var("BATON_LOG")
        .ok()
        .filter(|f| EnvFilter::try_new(f).is_ok())
        .unwrap_or_else(|| CLI_DEFAULT_FILTER.to_string());
    let _ = init(&filter, LogFormat::Text);
}

/// Logs to the test harness's captured output when `TEST_LOG` is set (its value is the
/// filter, e.g. `TEST_LOG=debug`); otherwise does nothing.
pub fn init_for_tests() {
    if let Ok(filter) = std::env::var("TEST_LOG") {
        let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("debug"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_filter_is_refused() {
        assert!(init("info,[[[", LogFormat::Json).is_err());
    }
}
