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
            // A dropped connection fails its query instead of being pinged before every use.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect(database_url)
            .await?;
        Ok(PgStore { pool })
    }

    /// PostgreSQL takes concurrent writers: the one pool serves all.
    fn writer(&self) -> &PgPool {
        &self.pool
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

/// Several processes claim from one table: each takes rows no other transaction holds
/// (`FOR UPDATE SKIP LOCKED`), so every delivery is sent by one of them. `= ANY(ARRAY(...))`
/// turns the id list into one array first, so the update probes the primary key instead of
/// joining against a scan of every delivery ever made.
const OUTBOX_SQL: crate::store::federation_sql::OutboxSql = crate::store::federation_sql::OutboxSql {
    claim: "UPDATE deliveries SET leased_until = $2 WHERE id IN (SELECT id FROM deliveries \
            WHERE state = 'pending' AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1) \
            AND host NOT IN (SELECT jsonb_array_elements_text($4::jsonb)) ORDER BY next_attempt_at, id LIMIT $3 \
            FOR UPDATE SKIP LOCKED) RETURNING id, activity_id, inbox, host, attempts",
    done: "UPDATE deliveries SET state = 'done', attempts = attempts + 1, last_status = $1, last_error = NULL, \
           leased_until = NULL, updated_at = $2 \
           WHERE id = ANY(ARRAY(SELECT jsonb_array_elements_text($3::jsonb)::bigint)) AND leased_until = $4",
};

federation_store!(PgStore, sqlx::Postgres, OUTBOX_SQL);
inbound_store!(PgStore, sqlx::Postgres);
following_store!(PgStore, sqlx::Postgres);
import_store!(PgStore, sqlx::Postgres);
feeds_store!(PgStore, sqlx::Postgres);
moderation_store!(PgStore, sqlx::Postgres, crate::store::moderation_sql::POSTGRES);
