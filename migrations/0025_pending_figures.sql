-- Figures outside a key result's plausibility range wait here until the person confirms
-- them (`yes`, or the Yes button). One per person: a newer one replaces it, `no` drops it,
-- a figure the person records after it (a check-in newer than `after_checkin`) voids it,
-- and it expires after a few minutes. It outlives a restart, like every pending state.
CREATE TABLE pending_figures (
    id              bigserial PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organisations(id),
    person_id       bigint NOT NULL REFERENCES people(id),
    code            text NOT NULL,
    value           double precision NOT NULL,
    confidence      text,
    note            text,
    blockers        text,
    correct         boolean NOT NULL,
    -- The idempotency key of the check-in it becomes (the original message's).
    idempotency_key text NOT NULL,
    -- The organisation's newest check-in when it was held: any later one by this person is
    -- a different answer.
    after_checkin   bigint NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    UNIQUE (org_id, person_id)
);
