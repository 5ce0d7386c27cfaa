-- Feeds the service polls (RSS, Atom, JSON Feed): each new item becomes an article. Keep in step
-- with migrations/postgres/0008_feeds.sql.
CREATE TABLE feeds (
    id                INTEGER PRIMARY KEY,
    url               TEXT NOT NULL UNIQUE,
    -- The site's comment feed (WordPress's /comments/feed), when it has one.
    comments_url      TEXT,
    interval_seconds  INTEGER NOT NULL,
    -- How many of the items the feed holds at its first poll are delivered to followers (the
    -- newest); the others are stored as the archive.
    deliver_existing  INTEGER NOT NULL,
    -- Validators of the last answer, sent back on the next poll.
    etag              TEXT,
    last_modified     TEXT,
    -- The same for the comment feed.
    comments_etag     TEXT,
    comments_last_modified TEXT,
    -- NULL until a poll succeeded: the first one treats every item as existing.
    first_polled_at   TEXT,
    last_polled_at    TEXT,
    last_error        TEXT,
    -- Failed polls in a row: the wait before the next one doubles with each.
    failures          INTEGER NOT NULL DEFAULT 0,
    next_poll_at      TEXT NOT NULL,
    -- Articles that came from the feed.
    items             INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL
);
CREATE INDEX feeds_due ON feeds (next_poll_at);
