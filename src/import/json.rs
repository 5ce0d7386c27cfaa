//! threadbridge's own JSON: one thread per JSON value, an article with its comments, in the
//! shape of a site's discussion (README, "Importing existing discussions"). A file holds one
//! thread, or several one after another (JSON Lines); each is read and written before the next
//! is parsed. Keys are the file's own: the article's `key`, each comment's `id`.

use std::io::BufRead;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use url::Url;

use super::source::Source;
use super::text::{self, author};
use super::{FileError, Found, Sink, Stopped};
use crate::domain::html::{self, SafeHtml};
use crate::domain::input::ImageInput;
use crate::domain::{ArticleDraft, Image, Key, SiteAuthor};
use crate::federation::urls::Urls;
use crate::store::import::{ImportItem, ImportedArticle, ImportedComment, ImportedStatus};

#[derive(Deserialize)]
struct ThreadFile {
    article: ArticleJson,
    #[serde(default)]
    comments: Vec<CommentJson>,
}

/// A string or a number, as ids are written.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(i64),
}

impl Id {
    fn key(&self) -> Result<Key, String> {
        match self {
            Id::Text(text) => Key::parse(text),
            Id::Number(n) => Key::parse(&n.to_string()),
        }
    }
}

/// A name, or the site's username with a name.
#[derive(Deserialize)]
#[serde(untagged)]
enum Author {
    Name(String),
    Site { username: String, name: Option<String> },
}

impl Author {
    fn site_author(&self) -> SiteAuthor {
        match self {
            Author::Name(name) => author(None, Some(name)),
            Author::Site { username, name } => author(Some(username), name.as_deref()),
        }
    }
}

#[derive(Deserialize)]
struct ArticleJson {
    key: Id,
    title: String,
    url: Option<String>,
    published: String,
    updated: Option<String>,
    /// HTML.
    content: Option<String>,
    /// Plain text: paragraphs at blank lines, `Quote: name` blocks.
    text: Option<String>,
    summary: Option<String>,
    author: Option<Author>,
    #[serde(default)]
    tags: Vec<String>,
    image: Option<ImageInput>,
    language: Option<String>,
}

#[derive(Deserialize)]
struct CommentJson {
    id: Id,
    parent: Option<Id>,
    author: Option<Author>,
    published: String,
    #[serde(default)]
    deleted: bool,
    /// `visible` (the default), `held`, `deleted` or `spam`.
    status: Option<String>,
    content: Option<String>,
    text: Option<String>,
}

pub fn parse<R: BufRead>(source: Source<R>, urls: &Urls, sink: &mut Sink) -> Result<(), FileError> {
    let progress = source.progress().clone();
    let stream = serde_json::Deserializer::from_reader(source).into_iter::<ThreadFile>();
    let mut line = progress.line();
    for thread in stream {
        let thread = thread.map_err(|e| FileError { line: e.line() as u64, message: e.to_string() })?;
        thread_items(thread, line, urls, sink)
            .map_err(|Stopped| FileError { line, message: "the import stopped".into() })?;
        progress.mark();
        line = progress.line();
    }
    Ok(())
}

fn body(content: Option<&str>, text: Option<&str>) -> SafeHtml {
    match (content, text) {
        (Some(content), _) => html::sanitize(content),
        (None, Some(text)) => html::text_to_html(text),
        (None, None) => html::sanitize(""),
    }
}

fn when(field: &str, raw: &str) -> Result<DateTime<Utc>, String> {
    text::date(raw)
        .ok_or_else(|| format!("{field}: '{raw}' is not a date (RFC 3339, such as 2015-09-22T06:00:00+03:00)"))
}

fn article(json: ArticleJson, urls: &Urls) -> Result<ImportedArticle, String> {
    let key = json.key.key().map_err(|e| format!("article.key: {e}"))?;
    let url = match json.url.as_deref() {
        None => Url::parse(&urls.embed_page(&key)).map_err(|e| e.to_string())?,
        Some(raw) => Url::parse(raw)
            .ok()
            .filter(crate::domain::is_web)
            .ok_or_else(|| format!("article.url: '{raw}' is not an http(s) URL"))?,
    };
    let title = json.title.trim().to_string();
    if title.is_empty() {
        return Err("article.title must not be empty".into());
    }
    let image = match json.image {
        None => None,
        Some(image) => Some(Image {
            url: Url::parse(&image.url).map_err(|e| format!("article.image.url: {e}"))?,
            alt: image.alt.filter(|a| !a.trim().is_empty()),
        }),
    };
    let draft = ArticleDraft {
        title,
        url,
        content: body(json.content.as_deref(), json.text.as_deref()),
        summary: json.summary.filter(|s| !s.trim().is_empty()),
        author: json.author.as_ref().map(Author::site_author).unwrap_or_else(|| author(None, None)),
        tags: text::hashtags(json.tags.iter().map(String::as_str)),
        published: Some(when("article.published", &json.published)?),
        updated: json.updated.as_deref().map(|u| when("article.updated", u)).transpose()?,
        image,
        language: json.language.filter(|l| !l.trim().is_empty()),
        sensitive: false,
    };
    Ok(ImportedArticle { key, draft, by_site: json.author.is_none() })
}

fn comment(json: CommentJson, article: &Key) -> Result<Result<ImportedComment, String>, String> {
    let key = json.id.key().map_err(|e| format!("comment id: {e}"))?;
    let status = match (json.deleted, json.status.as_deref()) {
        (true, _) | (_, Some("deleted")) => ImportedStatus::Deleted,
        (_, Some("spam")) => return Ok(Err("spam".into())),
        (_, Some("held")) => ImportedStatus::Held,
        (_, None | Some("visible")) => ImportedStatus::Visible,
        (_, Some(other)) => {
            return Err(format!("comment {key}: status '{other}' is not visible, held, deleted or spam"))
        }
    };
    let parent = json.parent.as_ref().map(Id::key).transpose().map_err(|e| format!("comment {key}: parent: {e}"))?;
    let content = body(json.content.as_deref(), json.text.as_deref());
    if status != ImportedStatus::Deleted && content.excerpt(1).is_empty() {
        return Ok(Err("no text".into()));
    }
    Ok(Ok(ImportedComment {
        article: article.clone(),
        parent,
        author: (status != ImportedStatus::Deleted)
            .then(|| json.author.as_ref().map(Author::site_author).unwrap_or_else(|| author(None, None))),
        content,
        published: when(&format!("comment {key}: published"), &json.published)?,
        status,
        key,
    }))
}

fn thread_items(thread: ThreadFile, line: u64, urls: &Urls, sink: &mut Sink) -> Result<(), Stopped> {
    let article = match article(thread.article, urls) {
        Ok(article) => article,
        Err(message) => {
            sink(Found::Invalid { message, line })?;
            for _ in thread.comments {
                sink(Found::Skip { reason: "its article is not imported".into(), line })?;
            }
            return Ok(());
        }
    };
    let key = article.key.clone();
    sink(Found::Item { item: ImportItem::Article(Box::new(article)), line })?;
    for json in thread.comments {
        match comment(json, &key) {
            Ok(Ok(item)) => sink(Found::Item { item: ImportItem::Comment(item), line })?,
            Ok(Err(reason)) => sink(Found::Skip { reason, line })?,
            Err(message) => sink(Found::Invalid { message, line })?,
        }
    }
    Ok(())
}
