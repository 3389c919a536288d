-- A period's check-in summary: one per (department check-in cadence, occurrence), posted as
-- the parent of a thread in the department's channel when the first prompt of the
-- occurrence goes out. Answers post a line into the thread and edit the parent in place.
CREATE TABLE checkin_summaries (
    id         bigserial PRIMARY KEY,
    org_id     bigint NOT NULL REFERENCES organisations(id),
    cadence_id bigint NOT NULL REFERENCES cadences(id),
    occurrence timestamp NOT NULL,
    department text NOT NULL,
    thread_key text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (cadence_id, occurrence)
);

-- Check-ins look up the person's recent prompts in every state (an answer on a prompt
-- already answered still updates its summary), not only the open ones. Every new prompt
-- was in the old partial index too, so inserting costs the same.
DROP INDEX prompts_open;
CREATE INDEX prompts_person ON prompts (org_id, person_id, due_at);

-- Discord: the message a thread was started from (the parent an edit replaces).
ALTER TABLE discord_threads ADD COLUMN parent_id text;
