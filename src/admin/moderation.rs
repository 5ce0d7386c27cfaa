//! The admin API for moderating what the fediverse sends: reply policies, federated replies,
//! reports, and the site's webhook events.
//!
//! - `GET|PUT /api/admin/articles/{key}/reply-policy`: `{"policy": "open"|"hold"|null}`
//! - `GET /api/admin/moderation?status=pending|rejected|visible&page=&per_page=`
//! - `GET /api/admin/comments/{id}`, `POST /api/admin/comments/{id}/approve|reject`,
//!   `DELETE /api/admin/comments/{id}`: one federated reply, by its thread key
//! - `GET /api/admin/reports?status=open|closed`, `POST /api/admin/reports/{id}/close`
//! - `GET /api/admin/webhooks?state=pending|done|failed`, `GET /api/admin/webhooks/{id}`,
//!   `POST /api/admin/webhooks/{id}/retry`

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::paging::{self, page_view, PageView};
use super::views::AuthorView;
use crate::config::ReplyPolicy;
use crate::domain::{Key, Status};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{Admin, AppJson, AppPath, AppQuery};
use crate::startup::AppState;
use crate::store::federation::DeliveryState;
use crate::store::inbound::{Attachment, WebhookEvent};
use crate::store::moderation::{ArticlePolicy, ModeratedReply, Moderation, QueuedEvent, Report, ReportStatus};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/articles/{key}/reply-policy", get(get_policy).put(put_policy))
        .route("/api/admin/moderation", get(queue))
        .route("/api/admin/comments/{id}", get(get_reply).delete(remove))
        .route("/api/admin/comments/{id}/approve", post(approve))
        .route("/api/admin/comments/{id}/reject", post(reject))
        .route("/api/admin/reports", get(reports))
        .route("/api/admin/reports/{id}/close", post(close_report))
        .route("/api/admin/webhooks", get(webhooks))
        .route("/api/admin/webhooks/{id}", get(webhook))
        .route("/api/admin/webhooks/{id}/retry", post(retry_webhook))
}

#[derive(Deserialize)]
struct Paging {
    page: Option<i64>,
    per_page: Option<i64>,
    /// `status` (replies, reports) or `state` (webhook events).
    status: Option<String>,
    state: Option<String>,
}

impl Paging {
    /// (page from 1, per page 1..=500, offset)
    fn bounds(&self) -> (i64, i64, i64) {
        paging::bounds(self.page, self.per_page)
    }
}

/// A filter parameter: absent or empty is None; anything else must parse.
fn filter<T>(value: Option<&str>, parse: impl Fn(&str) -> Option<T>, expected: &str) -> AppResult<Option<T>> {
    match value {
        None | Some("") => Ok(None),
        Some(s) => parse(s).map(Some).ok_or_else(|| AppError::bad_request(format!("{expected}, not '{s}'"))),
    }
}

// Reply policies.

#[derive(Serialize)]
struct PolicyView {
    article: Key,
    /// The article's own policy; null: the site's default.
    policy: Option<&'static str>,
    /// The site's default (`THREADBRIDGE_REPLY_POLICY`).
    default: &'static str,
    /// What applies to new replies.
    effective: &'static str,
}

fn policy_view(state: &AppState, stored: ArticlePolicy) -> PolicyView {
    let default = state.config.reply_policy;
    PolicyView {
        article: stored.article,
        policy: stored.policy.map(ReplyPolicy::as_str),
        default: default.as_str(),
        effective: stored.policy.unwrap_or(default).as_str(),
    }
}

async fn get_policy(_: Admin, State(state): State<AppState>, AppPath(key): AppPath<Key>) -> AppResult<Response> {
    let stored = state
        .store
        .article_policy(&key)
        .await?
        .ok_or_else(|| AppError::not_found(format!("article '{key}' does not exist")))?;
    Ok(Json(policy_view(&state, stored)).into_response())
}

/// `{"policy": "open"|"hold"|null}`: the field must be there (null: the site's default).
fn parse_policy(body: &Value) -> AppResult<Option<ReplyPolicy>> {
    let fields = body.as_object().ok_or_else(|| AppError::unprocessable("the body must be a JSON object"))?;
    if let Some(other) = fields.keys().find(|k| k.as_str() != "policy") {
        return Err(AppError::unprocessable(format!("unknown field '{other}': the body is {{\"policy\": ...}}")));
    }
    match fields.get("policy") {
        None => {
            Err(AppError::unprocessable("missing field 'policy' (\"open\", \"hold\", or null for the site default)"))
        }
        Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => ReplyPolicy::parse(s)
            .map(Some)
            .ok_or_else(|| AppError::unprocessable(format!("policy must be \"open\", \"hold\" or null, not '{s}'"))),
        Some(other) => Err(AppError::unprocessable(format!("policy must be \"open\", \"hold\" or null, not {other}"))),
    }
}

#[tracing::instrument(skip_all, fields(key = %key))]
async fn put_policy(
    _: Admin,
    State(state): State<AppState>,
    AppPath(key): AppPath<Key>,
    AppJson(body): AppJson<Value>,
) -> AppResult<Response> {
    let policy = parse_policy(&body)?;
    let stored = state.store.set_reply_policy(&key, policy).await?;
    tracing::info!(policy = ?stored.policy, "reply policy set");
    Ok(Json(policy_view(&state, stored)).into_response())
}

// Federated replies.

/// A federated reply as the thread endpoint shows it, with its article and what moderation
/// needs besides (content warning, language, attachments, when it was last moderated).
#[derive(Serialize)]
struct ReplyView<'a> {
    article: &'a Key,
    id: &'a Key,
    ap_id: &'a str,
    parent: Option<&'a Key>,
    origin: &'static str,
    status: Status,
    /// Null once its author deleted it.
    author: Option<AuthorView<'a>>,
    content: &'a str,
    summary: Option<&'a str>,
    language: Option<&'a str>,
    attachments: &'a [Attachment],
    published: DateTime<Utc>,
    updated: Option<DateTime<Utc>>,
    depth: i64,
    /// The reply on the site's page.
    url: String,
    /// The reply on its author's server.
    remote_url: Option<&'a str>,
    moderated_at: Option<DateTime<Utc>>,
}

fn reply_view(reply: &ModeratedReply) -> ReplyView<'_> {
    let author = (reply.status != Status::Deleted).then(|| AuthorView {
        username: None,
        name: &reply.author_name,
        handle: reply.author_handle.clone(),
        url: if reply.author_url.is_empty() { reply.author_ap_id.clone() } else { reply.author_url.clone() },
    });
    let url = match url::Url::parse(&reply.article_url) {
        Ok(mut url) => {
            url.set_fragment(Some(&format!("comment-{}", reply.key.as_str())));
            url.to_string()
        }
        Err(_) => reply.article_url.clone(),
    };
    ReplyView {
        article: &reply.article_key,
        id: &reply.key,
        ap_id: &reply.ap_id,
        parent: reply.parent_key.as_ref(),
        origin: "remote",
        status: reply.status,
        author,
        content: &reply.content,
        summary: reply.summary.as_deref(),
        language: reply.language.as_deref(),
        attachments: &reply.attachments,
        published: reply.published,
        updated: reply.updated,
        depth: reply.depth,
        url,
        remote_url: reply.remote_url.as_deref(),
        moderated_at: reply.moderated_at,
    }
}

fn parse_reply_status(s: &str) -> Option<Status> {
    match s {
        "pending" => Some(Status::Pending),
        "rejected" => Some(Status::Rejected),
        "visible" => Some(Status::Visible),
        _ => None,
    }
}

/// Federated replies by status: pending (the default) oldest first, the others newest first.
async fn queue(_: Admin, State(state): State<AppState>, AppQuery(q): AppQuery<Paging>) -> AppResult<Response> {
    let status = filter(q.status.as_deref(), parse_reply_status, "status must be pending, rejected or visible")?
        .unwrap_or(Status::Pending);
    let (page, per_page, offset) = q.bounds();
    let found = state.store.moderation_queue(status, offset, per_page).await?;
    let items: Vec<ReplyView<'_>> = found.items.iter().map(reply_view).collect();
    Ok(Json(PageView { items, total: found.total, page, per_page }).into_response())
}

async fn get_reply(_: Admin, State(state): State<AppState>, AppPath(key): AppPath<Key>) -> AppResult<Response> {
    let reply = state.store.moderated_reply(&key).await?;
    Ok(Json(reply_view(&reply)).into_response())
}

/// Applies a decision; the thread's caches and the webhook worker hear of a change.
async fn moderate(state: &AppState, key: &Key, action: Moderation) -> AppResult<Response> {
    let has_webhook = state.config.webhook_url.is_some();
    let event = move |action: Moderation, reply: &ModeratedReply| -> Option<WebhookEvent> {
        has_webhook.then(|| crate::webhook::moderation_event(action, reply))
    };
    let done = state.store.moderate_reply(key, action, &event).await?;
    if let Some(version) = done.version {
        state.cache.article_changed(&done.reply.article_key, version);
        state.webhook.notify_one();
    }
    tracing::info!(reply = %key, ?action, changed = done.version.is_some(), "federated reply moderated");
    Ok(Json(reply_view(&done.reply)).into_response())
}

#[tracing::instrument(skip_all, fields(reply = %key))]
async fn approve(_: Admin, State(state): State<AppState>, AppPath(key): AppPath<Key>) -> AppResult<Response> {
    moderate(&state, &key, Moderation::Approve).await
}

#[tracing::instrument(skip_all, fields(reply = %key))]
async fn reject(_: Admin, State(state): State<AppState>, AppPath(key): AppPath<Key>) -> AppResult<Response> {
    moderate(&state, &key, Moderation::Reject).await
}

/// Takes a federated reply down from the thread (stored as rejected); it stays on the fediverse.
#[tracing::instrument(skip_all, fields(reply = %key))]
async fn remove(_: Admin, State(state): State<AppState>, AppPath(key): AppPath<Key>) -> AppResult<Response> {
    moderate(&state, &key, Moderation::Remove).await
}

// Reports.

#[derive(Serialize)]
struct ReportView {
    id: i64,
    /// The Flag's id, when it had one.
    activity: Option<String>,
    /// The reporting account.
    reporter: String,
    /// The reporter's words, plain text.
    comment: String,
    /// What was reported: accounts and posts, by id.
    objects: Vec<String>,
    status: String,
    created_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

impl From<Report> for ReportView {
    fn from(r: Report) -> ReportView {
        ReportView {
            id: r.id,
            activity: r.activity_ap_id,
            reporter: r.reporter_ap_id,
            comment: r.comment,
            objects: r.objects,
            status: r.status,
            created_at: r.created_at,
            closed_at: r.closed_at,
        }
    }
}

async fn reports(_: Admin, State(state): State<AppState>, AppQuery(q): AppQuery<Paging>) -> AppResult<Response> {
    let status = filter(q.status.as_deref(), ReportStatus::parse, "status must be open or closed")?;
    let (page, per_page, offset) = q.bounds();
    let found = state.store.reports(status, offset, per_page).await?;
    Ok(Json(page_view(found, page, per_page, ReportView::from)).into_response())
}

async fn close_report(_: Admin, State(state): State<AppState>, AppPath(id): AppPath<i64>) -> AppResult<Response> {
    let report = state
        .store
        .close_report(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("report {id} does not exist")))?;
    tracing::info!(report = id, "report closed");
    Ok(Json(ReportView::from(report)).into_response())
}

// Webhook events.

#[derive(Serialize)]
struct EventView {
    id: i64,
    event: String,
    state: String,
    attempts: i64,
    last_status: Option<i64>,
    last_error: Option<String>,
    /// When it will be tried (pending events only).
    next_attempt_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    /// The body sent.
    payload: Value,
}

impl From<QueuedEvent> for EventView {
    fn from(e: QueuedEvent) -> EventView {
        let next_attempt_at =
            (e.state == "pending").then(|| DateTime::from_timestamp_millis(e.next_attempt_ms)).flatten();
        EventView {
            id: e.id,
            event: e.event,
            state: e.state,
            attempts: e.attempts,
            last_status: e.last_status,
            last_error: e.last_error,
            next_attempt_at,
            created_at: e.created_at,
            payload: serde_json::from_str(&e.payload).unwrap_or(Value::String(e.payload)),
        }
    }
}

async fn webhooks(_: Admin, State(state): State<AppState>, AppQuery(q): AppQuery<Paging>) -> AppResult<Response> {
    let filter = filter(q.state.as_deref(), DeliveryState::parse, "state must be pending, failed or done")?;
    let (page, per_page, offset) = q.bounds();
    let found = state.store.webhook_events(filter, offset, per_page).await?;
    Ok(Json(page_view(found, page, per_page, EventView::from)).into_response())
}

async fn webhook(_: Admin, State(state): State<AppState>, AppPath(id): AppPath<i64>) -> AppResult<Response> {
    let found = state
        .store
        .webhook_event(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("webhook event {id} does not exist")))?;
    Ok(Json(EventView::from(found)).into_response())
}

/// Makes an event pending and due now: a failed one is tried again, a pending one at once.
async fn retry_webhook(_: Admin, State(state): State<AppState>, AppPath(id): AppPath<i64>) -> AppResult<Response> {
    let found = state
        .store
        .retry_webhook_event(id, Utc::now().timestamp_millis())
        .await?
        .ok_or_else(|| AppError::not_found(format!("webhook event {id} does not exist")))?;
    state.webhook.notify_one();
    tracing::info!(event = id, "webhook event retried by the admin");
    Ok((StatusCode::ACCEPTED, Json(EventView::from(found))).into_response())
}
