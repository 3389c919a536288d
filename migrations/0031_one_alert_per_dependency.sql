-- One alert per dependency, listing its open conditions, numbered densely per
-- organisation (issue 15).
--
-- Before this, every evaluation ran `INSERT … ON CONFLICT DO NOTHING` against a bigserial,
-- burning a sequence value for each condition still open, and each condition of a
-- dependency was an alert of its own.
--
-- * `alerts.number` is what people see and type (`ack 3`). A new alert takes the
--   organisation's highest number plus one, under a per-organisation lock held only when an
--   alert is actually created, so nothing is used up by an evaluation that opens nothing.
--   Alerts that exist already keep the number they were announced with (their id): their
--   buttons and threads carry it, and renumbering them would point those at other alerts.
-- * `alert_conditions` holds each condition of an alert while it is open (cleared_at set
--   when it goes away); an alert closes when none remains.
-- * Open alerts of one dependency are merged into the oldest; the others close as `merged`.

ALTER TABLE alerts ADD COLUMN number bigint;
UPDATE alerts SET number = id;
ALTER TABLE alerts ALTER COLUMN number SET NOT NULL;
CREATE UNIQUE INDEX alerts_number ON alerts (org_id, number);

CREATE TABLE alert_conditions (
    alert_id   bigint NOT NULL REFERENCES alerts(id),
    -- behind, stale, blocker, overdue, declared
    condition  text NOT NULL,
    detail     text NOT NULL,
    opened_at  timestamptz NOT NULL,
    cleared_at timestamptz
);
CREATE UNIQUE INDEX alert_conditions_open ON alert_conditions (alert_id, condition)
    WHERE cleared_at IS NULL;
CREATE INDEX alert_conditions_alert ON alert_conditions (alert_id);

INSERT INTO alert_conditions (alert_id, condition, detail, opened_at, cleared_at)
SELECT id, condition, detail, opened_at, closed_at FROM alerts;

WITH keep AS (
    SELECT org_id, dependency_key, min(id) AS id
    FROM alerts WHERE closed_at IS NULL GROUP BY org_id, dependency_key
), merged AS (
    SELECT a.id AS old, k.id AS new
    FROM alerts a JOIN keep k USING (org_id, dependency_key)
    WHERE a.closed_at IS NULL AND a.id <> k.id
)
UPDATE alert_conditions c SET alert_id = m.new FROM merged m WHERE c.alert_id = m.old;

UPDATE alerts a SET closed_at = now(), closed_reason = 'merged'
WHERE a.closed_at IS NULL AND EXISTS (
    SELECT 1 FROM alerts b
    WHERE b.org_id = a.org_id AND b.dependency_key = a.dependency_key
      AND b.closed_at IS NULL AND b.id < a.id
);

DROP INDEX alerts_open;
ALTER TABLE alerts DROP COLUMN condition, DROP COLUMN detail;
-- At most one open alert per dependency.
CREATE UNIQUE INDEX alerts_open ON alerts (org_id, dependency_key) WHERE closed_at IS NULL;

-- `update <alert> <note>`: notes posted to an alert, kept apart from check-ins.
CREATE TABLE alert_notes (
    id         bigserial PRIMARY KEY,
    alert_id   bigint NOT NULL REFERENCES alerts(id),
    person_id  bigint NOT NULL REFERENCES people(id),
    note       text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX alert_notes_alert ON alert_notes (alert_id);
