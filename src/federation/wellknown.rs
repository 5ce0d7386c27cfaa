//! Discovery: WebFinger (`acct:user@host` and actor URLs), host-meta, NodeInfo 2.1.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::documents::discovery::{Jrd, Link, Metadata, NodeInfo, Services, Software, Usage, Users};

use crate::http::error::{AppError, AppResult};
use crate::http::extract::AppQuery;
use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/webfinger", get(webfinger))
        .route("/.well-known/host-meta", get(host_meta))
        .route("/.well-known/host-meta.json", get(host_meta_json))
        .route("/.well-known/nodeinfo", get(nodeinfo_links))
        .route("/nodeinfo/2.1", get(nodeinfo))
}

#[derive(Deserialize)]
struct WebfingerQuery {
    resource: Option<String>,
}

/// The username a WebFinger resource names on this host: `acct:user@host`, `user@host`, or the
/// actor's URL. `None` when it names another host or is not of these forms.
fn username_of(resource: &str, state: &AppState) -> Option<String> {
    let actor_prefix = format!("{}/users/", state.urls.base());
    if let Some(rest) = resource.strip_prefix(&actor_prefix) {
        let decoded = percent_encoding::percent_decode_str(rest).decode_utf8().ok()?;
        return (!decoded.contains('/')).then(|| decoded.to_string());
    }
    let acct = resource.strip_prefix("acct:").unwrap_or(resource);
    let acct = acct.strip_prefix('@').unwrap_or(acct);
    let (user, host) = acct.rsplit_once('@')?;
    let ours =
        host.eq_ignore_ascii_case(&state.config.domain()) || host.eq_ignore_ascii_case(&state.config.handle_domain());
    (ours && !user.is_empty()).then(|| user.to_ascii_lowercase())
}

async fn webfinger(State(state): State<AppState>, AppQuery(q): AppQuery<WebfingerQuery>) -> AppResult<Response> {
    let resource = q.resource.ok_or_else(|| AppError::bad_request("the resource parameter is missing"))?;
    let username = username_of(&resource, &state)
        .ok_or_else(|| AppError::not_found(format!("'{resource}' is not an account of this server")))?;
    let actor = state
        .store
        .actor_by_username(&username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no account '{username}' here")))?;
    let actor_url = state.urls.actor(&actor.username);
    // The site is everyone's profile page: commenters have no page of their own there.
    let profile = state.config.site_url().to_string();
    // On a handle domain of its own, the subject is there (Mastodon then checks that it leads
    // back to the same actor), and the aliases name the profile page too.
    let mut aliases = vec![actor_url.clone()];
    if state.config.handle_domain() != state.config.domain() {
        aliases.push(profile.clone());
    }
    let body = Jrd {
        subject: Some(format!("acct:{}@{}", actor.username, state.config.handle_domain())),
        aliases,
        links: vec![
            Link::to("self", Some("application/activity+json"), actor_url),
            Link::to("http://webfinger.net/rel/profile-page", Some("text/html"), profile),
        ],
    };
    Ok(([(header::CONTENT_TYPE, "application/jrd+json")], Json(body)).into_response())
}

async fn host_meta(State(state): State<AppState>) -> Response {
    let template = format!("{}/.well-known/webfinger?resource={{uri}}", state.urls.base());
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  <Link rel=\"lrdd\" template=\"{}\"/>\n</XRD>\n",
        crate::domain::html::escape(&template)
    );
    ([(header::CONTENT_TYPE, "application/xrd+xml; charset=utf-8")], xml).into_response()
}

async fn host_meta_json(State(state): State<AppState>) -> Response {
    let template = format!("{}/.well-known/webfinger?resource={{uri}}", state.urls.base());
    let lrdd = Link { rel: "lrdd", media_type: None, href: None, template: Some(template) };
    Json(Jrd { subject: None, aliases: vec![], links: vec![lrdd] }).into_response()
}

async fn nodeinfo_links(State(state): State<AppState>) -> Response {
    let link = Link::to("http://nodeinfo.diaspora.software/ns/schema/2.1", None, state.urls.nodeinfo());
    Json(Jrd { subject: None, aliases: vec![], links: vec![link] }).into_response()
}

async fn nodeinfo(State(state): State<AppState>) -> AppResult<Response> {
    let stats = state.store.stats().await?;
    let body = NodeInfo {
        version: "2.1",
        software: Software {
            name: "threadbridge",
            version: env!("CARGO_PKG_VERSION"),
            homepage: state.config.site_url().to_string(),
        },
        protocols: vec!["activitypub"],
        services: Services::default(),
        open_registrations: false,
        usage: Usage {
            users: Users {
                total: stats.local_actors,
                active_month: stats.active_month,
                active_halfyear: stats.active_half_year,
            },
            local_posts: stats.local_posts,
        },
        metadata: Metadata { node_name: state.config.site_name.clone() },
    };
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"")],
        Json(body),
    )
        .into_response())
}
