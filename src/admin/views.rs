//! What the admin API answers: articles and thread items as the site reads them back.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{Article, Comment, CommentAuthor, FollowedFrom, Image, Key, Origin, RemoteDetails, Status, Tag};
use crate::federation::render::Renderer;

#[derive(Serialize)]
pub struct AuthorView<'a> {
    /// The site's username (local), absent for remote authors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<&'a str>,
    pub name: &'a str,
    /// `@user@host` on the fediverse.
    pub handle: String,
    /// Where the author's profile is (their actor).
    pub url: String,
}

#[derive(Serialize)]
pub struct ArticleView<'a> {
    pub key: Key,
    pub ap_id: String,
    pub title: String,
    pub url: String,
    pub content: String,
    pub summary: Option<String>,
    pub author: AuthorView<'a>,
    pub tags: Vec<Tag>,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    pub image: Option<Image>,
    pub language: Option<String>,
    pub sensitive: bool,
    /// `published` or `deleted`.
    pub status: &'static str,
    /// A followed article's origin: the post's id and author (absent for the site's own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub followed: Option<&'a FollowedFrom>,
    /// Likes and boosts from the fediverse (in the thread endpoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reactions: Option<Reactions>,
    /// The line for the head of the article's page that names its author on link previews
    /// (`<meta name="fediverse:creator" content="@author@host">`); null for a followed article.
    pub fediverse_creator: Option<String>,
}

/// How many accounts liked and boosted an article or comment.
#[derive(Serialize, Clone, Copy, Default)]
pub struct Reactions {
    pub likes: i64,
    pub announces: i64,
}

#[derive(Serialize)]
pub struct CommentView<'a> {
    pub id: &'a Key,
    pub ap_id: String,
    pub parent: Option<&'a Key>,
    pub origin: Origin,
    pub status: Status,
    /// Null for a deleted comment.
    pub author: Option<AuthorView<'a>>,
    pub content: &'a str,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    /// 1 for a reply to the article.
    pub depth: usize,
    /// The comment on the site's page.
    pub url: String,
    /// Federated replies: the content warning, language, where the author's server shows it,
    /// and media (links only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<&'a RemoteDetails>,
    pub likes: i64,
    pub announces: i64,
}

#[derive(Serialize)]
pub struct ThreadView<'a> {
    pub article: ArticleView<'a>,
    pub comments: Vec<CommentView<'a>>,
}

pub fn article<'a>(render: &Renderer<'_>, article: &'a Article) -> ArticleView<'a> {
    let author = &article.author;
    ArticleView {
        key: article.key.clone(),
        ap_id: render.article_id(article),
        title: article.title.clone(),
        url: article.url.to_string(),
        content: article.content.as_str().to_string(),
        summary: article.summary.clone(),
        author: match &article.followed {
            Some(followed) => AuthorView {
                username: None,
                name: followed.author_name.as_deref().unwrap_or(&followed.author_ap_id),
                handle: followed.author_handle.clone().unwrap_or_default(),
                url: followed.author_ap_id.clone(),
            },
            None => AuthorView {
                username: author.site_username.as_deref(),
                name: &author.display_name,
                handle: render.handle(&author.username),
                url: render.urls.actor(&author.username),
            },
        },
        tags: article.tags.clone(),
        published: article.published,
        updated: article.updated,
        image: article.image.clone(),
        language: article.language.clone(),
        sensitive: article.sensitive,
        status: if article.deleted_at.is_some() { "deleted" } else { "published" },
        followed: article.followed.as_ref(),
        reactions: None,
        fediverse_creator: article
            .followed
            .is_none()
            .then(|| format!("<meta name=\"fediverse:creator\" content=\"{}\">", render.handle(&author.username))),
    }
}

pub fn comment<'a>(render: &Renderer<'_>, article: &Article, comment: &'a Comment, depth: usize) -> CommentView<'a> {
    let author = match (&comment.author, comment.is_deleted()) {
        (_, true) => None,
        (CommentAuthor::Local(actor), false) => Some(AuthorView {
            username: actor.site_username.as_deref(),
            name: &actor.display_name,
            handle: render.handle(&actor.username),
            url: render.urls.actor(&actor.username),
        }),
        (CommentAuthor::Remote { name, handle, url, ap_id }, false) => Some(AuthorView {
            username: None,
            name,
            handle: handle.clone(),
            url: if url.is_empty() { ap_id.clone() } else { url.clone() },
        }),
    };
    CommentView {
        id: &comment.key,
        ap_id: render.comment_id(&article.key, comment),
        parent: comment.parent.as_ref().map(|p| &p.key),
        origin: comment.origin,
        status: comment.status,
        author,
        content: comment.content.as_str(),
        published: comment.published,
        updated: comment.updated,
        depth,
        url: render.comment_url(article, comment),
        remote: comment.remote.as_ref().filter(|_| !comment.is_deleted()),
        likes: 0,
        announces: 0,
    }
}

/// The whole thread, with each item's likes and boosts (`reactions`, by comment id; None: the
/// article).
pub fn thread<'a>(
    render: &Renderer<'_>,
    article_value: &'a Article,
    comments: &'a [Comment],
    reactions: &HashMap<Option<i64>, Reactions>,
) -> ThreadView<'a> {
    let depths: HashMap<i64, usize> = crate::domain::thread::depths(comments);
    let mut article_view = article(render, article_value);
    article_view.reactions = Some(reactions.get(&None).copied().unwrap_or_default());
    ThreadView {
        article: article_view,
        comments: comments
            .iter()
            .map(|c| {
                let mut view = comment(render, article_value, c, depths.get(&c.id).copied().unwrap_or(1));
                let counts = reactions.get(&Some(c.id)).copied().unwrap_or_default();
                (view.likes, view.announces) = (counts.likes, counts.announces);
                view
            })
            .collect(),
    }
}
