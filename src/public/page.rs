//! The thread as an HTML page a site frames under its article
//! (`<iframe src="https://bridge.example/embed/articles/KEY">`). Rendered here, it reads fully
//! with JavaScript off: comments nested as they are, placeholders, quotes, content warnings
//! folded, attachments as links with their descriptions, counts, authors linked to their
//! profiles, and for each item how to answer it from a fediverse account. It loads nothing from
//! elsewhere, sets no cookie, and may be framed only by the configured origins.

use std::fmt::Write as _;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{build, etag, if_none_match, load, not_found, with_public_headers, PublicThread};
use crate::admin::views::CommentView;
use crate::domain::html::escape;
use crate::domain::{Key, Status};
use crate::http::cache::Rendered;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{AppPath, AppQuery};
use crate::startup::AppState;

const STYLESHEET: &str = include_str!("assets/thread.css");
const SCRIPT: &str = include_str!("assets/embed.js");

/// Comments on one page of the embed.
const PER_PAGE: usize = 100;

pub(super) async fn stylesheet() -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
        (header::CACHE_CONTROL, "public, max-age=3600"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, STYLESHEET).into_response()
}

/// The embed script: on a site's page, it puts the thread under its `<script>` tag; on the embed
/// page, it enhances it (see the file's head).
pub(super) async fn script() -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (header::CACHE_CONTROL, "public, max-age=3600"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    ];
    (headers, SCRIPT).into_response()
}

#[derive(Deserialize)]
pub(super) struct PageNumber {
    page: Option<i64>,
}

/// One page of the thread as HTML, from the document cache while the article is unchanged.
pub(super) async fn embed_page(
    State(state): State<AppState>,
    AppPath(raw): AppPath<String>,
    AppQuery(q): AppQuery<PageNumber>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let key = Key::parse(&raw).map_err(|_| not_found(&raw))?;
    let page = q.page.unwrap_or(1);
    if page < 1 {
        return Err(AppError::bad_request(format!("page must be a number from 1, not {page}")));
    }
    let version = state.store.article_version(&key).await?.ok_or_else(|| not_found(&raw))?;
    let etag = etag(version, &format!("embed-{page}"));
    if if_none_match(&headers, &etag) {
        return Ok(with_page_headers(StatusCode::NOT_MODIFIED.into_response(), &state, &etag));
    }
    let cache_key = format!("embed page {key} {page}");
    let rendered = state
        .cache
        .get_or_render(state.store.as_ref(), &key, cache_key, Duration::ZERO, || async {
            let (thread, reactions) = load(&state, &key).await?;
            let slice = Some((((page - 1) as usize).saturating_mul(PER_PAGE), PER_PAGE));
            let public = build(&state.renderer(), &thread, &reactions, slice, Some(page));
            let context = Context {
                site_name: &state.config.site_name,
                site_handle: state.renderer().handle(&state.site.username),
                site_actor: state.urls.actor(&state.site.username),
                key: &key,
            };
            let body = html(&public, &context);
            Ok(Rendered { status: StatusCode::OK, content_type: "text/html; charset=utf-8", body: body.into() })
        })
        .await?;
    Ok(with_page_headers(rendered.into_response(), &state, &etag))
}

/// As the JSON thread (any origin may read it: embed.js does, from the site's pages; cached a few
/// seconds, then revalidated), and framed only by the configured origins, nothing loaded from
/// elsewhere, no referrer sent.
fn with_page_headers(response: Response, state: &AppState, etag: &str) -> Response {
    let mut response = with_public_headers(response, etag);
    let ancestors = state.config.embed_origins().unwrap_or_default().join(" ");
    // The script asks the reader's own server (any host) where to reply: https, and http in dev
    // mode for loopback peers.
    let connect = if state.config.dev { "'self' https: http:" } else { "'self' https:" };
    let policy = format!(
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src {connect}; \
         base-uri 'none'; form-action 'none'; frame-ancestors {}",
        if ancestors.is_empty() { "'none'" } else { ancestors.as_str() }
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// What the page says besides the thread.
struct Context<'a> {
    site_name: &'a str,
    site_handle: String,
    site_actor: String,
    key: &'a Key,
}

fn html(thread: &PublicThread<'_>, cx: &Context<'_>) -> String {
    let article = &thread.article;
    let mut out = String::with_capacity(thread.comments.iter().map(|c| c.content.len() + 1500).sum::<usize>() + 4096);
    let lang = escape(article.language.as_deref().unwrap_or("en"));
    let title = escape(&article.title);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>Discussion: {title}</title><link rel=\"stylesheet\" href=\"/embed/thread.css\"></head>\n<body>\
         <main class=\"tb-thread\" aria-labelledby=\"tb-heading\">\
         <h2 class=\"tb-heading\" id=\"tb-heading\">Discussion <span class=\"tb-count\">({})</span></h2>",
        count(thread.total, "comment", "comments")
    );
    out.push_str("<div class=\"tb-join\">");
    action(&mut out, "Reply from the fediverse", "the article", &article.ap_id);
    let _ = write!(
        out,
        "<details class=\"tb-action\" data-follow=\"{actor}\"><summary>Follow {handle}</summary><p>Search for \
         <strong>{handle}</strong> on your own server (Mastodon, Misskey, Pleroma, GoToSocial, ...) and follow it \
         to see each new article of {site} in your home timeline.</p>\
         <input readonly value=\"{handle}\" aria-label=\"The handle of {site}\"></details>",
        handle = escape(&cx.site_handle),
        site = escape(cx.site_name),
        actor = escape(&cx.site_actor),
    );
    out.push_str("</div>");
    if thread.comments.is_empty() {
        out.push_str("<p class=\"tb-empty\">No comments yet.</p>");
    } else {
        comments(&mut out, &thread.comments);
    }
    pages(&mut out, thread, cx.key);
    out.push_str("</main><script src=\"/embed.js\" defer></script></body></html>\n");
    out
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The comments as nested lists: each item opens a list of replies when the next one is deeper.
fn comments(out: &mut String, items: &[CommentView<'_>]) {
    struct Open {
        depth: usize,
        has_replies: bool,
    }
    let mut open: Vec<Open> = Vec::new();
    out.push_str("<ol class=\"tb-comments\">");
    for item in items {
        while open.last().is_some_and(|o| o.depth >= item.depth) {
            close(out, open.pop());
        }
        if let Some(parent) = open.last_mut().filter(|o| !o.has_replies) {
            parent.has_replies = true;
            out.push_str("<ol class=\"tb-comments\">");
        }
        comment(out, item);
        open.push(Open { depth: item.depth, has_replies: false });
    }
    while let Some(o) = open.pop() {
        close(out, Some(o));
    }
    out.push_str("</ol>");

    fn close(out: &mut String, item: Option<Open>) {
        out.push_str(if item.is_some_and(|o| o.has_replies) { "</ol></li>" } else { "</li>" });
    }
}

fn comment(out: &mut String, c: &CommentView<'_>) {
    let id = escape(c.id.as_str());
    let _ = write!(out, "<li class=\"tb-comment\" id=\"comment-{id}\"><article aria-labelledby=\"tb-by-{id}\">");
    let when = c.published.format("%-d %b %Y, %H:%M UTC");
    let iso = c.published.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let Some(author) = c.author.as_ref().filter(|_| c.status == Status::Visible) else {
        let _ = write!(
            out,
            "<h3 class=\"tb-by\" id=\"tb-by-{id}\"><span class=\"tb-deleted\">Deleted comment</span></h3></article>"
        );
        return;
    };
    let initial =
        author.name.chars().find(|ch| ch.is_alphanumeric()).map_or('?', |ch| ch.to_uppercase().next().unwrap_or(ch));
    let name = escape(author.name);
    let _ = write!(
        out,
        "<h3 class=\"tb-by\" id=\"tb-by-{id}\"><span class=\"tb-avatar\" aria-hidden=\"true\">{}</span>",
        escape(&initial.to_string())
    );
    match safe_url(&author.url) {
        Some(url) => {
            let _ = write!(
                out,
                "<a class=\"tb-name\" href=\"{url}\" rel=\"nofollow noopener ugc\" target=\"_blank\">{name}</a>"
            );
        }
        None => {
            let _ = write!(out, "<span class=\"tb-name\">{name}</span>");
        }
    }
    if !author.handle.is_empty() {
        let _ = write!(out, " <span class=\"tb-handle\">{}</span>", escape(&author.handle));
    }
    let _ = write!(out, " <span class=\"tb-when\"><time datetime=\"{iso}\">{when}</time></span></h3>");
    let warning = c.remote.and_then(|r| r.summary.as_deref()).filter(|s| !s.is_empty());
    let sensitive = c.remote.is_some_and(|r| r.sensitive);
    if let Some(summary) = warning {
        let _ = write!(out, "<details class=\"tb-cw\"><summary>Content warning: {}</summary>", escape(summary));
    }
    let _ = write!(out, "<div class=\"tb-content\">{}</div>", c.content);
    if let Some(remote) = c.remote.filter(|r| !r.attachments.is_empty()) {
        if sensitive && warning.is_none() {
            out.push_str("<details class=\"tb-cw\"><summary>Sensitive media</summary>");
        }
        out.push_str("<ul class=\"tb-media\">");
        for media in &remote.attachments {
            let label =
                media.name.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or("Attachment without a description");
            match safe_url(&media.url) {
                Some(url) => {
                    let _ = write!(
                        out,
                        "<li><a href=\"{url}\" rel=\"nofollow noopener ugc\" target=\"_blank\">{}</a></li>",
                        escape(label)
                    );
                }
                None => {
                    let _ = write!(out, "<li>{}</li>", escape(label));
                }
            }
        }
        out.push_str("</ul>");
        if sensitive && warning.is_none() {
            out.push_str("</details>");
        }
    }
    if warning.is_some() {
        out.push_str("</details>");
    }
    out.push_str("<div class=\"tb-footer\">");
    let _ = write!(
        out,
        "<span class=\"tb-counts\">{} · {}</span>",
        count(usize::try_from(c.likes).unwrap_or(0), "like", "likes"),
        count(usize::try_from(c.announces).unwrap_or(0), "boost", "boosts")
    );
    action(out, "Reply", &format!("{}'s comment", author.name), &c.ap_id);
    out.push_str("</div></article>");
}

/// How to answer (or like, or boost) an item from one's own server, without JavaScript: its
/// address to paste into the server's search.
fn action(out: &mut String, label: &str, what: &str, ap_id: &str) {
    let _ = write!(
        out,
        "<details class=\"tb-action\" data-reply-to=\"{id}\"><summary>{label}</summary><p>Paste this address into \
         the search of your own server (Mastodon, Misskey, Pleroma, GoToSocial, ...), open {what} there, and reply, \
         like or boost it. Your reply appears here once your server delivers it.</p>\
         <input readonly value=\"{id}\" aria-label=\"Address of {what_attr}\"></details>",
        id = escape(ap_id),
        label = escape(label),
        what = escape(what),
        what_attr = escape(what),
    );
}

fn pages(out: &mut String, thread: &PublicThread<'_>, key: &Key) {
    let page = thread.page.unwrap_or(1);
    if page <= 1 && !thread.has_more() {
        return;
    }
    let base = format!(
        "/embed/articles/{}",
        percent_encoding::utf8_percent_encode(key.as_str(), percent_encoding::NON_ALPHANUMERIC)
    );
    out.push_str("<nav class=\"tb-pages\" aria-label=\"Pages of comments\">");
    if page > 1 {
        let _ = write!(out, "<a href=\"{base}?page={}\" rel=\"prev\">Earlier comments</a>", page - 1);
    }
    if thread.has_more() {
        let _ = write!(out, "<a href=\"{base}?page={}\" rel=\"next\">More comments</a>", page + 1);
    }
    out.push_str("</nav>");
}

/// `url`, escaped, when it is an http(s) URL; None for anything else (`javascript:`, `data:`).
fn safe_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    crate::domain::is_web(&parsed).then(|| escape(parsed.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_links_are_linked() {
        assert_eq!(safe_url("https://a.example/@x?q=\"1\"").as_deref(), Some("https://a.example/@x?q=%221%22"));
        for bad in ["javascript:alert(1)", "data:text/html,x", "//a.example/x", "vbscript:x", "not a url"] {
            assert_eq!(safe_url(bad), None, "{bad}");
        }
    }
}
