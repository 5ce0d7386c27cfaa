//! `POST /api/admin/import?format=wxr|disqus|json`: the same import as `threadbridge import`,
//! with the file as the request body (streamed, up to `THREADBRIDGE_IMPORT_MAX_MB`). Answers
//! the summary: 200 when the file was read to its end, 422 when it stopped at a malformed
//! place (with `error`), 413 when the body is too large.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::http::error::AppResult;
use crate::http::extract::{Admin, AppQuery};
use crate::import::source::Progress;
use crate::import::{self, Format, Options, Summary};
use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    // The body streams into the parser; its own limit is counted as it comes.
    Router::new().route("/api/admin/import", post(import_file)).layer(DefaultBodyLimit::disable())
}

#[derive(Deserialize)]
struct ImportQuery {
    format: Option<Format>,
}

#[derive(Serialize)]
struct Answer<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(flatten)]
    summary: &'a Summary,
}

#[tracing::instrument(skip_all)]
async fn import_file(
    _: Admin,
    State(state): State<AppState>,
    AppQuery(query): AppQuery<ImportQuery>,
    body: Body,
) -> AppResult<Response> {
    let limit = state.config.import_max_megabytes.saturating_mul(1024 * 1024);
    let too_large = Arc::new(AtomicBool::new(false));
    let reader = BodyReader::spawn(body, limit, too_large.clone());
    let options = Options { format: query.format, site_actor_id: state.site.id, urls: state.urls.clone() };
    let summary = import::run(state.store.clone(), reader, options, Arc::new(Progress::default())).await?;
    tracing::info!(summary = %summary.line(), "import");
    let status = if too_large.load(Ordering::Relaxed) {
        StatusCode::PAYLOAD_TOO_LARGE
    } else if summary.failed.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(Answer { error: summary.failed.as_deref(), summary: &summary })).into_response())
}

/// The request body as a blocking reader for the parser's thread, fed by a task that counts
/// the bytes against the limit.
struct BodyReader {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl BodyReader {
    fn spawn(body: Body, limit: u64, too_large: Arc<AtomicBool>) -> BodyReader {
        let (sender, chunks) = mpsc::channel(16);
        tokio::spawn(async move {
            let mut stream = body.into_data_stream();
            let mut total = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = match chunk {
                    Ok(chunk) => chunk,
                    Err(err) => {
                        let _ = sender.send(Err(io::Error::other(format!("the request body broke off: {err}")))).await;
                        return;
                    }
                };
                total += chunk.len() as u64;
                if total > limit {
                    too_large.store(true, Ordering::Relaxed);
                    let message = format!(
                        "the file is larger than {} MiB (THREADBRIDGE_IMPORT_MAX_MB); `threadbridge import` reads files of any size",
                        limit / (1024 * 1024)
                    );
                    let _ = sender.send(Err(io::Error::other(message))).await;
                    return;
                }
                if sender.send(Ok(chunk)).await.is_err() {
                    return;
                }
            }
        });
        BodyReader { chunks, current: Bytes::new() }
    }
}

impl Read for BodyReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(err)) => return Err(err),
                None => return Ok(0),
            }
        }
        let n = self.current.len().min(out.len());
        out[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
