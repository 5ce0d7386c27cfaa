-- The site's own Follow and its Undo go through the outbox too (PostgreSQL).
-- Keep in step with migrations/sqlite/0005_follow_activities.sql.
ALTER TABLE activities DROP CONSTRAINT activities_kind_check;
ALTER TABLE activities ADD CONSTRAINT activities_kind_check
    CHECK (kind IN ('Create', 'Update', 'Delete', 'Accept', 'Follow', 'Undo'));
