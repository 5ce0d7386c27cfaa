//! How a whole thread is read: the database aggregates the article's comments into one JSON
//! array of narrow rows (one value to hand over, not one per column and row: a 10,000-comment
//! thread is read in tens of milliseconds), their local authors come in a second query, and the
//! rows are joined to parents and authors here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::html::SafeHtml;
use crate::domain::{Comment, CommentAuthor, Key, LocalActor, Origin, ParentRef, RemoteDetails, Status};

/// The columns the thread query aggregates, in this order (see `thread_row_values!`).
#[derive(Debug, Deserialize)]
pub struct ThreadRow(
    i64,                                      // id
    i64,                                      // article_id
    String,                                   // key
    Option<i64>,                              // parent_id
    String,                                   // origin
    String,                                   // status
    String,                                   // content
    DateTime<Utc>,                            // published
    Option<DateTime<Utc>>,                    // updated
    Option<DateTime<Utc>>,                    // deleted_at
    Option<i64>,                              // author_id
    Option<String>,                           // remote_ap_id
    Option<String>,                           // remote_author_ap_id
    Option<String>,                           // remote_author_name
    Option<String>,                           // remote_author_handle
    Option<String>,                           // remote_author_url
    Option<String>,                           // summary
    Option<String>,                           // language
    Option<String>,                           // remote_url
    String,                                   // attachments (JSON)
    #[serde(deserialize_with = "flag")] bool, // sensitive
);

/// A boolean as either engine's JSON gives it: `true`/`false` (PostgreSQL) or `1`/`0` (SQLite).
fn flag<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Bool(b) => Ok(b),
        serde_json::Value::Number(n) => Ok(n.as_i64().is_some_and(|n| n != 0)),
        other => Err(serde::de::Error::custom(format!("not a boolean: {other}"))),
    }
}

/// A federated reply's details, as stored; None for the site's comments.
pub fn remote_details(
    origin: Origin,
    summary: Option<String>,
    language: Option<String>,
    url: Option<String>,
    attachments: &str,
    sensitive: bool,
) -> Option<RemoteDetails> {
    (origin == Origin::Remote).then(|| RemoteDetails {
        summary,
        language,
        url,
        attachments: serde_json::from_str(attachments).unwrap_or_default(),
        sensitive,
    })
}

/// Parses the aggregated JSON (`None`: PostgreSQL's aggregate over no rows).
pub fn parse(json: Option<&str>) -> Result<Vec<ThreadRow>, serde_json::Error> {
    json.map(serde_json::from_str).transpose().map(Option::unwrap_or_default)
}

/// Joins rows to their parents (in the same thread) and their local authors.
pub fn assemble(rows: Vec<ThreadRow>, authors: &HashMap<i64, LocalActor>) -> Vec<Comment> {
    let parents: HashMap<i64, ParentRef> = rows
        .iter()
        .map(|r| {
            let parent = ParentRef {
                id: r.0,
                key: Key::from_store(r.2.clone()),
                remote_ap_id: r.11.clone(),
                remote_author: r.12.clone().map(|ap_id| (ap_id, r.14.clone().unwrap_or_default())),
            };
            (r.0, parent)
        })
        .collect();
    rows.into_iter()
        .map(|r| {
            let origin = if r.4 == "remote" { Origin::Remote } else { Origin::Local };
            let author = match r.10.and_then(|id| authors.get(&id)) {
                Some(actor) if origin == Origin::Local => CommentAuthor::Local(actor.clone()),
                _ => CommentAuthor::Remote {
                    ap_id: r.12.unwrap_or_default(),
                    name: r.13.unwrap_or_default(),
                    handle: r.14.unwrap_or_default(),
                    url: r.15.unwrap_or_default(),
                },
            };
            Comment {
                id: r.0,
                article_id: r.1,
                key: Key::from_store(r.2),
                parent: r.3.and_then(|p| parents.get(&p).cloned()),
                origin,
                status: Status::parse(&r.5),
                author,
                content: SafeHtml::from_store(r.6),
                published: r.7,
                updated: r.8,
                deleted_at: r.9,
                remote: remote_details(origin, r.16, r.17, r.18, &r.19, r.20),
                remote_ap_id: r.11,
            }
        })
        .collect()
}
