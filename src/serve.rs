//! `baton serve`: the long-running service (ticker, outbox workers, HTTP server).

/// Runs the service until SIGTERM or Ctrl-C.
pub async fn run(
    config: Option<&std::path::Path>,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    let _ = (config, database_url);
    Ok(())
}
