//! Extractors: what a handler states in its signature is checked before it runs.
//! - [`Admin`]: the admin bearer token.
//! - [`AppJson`]: a JSON body, with bad JSON answered in our error format.
//! - [`AppPath`], [`AppQuery`]: path and query parameters, likewise.
//! - [`Wants`]: whether the client asked for ActivityPub JSON or a web page.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use super::error::AppError;
use crate::startup::AppState;

/// Proof that the request carries the admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Admin, AppError> {
        let Some(expected) = state.config.admin_token.as_deref().filter(|t| !t.is_empty()) else {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "the admin API is disabled: set THREADBRIDGE_ADMIN_TOKEN",
            ));
        };
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        match given {
            Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => Ok(Admin),
            Some(_) => Err(AppError::new(StatusCode::UNAUTHORIZED, "wrong admin token")),
            None => Err(AppError::new(StatusCode::UNAUTHORIZED, "missing header Authorization: Bearer <admin token>")),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A JSON body; syntax errors are 400, wrong shapes 422, oversized bodies 413, each as
/// `{"error": ...}` naming the problem.
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<AppJson<T>, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(AppJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    let status = rejection.status();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            "the request body is larger than the limit (THREADBRIDGE_MAX_BODY_BYTES)".to_string()
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "send the body as Content-Type: application/json".to_string(),
        _ => rejection.body_text(),
    };
    AppError::new(status, message)
}

/// Path parameters, with bad ones answered as a JSON 400.
pub struct AppPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for AppPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<AppPath<T>, AppError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(AppPath(value)),
            Err(rejection) => Err(path_rejection(rejection)),
        }
    }
}

fn path_rejection(rejection: PathRejection) -> AppError {
    AppError::bad_request(rejection.body_text())
}

/// Query parameters, with bad ones answered as a JSON 400.
pub struct AppQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for AppQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<AppQuery<T>, AppError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(AppQuery(value)),
            Err(rejection) => Err(AppError::bad_request(rejection.body_text())),
        }
    }
}

/// What the client asked for: ActivityPub JSON (servers, and the default), or a web page (a
/// browser, which gets redirected to the site's page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wants {
    ActivityJson,
    Html,
}

impl<S: Send + Sync> FromRequestParts<S> for Wants {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Wants, Self::Rejection> {
        let accept: Vec<&str> = parts.headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect();
        Ok(Wants::from_accept(&accept.join(",")))
    }
}

impl Wants {
    /// Reads an `Accept` header: a web page only when `text/html` is preferred (by q-value) over
    /// both ActivityPub types; JSON otherwise, and when nothing is said.
    pub fn from_accept(accept: &str) -> Wants {
        let mut best_ap = None::<f32>;
        let mut best_html = None::<f32>;
        for item in accept.split(',') {
            let mut parts = item.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
                .find_map(|v| v.parse::<f32>().ok())
                .unwrap_or(1.0);
            let slot = match media.as_str() {
                "application/activity+json" | "application/ld+json" => &mut best_ap,
                "text/html" | "application/xhtml+xml" => &mut best_html,
                _ => continue,
            };
            *slot = Some(slot.map_or(q, |best| best.max(q)));
        }
        match (best_ap.filter(|q| *q > 0.0), best_html.filter(|q| *q > 0.0)) {
            (Some(ap), Some(html)) if html > ap => Wants::Html,
            (None, Some(_)) => Wants::Html,
            _ => Wants::ActivityJson,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Wants;

    #[test]
    fn accept_headers_as_servers_and_browsers_send_them() {
        let mastodon =
            "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";
        assert_eq!(Wants::from_accept(mastodon), Wants::ActivityJson);
        assert_eq!(Wants::from_accept("text/html,application/xhtml+xml,*/*;q=0.8"), Wants::Html);
        assert_eq!(Wants::from_accept("*/*"), Wants::ActivityJson);
        assert_eq!(Wants::from_accept(""), Wants::ActivityJson);
        assert_eq!(Wants::from_accept("text/html, application/activity+json;q=0"), Wants::Html);
        assert_eq!(Wants::from_accept("text/html;q=0.5, application/activity+json"), Wants::ActivityJson);
        assert_eq!(Wants::from_accept("text/html, application/activity+json"), Wants::ActivityJson);
    }
}
