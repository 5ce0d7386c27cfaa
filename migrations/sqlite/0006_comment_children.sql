-- A comment's children found without the article: "has this deleted comment a visible reply",
-- asked per deleted comment by the replies collections and their counts, scanned every comment
-- of every article without it (comments_by_parent starts with article_id). With status in the
-- index the check reads the index alone. Keep in step with migrations/postgres/0006_comment_children.sql.
CREATE INDEX comments_by_parent_id ON comments (parent_id, status);
-- Moderation by a reply's key (approve, reject, remove) looked at every comment.
CREATE INDEX comments_by_key ON comments (key);
