-- Review meetings in chat, their agenda items, and what was captured in them: actions,
-- decisions and notes. Actions are also the action register that baton chases.

CREATE TABLE reviews (
    id             bigserial PRIMARY KEY,
    org_id         bigint NOT NULL REFERENCES organisations(id),
    -- operational, tactical, strategic, coordination
    tier           text NOT NULL,
    -- A department key, or `company`.
    scope          text NOT NULL,
    -- The department whose channel holds the thread.
    channel_dept   text NOT NULL,
    facilitator_id bigint NOT NULL REFERENCES people(id),
    -- running, ended
    status         text NOT NULL,
    current_item   int NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL,
    ended_at       timestamptz
);
-- One review per scope at a time.
CREATE UNIQUE INDEX reviews_running ON reviews (org_id, scope) WHERE status = 'running';

CREATE TABLE review_items (
    id        bigserial PRIMARY KEY,
    review_id bigint NOT NULL REFERENCES reviews(id),
    position  int NOT NULL,
    section   text NOT NULL,
    title     text NOT NULL,
    lines     text[] NOT NULL,
    reached   boolean NOT NULL DEFAULT false,
    UNIQUE (review_id, position)
);

CREATE TABLE captures (
    id           bigserial PRIMARY KEY,
    org_id       bigint NOT NULL REFERENCES organisations(id),
    review_id    bigint REFERENCES reviews(id),
    item_id      bigint REFERENCES review_items(id),
    -- action, decision, note
    kind         text NOT NULL,
    text         text NOT NULL,
    owner_id     bigint REFERENCES people(id),
    due_on       date,
    -- Actions: open, done, dropped. Decisions and notes: recorded.
    status       text NOT NULL,
    -- The department the capture belongs to (the review's scope, or the author's).
    department   text,
    created_by   bigint NOT NULL REFERENCES people(id),
    created_at   timestamptz NOT NULL,
    done_at      timestamptz,
    deleted_at   timestamptz,
    reminded_before_at  timestamptz,
    reminded_overdue_at timestamptz
);
CREATE INDEX captures_open_actions ON captures (org_id, due_on) WHERE kind = 'action' AND status = 'open' AND deleted_at IS NULL;
