-- Idle reviews close themselves (issue 15): when a running review last saw a move or a
-- capture, and why a review ended.

ALTER TABLE reviews ADD COLUMN last_activity_at timestamptz;
UPDATE reviews r SET last_activity_at = greatest(
    r.started_at,
    (SELECT max(c.created_at) FROM captures c WHERE c.review_id = r.id)
);
ALTER TABLE reviews ALTER COLUMN last_activity_at SET NOT NULL;
-- `ended` (someone ended it) or `idle` (it closed itself); NULL while running.
ALTER TABLE reviews ADD COLUMN end_reason text;
UPDATE reviews SET end_reason = 'ended' WHERE status = 'ended';
