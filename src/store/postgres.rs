//! The PostgreSQL back-end: the production store, shared by several service processes.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(database_url: &str) -> Result<PgStore, sqlx::Error> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(database_url)
            .await?;
        Ok(PgStore { pool })
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }
}

/// A whole thread as one JSON array of rows.
const THREAD_SQL: &str = concat!(
    "SELECT json_agg(json_build_array(",
    thread_row_values!(),
    "))::text AS items FROM comments c WHERE c.article_id = $1"
);

sql_store!(PgStore, sqlx::Postgres, MIGRATOR, THREAD_SQL);
