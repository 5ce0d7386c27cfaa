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

