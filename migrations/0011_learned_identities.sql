-- Chat identities baton learned at run time, beside the manifest's `chat_identities` (which
-- every apply rewrites): a Slack user found by email (`users.lookupByEmail`, source
-- 'email') or seen writing to baton (source 'inbound'). A row without `user_id` records a
-- lookup that found nobody for `email`, so the paced batch does not ask again for the same
-- address at every start.
CREATE TABLE learned_identities (
    org_id     bigint NOT NULL REFERENCES organisations(id),
    person_id  bigint NOT NULL REFERENCES people(id),
    platform   text NOT NULL,
    workspace  text,
    user_id    text,
    source     text NOT NULL,
    email      text,
    learned_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, person_id, platform)
);
CREATE INDEX learned_identities_by_user ON learned_identities (platform, workspace, user_id);

-- The platforms a message meant for several (a department with a Slack and a Discord
-- channel) already reached, so that a retry after one platform failed does not post again
-- on the one that succeeded.
CREATE TABLE delivered_platforms (
    org_id          bigint NOT NULL REFERENCES organisations(id),
    idempotency_key text NOT NULL,
    platform        text NOT NULL,
    message_id      text,
    delivered_at    timestamptz NOT NULL,
    PRIMARY KEY (org_id, idempotency_key, platform)
);

-- People baton found it cannot reach on any configured platform, with the reason. A row
-- is written once (the operator is told once), and removed when the person becomes
-- reachable (a manifest change, an identity learned, a successful delivery). Their prompts
-- take the state 'undeliverable' (beside sent, answered, late, skipped, away, missed):
-- never counted as answered or missed.
CREATE TABLE unreachable_people (
    org_id    bigint NOT NULL REFERENCES organisations(id),
    person_id bigint NOT NULL REFERENCES people(id),
    reason    text NOT NULL,
    since     timestamptz NOT NULL,
    PRIMARY KEY (org_id, person_id)
);
