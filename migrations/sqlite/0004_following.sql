-- The site following other actors (another threadbridge site, a Mastodon account, ...): their
-- posts arrive in the inbox and become followed articles here, whose threads the site's
-- commenters can join. Keep in step with migrations/postgres/0004_following.sql.

-- One row per followed actor. The Follow goes out through the outbox; the followed actor's
-- Accept (or Reject) sets the state.
CREATE TABLE following (
    id          INTEGER PRIMARY KEY,
    -- The local actor that follows (the site actor).
    actor_id    INTEGER NOT NULL REFERENCES actors (id),
    ap_id       TEXT NOT NULL UNIQUE,
    handle      TEXT,
    inbox       TEXT NOT NULL,
    -- The id of our Follow activity, named by the Accept and by our Undo.
    follow_id   TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- A followed article: a post by a followed actor, kept as an article of its own (the site
-- actor stands as its author_id; these say who wrote it). NULL for the site's own articles.
ALTER TABLE articles ADD COLUMN remote_ap_id TEXT;
ALTER TABLE articles ADD COLUMN remote_author_ap_id TEXT;
ALTER TABLE articles ADD COLUMN remote_author_name TEXT;
ALTER TABLE articles ADD COLUMN remote_author_handle TEXT;
CREATE UNIQUE INDEX articles_by_remote_id ON articles (remote_ap_id);

-- A federated reply marked sensitive by its author (its media to be hidden behind a warning),
-- with or without a content warning text.
ALTER TABLE comments ADD COLUMN sensitive BOOLEAN NOT NULL DEFAULT 0;

-- The site's own Follow and its Undo go through the outbox too. SQLite cannot change a CHECK
-- constraint in place: the table is rebuilt with the same columns and rows (foreign keys from
-- deliveries are checked at commit, when the new table carries the name again).
PRAGMA defer_foreign_keys = ON;
CREATE TABLE activities_new (
    id              INTEGER PRIMARY KEY,
    uuid            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('Create', 'Update', 'Delete', 'Accept', 'Follow', 'Undo')),
    actor_id        INTEGER REFERENCES actors (id),
    article_id      INTEGER REFERENCES articles (id),
    comment_id      INTEGER REFERENCES comments (id),
    payload         TEXT,
    fanned_out_at   TEXT,
    created_at      TEXT NOT NULL
);
INSERT INTO activities_new (id, uuid, kind, actor_id, article_id, comment_id, payload, fanned_out_at, created_at)
    SELECT id, uuid, kind, actor_id, article_id, comment_id, payload, fanned_out_at, created_at FROM activities;
DROP TABLE activities;
ALTER TABLE activities_new RENAME TO activities;
CREATE INDEX activities_to_fan_out ON activities (id) WHERE fanned_out_at IS NULL;
CREATE INDEX activities_by_article ON activities (article_id, id);
