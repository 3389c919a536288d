//! Errors at the app boundary. Each variant's message is written for the person who typed
//! the command: what was wrong and how to do it right.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input could not be understood; the message carries the usage line.
    #[error("{0}")]
    Usage(String),
    /// Something named does not exist in this organisation.
    #[error("{0}")]
    NotFound(String),
    /// The person may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The input parsed but is not acceptable (e.g. an absurd figure).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;
