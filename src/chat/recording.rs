//! A recording adapter: collects what would have been sent. It can be scripted to fail,
//! to rate-limit, then to succeed, so tests can drive the outbox's retry paths. It is a
//! test double, used by tests, the benchmark and the shell's simulation.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{AdapterError, ChatAdapter, Delivered, Outbound, Target};

#[derive(Default)]
pub struct RecordingAdapter {
    sent: Mutex<Vec<(Target, Outbound)>>,
    script: Mutex<VecDeque<AdapterError>>,
    attempts: Mutex<usize>,
    /// Threads started so far, with the id of their parent message.
    threads: Mutex<std::collections::HashMap<Target, String>>,
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
        Ok(Delivered {
            message_id: Some(id),
        })
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
