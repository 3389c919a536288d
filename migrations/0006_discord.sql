-- Discord: threads baton created, by its own thread key, so later messages of the same
-- thread (e.g. `checkins:2026-11-16`) land in the same Discord thread.
CREATE TABLE discord_threads (
    org_id     bigint NOT NULL REFERENCES organisations(id),
    department text NOT NULL,
    thread_key text NOT NULL,
    channel_id text NOT NULL,
    thread_id  text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, department, thread_key)
);
