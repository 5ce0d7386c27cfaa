//! The limit `bench/replies.sh` compares the inbox with: single-row committed INSERTs per second
//! into a scratch table shaped like a stored reply, on the same store, with the same settings as
//! threadbridge's own connections.
//!
//! ```sh
//! cargo run --release --example insert_rate -- --database-url sqlite:///tmp/x/insert-rate.db \
//!     --concurrency 1,16 --seconds 5
//! ```
//!
//! - SQLite: the options of `src/store/sqlite.rs` (WAL, `synchronous = FULL`, foreign keys, busy
//!   timeout 10 s, `cache_size = -16384`), and its single writer connection: with concurrency C,
//!   C tasks queue for that one connection, as the service's writers do. Give it a file on the
//!   disk the service's database is on.
//! - PostgreSQL: a pool of at most 16 connections (the service's), C tasks at once.
//! - Each INSERT is its own transaction (autocommit), so each is durable when answered: on SQLite
//!   a WAL append and fsync, on PostgreSQL a WAL flush (concurrent commits may share one).
//! - The row: a ~300-byte text column and a few short ones, a primary key, a UNIQUE text column
//!   and a second index (what `comments` has: `remote_ap_id UNIQUE`, `comments_by_parent`).
//!
//! For each concurrency it inserts for `--warmup` seconds untimed, then counts the inserts
//! answered in `--seconds`. It prints one JSON line with every run, creates the table
//! `--table` (dropped first) and drops it at the end.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser;
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::AssertSqlSafe;

#[derive(Parser, Debug, Clone)]
#[command(about = "Single-row committed INSERTs per second (bench/replies.sh)")]
struct Args {
    /// `sqlite://FILE` (created if missing) or `postgres://...` (an existing database).
    #[arg(long)]
    database_url: String,
    /// Tasks inserting at once, one run each: a comma-separated list.
    #[arg(long, default_value = "1")]
    concurrency: String,
    /// Timed seconds per run.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Untimed seconds before each run.
    #[arg(long, default_value_t = 0.5)]
    warmup: f64,
    /// The scratch table (dropped first, and at the end).
    #[arg(long, default_value = "bench_insert_scratch")]
    table: String,
    /// Bytes of the text column.
    #[arg(long, default_value_t = 300)]
    content_bytes: usize,
}

enum Db {
    Sqlite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
}

impl Db {
    async fn exec(&self, sql: &str) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(p) => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(p).await?;
            }
            Db::Pg(p) => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(p).await?;
            }
        }
        Ok(())
    }

    async fn insert(&self, sql: &Arc<str>, n: u64, content: &str) -> Result<(), sqlx::Error> {
        let key = format!("r-{n:016x}");
        let ap_id = format!("http://127.0.0.1:19095/users/r0/statuses/ins-{n}");
        let author = "http://127.0.0.1:19095/users/r0";
        let now = chrono::Utc::now();
        // The same statement and values on either pool type.
        macro_rules! insert_on {
            ($pool:expr) => {
                sqlx::query(AssertSqlSafe(sql.clone()))
                    .bind(1_i64)
                    .bind(&key)
                    .bind(&ap_id)
                    .bind(author)
                    .bind("Reader 0")
                    .bind(content)
                    .bind(now)
                    .bind(now)
                    .execute($pool)
                    .await
                    .map(|_| ())?
            };
        }
        match self {
            Db::Sqlite(p) => insert_on!(p),
            Db::Pg(p) => insert_on!(p),
        };
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        bail!("--table: lowercase letters and _ only");
    }
    let concurrencies = args
        .concurrency
        .split(',')
        .map(|c| c.trim().parse::<usize>().ok().filter(|c| *c > 0))
        .collect::<Option<Vec<_>>>()
        .context("--concurrency: a comma-separated list of whole numbers over 0")?;
    // A worker thread per core, as the service's runtime has.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(args, concurrencies))
}

async fn run(args: Args, concurrencies: Vec<usize>) -> anyhow::Result<()> {
    let t = &args.table;
    let (db, kind, create) = if args.database_url.starts_with("sqlite:") {
        // As the store opens its writer, with the default page-cache budget (THREADBRIDGE_SQLITE_CACHE_MB).
        let (writer_kib, _) = threadbridge::store::sqlite_cache_split(32);
        let options = threadbridge::store::SqliteStore::connect_options(&args.database_url, writer_kib)?;
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
        let create = format!(
            "DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (id INTEGER PRIMARY KEY, article_id INTEGER NOT NULL, \
             key TEXT NOT NULL, ap_id TEXT UNIQUE, author_ap_id TEXT, author_name TEXT, content TEXT NOT NULL, \
             published TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (article_id, key)); \
             CREATE INDEX {t}_by_article ON {t} (article_id, published);"
        );
        (Db::Sqlite(pool), "sqlite", create)
    } else if args.database_url.starts_with("postgres:") || args.database_url.starts_with("postgresql:") {
        // As src/store/postgres.rs opens its pool.
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&args.database_url)
            .await?;
        let create = format!(
            "DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (id BIGSERIAL PRIMARY KEY, article_id BIGINT NOT NULL, \
             key TEXT NOT NULL, ap_id TEXT UNIQUE, author_ap_id TEXT, author_name TEXT, content TEXT NOT NULL, \
             published TIMESTAMPTZ NOT NULL, created_at TIMESTAMPTZ NOT NULL, UNIQUE (article_id, key)); \
             CREATE INDEX {t}_by_article ON {t} (article_id, published);"
        );
        (Db::Pg(pool), "postgres", create)
    } else {
        bail!("--database-url must be sqlite:// or postgres://");
    };
    let insert: Arc<str> = format!(
        "INSERT INTO {t} (article_id, key, ap_id, author_ap_id, author_name, content, published, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .into();
    db.exec(&create).await.context("creating the scratch table")?;
    let db = Arc::new(db);
    let content: Arc<str> = {
        let mut c = String::from("<p>Reply: the council's vote was close, and the tram line will change things.");
        while c.len() + 4 < args.content_bytes {
            c.push_str(" Will the night buses stay?");
        }
        c.push_str("</p>");
        c.into()
    };
    let counter = Arc::new(AtomicU64::new(0));
    let mut runs = vec![];
    for &c in &concurrencies {
        let stop = Arc::new(AtomicBool::new(false));
        let timed = Arc::new(AtomicU64::new(0));
        let timing = Arc::new(AtomicBool::new(false));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..c {
            let (db, stop, timed, timing, counter, insert, content) = (
                db.clone(),
                stop.clone(),
                timed.clone(),
                timing.clone(),
                counter.clone(),
                insert.clone(),
                content.clone(),
            );
            tasks.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let in_window = timing.load(Ordering::Relaxed);
                    db.insert(&insert, n, &content).await?;
                    // Counted when it started and ended inside the window.
                    if in_window && timing.load(Ordering::Relaxed) {
                        timed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok::<(), sqlx::Error>(())
            });
        }
        tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;
        timing.store(true, Ordering::Relaxed);
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
        timing.store(false, Ordering::Relaxed);
        let seconds = t0.elapsed().as_secs_f64();
        let n = timed.load(Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
        while let Some(done) = tasks.join_next().await {
            done?.context("an insert failed")?;
        }
        eprintln!("insert_rate: {kind}, concurrency {c}: {n} inserts in {seconds:.2} s = {:.0}/s", n as f64 / seconds);
        runs.push(json!({ "concurrency": c, "inserts": n, "seconds": seconds, "rate": n as f64 / seconds }));
    }
    db.exec(&format!("DROP TABLE IF EXISTS {t}")).await.context("dropping the scratch table")?;
    let best = runs.iter().filter_map(|r| r["rate"].as_f64()).fold(0.0, f64::max);
    println!("{}", json!({ "backend": kind, "runs": runs, "best": best, "content_bytes": content.len() }));
    Ok(())
}
