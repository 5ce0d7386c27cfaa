-- no-transaction
-- The site's own Follow and its Undo go through the outbox too (SQLite). Keep in step with
-- migrations/postgres/0005_follow_activities.sql.
--
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt with the same columns
-- and rows (SQLite's documented procedure). Foreign keys must be off while the old table is
-- dropped, or its rows' deliveries would count as violations; a pragma that only takes effect
-- outside a transaction, hence `no-transaction` and the explicit BEGIN/COMMIT. Run again after
-- a crash before sqlx records it, it rebuilds the table again, to the same result.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DROP TABLE IF EXISTS activities_new;
CREATE TABLE activities_new (
    id              INTEGER PRIMARY KEY,
    -- The activity's id is <public url>/activities/<uuid>.
    uuid            TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('Create', 'Update', 'Delete', 'Accept', 'Follow', 'Undo')),
    -- The local actor that sends it; NULL means the site actor.
    actor_id        INTEGER REFERENCES actors (id),
    article_id      INTEGER REFERENCES articles (id),
    comment_id      INTEGER REFERENCES comments (id),
    -- The JSON sent, fixed at fan-out.
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
COMMIT;
PRAGMA foreign_keys = ON;
