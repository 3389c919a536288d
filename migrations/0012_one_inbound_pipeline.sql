-- One inbound pipeline for every platform.

-- baton's threads, one table for every platform. `channel` and `ts` name the thread's
-- parent message (where an edit goes); `thread_ref` is how the platform names the thread in
-- what people write into it: Slack the parent's ts, Discord the thread's channel id.
ALTER TABLE platform_threads ADD COLUMN thread_ref text;
UPDATE platform_threads SET thread_ref = ts;
INSERT INTO platform_threads
    (org_id, platform, department, thread_key, channel, ts, created_at, thread_ref)
SELECT org_id, 'discord', department, thread_key, channel_id,
       coalesce(parent_id, thread_id), created_at, thread_id
FROM discord_threads
ON CONFLICT DO NOTHING;
ALTER TABLE platform_threads ALTER COLUMN thread_ref SET NOT NULL;
DROP TABLE discord_threads;
DROP INDEX platform_threads_by_parent;
CREATE INDEX platform_threads_by_ref ON platform_threads (platform, thread_ref);

-- Inbound de-duplication happens before anyone is looked up, so it is keyed by platform
-- and the platform's delivery id alone (no organisation, no person).
CREATE TABLE inbound_deliveries (
    platform    text NOT NULL,
    delivery_id text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (platform, delivery_id)
);
CREATE INDEX inbound_deliveries_by_age ON inbound_deliveries (received_at);
INSERT INTO inbound_deliveries (platform, delivery_id, received_at)
SELECT DISTINCT ON (p, d) p, d, received_at
FROM (SELECT CASE WHEN delivery_id LIKE 'slack:%' THEN 'slack' ELSE 'discord' END AS p,
             CASE WHEN delivery_id LIKE 'slack:%' THEN substr(delivery_id, 7)
                  WHEN delivery_id LIKE 'discord-msg:%' THEN 'msg:' || substr(delivery_id, 13)
                  WHEN delivery_id LIKE 'discord:%' THEN 'int:' || substr(delivery_id, 9)
                  ELSE delivery_id END AS d,
             received_at
      FROM inbound_events) e
ORDER BY p, d, received_at;
DROP TABLE inbound_events;
