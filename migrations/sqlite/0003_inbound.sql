-- Federated replies, reactions, reports, blocks and the site webhook (SQLite).
-- Keep in step with migrations/postgres/0003_inbound.sql.

-- How replies from the fediverse to this article are shown: 'open' (at once) or 'hold'
-- (pending until an admin approves them). NULL: the site's default (THREADBRIDGE_REPLY_POLICY).
ALTER TABLE articles ADD COLUMN reply_policy TEXT CHECK (reply_policy IN ('open', 'hold'));

-- What a federated reply carries besides its HTML: its content warning, language, where its
-- author's server shows it, and its attachments (JSON array of {url, media_type, name}).
ALTER TABLE comments ADD COLUMN summary TEXT;
ALTER TABLE comments ADD COLUMN language TEXT;
ALTER TABLE comments ADD COLUMN remote_url TEXT;
ALTER TABLE comments ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
-- When an admin approved, rejected or removed it (moderation history).
ALTER TABLE comments ADD COLUMN moderated_at TEXT;
CREATE INDEX comments_pending ON comments (created_at) WHERE status = 'pending';
CREATE INDEX comments_by_remote_author ON comments (remote_author_ap_id);

-- Remote objects deleted by their owner: a Create or Update that arrives later (out of order,
-- or replayed) does not bring them back.
CREATE TABLE remote_tombstones (
    ap_id        TEXT PRIMARY KEY,
    -- The account whose Delete made it.
    actor_ap_id  TEXT NOT NULL,
    deleted_at   TEXT NOT NULL
);

-- The ids of the activities processed, so the same activity delivered twice (or by two
-- servers) is processed once. Rows older than a few days are pruned.
CREATE TABLE inbound_activities (
    ap_id        TEXT PRIMARY KEY,
    received_at  TEXT NOT NULL
);
CREATE INDEX inbound_activities_by_age ON inbound_activities (received_at);

-- Likes, emoji reactions (Misskey, Akkoma) and Announces (boosts) of our articles and comments,
-- one per account, kind and object, removed by the matching Undo. An item's likes are the
-- accounts with a like or an emoji reaction on it.
CREATE TABLE reactions (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('like', 'emoji', 'announce')),
    -- The Like/Announce activity's id (what an Undo names).
    activity_ap_id  TEXT NOT NULL UNIQUE,
    actor_ap_id     TEXT NOT NULL,
    article_id      INTEGER NOT NULL REFERENCES articles (id),
    -- NULL: the article itself.
    comment_id      INTEGER REFERENCES comments (id),
    -- Our id of the object reacted to (one row per account, kind and object).
    object_ap_id    TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (kind, actor_ap_id, object_ap_id)
);
CREATE INDEX reactions_by_article ON reactions (article_id);

-- Reports (Flag activities) for the admin to read and close.
CREATE TABLE reports (
    id              INTEGER PRIMARY KEY,
    activity_ap_id  TEXT UNIQUE,
    reporter_ap_id  TEXT NOT NULL,
    -- The reporter's words, plain text.
    comment         TEXT NOT NULL DEFAULT '',
    -- JSON array of the ids reported (accounts and objects).
    objects         TEXT NOT NULL DEFAULT '[]',
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at      TEXT NOT NULL,
    closed_at       TEXT
);
CREATE INDEX reports_by_status ON reports (status, id);

-- Blocked servers (a host, lower case, its subdomains too) and accounts (an actor id):
-- their activities are refused and nothing is fetched from them.
CREATE TABLE blocks (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('domain', 'actor')),
    target      TEXT NOT NULL,
    -- Mastodon's blocklist severities: 'suspend' (refused) or 'silence' (replies held for
    -- moderation); 'noop' rows of an import are not stored.
    severity    TEXT NOT NULL DEFAULT 'suspend' CHECK (severity IN ('suspend', 'silence')),
    reason      TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    UNIQUE (kind, target)
);

-- Events for the site's webhook (THREADBRIDGE_WEBHOOK_URL), written in the same transaction as
-- the change they report and sent by a worker, retried like deliveries.
CREATE TABLE webhook_events (
    id               INTEGER PRIMARY KEY,
    -- reply.created, reply.updated, reply.deleted, ...
    event            TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- Epoch milliseconds.
    next_attempt_at  INTEGER NOT NULL,
    leased_until     INTEGER,
    last_status      INTEGER,
    last_error       TEXT,
    created_at       TEXT NOT NULL
);
CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at, id) WHERE state = 'pending';
