-- Prompts reach the outbox a group at a time: one message per (cadence, occurrence, due
-- instant) that the workers fan out prompt by prompt. `delivered_at` records that a
-- prompt left that group: handed to the platform, dropped (answered before it went out),
-- or moved into an outbox message of its own after a failed attempt.
ALTER TABLE prompts ADD COLUMN delivered_at timestamptz;
