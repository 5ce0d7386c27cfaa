//! A Disqus export (Admin > Moderate > Export): each `<thread>` that has posts becomes an
//! article keyed `disqus-{dsq:id}`, each `<post>` a comment keyed `disqus-{dsq:id}`, threaded
//! by `<parent dsq:id>`. Threads come first in the file and posts after, each naming its thread;
//! an article is written just before its first post, so pages nobody commented on (Disqus keeps
//! a thread for every page it was loaded on) are not imported.
//!
//! As the export marks them: deleted posts become placeholders that keep their replies, spam is
//! not imported, posts marked not approved are held; deleted threads are not imported.

use std::collections::HashMap;
use std::io::BufRead;

use url::Url;

use super::source::Source;
use super::text::{self, author};
use super::xml::{Node, Walk, XmlFile};
use super::{FileError, Found, Sink, Stopped};
use crate::domain::html;
use crate::domain::{ArticleDraft, Key, SiteAuthor};
use crate::store::import::{ImportItem, ImportedArticle, ImportedComment, ImportedStatus};

/// A thread waiting for its first post, or the fact that it was written (or refused).
enum Thread {
    Waiting(Box<ImportedArticle>, u64),
    Written,
    Refused,
}

pub fn parse<R: BufRead>(source: Source<R>, sink: &mut Sink) -> Result<(), FileError> {
    let mut xml = XmlFile::new(source);
    let root = xml.root()?;
    if root != "disqus" {
        return Err(FileError {
            line: xml.line(),
            message: format!("the root element is <{root}>, not a Disqus export's <disqus>"),
        });
    }
    let mut threads: HashMap<String, Thread> = HashMap::new();
    loop {
        xml.mark();
        match xml.next()? {
            Walk::Start(start, line) => {
                let node = xml.read_node(&start, line)?;
                let result = match node.name.as_str() {
                    "thread" => thread(&node, &mut threads, sink),
                    "post" => post(&node, &mut threads, sink),
                    _ => Ok(()),
                };
                result.map_err(|Stopped| FileError { line, message: "the import stopped".into() })?;
            }
            Walk::Empty(..) => {}
            Walk::End | Walk::Eof => break,
        }
    }
    for entry in threads.into_values() {
        if let Thread::Waiting(_, line) = entry {
            sink(Found::Skip { reason: "a Disqus thread without posts".into(), line })
                .map_err(|Stopped| FileError { line, message: "the import stopped".into() })?;
        }
    }
    Ok(())
}

fn dsq_id(node: &Node) -> Option<&str> {
    node.attribute("dsq:id").map(str::trim).filter(|id| !id.is_empty())
}

fn flag(node: &Node, name: &str) -> bool {
    node.text_of(name) == Some("true")
}

fn person(node: &Node) -> SiteAuthor {
    let Some(who) = node.child("author") else { return author(None, None) };
    let username = who.text_of("username").filter(|_| !flag(who, "isAnonymous"));
    author(username, who.text_of("name"))
}

fn thread(node: &Node, threads: &mut HashMap<String, Thread>, sink: &mut Sink) -> Result<(), Stopped> {
    let line = node.line;
    let Some(id) = dsq_id(node) else {
        return sink(Found::Invalid { message: "a <thread> without dsq:id".into(), line });
    };
    if flag(node, "isDeleted") {
        threads.insert(id.to_string(), Thread::Refused);
        return sink(Found::Skip { reason: "a deleted Disqus thread".into(), line });
    }
    match article(node, id) {
        Ok(article) => {
            threads.insert(id.to_string(), Thread::Waiting(Box::new(article), line));
            Ok(())
        }
        Err(message) => {
            threads.insert(id.to_string(), Thread::Refused);
            sink(Found::Invalid { message, line })
        }
    }
}

fn article(node: &Node, id: &str) -> Result<ImportedArticle, String> {
    let key = Key::parse(&format!("disqus-{id}")).map_err(|e| format!("dsq:id: {e}"))?;
    let link = node.text_of("link").ok_or("the thread has no <link>")?;
    let url = Url::parse(link).ok().filter(crate::domain::is_web);
    let url = url.ok_or_else(|| format!("<link> '{link}' is not an http(s) URL"))?;
    let published = node.text_of("createdAt").and_then(text::date).ok_or("the thread has no <createdAt> date")?;
    let content = html::sanitize(node.text_of("message").unwrap_or(""));
    let title = node.text_of("title").map(|t| t.chars().take(1_000).collect()).unwrap_or_else(|| link.to_string());
    let draft = ArticleDraft {
        title,
        url,
        content,
        summary: None,
        author: person(node),
        tags: Vec::new(),
        published: Some(published),
        updated: None,
        image: None,
        language: None,
        sensitive: false,
    };
    Ok(ImportedArticle { key, draft, by_site: node.child("author").is_none() })
}

fn post(node: &Node, threads: &mut HashMap<String, Thread>, sink: &mut Sink) -> Result<(), Stopped> {
    let line = node.line;
    let skip = |reason: &str| Found::Skip { reason: reason.to_string(), line };
    let Some(id) = dsq_id(node) else {
        return sink(Found::Invalid { message: "a <post> without dsq:id".into(), line });
    };
    let Some(thread_id) = node.child("thread").and_then(dsq_id) else {
        return sink(Found::Invalid { message: format!("post {id} names no <thread dsq:id>"), line });
    };
    if flag(node, "isSpam") {
        return sink(skip("spam"));
    }
    let status = if flag(node, "isDeleted") {
        ImportedStatus::Deleted
    } else if node.text_of("isApproved") == Some("false") {
        ImportedStatus::Held
    } else {
        ImportedStatus::Visible
    };
    let Some(published) = node.text_of("createdAt").and_then(text::date) else {
        return sink(Found::Invalid { message: format!("post {id} has no <createdAt> date"), line });
    };
    let content = html::sanitize(node.text_of("message").unwrap_or(""));
    if status != ImportedStatus::Deleted && content.excerpt(1).is_empty() {
        return sink(skip("no text"));
    }
    let (Ok(key), Ok(article)) = (Key::parse(&format!("disqus-{id}")), Key::parse(&format!("disqus-{thread_id}")))
    else {
        return sink(Found::Invalid {
            message: format!("post {id}: its id or its thread's is not a usable key"),
            line,
        });
    };
    let parent = node.child("parent").and_then(dsq_id).and_then(|p| Key::parse(&format!("disqus-{p}")).ok());
    if let Some(entry) = threads.get_mut(thread_id) {
        if let Thread::Waiting(..) = entry {
            if let Thread::Waiting(thread, thread_line) = std::mem::replace(entry, Thread::Written) {
                sink(Found::Item { item: ImportItem::Article(thread), line: thread_line })?;
            }
        }
    }
    let author = (status != ImportedStatus::Deleted).then(|| person(node));
    let item = ImportedComment { article, key, parent, author, content, published, status };
    sink(Found::Item { item: ImportItem::Comment(item), line })
}
