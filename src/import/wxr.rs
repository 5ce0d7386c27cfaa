//! A WordPress export (WXR 1.x, Tools > Export): each published post or page becomes an
//! article keyed `wp-{post_id}`, each of its `wp:comment`s a comment keyed
//! `wp-comment-{comment_id}`, threaded by `wp:comment_parent`.
//!
//! As the export marks them: approved comments are shown, unapproved ones are held, trashed
//! ones become placeholders that keep their replies, spam, pingbacks and trackbacks are not
//! imported. Drafts, private and trashed posts are not imported, nor their comments. A post's
//! featured image is its image when the attachment came earlier in the file.

use std::collections::HashMap;
use std::io::BufRead;

use url::Url;

use super::source::Source;
use super::text::{self, author};
use super::xml::{Node, Walk, XmlFile};
use super::{FileError, Found, Sink};
use crate::domain::html;
use crate::domain::{ArticleDraft, Image, Key};
use crate::store::import::{ImportItem, ImportedArticle, ImportedComment, ImportedStatus};

/// Longest summary kept (as the admin API takes).
const MAX_SUMMARY: usize = 5_000;

#[derive(Default)]
struct Export {
    /// Display names by login (`wp:author`).
    names: HashMap<String, String>,
    /// Logins by user id, for registered commenters.
    logins: HashMap<String, String>,
    /// Attachment URLs by post id, for featured images.
    attachments: HashMap<String, String>,
}

pub fn parse<R: BufRead>(source: Source<R>, sink: &mut Sink) -> Result<(), FileError> {
    let mut xml = XmlFile::new(source);
    let root = xml.root()?;
    if root != "rss" {
        return Err(FileError {
            line: xml.line(),
            message: format!("the root element is <{root}>, not a WordPress export's <rss>"),
        });
    }
    loop {
        match xml.next()? {
            Walk::Start(start, _) if start.name().as_ref() == "channel" => break,
            Walk::Start(start, line) => drop(xml.read_node(&start, line)?),
            Walk::Empty(..) => {}
            Walk::End | Walk::Eof => {
                return Err(FileError { line: xml.line(), message: "a WordPress export has a <channel>".into() })
            }
        }
    }
    let mut export = Export::default();
    loop {
        xml.mark();
        match xml.next()? {
            Walk::Start(start, line) => {
                let node = xml.read_node(&start, line)?;
                match node.name.as_str() {
                    "item" => export.item(&node, sink).map_err(|_| stopped(&node))?,
                    "wp:author" => export.author(&node),
                    _ => {}
                }
            }
            Walk::Empty(..) => {}
            Walk::End | Walk::Eof => return Ok(()),
        }
    }
}

fn stopped(node: &Node) -> FileError {
    FileError { line: node.line, message: "the import stopped".into() }
}

impl Export {
    fn author(&mut self, node: &Node) {
        let Some(login) = node.text_of("wp:author_login") else { return };
        if let Some(name) = node.text_of("wp:author_display_name") {
            self.names.insert(login.to_string(), name.to_string());
        }
        if let Some(id) = node.text_of("wp:author_id") {
            self.logins.insert(id.to_string(), login.to_string());
        }
    }

    fn item(&mut self, node: &Node, sink: &mut Sink) -> Result<(), super::Stopped> {
        let line = node.line;
        let post_type = node.text_of("wp:post_type").unwrap_or("post");
        let Some(post_id) = node.text_of("wp:post_id") else {
            return sink(Found::Invalid { message: "an <item> without <wp:post_id>".into(), line });
        };
        if post_type == "attachment" {
            if let Some(url) = node.text_of("wp:attachment_url") {
                self.attachments.insert(post_id.to_string(), url.to_string());
            }
        }
        let comments: Vec<&Node> = node.children_named("wp:comment").collect();
        let status = node.text_of("wp:status").unwrap_or("publish");
        let not_imported = if post_type != "post" && post_type != "page" {
            Some(format!("not a post or page ({post_type})"))
        } else if status != "publish" {
            Some(format!("not published ({status})"))
        } else {
            None
        };
        if let Some(reason) = not_imported {
            sink(Found::Skip { reason, line })?;
            for comment in comments {
                sink(Found::Skip { reason: "its post is not imported".into(), line: comment.line })?;
            }
            return Ok(());
        }
        let article = match self.article(node, post_id) {
            Ok(article) => article,
            Err(message) => {
                sink(Found::Invalid { message, line })?;
                for comment in comments {
                    sink(Found::Skip { reason: "its post is not imported".into(), line: comment.line })?;
                }
                return Ok(());
            }
        };
        let key = article.key.clone();
        sink(Found::Item { item: ImportItem::Article(Box::new(article)), line })?;
        for comment in comments {
            sink(self.comment(&key, comment))?;
        }
        Ok(())
    }

    fn article(&self, node: &Node, post_id: &str) -> Result<ImportedArticle, String> {
        let key = Key::parse(&format!("wp-{post_id}")).map_err(|e| format!("wp:post_id: {e}"))?;
        let link = node.text_of("link").ok_or("the post has no <link>")?;
        let url = Url::parse(link).ok().filter(crate::domain::is_web);
        let url = url.ok_or_else(|| format!("<link> '{link}' is not an http(s) URL"))?;
        let content = text::wordpress_html(node.text_of("content:encoded").unwrap_or(""));
        let title = match node.text_of("title") {
            Some(title) => title.chars().take(1_000).collect(),
            None => Some(content.excerpt(80)).filter(|t| !t.is_empty()).unwrap_or_else(|| "Untitled".into()),
        };
        let summary = node
            .text_of("excerpt:encoded")
            .map(|e| html::sanitize(e).excerpt(MAX_SUMMARY))
            .filter(|s| !s.trim().is_empty());
        let login = node.text_of("dc:creator");
        let published = node
            .text_of("wp:post_date_gmt")
            .and_then(text::mysql_date)
            .or_else(|| node.text_of("pubDate").and_then(text::date))
            .or_else(|| node.text_of("wp:post_date").and_then(text::mysql_date))
            .ok_or("the post has no date")?;
        let image = node
            .children_named("wp:postmeta")
            .find(|m| m.text_of("wp:meta_key") == Some("_thumbnail_id"))
            .and_then(|m| m.text_of("wp:meta_value"))
            .and_then(|id| self.attachments.get(id))
            .and_then(|u| Url::parse(u).ok())
            .map(|url| Image { url, alt: None });
        let draft = ArticleDraft {
            title,
            url,
            content,
            summary,
            author: author(login, login.and_then(|l| self.names.get(l)).map(String::as_str)),
            tags: text::hashtags(node.children_named("category").map(|c| c.text.trim())),
            published: Some(published),
            updated: None,
            image,
            language: None,
            sensitive: false,
        };
        Ok(ImportedArticle { key, draft, by_site: login.is_none() })
    }

    fn comment(&self, article: &Key, node: &Node) -> Found {
        let line = node.line;
        let skip = |reason: &str| Found::Skip { reason: reason.to_string(), line };
        let Some(id) = node.text_of("wp:comment_id") else {
            return Found::Invalid { message: "a <wp:comment> without <wp:comment_id>".into(), line };
        };
        match node.text_of("wp:comment_type").unwrap_or("comment") {
            "comment" => {}
            "pingback" => return skip("pingback"),
            "trackback" => return skip("trackback"),
            other => return skip(&format!("not a comment ({other})")),
        }
        let status = match node.text_of("wp:comment_approved").unwrap_or("1") {
            "1" => ImportedStatus::Visible,
            "spam" => return skip("spam"),
            "trash" | "post-trashed" => ImportedStatus::Deleted,
            _ => ImportedStatus::Held,
        };
        let key = match Key::parse(&format!("wp-comment-{id}")) {
            Ok(key) => key,
            Err(e) => return Found::Invalid { message: format!("wp:comment_id: {e}"), line },
        };
        let parent =
            node.text_of("wp:comment_parent").filter(|p| *p != "0").map(|p| Key::parse(&format!("wp-comment-{p}")));
        let parent = match parent.transpose() {
            Ok(parent) => parent,
            Err(e) => return Found::Invalid { message: format!("wp:comment_parent: {e}"), line },
        };
        let published = node
            .text_of("wp:comment_date_gmt")
            .and_then(text::mysql_date)
            .or_else(|| node.text_of("wp:comment_date").and_then(text::mysql_date));
        let Some(published) = published else {
            return Found::Invalid { message: format!("comment {id} has no date"), line };
        };
        let content = text::wordpress_html(node.text_of("wp:comment_content").unwrap_or(""));
        if status != ImportedStatus::Deleted && content.excerpt(1).is_empty() {
            return skip("no text");
        }
        let login = node.text_of("wp:comment_user_id").filter(|u| *u != "0").and_then(|u| self.logins.get(u));
        let author = (status != ImportedStatus::Deleted).then(|| match login {
            Some(login) => author(Some(login), self.names.get(login).map(String::as_str)),
            None => author(None, node.text_of("wp:comment_author")),
        });
        let item = ImportedComment { article: article.clone(), key, parent, author, content, published, status };
        Found::Item { item: ImportItem::Comment(item), line }
    }
}
