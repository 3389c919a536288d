-- Slack (and later other platforms): where baton's own threads live. A thread is keyed by
-- baton (e.g. `checkins:2026-11-16` for a period's check-in summaries); the adapter posts
-- the parent once and replies under it afterwards.
CREATE TABLE platform_threads (
    org_id     bigint NOT NULL REFERENCES organisations(id),
    platform   text NOT NULL,
    department text NOT NULL,
    thread_key text NOT NULL,
    channel    text NOT NULL,
    ts         text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, platform, department, thread_key)
);

-- Time zones reported by the platform (Slack `users.info` → `tz`) for people whose
-- manifest entry sets none. Informational until the app reads it (see README).
CREATE TABLE platform_zones (
    org_id    bigint NOT NULL REFERENCES organisations(id),
    person_id bigint NOT NULL REFERENCES people(id),
    platform  text NOT NULL,
    time_zone text NOT NULL,
    PRIMARY KEY (org_id, person_id, platform)
);
