//! The admin API for blocks: servers (a domain and its subdomains) and accounts (an actor id).
//! What a block does is the inbox's business (`InboundStore::block_for`): `suspend` refuses
//! their activities and fetches nothing from them, `silence` holds their replies for moderation.
//! A new suspension also ends their follows (and a server's pending deliveries).
//!
//! - `GET /api/admin/blocks`: `{"domains": [...], "actors": [...]}`
//! - `PUT|DELETE /api/admin/blocks/domains/{domain}`, PUT body optional
//!   `{"severity": "suspend"|"silence", "reason": "..."}`: severity defaults to suspend, a
//!   reason left out stays as it was
//! - `PUT|DELETE /api/admin/blocks/actors`, body `{"actor": "<actor id>", "severity"?, "reason"?}`
//!   (an actor id in a path would need double escaping; a body keeps it as it is)
//! - `POST /api/admin/blocks/import`: a Mastodon domain blocklist (CSV)

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::domain::Upserted;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{Admin, AppPath};
use crate::startup::AppState;
use crate::store::moderation::{BlockEntry, BlockKind, NewBlock, Severity};

/// The longest reason kept.
const MAX_REASON_CHARS: usize = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/blocks", get(list))
        .route("/api/admin/blocks/domains/{domain}", put(put_domain).delete(delete_domain))
        .route("/api/admin/blocks/actors", put(put_actor).delete(delete_actor))
        .route("/api/admin/blocks/import", post(import))
}

#[derive(Serialize)]
struct BlockView {
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<String>,
    severity: &'static str,
    reason: String,
    created_at: DateTime<Utc>,
    /// Follows ended by this write (PUT only).
    #[serde(skip_serializing_if = "Option::is_none")]
    followers_removed: Option<u64>,
}

fn block_view(block: BlockEntry, followers_removed: Option<u64>) -> BlockView {
    let (domain, actor) = match block.kind {
        BlockKind::Domain => (Some(block.target), None),
        BlockKind::Actor => (None, Some(block.target)),
    };
    BlockView {
        domain,
        actor,
        severity: block.severity.as_str(),
        reason: block.reason,
        created_at: block.created_at,
        followers_removed,
    }
}

/// `GET /api/admin/blocks`: the blocked servers, then the blocked accounts.
#[derive(Serialize)]
struct BlockList {
    domains: Vec<BlockView>,
    actors: Vec<BlockView>,
}

async fn list(_: Admin, State(state): State<AppState>) -> AppResult<Response> {
    let (domains, actors): (Vec<_>, Vec<_>) =
        state.store.blocks().await?.into_iter().partition(|b| b.kind == BlockKind::Domain);
    let view = |blocks: Vec<BlockEntry>| blocks.into_iter().map(|b| block_view(b, None)).collect::<Vec<_>>();
    Ok(Json(BlockList { domains: view(domains), actors: view(actors) }).into_response())
}

/// A server's name as blocks keep it: lower case, IDNA (punycode) ASCII, no trailing dot; or
/// an IP address. No scheme, port, path or wildcard.
pub fn parse_domain(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("the domain is empty".into());
    }
    if trimmed.contains("://") || trimmed.contains('/') {
        return Err(format!("'{trimmed}' is not a domain name: give the host alone, without scheme or path"));
    }
    if trimmed.contains('*') {
        return Err(format!("'{trimmed}' is obfuscated (has '*'): give the whole domain name"));
    }
    let bracketed = trimmed.starts_with('[');
    if trimmed.chars().any(|c| c.is_whitespace() || matches!(c, '@' | '%' | '?' | '#'))
        || (trimmed.contains(':') && !bracketed)
    {
        return Err(format!("'{trimmed}' is not a domain name: no port, user or spaces"));
    }
    let name = trimmed.strip_suffix('.').unwrap_or(trimmed);
    let host = url::Host::parse(name).map_err(|e| format!("'{trimmed}' is not a valid domain name: {e}"))?;
    let normalised = match host {
        url::Host::Domain(domain) => domain.to_ascii_lowercase(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => format!("[{ip}]"),
    };
    let labels_ok = normalised.starts_with('[')
        || (normalised.len() <= 253 && normalised.split('.').all(|l| !l.is_empty() && l.len() <= 63));
    if !labels_ok {
        return Err(format!("'{trimmed}' is not a valid domain name: empty or overlong label"));
    }
    Ok(normalised)
}

/// An actor id: an absolute http(s) URL with a host, no credentials or fragment.
pub fn parse_actor(raw: &str) -> Result<String, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("actor must be an actor id (a URL): {e}"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err("actor must be an http(s) URL with a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err("actor must be an actor id, without credentials or fragment".into());
    }
    Ok(url.to_string())
}

fn parse_severity(raw: Option<&str>) -> Result<Severity, String> {
    match raw {
        None => Ok(Severity::Suspend),
        Some("noop") => Err("severity 'noop' is no block: DELETE the block instead".into()),
        Some(s) => Severity::parse(s).ok_or_else(|| format!("severity must be \"suspend\" or \"silence\", not '{s}'")),
    }
}

/// A reason, when one is given (None keeps the stored one).
fn parse_reason(raw: Option<String>) -> Result<Option<String>, String> {
    let Some(raw) = raw else { return Ok(None) };
    let reason = raw.trim().to_string();
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(format!("reason is longer than {MAX_REASON_CHARS} characters"));
    }
    if reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err("reason must not contain control characters".into());
    }
    Ok(Some(reason))
}

/// A body, or the reason it could not be read (too large) in our error format.
fn body_bytes(body: Result<Bytes, BytesRejection>) -> AppResult<Bytes> {
    body.map_err(|rejection| {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "the request body is larger than the limit (THREADBRIDGE_MAX_BODY_BYTES)".to_string()
        } else {
            rejection.body_text()
        };
        AppError::new(status, message)
    })
}

/// A JSON body that may be left out (empty): `Content-Type: application/json` when there is
/// one; syntax errors 400, wrong shapes 422, as `AppJson` answers.
fn optional_json<T: DeserializeOwned + Default>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<T> {
    let body = body_bytes(body)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if media != "application/json" && !media.ends_with("+json") {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as Content-Type: application/json",
        ));
    }
    serde_json::from_slice(&body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => AppError::unprocessable(format!("invalid body: {e}")),
        _ => AppError::bad_request(format!("malformed JSON: {e}")),
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DomainBody {
    severity: Option<String>,
    reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActorBody {
    actor: Option<String>,
    severity: Option<String>,
    reason: Option<String>,
}

fn written_status(outcome: Upserted) -> StatusCode {
    match outcome {
        Upserted::Created => StatusCode::CREATED,
        Upserted::Updated | Upserted::Unchanged => StatusCode::OK,
    }
}

/// Writes the block of `kind` on `target` with the body's `severity` and `reason` (422 when
/// either is not valid).
async fn write_block(
    state: &AppState,
    kind: BlockKind,
    target: String,
    severity: Option<&str>,
    reason: Option<String>,
) -> AppResult<Response> {
    let severity = parse_severity(severity).map_err(AppError::unprocessable)?;
    let reason = parse_reason(reason).map_err(AppError::unprocessable)?;
    let block = NewBlock { kind, target, severity, reason };
    let written = state.store.put_block(&block).await?;
    tracing::info!(
        kind = block.kind.as_str(),
        target = %block.target,
        severity = block.severity.as_str(),
        outcome = ?written.outcome,
        followers_removed = written.followers_removed,
        "block written"
    );
    let status = written_status(written.outcome);
    Ok((status, Json(block_view(written.block, Some(written.followers_removed)))).into_response())
}

/// Removes the block of `kind` on `target` (a `what` block, in the log); 404 when there is none.
async fn remove_block(state: &AppState, kind: BlockKind, target: &str, what: &str) -> AppResult<Response> {
    let removed = state
        .store
        .delete_block(kind, target)
        .await?
        .ok_or_else(|| AppError::not_found(format!("'{target}' is not blocked")))?;
    tracing::info!(target = %target, "{what} block removed");
    Ok(Json(block_view(removed, None)).into_response())
}

#[tracing::instrument(skip_all, fields(domain = %raw))]
async fn put_domain(
    _: Admin,
    State(state): State<AppState>,
    AppPath(raw): AppPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let target = parse_domain(&raw).map_err(AppError::unprocessable)?;
    let body: DomainBody = optional_json(&headers, body)?;
    write_block(&state, BlockKind::Domain, target, body.severity.as_deref(), body.reason).await
}

#[tracing::instrument(skip_all, fields(domain = %raw))]
async fn delete_domain(_: Admin, State(state): State<AppState>, AppPath(raw): AppPath<String>) -> AppResult<Response> {
    let target = parse_domain(&raw).map_err(AppError::unprocessable)?;
    remove_block(&state, BlockKind::Domain, &target, "domain").await
}

fn actor_of(body: &ActorBody) -> AppResult<String> {
    let raw = body.actor.as_deref().ok_or_else(|| AppError::unprocessable("missing field 'actor' (an actor id)"))?;
    parse_actor(raw).map_err(AppError::unprocessable)
}

#[tracing::instrument(skip_all)]
async fn put_actor(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let body: ActorBody = optional_json(&headers, body)?;
    let target = actor_of(&body)?;
    write_block(&state, BlockKind::Actor, target, body.severity.as_deref(), body.reason).await
}

#[tracing::instrument(skip_all)]
async fn delete_actor(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let body: ActorBody = optional_json(&headers, body)?;
    if body.severity.is_some() || body.reason.is_some() {
        return Err(AppError::unprocessable("DELETE takes only {\"actor\": ...}"));
    }
    let target = actor_of(&body)?;
    remove_block(&state, BlockKind::Actor, &target, "account").await
}

// Import of a Mastodon domain blocklist.

/// A row the import could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidRow {
    pub line: usize,
    pub error: String,
}

/// What a blocklist file holds, read.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Blocklist {
    pub blocks: Vec<NewBlock>,
    /// `noop` rows and obfuscated domains.
    pub skipped: u64,
    pub invalid: Vec<InvalidRow>,
}

/// Splits CSV text (RFC 4180: fields in double quotes may hold commas, doubled quotes and line
/// breaks) into records, each with the line it starts on.
fn csv_records(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let (mut line, mut start_line) = (1, 1);
    let (mut quoted, mut field_started) = (false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if !field_started => {
                quoted = true;
                field_started = true;
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                field_started = false;
            }
            '\r' => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push((start_line, std::mem::take(&mut record)));
                field_started = false;
                line += 1;
                start_line = line;
            }
            _ => {
                field.push(c);
                field_started = true;
            }
        }
    }
    if quoted {
        return Err(format!("line {start_line}: a quoted field is not closed"));
    }
    if field_started || !record.is_empty() {
        record.push(field);
        records.push((start_line, record));
    }
    // Blank lines are no records.
    records.retain(|(_, r)| !(r.len() == 1 && r[0].trim().is_empty()));
    Ok(records)
}

/// Reads a Mastodon domain blocklist: a header row naming the columns (`#domain`, `#severity`,
/// `#public_comment`, ...; in any order, with or without `#`), then one domain per row.
/// `noop` rows and obfuscated domains (with `*`) are skipped; rows that cannot be read are
/// listed. Columns other than domain, severity and public_comment (the reason) are ignored.
pub fn parse_blocklist(text: &str) -> Result<Blocklist, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let records = csv_records(text)?;
    let mut rows = records.into_iter();
    let (_, header) = rows.next().ok_or("the blocklist is empty")?;
    let names: Vec<String> =
        header.iter().map(|h| h.trim().trim_start_matches('#').trim().to_ascii_lowercase()).collect();
    let column = |name: &str| names.iter().position(|n| n == name);
    let domain_at = column("domain")
        .ok_or("the first line must be a header naming the columns, with #domain (as Mastodon exports it)")?;
    let (severity_at, reason_at) = (column("severity"), column("public_comment"));
    let mut list = Blocklist::default();
    for (line, fields) in rows {
        if fields.len() != names.len() {
            let error = format!("{} fields where the header has {}", fields.len(), names.len());
            list.invalid.push(InvalidRow { line, error });
            continue;
        }
        let field = |at: Option<usize>| at.and_then(|i| fields.get(i)).map(|f| f.trim()).unwrap_or_default();
        let domain = field(Some(domain_at));
        let severity = match field(severity_at).to_ascii_lowercase().as_str() {
            "" | "suspend" => Severity::Suspend,
            "silence" => Severity::Silence,
            "noop" => {
                list.skipped += 1;
                continue;
            }
            other => {
                let error = format!("severity must be suspend, silence or noop, not '{other}'");
                list.invalid.push(InvalidRow { line, error });
                continue;
            }
        };
        if domain.contains('*') {
            list.skipped += 1;
            continue;
        }
        let reason = reason_at.map(|at| field(Some(at)).to_string());
        let parsed = parse_domain(domain).and_then(|target| Ok((target, parse_reason(reason)?)));
        match parsed {
            Ok((target, reason)) => list.blocks.push(NewBlock { kind: BlockKind::Domain, target, severity, reason }),
            Err(error) => list.invalid.push(InvalidRow { line, error }),
        }
    }
    Ok(list)
}

#[derive(Serialize)]
struct ImportView {
    imported: u64,
    updated: u64,
    /// `noop` rows, obfuscated domains, and domains already blocked as the file says.
    skipped: u64,
    invalid: Vec<InvalidRow>,
    followers_removed: u64,
}

/// `POST /api/admin/blocks/import` with `Content-Type: text/csv`: the rows read are written
/// in one transaction; rows that cannot be read are answered, not written.
#[tracing::instrument(skip_all)]
async fn import(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if media != "text/csv" && media != "text/plain" {
        return Err(AppError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send the blocklist as Content-Type: text/csv"));
    }
    let body = body_bytes(body)?;
    let text = std::str::from_utf8(&body).map_err(|_| AppError::bad_request("the blocklist is not UTF-8 text"))?;
    let list = parse_blocklist(text).map_err(AppError::unprocessable)?;
    let counts = state.store.import_blocks(&list.blocks).await?;
    tracing::info!(
        imported = counts.imported,
        updated = counts.updated,
        invalid = list.invalid.len(),
        followers_removed = counts.followers_removed,
        "blocklist imported"
    );
    Ok(Json(ImportView {
        imported: counts.imported,
        updated: counts.updated,
        skipped: list.skipped + counts.unchanged,
        invalid: list.invalid,
        followers_removed: counts.followers_removed,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised_and_checked() {
        assert_eq!(parse_domain(" Spam.EXAMPLE. ").as_deref(), Ok("spam.example"));
        assert_eq!(parse_domain("bücher.example").as_deref(), Ok("xn--bcher-kva.example"));
        assert_eq!(parse_domain("127.0.0.1").as_deref(), Ok("127.0.0.1"));
        for bad in
            ["", "https://spam.example", "spam.example/path", "spam.example:443", "a b.example", "*.example", "a..b"]
        {
            assert!(parse_domain(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn actors_are_urls() {
        assert_eq!(
            parse_actor("https://Social.Example/users/Alice").as_deref(),
            Ok("https://social.example/users/Alice")
        );
        assert!(parse_actor("alice@social.example").is_err());
        assert!(parse_actor("ftp://social.example/users/alice").is_err());
        assert!(parse_actor("https://social.example/users/alice#main-key").is_err());
    }

    #[test]
    fn csv_fields_may_be_quoted_across_lines() {
        let records = csv_records("a,\"b, \"\"c\"\"\",d\r\n\n\"multi\nline\",x,y\nlast").expect("csv");
        assert_eq!(
            records,
            vec![
                (1, vec!["a".to_string(), "b, \"c\"".into(), "d".into()]),
                (3, vec!["multi\nline".to_string(), "x".into(), "y".into()]),
                (5, vec!["last".to_string()]),
            ]
        );
        assert!(csv_records("a,\"open").is_err());
    }

    #[test]
    fn a_mastodon_export_is_read() {
        let csv = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
                   spam.example,suspend,false,false,\"Spam, lots\",false\n\
                   loud.example,silence,true,false,,false\n\
                   ok.example,noop,true,false,,false\n\
                   ba*.example,suspend,false,false,,true\n\
                   not a domain,suspend,false,false,,false\n\
                   x.example,ban,false,false,,false\n\
                   short.example,suspend\n";
        let list = parse_blocklist(csv).expect("read");
        let targets: Vec<(&str, Severity, &str)> =
            list.blocks.iter().map(|b| (b.target.as_str(), b.severity, b.reason.as_deref().unwrap_or("?"))).collect();
        assert_eq!(
            targets,
            vec![("spam.example", Severity::Suspend, "Spam, lots"), ("loud.example", Severity::Silence, "")]
        );
        assert_eq!(list.skipped, 2);
        assert_eq!(list.invalid.iter().map(|i| i.line).collect::<Vec<_>>(), vec![6, 7, 8]);
    }

    #[test]
    fn columns_may_come_in_any_order_without_hashes() {
        let list = parse_blocklist("severity,domain\nsilence,Loud.Example\n").expect("read");
        assert_eq!(list.blocks[0].target, "loud.example");
        assert_eq!(list.blocks[0].severity, Severity::Silence);
        assert!(parse_blocklist("spam.example,suspend\n").is_err(), "no header");
        assert!(parse_blocklist("").is_err());
    }
}
