//! Comments from a site's comment feeds: the site-wide one (`comments_url`, WordPress's
//! `/comments/feed/`) or each item's own (`wfw:commentRss`). Each entry becomes a comment of
//! the article its link points to (the link without its `#comment-N`); it answers another
//! comment where the feed says so (Atom threading, `thr:in-reply-to`), else the article.
//! Comments present at the feed's first poll are the archive (stored, not delivered); later
//! ones are delivered as the site's comments are.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use chrono::Utc;
use feed_rs::model::Entry;

use super::{entry, fetch, parse, Fetched};
use crate::domain::html::{self, SafeHtml};
use crate::domain::{CommentDraft, Key, SiteAuthor};
use crate::import::source::{Progress, Source};
use crate::import::text::author;
use crate::import::xml::{Walk, XmlFile};
use crate::startup::AppState;
use crate::store::import::{ImportItem, ImportedComment, ImportedStatus};

/// The key of a comment entry: a WordPress comment id (`...#comment-501`) gives `wp-comment-501`,
/// as a WordPress import names the same comment; any other gives `feed-comment-` and 16 hex
/// digits of the SHA-256 of its guid.
pub fn key(guid: &str) -> Key {
    if let Some((_, number)) = guid.rsplit_once("#comment-") {
        if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) {
            return Key::from_store(format!("wp-comment-{number}"));
        }
    }
    Key::from_store(format!("feed-comment-{}", entry::short_hash(guid)))
}

/// What each Atom entry answers (`thr:in-reply-to ref`), by entry id; empty for RSS, whose
/// comment feeds do not say.
fn replies_to(body: &[u8]) -> HashMap<String, String> {
    let mut found = HashMap::new();
    let mut xml = XmlFile::new(Source::new(Cursor::new(body), Arc::new(Progress::default())));
    if xml.root().ok().as_deref() != Some("feed") {
        return found;
    }
    loop {
        match xml.next() {
            Ok(Walk::Start(start, line)) => {
                let Ok(node) = xml.read_node(&start, line) else { break };
                if node.name != "entry" {
                    continue;
                }
                let answers =
                    node.children.iter().find(|c| c.name.ends_with("in-reply-to")).and_then(|c| c.attribute("ref"));
                if let (Some(id), Some(answers)) = (node.text_of("id"), answers) {
                    found.insert(id.to_string(), answers.to_string());
                }
            }
            Ok(Walk::Empty(_)) => {}
            _ => break,
        }
    }
    found
}

/// One comment entry, read.
struct Found {
    key: Key,
    article_url: String,
    parent_ref: Option<String>,
    author: SiteAuthor,
    content: SafeHtml,
    published: chrono::DateTime<Utc>,
}

fn found(entry: &Entry, refs: &HashMap<String, String>) -> Option<Found> {
    let mut link = entry::link(entry)?;
    link.set_fragment(None);
    let body = entry.content.as_ref().and_then(|c| c.body.as_deref());
    let summary = entry.summary.as_ref().map(|s| s.content.as_str());
    let content = html::sanitize(body.or(summary)?);
    if content.excerpt(1).is_empty() {
        return None;
    }
    let name = entry.authors.iter().find_map(|a| a.name.as_deref());
    Some(Found {
        key: key(&entry.id),
        article_url: link.to_string(),
        parent_ref: refs.get(&entry.id).cloned(),
        author: author(None, name),
        content,
        published: entry.published.or(entry.updated).unwrap_or_else(Utc::now),
    })
}

/// The validators of a comment feed's last answer: its ETag and Last-Modified.
pub type Validators = (Option<String>, Option<String>);

/// Reads one comment feed (sending back `validators`) and stores what is new; `article` is the
/// item's key for an item's own feed (None: each entry's link names its article). Answers the
/// new validators (None when unchanged).
pub async fn poll(
    state: &AppState,
    url: &str,
    validators: (Option<&str>, Option<&str>),
    article: Option<&Key>,
    first: bool,
) -> Result<Validators, String> {
    let Fetched::Body { body, content_type, url, etag, last_modified } =
        fetch(state, url, validators.0, validators.1).await?
    else {
        return Ok((None, None));
    };
    let parsed = parse(&body, &content_type, &url).map_err(|e| format!("comments: {e}"))?;
    let refs = replies_to(&body);
    let mut entries: Vec<Found> = parsed.entries.iter().filter_map(|e| found(e, &refs)).collect();
    // Oldest first, so that a parent is stored before its replies.
    entries.sort_by_key(|f| f.published);
    // Articles by page, looked up once per page; at the first poll, the archive, written at once.
    let mut articles: HashMap<String, Option<Key>> = HashMap::new();
    let mut archive = Vec::new();
    for comment in entries {
        let article = match article {
            Some(key) => Some(key.clone()),
            None => match articles.get(&comment.article_url) {
                Some(known) => known.clone(),
                None => {
                    let found =
                        state.store.article_key_by_url(&comment.article_url).await.map_err(|e| e.to_string())?;
                    articles.insert(comment.article_url.clone(), found.clone());
                    found
                }
            },
        };
        let Some(article) = article else { continue };
        let parent = match &comment.parent_ref {
            None => None,
            Some(reference) => parent_key(state, reference).await?,
        };
        if first {
            archive.push(ImportItem::Comment(ImportedComment {
                article,
                key: comment.key,
                parent,
                author: Some(comment.author),
                content: comment.content,
                published: comment.published,
                status: ImportedStatus::Visible,
            }));
        } else {
            deliver(state, article, comment, parent).await;
        }
    }
    if !archive.is_empty() {
        state.store.import_batch(state.site.id, &archive).await.map_err(|e| e.to_string())?;
    }
    Ok((etag, last_modified))
}

/// The comment a `thr:in-reply-to` names, or None when it names the article (by its page or
/// its feed id).
async fn parent_key(state: &AppState, reference: &str) -> Result<Option<Key>, String> {
    let page = url::Url::parse(reference).ok().filter(|u| u.fragment().is_none());
    let by_page = match page {
        Some(page) => state.store.article_key_by_url(page.as_str()).await.map_err(|e| e.to_string())?.is_some(),
        None => false,
    };
    let by_id = state.store.article(&entry::key(reference)).await.map_err(|e| e.to_string())?.is_some();
    Ok((!(by_page || by_id)).then(|| key(reference)))
}

/// Stores a comment that came after the first poll, as the site's comments are: delivered.
async fn deliver(state: &AppState, article: Key, comment: Found, parent: Option<Key>) {
    let draft =
        CommentDraft { author: comment.author, content: comment.content, parent, published: Some(comment.published) };
    match state.store.upsert_comment(&article, &comment.key, &draft).await {
        Ok((_, outcome)) => {
            if outcome != crate::domain::Upserted::Unchanged {
                if let Ok(Some(stored)) = state.store.article(&article).await {
                    state.cache.article_changed(&stored.key, stored.version);
                }
                state.outbox.notify_one();
            }
        }
        Err(err) => tracing::info!(article = %article, comment = %comment.key, error = %err, "feed comment not stored"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wordpress_comment_ids_keep_the_imports_keys() {
        assert_eq!(key("https://gazette.example/?p=41#comment-501").as_str(), "wp-comment-501");
        let other = key("tag:blogger.com,1999:blog-1.post-2");
        assert!(other.as_str().starts_with("feed-comment-") && other.as_str().len() == 29, "{other}");
        assert!(key("https://x.example/#comment-").as_str().starts_with("feed-comment-"));
    }

    #[test]
    fn atom_threading_says_what_each_entry_answers() {
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
<title>c</title><entry><id>c2</id><thr:in-reply-to ref="c1" href="https://x.example/p/"/></entry>
<entry><id>c1</id><thr:in-reply-to ref="post"/></entry><entry><id>c3</id></entry></feed>"#;
        let refs = replies_to(atom.as_bytes());
        assert_eq!(refs.len(), 2);
        assert_eq!((refs["c2"].as_str(), refs["c1"].as_str()), ("c1", "post"));
        assert!(replies_to(b"<rss><channel><item><guid>x</guid></item></channel></rss>").is_empty());
    }
}
