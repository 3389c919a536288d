-- When each outbox message became due, kept when retries and 429s move `not_before`, so
-- `/metrics` can report the delivery lag from due to sent. Rows queued before this
-- migration have none; their lag is counted from `created_at`.
ALTER TABLE outbox ADD COLUMN due_at timestamptz;

-- Dead letters are counted on every scrape.
CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead';
