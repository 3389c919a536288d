-- Dependency alerts: one open alert per (dependency, condition) while the condition holds.

CREATE TABLE alerts (
    id              bigserial PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organisations(id),
    dependency_key  text NOT NULL,
    -- behind, stale, blocker, overdue, declared
    condition       text NOT NULL,
    detail          text NOT NULL,
    opened_at       timestamptz NOT NULL,
    opened_by       bigint REFERENCES people(id),
    acknowledged_at timestamptz,
    acknowledged_by bigint REFERENCES people(id),
    escalated_at    timestamptz,
    closed_at       timestamptz,
    -- cleared (the condition went away) or resolved (a person closed it)
    closed_reason   text,
    closed_by       bigint REFERENCES people(id)
);
-- At most one open alert per (dependency, condition): raising is idempotent across
-- replicas and restarts.
CREATE UNIQUE INDEX alerts_open ON alerts (org_id, dependency_key, condition) WHERE closed_at IS NULL;

-- A person resolved an alert whose condition still holds: do not raise it again until
-- the condition has cleared once.
CREATE TABLE alert_suppressions (
    org_id         bigint NOT NULL REFERENCES organisations(id),
    dependency_key text NOT NULL,
    condition      text NOT NULL,
    PRIMARY KEY (org_id, dependency_key, condition)
);
