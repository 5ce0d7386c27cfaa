//! The SQLite back-end: the embedded default, one file, zero set-up.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Reading connections; with the writer, the connections that share the page-cache budget.
const READERS: u32 = 8;
/// The smallest page cache a connection gets, whatever the budget (SQLite's default is 2 MiB).
const MIN_CACHE_KIB: u64 = 256;

/// The page cache of the writer and of each reader, in KiB, out of `cache_mib` in all: the
/// writer keeps a quarter (the indexes every insert walks), the readers share the rest.
pub fn cache_split(cache_mib: u64) -> (u64, u64) {
    let total_kib = cache_mib.saturating_mul(1024);
    (total_kib / 4, total_kib * 3 / 4 / u64::from(READERS))
}

pub struct SqliteStore {
    /// Reads, any number at once (WAL).
    pool: SqlitePool,
    /// Writes, one at a time: SQLite has one writer, and writers on separate connections would
    /// wait for its lock by sleeping in the busy handler (1, 2, 5 ... 50 ms); here they queue.
    writer: SqlitePool,
}

impl SqliteStore {
    /// How every connection is opened (also by the insert-rate benchmark, to measure the same
    /// store): created if needed, WAL journal, foreign keys on, `cache_kib` of page cache.
    pub fn connect_options(database_url: &str, cache_kib: u64) -> Result<SqliteConnectOptions, sqlx::Error> {
        Ok(SqliteConnectOptions::from_str(database_url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // A commit is on disk before it is acknowledged: nothing accepted is lost, even on power loss.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Negative: a size in KiB rather than in pages.
            .pragma("cache_size", format!("-{}", cache_kib.max(MIN_CACHE_KIB))))
    }

    /// Opens (creating if needed) the database file: a pool of readers and one writer, whose
    /// page caches share `cache_mib` (a quarter for the writer, the rest split among the readers).
    pub async fn connect(database_url: &str, cache_mib: u64) -> Result<SqliteStore, sqlx::Error> {
        let (writer_kib, reader_kib) = cache_split(cache_mib);
        let pool = SqlitePoolOptions::new()
            .max_connections(READERS)
            .test_before_acquire(false)
            .connect_with(SqliteStore::connect_options(database_url, reader_kib)?)
            .await?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(SqliteStore::connect_options(database_url, writer_kib)?)
            .await?;
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_cache_budget_is_shared_by_all_connections() {
        let (writer, reader) = super::cache_split(32);
        assert_eq!((writer, reader), (8 * 1024, 3 * 1024));
        assert!(writer + u64::from(super::READERS) * reader <= 32 * 1024);
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
import_store!(SqliteStore, sqlx::Sqlite);
feeds_store!(SqliteStore, sqlx::Sqlite);
moderation_store!(SqliteStore, sqlx::Sqlite, crate::store::moderation_sql::SQLITE);
