//! The admin API's request bodies as the site sends them, and their parsing into checked drafts.
//! Every error names the field at fault.

use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;
use url::Url;

use super::{html, ArticleDraft, CommentDraft, Image, Key, SiteAuthor, Tag};

const MAX_TITLE: usize = 1_000;
const MAX_NAME: usize = 200;
const MAX_SUMMARY: usize = 5_000;
const MAX_TAGS: usize = 50;
const MAX_ALT: usize = 1_500;

#[derive(Debug, Deserialize)]
pub struct AuthorInput {
    pub username: String,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ImageInput {
    pub url: String,
    pub alt: Option<String>,
}

/// `PUT /api/admin/articles/{key}`.
#[derive(Debug, Deserialize)]
pub struct ArticleInput {
    pub title: String,
    pub url: String,
    pub content: String,
    pub summary: Option<String>,
    pub author: AuthorInput,
    #[serde(default)]
    pub tags: Vec<String>,
    pub published: Option<String>,
    pub updated: Option<String>,
    pub image: Option<ImageInput>,
    pub language: Option<String>,
    #[serde(default)]
    pub sensitive: bool,
}

/// How a comment's `content` is to be read.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ContentFormat {
    Html,
    Text,
}

/// `PUT /api/admin/articles/{key}/comments/{ckey}`.
#[derive(Debug, Deserialize)]
pub struct CommentInput {
    pub author: AuthorInput,
    pub content: String,
    pub parent: Option<String>,
    pub published: Option<String>,
    /// `html` or `text`; guessed from the content when absent.
    pub format: Option<ContentFormat>,
}

impl ArticleInput {
    pub fn parse(self) -> Result<ArticleDraft, String> {
        let title = non_blank("title", &self.title, MAX_TITLE)?;
        let summary = match self.summary.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(non_blank("summary", s, MAX_SUMMARY)?),
        };
        let tags = self.tags.iter().map(|t| Tag::parse(t)).collect::<Result<Vec<_>, _>>()?;
        if tags.len() > MAX_TAGS {
            return Err(format!("tags: at most {MAX_TAGS}"));
        }
        let image = match self.image {
            None => None,
            Some(img) => Some(Image {
                url: web_url("image.url", &img.url)?,
                alt: match img.alt.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(alt) => Some(non_blank("image.alt", alt, MAX_ALT)?),
                },
            }),
        };
        let language = match self.language {
            None => None,
            Some(lang) => Some(language_tag(&lang)?),
        };
        Ok(ArticleDraft {
            title,
            url: web_url("url", &self.url)?,
            content: html::sanitize(&self.content),
            summary,
            author: self.author.parse("author")?,
            tags,
            published: timestamp("published", self.published.as_deref())?,
            updated: timestamp("updated", self.updated.as_deref())?,
            image,
            language,
            sensitive: self.sensitive,
        })
    }
}

impl CommentInput {
    pub fn parse(self) -> Result<CommentDraft, String> {
        if self.content.trim().is_empty() {
            return Err("content must not be empty".into());
        }
        let format = self.format.unwrap_or(if html::looks_like_html(&self.content) {
            ContentFormat::Html
        } else {
            ContentFormat::Text
        });
        let content = match format {
            ContentFormat::Html => html::sanitize(&self.content),
            ContentFormat::Text => html::text_to_html(&self.content),
        };
        if content.excerpt(1).is_empty() {
            return Err("content has no text once sanitised".into());
        }
        let parent = match self.parent.as_deref() {
            None => None,
            Some(p) => Some(Key::parse(p).map_err(|e| format!("parent: {e}"))?),
        };
        Ok(CommentDraft {
            author: self.author.parse("author")?,
            content,
            parent,
            published: timestamp("published", self.published.as_deref())?,
        })
    }
}

impl AuthorInput {
    fn parse(self, field: &str) -> Result<SiteAuthor, String> {
        let username = non_blank(&format!("{field}.username"), &self.username, MAX_NAME)?;
        let name = match self.name.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(n) => Some(non_blank(&format!("{field}.name"), n, MAX_NAME)?),
        };
        Ok(SiteAuthor { username, name })
    }
}

fn non_blank(field: &str, value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{field} must not be empty"));
    }
    if value.chars().count() > max {
        return Err(format!("{field} is longer than {max} characters"));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(format!("{field} must not contain control characters"));
    }
    Ok(value.to_string())
}

fn web_url(field: &str, raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("{field} is not a URL: {e}"))?;
    if !crate::domain::is_web(&url) || url.host_str().is_none() {
        return Err(format!("{field} must be an http(s) URL"));
    }
    Ok(url)
}

/// An RFC 3339 timestamp between the years 1000 and 9999 (in UTC): both databases store and
/// sort those alike.
fn timestamp(field: &str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    raw.map(|r| {
        let t = DateTime::parse_from_rfc3339(r.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| format!("{field} must be an RFC 3339 timestamp such as 2015-09-22T06:45:00+03:00"))?;
        if (1000..=9999).contains(&t.year()) {
            Ok(t)
        } else {
            Err(format!("{field} must fall between the years 1000 and 9999"))
        }
    })
    .transpose()
}

/// A BCP 47 language tag in its simple form: `en`, `pt-BR`, `zh-Hant`.
fn language_tag(raw: &str) -> Result<String, String> {
    let mut parts = raw.trim().split('-');
    let primary = parts.next().unwrap_or_default();
    let primary_ok = (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_alphabetic());
    let rest_ok = parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if primary_ok && rest_ok {
        Ok(raw.trim().to_string())
    } else {
        Err(format!("language '{raw}' is not a language tag such as en or pt-BR"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(json: serde_json::Value) -> Result<ArticleDraft, String> {
        serde_json::from_value::<ArticleInput>(json).map_err(|e| e.to_string())?.parse()
    }

    #[test]
    fn errors_name_the_field() {
        let base = serde_json::json!({"title": "T", "url": "https://news.example/a", "content": "<p>x</p>", "author": {"username": "desk"}});
        assert!(article(base.clone()).is_ok());
        let mut bad = base.clone();
        bad["url"] = "javascript:alert(1)".into();
        assert!(article(bad).unwrap_err().contains("url"));
        let mut bad = base.clone();
        bad["tags"] = serde_json::json!(["ok", "not ok"]);
        assert!(article(bad).unwrap_err().contains("not ok"));
        let mut bad = base.clone();
        bad["published"] = "yesterday".into();
        assert!(article(bad).unwrap_err().contains("published"));
        let mut bad = base.clone();
        bad["language"] = "english!".into();
        assert!(article(bad).unwrap_err().contains("language"));
        for year_out_of_range in ["0000-06-01T00:00:00Z", "9999-12-31T23:00:00-05:00"] {
            let mut bad = base.clone();
            bad["published"] = year_out_of_range.into();
            assert!(article(bad).unwrap_err().contains("between the years"), "{year_out_of_range}");
        }
        let mut bad = base;
        bad["image"] = serde_json::json!({ "url": "https://news.example/i.jpg", "alt": "a\u{0}b" });
        assert!(article(bad).unwrap_err().contains("image.alt"));
    }
}
