-- baton core schema: organisations and everything the manifest declares, plus the
-- append-only check-in history. Every row carries org_id and every query filters by it.

CREATE TABLE organisations (
    id                bigserial PRIMARY KEY,
    key               text NOT NULL UNIQUE,
    name              text NOT NULL,
    time_zone         text NOT NULL,
    fiscal_year_start int  NOT NULL DEFAULT 1,
    -- Bumped by every manifest apply; lets readers cache structure safely.
    revision          bigint NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);

-- Each declared entity keeps its typed spec (the manifest's normalised form) as jsonb:
-- the store loads it back into the same Rust type the manifest parses into, so a dry-run
-- is a diff of two values of one type. Columns used by queries are kept alongside.

CREATE TABLE people (
    id          bigserial PRIMARY KEY,
    org_id      bigint NOT NULL REFERENCES organisations(id),
    key         text NOT NULL,
    name        text NOT NULL,
    email       text,
    spec        jsonb NOT NULL,
    position    int NOT NULL DEFAULT 0,
    archived_at timestamptz,
    UNIQUE (org_id, key)
);

CREATE TABLE chat_identities (
    org_id    bigint NOT NULL REFERENCES organisations(id),
    person_id bigint NOT NULL REFERENCES people(id),
    platform  text NOT NULL,
    workspace text NOT NULL,
    user_id   text NOT NULL,
    PRIMARY KEY (platform, workspace, user_id)
);
CREATE INDEX chat_identities_person ON chat_identities (org_id, person_id);

CREATE TABLE departments (
    id          bigserial PRIMARY KEY,
    org_id      bigint NOT NULL REFERENCES organisations(id),
    key         text NOT NULL,
    name        text NOT NULL,
    parent_key  text,
    spec        jsonb NOT NULL,
    position    int NOT NULL DEFAULT 0,
    archived_at timestamptz,
    UNIQUE (org_id, key)
);

-- Who belongs where (heads are members too); rebuilt on every apply.
CREATE TABLE memberships (
    org_id        bigint NOT NULL REFERENCES organisations(id),
    department_id bigint NOT NULL REFERENCES departments(id),
    person_id     bigint NOT NULL REFERENCES people(id),
    is_head       boolean NOT NULL,
    PRIMARY KEY (department_id, person_id)
);
CREATE INDEX memberships_person ON memberships (org_id, person_id);

-- Singleton-per-org sections of the manifest (organisation info, perspectives, links,
-- holidays), kept as one jsonb document each.
CREATE TABLE org_sections (
    org_id  bigint NOT NULL REFERENCES organisations(id),
    section text NOT NULL,
    spec    jsonb NOT NULL,
    PRIMARY KEY (org_id, section)
);

CREATE TABLE cycles (
    id          bigserial PRIMARY KEY,
    org_id      bigint NOT NULL REFERENCES organisations(id),
    key         text NOT NULL,
    starts_on   date NOT NULL,
    ends_on     date NOT NULL,
    spec        jsonb NOT NULL,
    position    int NOT NULL DEFAULT 0,
    archived_at timestamptz,
    UNIQUE (org_id, key)
);

-- Scorecard objectives, measures, OKR objectives and key results share one code
-- namespace per organisation.
CREATE TABLE scorecard_objectives (
    id          bigserial PRIMARY KEY,
    org_id      bigint NOT NULL REFERENCES organisations(id),
    code        text NOT NULL,
    perspective text NOT NULL,
    spec        jsonb NOT NULL,
    position    int NOT NULL DEFAULT 0,
    archived_at timestamptz,
    UNIQUE (org_id, code)
);

CREATE TABLE measures (
    id          bigserial PRIMARY KEY,
    org_id      bigint NOT NULL REFERENCES organisations(id),
    code        text NOT NULL,
    owner_key   text,
    spec        jsonb NOT NULL,
    position    int NOT NULL DEFAULT 0,
    -- Rollup state, maintained on every measurement.
    current_value      double precision,
    current_at         timestamptz,
    current_checkin_id bigint,
    archived_at timestamptz,
    UNIQUE (org_id, code)
);

CREATE TABLE objectives (
    id             bigserial PRIMARY KEY,
    org_id         bigint NOT NULL REFERENCES organisations(id),
    code           text NOT NULL,
    department_key text,
    owner_key      text,
    spec           jsonb NOT NULL,
    position       int NOT NULL DEFAULT 0,
    archived_at    timestamptz,
    UNIQUE (org_id, code)
);

CREATE TABLE key_results (
    id             bigserial PRIMARY KEY,
    org_id         bigint NOT NULL REFERENCES organisations(id),
    code           text NOT NULL,
    objective_code text NOT NULL,
    -- Department that owns the key result (its objective's department); members may check in.
    department_key text,
    owner_key      text,
    spec           jsonb NOT NULL,
    position       int NOT NULL DEFAULT 0,
    -- Rollup state, maintained on every check-in.
    current_value      double precision,
    current_confidence text,
    current_at         timestamptz,
    current_checkin_id bigint,
    archived_at    timestamptz,
    UNIQUE (org_id, code)
);

CREATE TABLE dependencies (
    id          bigserial PRIMARY KEY,
    org_id      bigint NOT NULL REFERENCES organisations(id),
    key         text NOT NULL,
    spec        jsonb NOT NULL,
    position    int NOT NULL DEFAULT 0,
    archived_at timestamptz,
    UNIQUE (org_id, key)
);

CREATE TABLE initiatives (
    id          bigserial PRIMARY KEY,
    org_id      bigint NOT NULL REFERENCES organisations(id),
    code        text NOT NULL,
    spec        jsonb NOT NULL,
    position    int NOT NULL DEFAULT 0,
    archived_at timestamptz,
    UNIQUE (org_id, code)
);

-- Append-only history. A correction is a new row whose `supersedes` names the row it
-- corrects; nothing is ever updated or deleted here.
CREATE TABLE checkins (
    id              bigserial PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organisations(id),
    key_result_id   bigint REFERENCES key_results(id),
    measure_id      bigint REFERENCES measures(id),
    person_id       bigint NOT NULL REFERENCES people(id),
    value           double precision NOT NULL,
    confidence      text,
    note            text,
    blockers        text,
    source          text NOT NULL,
    idempotency_key text NOT NULL,
    supersedes      bigint REFERENCES checkins(id),
    recorded_at     timestamptz NOT NULL,
    CHECK ((key_result_id IS NULL) <> (measure_id IS NULL)),
    UNIQUE (org_id, idempotency_key)
);
CREATE INDEX checkins_kr ON checkins (org_id, key_result_id, recorded_at DESC) WHERE key_result_id IS NOT NULL;
CREATE INDEX checkins_measure ON checkins (org_id, measure_id, recorded_at DESC) WHERE measure_id IS NOT NULL;

-- Inbound de-duplication for platform deliveries (Slack retries, Discord re-deliveries).
CREATE TABLE inbound_events (
    org_id      bigint NOT NULL REFERENCES organisations(id),
    delivery_id text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, delivery_id)
);

-- Audit of manifest applies.
CREATE TABLE manifest_applies (
    id         bigserial PRIMARY KEY,
    org_id     bigint NOT NULL REFERENCES organisations(id),
    applied_at timestamptz NOT NULL,
    summary    text NOT NULL
);
