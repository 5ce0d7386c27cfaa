-- threadbridge core schema (PostgreSQL). Keep in step with migrations/sqlite/0001_core.sql.
-- Timestamps are TIMESTAMPTZ.

-- Local actors: the site itself and one Person per site user who wrote something.
CREATE TABLE actors (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- WebFinger-safe and unique: what @username@host resolves.
    username        TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('site', 'person')),
    -- The site's own name for this person (any Unicode); NULL for the site actor. Unique, so
    -- the same site user always maps to the same actor.
    site_username   TEXT UNIQUE,
    display_name    TEXT NOT NULL,
    -- Keys are made lazily, the first time the actor is served or signs. The private key
    -- never leaves the store through any API.
    public_key_pem  TEXT,
    private_key_pem TEXT,
    created_at      TIMESTAMPTZ NOT NULL
);

-- The site's articles, under the site's own keys.
CREATE TABLE articles (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    url         TEXT NOT NULL,
    -- Sanitised HTML.
    content     TEXT NOT NULL,
    summary     TEXT,
    author_id   BIGINT NOT NULL REFERENCES actors (id),
    -- JSON array of hashtag names, without '#'.
    tags        TEXT NOT NULL DEFAULT '[]',
    image_url   TEXT,
    image_alt   TEXT,
    language    TEXT,
    sensitive   BOOLEAN NOT NULL DEFAULT FALSE,
    published   TIMESTAMPTZ NOT NULL,
    updated     TIMESTAMPTZ,
    -- Bumped by every change to the article or its thread: what cached documents are checked
    -- against, so every process serves the current thread.
    version     BIGINT NOT NULL DEFAULT 0,
    -- A deleted article keeps its row: its id answers 410 and is never reused.
    deleted_at  TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX articles_by_published ON articles (published);

-- Every item of every thread: the site's comments and (later) federated replies.
CREATE TABLE comments (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id            BIGINT NOT NULL REFERENCES articles (id),
    -- The thread id: the site's key for local comments, one the bridge assigns for remote ones.
    key                   TEXT NOT NULL,
    -- NULL: a reply to the article itself.
    parent_id             BIGINT REFERENCES comments (id),
    origin                TEXT NOT NULL CHECK (origin IN ('local', 'remote')),
    status                TEXT NOT NULL CHECK (status IN ('visible', 'pending', 'rejected', 'deleted')),
    -- Local comments: the commenter's actor.
    author_id             BIGINT REFERENCES actors (id),
    -- Remote comments: the object's id and its author as last seen.
    remote_ap_id          TEXT UNIQUE,
    remote_author_ap_id   TEXT,
    remote_author_name    TEXT,
    remote_author_handle  TEXT,
    remote_author_url     TEXT,
    -- Sanitised HTML; emptied when the comment is deleted.
    content               TEXT NOT NULL,
    published             TIMESTAMPTZ NOT NULL,
    updated               TIMESTAMPTZ,
    deleted_at            TIMESTAMPTZ,
    created_at            TIMESTAMPTZ NOT NULL,
    UNIQUE (article_id, key)
);
CREATE INDEX comments_by_parent ON comments (article_id, parent_id, published);
CREATE INDEX comments_by_author ON comments (author_id);

-- Accounts that follow a local actor (filled by the Follow handling).
CREATE TABLE followers (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id        BIGINT NOT NULL REFERENCES actors (id),
    follower_ap_id  TEXT NOT NULL,
    inbox           TEXT NOT NULL,
    shared_inbox    TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (actor_id, follower_ap_id)
);
