//! Every id the service mints, in one place. Keys chosen by the site are percent-encoded into a
//! single path segment, so any key gives a valid, unambiguous URL.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::domain::Key;

/// Characters a path segment keeps as they are (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

#[derive(Debug, Clone)]
pub struct Urls {
    base: String,
}

fn segment(raw: &str) -> String {
    utf8_percent_encode(raw, SEGMENT).to_string()
}

impl Urls {
    /// `base` is the public URL without a trailing slash.
    pub fn new(base: String) -> Urls {
        Urls { base }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn actor(&self, username: &str) -> String {
        format!("{}/users/{}", self.base, segment(username))
    }

    /// The username of one of our actor ids, or None when `id` is not one.
    pub fn username_of(&self, id: &str) -> Option<String> {
        let rest = id.strip_prefix(&self.base)?.strip_prefix("/users/")?;
        let decoded = percent_encoding::percent_decode_str(rest).decode_utf8().ok()?;
        (!decoded.is_empty() && !decoded.contains(['/', '#', '?'])).then(|| decoded.into_owned())
    }

    pub fn key_id(&self, username: &str) -> String {
        format!("{}#main-key", self.actor(username))
    }

    pub fn inbox(&self, username: &str) -> String {
        format!("{}/inbox", self.actor(username))
    }

    pub fn outbox(&self, username: &str) -> String {
        format!("{}/outbox", self.actor(username))
    }

    pub fn followers(&self, username: &str) -> String {
        format!("{}/followers", self.actor(username))
    }

    pub fn following(&self, username: &str) -> String {
        format!("{}/following", self.actor(username))
    }

    pub fn shared_inbox(&self) -> String {
        format!("{}/inbox", self.base)
    }

    /// An activity the outbox sent (Create, Update, Delete, Accept, Follow, Undo).
    pub fn activity(&self, uuid: &str) -> String {
        format!("{}/activities/{uuid}", self.base)
    }

    /// The uuid of one of our activity ids, or None when `id` is not one.
    pub fn activity_uuid<'a>(&self, id: &'a str) -> Option<&'a str> {
        id.strip_prefix(&self.base)?.strip_prefix("/activities/").filter(|u| !u.is_empty() && !u.contains('/'))
    }

    pub fn article(&self, key: &Key) -> String {
        format!("{}/articles/{}", self.base, segment(key.as_str()))
    }

    /// The article key, and comment key, of one of our thread item ids (an article's or a
    /// comment's), or None when `id` is not one.
    pub fn item_of(&self, id: &str) -> Option<(String, Option<String>)> {
        let rest = id.strip_prefix(&self.base)?.strip_prefix("/articles/")?;
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|d| d.into_owned());
        match rest.split('/').collect::<Vec<_>>()[..] {
            [article] if !article.is_empty() => Some((decode(article)?, None)),
            [article, "comments", comment] if !article.is_empty() && !comment.is_empty() => {
                Some((decode(article)?, Some(decode(comment)?)))
            }
            _ => None,
        }
    }

    pub fn article_activity(&self, key: &Key) -> String {
        format!("{}/activity", self.article(key))
    }

    pub fn context(&self, key: &Key) -> String {
        format!("{}/context", self.article(key))
    }

    pub fn comment(&self, article: &Key, key: &Key) -> String {
        format!("{}/comments/{}", self.article(article), segment(key.as_str()))
    }

    /// The `replies` collection of an article (`comment` None) or of a comment.
    pub fn replies(&self, article: &Key, comment: Option<&Key>) -> String {
        match comment {
            None => format!("{}/replies", self.article(article)),
            Some(c) => format!("{}/replies", self.comment(article, c)),
        }
    }

    /// The thread as a page (`public::page`): where an imported article without a link of its
    /// own points.
    pub fn embed_page(&self, key: &Key) -> String {
        format!("{}/embed/articles/{}", self.base, segment(key.as_str()))
    }

    pub fn tag(&self, name: &str) -> String {
        format!("{}/tags/{}", self.base, segment(name))
    }

    pub fn nodeinfo(&self) -> String {
        format!("{}/nodeinfo/2.1", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_single_segments() {
        let urls = Urls::new("https://news.example".into());
        let key = Key::parse("2015/09 peace-treaty?x=ü").expect("key");
        assert_eq!(urls.article(&key), "https://news.example/articles/2015%2F09%20peace-treaty%3Fx%3D%C3%BC");
    }
}
