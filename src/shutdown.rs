//! The shutdown flag every loop of `serve` watches, adapters included (SIGTERM or Ctrl-C
//! triggers it). It sits below both the wiring (`serve`, `http`) and the adapters, so
//! neither imports the other for it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// The shutdown flag every loop and `/readyz` watch. Cloning shares it.
#[derive(Clone)]
pub struct Shutdown(Arc<watch::Sender<bool>>);

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown(Arc::new(watch::channel(false).0))
    }

    /// Starts shutting down (idempotent).
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }

    /// Resolves once shutdown has been triggered.
    pub async fn wait(&self) {
        stopped(&mut self.subscribe()).await;
    }
}

/// Resolves once the flag is set (or its sender is gone, which also means stop).
pub async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

pub fn is_stopped(rx: &watch::Receiver<bool>) -> bool {
    *rx.borrow() || rx.has_changed().is_err()
}

/// Sleeps for `d`, or less if shutdown comes first.
pub async fn pause(d: Duration, rx: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stopped(rx) => {}
    }
}
