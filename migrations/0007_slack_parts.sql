-- Slack: the parts of an outbox message already delivered (its text, each picture), kept
-- for messages with pictures only, so that a retry after a failed picture upload uploads
-- the picture without posting the text a second time.
CREATE TABLE slack_delivered_parts (
    org_id          bigint NOT NULL REFERENCES organisations(id),
    idempotency_key text NOT NULL,
    part            text NOT NULL,
    channel         text NOT NULL,
    ts              text,
    delivered_at    timestamptz NOT NULL,
    PRIMARY KEY (org_id, idempotency_key, part)
);

-- Replies in a channel are matched to baton's threads by their parent's ts.
CREATE INDEX platform_threads_by_parent ON platform_threads (org_id, platform, channel, ts);
