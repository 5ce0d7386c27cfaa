//! The SQLite back-end: the embedded default, one file, zero set-up.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    /// Reads, any number at once (WAL).
    pool: SqlitePool,
    /// Writes, one at a time: SQLite has one writer, and writers on separate connections would
    /// wait for its lock by sleeping in the busy handler (1, 2, 5 ... 50 ms); here they queue.
    writer: SqlitePool,
}

impl SqliteStore {
    /// How every connection is opened (also by the insert-rate benchmark, to measure the same
    /// store): created if needed, WAL journal, foreign keys on.
    pub fn connect_options(database_url: &str) -> Result<SqliteConnectOptions, sqlx::Error> {
        Ok(SqliteConnectOptions::from_str(database_url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // A commit is on disk before it is acknowledged: nothing accepted is lost, even on power loss.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // 16 MiB of page cache per connection (the default is 2 MiB).
            .pragma("cache_size", "-16384"))
    }

    /// Opens (creating if needed) the database file: a pool of readers and one writer.
    pub async fn connect(database_url: &str) -> Result<SqliteStore, sqlx::Error> {
        let options = SqliteStore::connect_options(database_url)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        let writer =
            SqlitePoolOptions::new().max_connections(1).test_before_acquire(false).connect_with(options).await?;
        Ok(SqliteStore { pool, writer })
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// Writes take the database lock up front, so a transaction that reads before it writes
    /// waits for other writers instead of failing with "database is locked".
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }
}

/// A whole thread as one JSON array of rows.
const THREAD_SQL: &str = concat!(
    "SELECT json_group_array(json_array(",
    thread_row_values!(),
    ")) AS items FROM comments c WHERE c.article_id = $1"
);

sql_store!(SqliteStore, sqlx::Sqlite, MIGRATOR, THREAD_SQL);

/// A JSON array parameter is read with `json_each`; one writer at a time makes a plain UPDATE
/// a safe claim. `INDEXED BY`: without statistics SQLite would read every pending row through
/// `deliveries_by_state` and sort them, for each claim.
const OUTBOX_SQL: crate::store::federation_sql::OutboxSql = crate::store::federation_sql::OutboxSql {
    claim: "UPDATE deliveries SET leased_until = $2 WHERE id IN (SELECT id FROM deliveries INDEXED BY deliveries_due \
            WHERE state = 'pending' AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) \
            AND host NOT IN (SELECT value FROM json_each($4)) ORDER BY next_attempt_at, id LIMIT $3) \
            RETURNING id, activity_id, inbox, host, attempts",
    done: "UPDATE deliveries SET state = 'done', attempts = attempts + 1, last_status = $1, last_error = NULL, \
           leased_until = NULL, updated_at = $2 WHERE id IN (SELECT value FROM json_each($3)) AND leased_until = $4",
};

federation_store!(SqliteStore, sqlx::Sqlite, OUTBOX_SQL);
inbound_store!(SqliteStore, sqlx::Sqlite);
following_store!(SqliteStore, sqlx::Sqlite);
moderation_store!(SqliteStore, sqlx::Sqlite, crate::store::moderation_sql::SQLITE);
