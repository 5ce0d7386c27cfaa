//! What the three formats share once a record is read: HTML as exporters write it, hashtags
//! from category names, dates, names.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::domain::html::{self, SafeHtml};
use crate::domain::{SiteAuthor, Tag};

/// Longest name kept for an author (as the admin API takes).
const MAX_NAME: usize = 200;
/// As many hashtags as the admin API takes.
const MAX_TAGS: usize = 50;

/// HTML as WordPress stores it: paragraphs are blank lines and line breaks are `<br>`s, added
/// when the page is shown (its `wpautop`). Text with block markup of its own is kept as is.
pub fn wordpress_html(raw: &str) -> SafeHtml {
    let raw = raw.replace("\r\n", "\n");
    if raw.contains("<p>") || raw.contains("<p ") || !raw.contains('\n') {
        return html::sanitize(&raw);
    }
    let mut out = String::new();
    for block in raw.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        let starts_block = ["<blockquote", "<ul", "<ol", "<h", "<pre", "<div", "<figure", "<table", "<!--"]
            .iter()
            .any(|tag| block.starts_with(tag));
        if starts_block {
            out.push_str(block);
        } else {
            out.push_str("<p>");
            out.push_str(&block.replace('\n', "<br>"));
            out.push_str("</p>");
        }
    }
    html::sanitize(&out)
}

/// A hashtag made of a category's name: its letters, digits and `_` (words joined), or None.
pub fn hashtag(name: &str) -> Option<Tag> {
    let joined: String = name.chars().filter(|c| c.is_alphanumeric() || *c == '_').collect();
    Tag::parse(&joined).ok()
}

/// The hashtags of some category names: each once, at most as many as an article takes.
pub fn hashtags<'a>(names: impl Iterator<Item = &'a str>) -> Vec<Tag> {
    let mut tags: Vec<Tag> = Vec::new();
    for tag in names.filter_map(hashtag) {
        if tags.len() < MAX_TAGS && !tags.iter().any(|t| t.as_str().to_lowercase() == tag.as_str().to_lowercase()) {
            tags.push(tag);
        }
    }
    tags
}

/// An RFC 3339 date (`2015-09-22T06:00:00+03:00`), or one without a zone read as UTC.
pub fn date(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| mysql_date(raw))
        .or_else(|| DateTime::parse_from_rfc2822(raw).map(|d| d.with_timezone(&Utc)).ok())
}

/// `2015-09-22 03:00:00` as WordPress writes it (read as UTC); WordPress's zero date is None.
pub fn mysql_date(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if raw.starts_with("0000") {
        return None;
    }
    NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .map(|d| d.and_utc())
}

/// A site author from a name (and the site's own username for them, when it has one): names
/// are trimmed and cut to the length the admin API takes; a blank name is "Anonymous".
pub fn author(username: Option<&str>, name: Option<&str>) -> SiteAuthor {
    let cut = |s: &str| s.trim().chars().take(MAX_NAME).collect::<String>();
    let name = name.map(cut).filter(|n| !n.is_empty());
    let username = username.map(cut).filter(|u| !u.is_empty());
    match (username, name) {
        (Some(username), name) => SiteAuthor { username, name },
        (None, Some(name)) => SiteAuthor { username: name.clone(), name: Some(name) },
        (None, None) => SiteAuthor { username: "Anonymous".into(), name: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wordpress_paragraphs_become_html() {
        let html = wordpress_html("First line\nsecond line\n\n<blockquote>quoted</blockquote>\n\nLast");
        assert_eq!(html.as_str(), "<p>First line<br>second line</p><blockquote>quoted</blockquote><p>Last</p>");
        assert_eq!(wordpress_html("<p>Already</p>\n<p>html</p>").as_str(), "<p>Already</p>\n<p>html</p>");
    }

    #[test]
    fn categories_become_hashtags_once() {
        let tags = hashtags(["World News", "world-news", "Россия", "!!!"].into_iter());
        let names: Vec<&str> = tags.iter().map(Tag::as_str).collect();
        assert_eq!(names, ["WorldNews", "Россия"]);
    }

    #[test]
    fn dates_in_each_exporters_form() {
        let expected = "2015-09-22T03:00:00Z";
        for raw in ["2015-09-22T06:00:00+03:00", "2015-09-22 03:00:00", "Tue, 22 Sep 2015 03:00:00 +0000"] {
            assert_eq!(
                date(raw).map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).as_deref(),
                Some(expected)
            );
        }
        assert_eq!(mysql_date("0000-00-00 00:00:00"), None);
    }
}
