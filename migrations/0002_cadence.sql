-- The cadence engine: cadences derived from the manifest, prompts keyed exactly once per
-- (cadence, occurrence, person), digests once per (cadence, occurrence), runtime away
-- periods, nudge accounting, and the persisted outbox.

ALTER TABLE organisations
    ADD COLUMN calendar_token text NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', '');

CREATE TABLE cadences (
    id            bigserial PRIMARY KEY,
    org_id        bigint NOT NULL REFERENCES organisations(id),
    -- Stable key derived from the manifest: `department:sales:checkin`, `measure:C1.M1`,
    -- `key_result:PR-K3`, `dependency:sales-needs-sso`.
    key           text NOT NULL,
    scope         text NOT NULL,
    scope_key     text NOT NULL,
    purpose       text NOT NULL,
    layer         text NOT NULL,
    rule          text NOT NULL,
    time_zone     text NOT NULL,
    -- Occurrences whose instants are at or before this have been materialised.
    checked_until timestamptz NOT NULL,
    archived_at   timestamptz,
    UNIQUE (org_id, key)
);

-- Prompts and outbox rows are written in bulk by the scheduler (10,000 in one statement
-- when a large company's check-ins fall in the same minute), always from cadences and
-- people read in the same transaction, and nothing they point at is ever deleted (only
-- archived). Row-by-row foreign-key triggers would double the cost of that statement
-- for no protection, so these two hot tables carry plain ids.
CREATE TABLE prompts (
    id             bigserial PRIMARY KEY,
    org_id         bigint NOT NULL,
    cadence_id     bigint NOT NULL,
    -- The occurrence in local wall-clock time (the same for every member).
    occurrence     timestamp NOT NULL,
    person_id      bigint NOT NULL,
    -- Key results or measures the prompt asks about.
    codes          text[] NOT NULL,
    due_at         timestamptz NOT NULL,
    window_ends_at timestamptz NOT NULL,
    remind_at      timestamptz NOT NULL,
    -- sent, answered, late, skipped, away, missed
    state          text NOT NULL,
    reminded_at    timestamptz,
    snoozed_until  timestamptz,
    answered_at    timestamptz,
    created_at     timestamptz NOT NULL,
    UNIQUE (cadence_id, occurrence, person_id)
);
CREATE INDEX prompts_open ON prompts (org_id, person_id) WHERE state IN ('sent', 'missed');
CREATE INDEX prompts_due ON prompts (remind_at) WHERE state = 'sent';

CREATE TABLE digests (
    org_id     bigint NOT NULL REFERENCES organisations(id),
    cadence_id bigint NOT NULL REFERENCES cadences(id),
    occurrence timestamp NOT NULL,
    posted_at  timestamptz NOT NULL,
    PRIMARY KEY (cadence_id, occurrence)
);

CREATE TABLE nudges (
    org_id    bigint NOT NULL REFERENCES organisations(id),
    person_id bigint NOT NULL REFERENCES people(id),
    prompt_id bigint NOT NULL,
    at        timestamptz NOT NULL
);
CREATE INDEX nudges_person ON nudges (org_id, person_id, at);

-- Away periods declared in chat (`away <from> <to>`); the manifest's live in people.spec.
CREATE TABLE away_periods (
    id         bigserial PRIMARY KEY,
    org_id     bigint NOT NULL REFERENCES organisations(id),
    person_id  bigint NOT NULL REFERENCES people(id),
    from_date  date NOT NULL,
    to_date    date NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX away_person ON away_periods (org_id, person_id);

CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    org_id          bigint NOT NULL,
    idempotency_key text NOT NULL UNIQUE,
    kind            text NOT NULL,
    target          jsonb NOT NULL,
    payload         jsonb NOT NULL,
    -- pending, sending, sent, dropped, dead
    state           text NOT NULL DEFAULT 'pending',
    attempts        int NOT NULL DEFAULT 0,
    not_before      timestamptz NOT NULL,
    claimed_by      text,
    claimed_until   timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    delivered       jsonb
);
CREATE INDEX outbox_ready ON outbox (not_before, id) WHERE state IN ('pending', 'sending');
