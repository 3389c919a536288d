//! A recording adapter: collects what would have been sent. It can be scripted to fail,
//! to rate-limit, then to succeed, so tests can drive the outbox's retry paths. It is a
//! test double, used by tests, the benchmark and the shell's simulation.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{AdapterError, ChatAdapter, Delivered, Outbound, Recovered, Target};

pub struct RecordingAdapter {
    sent: Mutex<Vec<(Target, Outbound)>>,
    script: Mutex<VecDeque<AdapterError>>,
    attempts: Mutex<usize>,
    /// Threads started so far, with the id of their parent message.
    threads: Mutex<std::collections::HashMap<Target, String>>,
    /// Which sends (1 for the first recorded, …) are held unanswered after landing (a
    /// worker killed mid-send, or an answer slow to come back) until released.
    hang: Mutex<Vec<usize>>,
    released: tokio::sync::Semaphore,
    /// Bumped on every recorded send, so tests can wait for one.
    landed: tokio::sync::watch::Sender<usize>,
    /// Whether `recover` looks up what was recorded (a platform with a lookup) or cannot
    /// tell.
    blind: std::sync::atomic::AtomicBool,
    recoveries: Mutex<Vec<String>>,
}

impl Default for RecordingAdapter {
    fn default() -> Self {
        RecordingAdapter {
            sent: Mutex::default(),
            script: Mutex::default(),
            attempts: Mutex::default(),
            threads: Mutex::default(),
            hang: Mutex::default(),
            released: tokio::sync::Semaphore::new(0),
            landed: tokio::sync::watch::Sender::new(0),
            blind: std::sync::atomic::AtomicBool::new(false),
            recoveries: Mutex::default(),
        }
    }
}

impl RecordingAdapter {
    pub fn new() -> RecordingAdapter {
        RecordingAdapter::default()
    }

    /// The next sends fail with these errors, in order; after that sends succeed.
    pub fn fail_with(&self, errors: impl IntoIterator<Item = AdapterError>) {
        self.script.lock().expect("script").extend(errors);
    }

    pub fn sent(&self) -> Vec<(Target, Outbound)> {
        self.sent.lock().expect("sent").clone()
    }

    /// Removes and returns what was sent so far.
    pub fn take(&self) -> Vec<(Target, Outbound)> {
        std::mem::take(&mut *self.sent.lock().expect("sent"))
    }

    /// The `nth` recorded send (counting from 1 over the adapter's life) lands and then
    /// gives no answer until [`RecordingAdapter::release_held`], as when the worker sending
    /// it is killed before it hears back, or the answer is slow.
    pub fn hold_landing(&self, nth: usize) {
        self.hang.lock().expect("hang").push(nth);
    }

    /// Lets `n` held sends answer.
    pub fn release_held(&self, n: usize) {
        self.released.add_permits(n);
    }

    /// Waits until at least `n` messages were recorded.
    pub async fn wait_landed(&self, n: usize) {
        let mut rx = self.landed.subscribe();
        let _ = rx.wait_for(|v| *v >= n).await;
    }

    /// `recover` answers `Unknown` (a platform with no lookup) instead of looking.
    pub fn without_lookup(&self) {
        self.blind.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// The keys `recover` was asked about, in order.
    pub fn recoveries(&self) -> Vec<String> {
        self.recoveries.lock().expect("recoveries").clone()
    }

    /// Every call to `send`, successful or not.
    pub fn attempts(&self) -> usize {
        *self.attempts.lock().expect("attempts")
    }

    /// Counts an attempt and returns the scripted failure for it, if any is left.
    fn attempt(&self) -> Result<(), AdapterError> {
        *self.attempts.lock().expect("attempts") += 1;
        match self.script.lock().expect("script").pop_front() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl ChatAdapter for RecordingAdapter {
    fn platform(&self) -> &'static str {
        "recording"
    }

    async fn send(&self, to: &Target, msg: &Outbound) -> Result<Delivered, AdapterError> {
        self.attempt()?;
        let id = {
            let mut sent = self.sent.lock().expect("sent");
            sent.push((to.clone(), msg.clone()));
            *self.attempts.lock().expect("attempts")
        };
        let id = format!("rec-{id}");
        if matches!(to, Target::Thread { .. }) {
            let mut threads = self.threads.lock().expect("threads");
            threads.entry(to.clone()).or_insert_with(|| id.clone());
        }
        let mut nth = 0;
        self.landed.send_modify(|v| {
            *v += 1;
            nth = *v;
        });
        let hang = self.hang.lock().expect("hang").contains(&nth);
        if hang {
            self.released
                .acquire()
                .await
                .expect("never closed")
                .forget();
        }
        Ok(Delivered {
            message_id: Some(id),
        })
    }

    async fn recover(
        &self,
        to: &Target,
        msg: &Outbound,
        _since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Recovered, AdapterError> {
        self.recoveries
            .lock()
            .expect("recoveries")
            .push(msg.idempotency_key.clone());
        if self.blind.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(Recovered::Unknown);
        }
        let sent = self.sent.lock().expect("sent");
        Ok(
            match sent
                .iter()
                .position(|(t, m)| t == to && m.idempotency_key == msg.idempotency_key)
            {
                Some(i) => Recovered::Landed(Delivered {
                    message_id: Some(format!("rec-found-{i}")),
                }),
                None => Recovered::Absent,
            },
        )
    }

    /// Recorded like a send, to the thread, with the outbox's `summary_edit` kind telling
    /// them apart; like a platform, it refuses to edit a thread it never started.
    async fn edit_parent(
        &self,
        department: &str,
        thread: &str,
        msg: &Outbound,
    ) -> Result<Delivered, AdapterError> {
        self.attempt()?;
        let to = Target::Thread {
            department: department.to_string(),
            thread: thread.to_string(),
        };
        let Some(parent) = self.threads.lock().expect("threads").get(&to).cloned() else {
            return Err(AdapterError::Transient(format!(
                "thread {thread} has no parent yet"
            )));
        };
        self.sent.lock().expect("sent").push((to, msg.clone()));
        Ok(Delivered {
            message_id: Some(parent),
        })
    }
}
