-- Housekeeping runs (retention, the idle-review sweep, the daily self-check), one row per
-- job and scheduled instant: every replica's scheduler fires, the first INSERT wins, and
-- only that replica runs the job. (0031 and 0032 are taken by the facilitator work.)
CREATE TABLE job_runs (
    job          text NOT NULL,
    scheduled_at timestamptz NOT NULL,
    claimed_by   text NOT NULL,
    claimed_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    outcome      text,
    PRIMARY KEY (job, scheduled_at)
);

-- Retention deletes finished outbox rows by age.
CREATE INDEX outbox_finished_by_age ON outbox ((coalesce(sent_at, created_at)))
    WHERE state IN ('sent', 'dropped');
