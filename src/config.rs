//! Settings: defaults, then `BATON_*` environment variables (and `DATABASE_URL`).

/// Where baton keeps its data unless told otherwise.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/baton";

/// The database URL: `BATON_DATABASE_URL`, else `DATABASE_URL`, else the default.
pub fn database_url() -> String {
    std::env::var("BATON_DATABASE_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string())
}
