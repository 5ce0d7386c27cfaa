-- Following and durable delivery (PostgreSQL). Keep in step with migrations/sqlite/0002_delivery.sql.
-- Delivery times are epoch milliseconds (BIGINT), so due rows are found by a plain comparison.

-- What a follower is known as, and the Follow that was accepted (its id is echoed in Accept).
ALTER TABLE followers ADD COLUMN handle TEXT;
ALTER TABLE followers ADD COLUMN follow_id TEXT;
CREATE INDEX followers_by_ap_id ON followers (follower_ap_id);

-- Remote actors as last fetched: their inboxes and keys.
CREATE TABLE remote_actors (
    ap_id           TEXT PRIMARY KEY,
    handle          TEXT,
    name            TEXT,
    inbox           TEXT NOT NULL,
    shared_inbox    TEXT,
    key_id          TEXT,
    public_key_pem  TEXT,
    -- JSON array of the actor's former ids (`alsoKnownAs`).
    also_known_as   TEXT NOT NULL DEFAULT '[]',
    fetched_at      TIMESTAMPTZ NOT NULL
);

CREATE INDEX remote_actors_by_key ON remote_actors (key_id);

-- Every activity threadbridge sends. Create/Update/Delete rows are written in the same
-- transaction as the change they announce; the worker renders them and expands them into one
-- delivery per inbox ("fan-out"). Accept rows are written with their payload and recipient.
CREATE TABLE activities (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The activity's id is <public url>/activities/<uuid>.
    uuid            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('Create', 'Update', 'Delete', 'Accept')),
    -- The local actor that sends it; NULL means the site actor.
    actor_id        BIGINT REFERENCES actors (id),
    article_id      BIGINT REFERENCES articles (id),
    comment_id      BIGINT REFERENCES comments (id),
    -- The JSON sent, fixed at fan-out.
    payload         TEXT,
    fanned_out_at   TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX activities_to_fan_out ON activities (id) WHERE fanned_out_at IS NULL;
CREATE INDEX activities_by_article ON activities (article_id, id);

-- One row per (activity, inbox): written before anything is sent, claimed by one worker at a
-- time (a lease), finished as done or failed.
CREATE TABLE deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    activity_id     BIGINT NOT NULL REFERENCES activities (id),
    inbox           TEXT NOT NULL,
    -- host[:port] of the inbox: the unit of per-server limits and availability.
    host            TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    leased_until    BIGINT,
    last_status     BIGINT,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (activity_id, inbox)
);
-- Due rows in claim order: a claim reads only the rows it takes.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX deliveries_by_state ON deliveries (state, id);

-- Servers we deliver to: a server failing for days is marked unavailable and skipped until it
-- answers again.
CREATE TABLE instances (
    host            TEXT PRIMARY KEY,
    failing_since   TIMESTAMPTZ,
    last_success_at TIMESTAMPTZ,
    last_failure_at TIMESTAMPTZ,
    unavailable     BOOLEAN NOT NULL DEFAULT FALSE
);
