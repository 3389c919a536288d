-- Fenced claims: each claim of an outbox row draws a token from this sequence, and every
-- later statement about the row names it, so a worker whose claim was taken over can
-- change nothing (and stops sending).
CREATE SEQUENCE outbox_claims;
ALTER TABLE outbox ADD COLUMN claim_token bigint;
ALTER TABLE outbox ADD COLUMN claimed_at timestamptz;
-- An attempt that started and was never seen to finish (the worker died, the answer timed
-- out): the next claimant asks the platform whether the message landed before sending.
ALTER TABLE outbox ADD COLUMN attempt_started_at timestamptz;
ALTER TABLE prompts ADD COLUMN send_started_at timestamptz;
-- Messages to one of baton's threads go out one at a time, in the order they were queued:
-- the first becomes the thread's parent, so two sent at once would start two threads.
CREATE INDEX outbox_thread_order ON outbox ((target->>'department'), (target->>'thread'), id)
    WHERE state IN ('pending', 'sending') AND target->>'to' = 'thread';
