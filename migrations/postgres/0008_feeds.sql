-- Feeds the service polls (RSS, Atom, JSON Feed): each new item becomes an article. Keep in step
-- with migrations/sqlite/0008_feeds.sql.
CREATE TABLE feeds (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url               TEXT NOT NULL UNIQUE,
    -- The site's comment feed (WordPress's /comments/feed), when it has one.
    comments_url      TEXT,
    interval_seconds  BIGINT NOT NULL,
    -- How many of the items the feed holds at its first poll are delivered to followers (the
    -- newest); the others are stored as the archive.
    deliver_existing  BIGINT NOT NULL,
    -- Validators of the last answer, sent back on the next poll.
    etag              TEXT,
    last_modified     TEXT,
    -- The same for the comment feed.
    comments_etag     TEXT,
    comments_last_modified TEXT,
    -- NULL until a poll succeeded: the first one treats every item as existing.
    first_polled_at   TIMESTAMPTZ,
    last_polled_at    TIMESTAMPTZ,
    last_error        TEXT,
    -- Failed polls in a row: the wait before the next one doubles with each.
    failures          BIGINT NOT NULL DEFAULT 0,
    next_poll_at      TIMESTAMPTZ NOT NULL,
    -- Articles that came from the feed.
    items             BIGINT NOT NULL DEFAULT 0,
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX feeds_due ON feeds (next_poll_at);
