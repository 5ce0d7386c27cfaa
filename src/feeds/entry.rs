//! A feed entry as an article: key from its guid (id), title, link, content or summary, author,
//! categories as hashtags, the enclosure image, published and updated dates.

use feed_rs::model::{Entry, Feed as ParsedFeed, LinkTarget};
use sha2::{Digest, Sha256};
use url::Url;

use crate::domain::html;
use crate::domain::{ArticleDraft, Image, Key, SiteAuthor};
use crate::import::text::{author, hashtags};
use crate::store::import::ImportedArticle;

const MAX_TITLE: usize = 1_000;
const MAX_SUMMARY: usize = 5_000;

/// The key of an entry: `feed-` and the first 16 hex digits of the SHA-256 of its guid (Atom
/// `id`, JSON Feed `id`; feed-rs makes one from the link and title when there is none).
pub fn key(entry_id: &str) -> Key {
    Key::from_store(format!("feed-{}", short_hash(entry_id)))
}

/// The first 16 hex digits of the SHA-256 of `text`: a short stable name for a guid.
pub fn short_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Who wrote what names no author: the feed's own author, else its title, else its host.
pub fn feed_author(feed: &ParsedFeed, url: &Url) -> SiteAuthor {
    let name = feed
        .authors
        .iter()
        .find_map(|a| a.name.clone())
        .or_else(|| feed.title.as_ref().map(|t| plain(&t.content, 200)))
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| url.host_str().unwrap_or("feed").to_string());
    author(None, Some(&name))
}

/// Text of an HTML or plain-text field, at most `max` characters.
fn plain(text: &str, max: usize) -> String {
    html::sanitize(text).excerpt(max)
}

/// The page an entry is read on: its alternate link (not a link to its comments).
pub fn link(entry: &Entry) -> Option<Url> {
    let mut links = entry.links.iter().filter(|l| l.target.is_none());
    let alternate = links.clone().find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"));
    alternate.or_else(|| links.next()).and_then(|l| Url::parse(&l.href).ok()).filter(crate::domain::is_web)
}

/// The entry's own comment feed (`wfw:commentRss`), if it names one.
pub fn comments_feed(entry: &Entry) -> Option<String> {
    entry.links.iter().find(|l| l.target == Some(LinkTarget::CommentsFeed)).map(|l| l.href.clone())
}

fn image(entry: &Entry) -> Option<Image> {
    entry.media.iter().find_map(|media| {
        let content = media.content.iter().find(|c| {
            c.content_type.as_ref().is_some_and(|t| t.to_string().starts_with("image/"))
                || (c.content_type.is_none() && media.thumbnails.is_empty())
        });
        let url = content
            .and_then(|c| c.url.clone())
            .or_else(|| media.thumbnails.first().and_then(|t| Url::parse(&t.image.uri).ok()))?;
        crate::domain::is_web(&url).then(|| Image {
            url,
            alt: media.description.as_ref().map(|d| plain(&d.content, 1_500)).filter(|a| !a.is_empty()),
        })
    })
}

/// The article an entry is, or why it cannot be one.
pub fn article(entry: &Entry, fallback_author: &SiteAuthor) -> Result<ImportedArticle, String> {
    let url = link(entry).ok_or("no http(s) link")?;
    let body = entry.content.as_ref().and_then(|c| c.body.as_deref());
    let summary = entry.summary.as_ref().map(|s| s.content.as_str());
    let (content, summary) = match (body, summary) {
        (Some(body), summary) => (html::sanitize(body), summary.map(|s| plain(s, MAX_SUMMARY))),
        (None, Some(summary)) => (html::sanitize(summary), None),
        (None, None) => (html::sanitize(""), None),
    };
    let title = entry
        .title
        .as_ref()
        .map(|t| plain(&t.content, MAX_TITLE))
        .filter(|t| !t.is_empty())
        .or_else(|| Some(content.excerpt(80)).filter(|t| !t.is_empty()))
        .unwrap_or_else(|| url.to_string());
    let author = entry
        .authors
        .iter()
        .find_map(|a| a.name.as_deref().filter(|n| !n.trim().is_empty()))
        .map(|name| author(None, Some(name)))
        .unwrap_or_else(|| fallback_author.clone());
    let names: Vec<&str> = entry.categories.iter().map(|c| c.label.as_deref().unwrap_or(c.term.as_str())).collect();
    let published = entry.published.or(entry.updated);
    let updated = entry.updated.filter(|u| Some(*u) != published);
    let draft = ArticleDraft {
        title,
        url,
        content,
        summary: summary.filter(|s| !s.is_empty()),
        author,
        tags: hashtags(names.into_iter()),
        published,
        updated,
        image: image(entry),
        language: None,
        sensitive: false,
    };
    Ok(ImportedArticle { key: key(&entry.id), draft, by_site: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rss_item_becomes_an_article() {
        let rss = r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Harbour Gazette</title><link>https://gazette.example</link>
<item><title>The old ferry returns</title><link>https://gazette.example/ferry/</link>
<dc:creator><![CDATA[Hannah Editor]]></dc:creator><pubDate>Tue, 22 Sep 2015 03:00:00 +0000</pubDate>
<category><![CDATA[Harbour News]]></category><guid isPermaLink="false">https://gazette.example/?p=41</guid>
<description><![CDATA[Back after eleven years.]]></description>
<content:encoded><![CDATA[<p>The <strong>Margarethe</strong> is back.</p><script>x()</script>]]></content:encoded>
<enclosure url="https://gazette.example/ferry.jpg" length="1000" type="image/jpeg"/>
</item></channel></rss>"#;
        let feed = feed_rs::parser::parse(rss.as_bytes()).expect("parse");
        let url = Url::parse("https://gazette.example/feed/").expect("url");
        let item = article(&feed.entries[0], &feed_author(&feed, &url)).expect("article");
        assert_eq!(item.key, key("https://gazette.example/?p=41"));
        assert!(item.key.as_str().starts_with("feed-") && item.key.as_str().len() == 21);
        let draft = item.draft;
        assert_eq!(draft.title, "The old ferry returns");
        assert_eq!(draft.url.as_str(), "https://gazette.example/ferry/");
        assert_eq!(draft.content.as_str(), "<p>The <strong>Margarethe</strong> is back.</p>");
        assert_eq!(draft.summary.as_deref(), Some("Back after eleven years."));
        assert_eq!(draft.author.name.as_deref(), Some("Hannah Editor"));
        assert_eq!(draft.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(), ["HarbourNews"]);
        assert_eq!(draft.image.map(|i| i.url.to_string()).as_deref(), Some("https://gazette.example/ferry.jpg"));
        assert_eq!(draft.published.map(|p| p.to_rfc3339()).as_deref(), Some("2015-09-22T03:00:00+00:00"));
    }
}
