//! The SQLite back-end: the embedded default, one file, zero set-up.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file; WAL journal, foreign keys on.
    pub async fn connect(database_url: &str) -> Result<SqliteStore, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(database_url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // A commit is on disk before it is acknowledged: nothing accepted is lost, even on power loss.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // 16 MiB of page cache per connection (the default is 2 MiB).
            .pragma("cache_size", "-16384");
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        Ok(SqliteStore { pool })
    }

    /// Writes take the database lock up front, so a transaction that reads before it writes
    /// waits for other writers instead of failing with "database is locked".
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }
}

/// A whole thread as one JSON array of rows.
const THREAD_SQL: &str = concat!(
    "SELECT json_group_array(json_array(",
    thread_row_values!(),
    ")) AS items FROM comments c WHERE c.article_id = $1"
);

sql_store!(SqliteStore, sqlx::Sqlite, MIGRATOR, THREAD_SQL);
