//! Builds what the fediverse sees, one method per document: actors, articles, comments,
//! tombstones, the activities delivered and the outbox's Creates, collections and their pages
//! (the types are in [`super::documents`]). Pure functions of stored data and configuration.

use std::collections::BTreeMap;

use activitypub_federation::kinds::activity::{AcceptType, CreateType, FollowType, UndoType};
use activitypub_federation::kinds::actor::PersonType;
use activitypub_federation::kinds::link::MentionType;
use activitypub_federation::kinds::object::{ArticleType, DocumentType, NoteType, TombstoneType};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::documents::activities::Follow;
use super::documents::actors::{ActorType, Endpoints, PublicKey};
use super::documents::objects::{Attachment, HashtagType};
use super::documents::{self, Activity, ActivityType, First, Image, Object};
use super::documents::{OrderedCollection, OrderedCollectionPage};
use super::documents::{Post, PostType, Tag, Timestamp, Tombstone};
use super::urls::{Urls, PUBLIC};
use crate::config::{Config, ObjectType};
use crate::domain::html::escape;
use crate::domain::{ActorKind, Article, Comment, Key, LocalActor};

/// What a renderer needs besides the stored data.
pub struct Renderer<'a> {
    pub urls: &'a Urls,
    pub config: &'a Config,
}

/// The first page of a `replies` collection, embedded in the object as Mastodon does.
pub struct RepliesPreview {
    pub item_ids: Vec<String>,
    pub has_more: bool,
}

/// Page size of every collection.
pub const PAGE_SIZE: i64 = 20;

impl Renderer<'_> {
    pub fn handle(&self, username: &str) -> String {
        format!("@{username}@{}", self.config.handle_domain())
    }

    /// A local actor: the site (configured type, discoverable) or a commenter (Person), with
    /// the domains whose pages may name them as author (none: no `attributionDomains`).
    pub fn actor(&self, actor: &LocalActor, attribution_domains: &[String]) -> documents::Actor {
        let urls = self.urls;
        let id = urls.actor(&actor.username);
        let (kind, name, summary, discoverable) = match actor.kind {
            ActorKind::Site => (
                self.config.site_actor_type.into(),
                self.config.site_name.clone(),
                self.config
                    .site_summary
                    .clone()
                    .unwrap_or_else(|| format!("Articles and reader discussions of {}", self.config.site_name)),
                true,
            ),
            ActorKind::Person => (
                ActorType::Person(PersonType::Person),
                actor.display_name.clone(),
                format!("Comments on {}", self.config.site_name),
                false,
            ),
        };
        documents::Actor {
            id: id.clone(),
            kind,
            preferred_username: actor.username.clone(),
            name,
            summary: format!("<p>{}</p>", escape(&summary)),
            // A commenter has no page of their own on the site: their profile link is the site.
            url: self.config.site_url().to_string(),
            inbox: urls.inbox(&actor.username),
            outbox: urls.outbox(&actor.username),
            followers: urls.followers(&actor.username),
            following: urls.following(&actor.username),
            endpoints: Endpoints { shared_inbox: urls.shared_inbox() },
            manually_approves_followers: false,
            discoverable,
            indexable: discoverable,
            published: Timestamp(actor.created_at),
            public_key: actor.public_key_pem.as_ref().map(|pem| PublicKey {
                id: urls.key_id(&actor.username),
                owner: Some(id),
                public_key_pem: pem.clone(),
            }),
            attribution_domains: attribution_domains.to_vec(),
            icon: match (actor.kind, &self.config.site_icon) {
                (ActorKind::Site, Some(icon)) => Some(Image::new(icon, Some(media_type(icon.path())))),
                _ => None,
            },
        }
    }

    /// A `replies` collection with its first page embedded.
    fn replies_value(&self, collection_id: String, preview: RepliesPreview) -> OrderedCollection<String> {
        let first = OrderedCollectionPage {
            id: format!("{collection_id}?page=1"),
            kind: Default::default(),
            part_of: collection_id.clone(),
            total_items: None,
            ordered_items: preview.item_ids,
            next: preview.has_more.then(|| format!("{collection_id}?page=2")),
            prev: None,
            attributed_to: None,
        };
        OrderedCollection {
            id: collection_id,
            kind: Default::default(),
            total_items: None,
            first: Some(First::Page(Box::new(first))),
            last: None,
            attributed_to: None,
        }
    }

    /// The type articles are published as.
    pub fn article_type(&self) -> &'static str {
        match self.config.object_type {
            ObjectType::Note => "Note",
            ObjectType::Article => "Article",
        }
    }

    /// An article: a Note (its title, summary and link as content) or an Article (full
    /// content), attributed to the site actor so that followers' servers accept it.
    pub fn article(&self, article: &Article, site: &LocalActor, replies: RepliesPreview) -> Post {
        let urls = self.urls;
        let id = urls.article(&article.key);
        let hashtags = article
            .tags
            .iter()
            .map(|t| Tag::Hashtag {
                kind: HashtagType::Hashtag,
                href: urls.tag(t.as_str()),
                name: format!("#{}", t.as_str()),
            })
            .collect();
        let tag_line = article
            .tags
            .iter()
            .map(|t| {
                format!(
                    r#"<a href="{}" class="mention hashtag" rel="tag">#<span>{}</span></a>"#,
                    escape(&urls.tag(t.as_str())),
                    escape(t.as_str())
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
        let tag_line = if tag_line.is_empty() { String::new() } else { format!("<p>{tag_line}</p>") };
        let link = format!(r#"<a href="{0}">{0}</a>"#, escape(article.url.as_str()));
        let byline = format!("By {}", escape(&article.author.display_name));
        let teaser = article.summary.clone().unwrap_or_else(|| article.content.excerpt(400));
        let (kind, content) = match self.config.object_type {
            ObjectType::Note => (
                PostType::Note(NoteType::Note),
                format!(
                    r#"<p><strong>{title}</strong></p><p>{teaser}</p><p>{byline} · {link}</p>{tag_line}"#,
                    title = escape(&article.title),
                    teaser = escape(&teaser),
                ),
            ),
            ObjectType::Article => (
                PostType::Article(ArticleType::Article),
                format!("{}<p>{byline} · {link}</p>{tag_line}", article.content.as_str()),
            ),
        };
        let (name, summary) = match (self.config.object_type, article.sensitive) {
            (ObjectType::Article, _) => (Some(article.title.clone()), Some(escape(&teaser))),
            // A sensitive Note: its summary is the content warning.
            (ObjectType::Note, true) => (None, Some(escape(article.summary.as_deref().unwrap_or(&article.title)))),
            (ObjectType::Note, false) => (None, None),
        };
        Post {
            id,
            kind,
            attributed_to: urls.actor(&site.username),
            in_reply_to: None,
            to: vec![PUBLIC.to_string()],
            cc: vec![urls.followers(&site.username)],
            name,
            summary,
            content_map: in_language(article.language.as_deref(), &content),
            content,
            url: article.url.to_string(),
            published: Timestamp(article.published),
            updated: article.updated.as_ref().map(Timestamp::from),
            sensitive: article.sensitive,
            tag: hashtags,
            attachment: article
                .image
                .iter()
                .map(|image| Attachment {
                    kind: DocumentType::Document,
                    media_type: media_type(image.url.path()),
                    url: image.url.to_string(),
                    name: image.alt.clone(),
                })
                .collect(),
            image: article.image.as_ref().map(|image| Image::new(&image.url, None)),
            context: urls.context(&article.key),
            replies: self.replies_value(urls.replies(&article.key, None), replies),
        }
    }

    /// An article's ActivityPub id: ours, or a followed article's own on its server.
    pub fn article_id(&self, article: &Article) -> String {
        match &article.followed {
            Some(followed) => followed.ap_id.clone(),
            None => self.urls.article(&article.key),
        }
    }

    /// The ActivityPub id of a thread item: minted from keys for local comments, the remote
    /// server's own for federated replies.
    pub fn comment_id(&self, article: &Key, comment: &Comment) -> String {
        self.item_id(article, &comment.key, comment.remote_ap_id.as_deref())
    }

    /// The id of a thread item known by its key (and its own id, for a federated reply).
    pub fn item_id(&self, article: &Key, key: &Key, remote_ap_id: Option<&str>) -> String {
        remote_ap_id.map(str::to_string).unwrap_or_else(|| self.urls.comment(article, key))
    }

    /// The id of what a comment answers: its parent comment, or the article (a followed
    /// article's own id on its server).
    pub fn in_reply_to(&self, article: &Article, comment: &Comment) -> String {
        match (&comment.parent, &article.followed) {
            (None, _) => self.article_id(article),
            (Some(p), _) => self.item_id(&article.key, &p.key, p.remote_ap_id.as_deref()),
        }
    }

    /// The site page of a comment: the article's page with a `#comment-<key>` fragment.
    pub fn comment_url(&self, article: &Article, comment: &Comment) -> String {
        let mut url = article.url.clone();
        url.set_fragment(Some(&format!("comment-{}", comment.key.as_str())));
        url.to_string()
    }

    /// A local comment: a Note by its commenter, in reply to its parent, mentioning the
    /// parent's author when that author is on another server.
    pub fn comment(&self, article: &Article, comment: &Comment, author: &LocalActor, replies: RepliesPreview) -> Post {
        let urls = self.urls;
        let mut content = String::new();
        let mut tags = Vec::new();
        let mut cc = vec![urls.followers(&author.username)];
        if let Some((author_id, handle)) = answered_remote_author(article, comment) {
            let shown = handle.split('@').find(|s| !s.is_empty()).unwrap_or(&handle).to_string();
            content.push_str(&format!(
                r#"<p><span class="h-card"><a href="{}" class="u-url mention">@<span>{}</span></a></span></p>"#,
                escape(&author_id),
                escape(&shown)
            ));
            tags.push(Tag::Mention { kind: MentionType::Mention, href: author_id.clone(), name: handle });
            cc.push(author_id);
        }
        content.push_str(comment.content.as_str());
        Post {
            id: self.comment_id(&article.key, comment),
            kind: PostType::Note(NoteType::Note),
            attributed_to: urls.actor(&author.username),
            in_reply_to: Some(self.in_reply_to(article, comment)),
            to: vec![PUBLIC.to_string()],
            cc,
            name: None,
            summary: None,
            content_map: in_language(article.language.as_deref(), &content),
            content,
            url: self.comment_url(article, comment),
            published: Timestamp(comment.published),
            updated: comment.updated.as_ref().map(Timestamp::from),
            sensitive: false,
            tag: tags,
            attachment: vec![],
            image: None,
            context: urls.context(&article.key),
            replies: self.replies_value(urls.replies(&article.key, Some(&comment.key)), replies),
        }
    }

    /// What a deleted article or comment answers (with 410). A deleted comment keeps its place
    /// in the thread: `inReplyTo`, `context` and `replies` stay, so its replies can be found.
    pub fn tombstone(&self, id: String, deleted: Option<&DateTime<Utc>>, former_type: &'static str) -> Tombstone {
        Tombstone {
            id,
            kind: TombstoneType::Tombstone,
            former_type,
            deleted: deleted.map(Timestamp::from),
            in_reply_to: None,
            context: None,
            replies: None,
        }
    }

    pub fn comment_tombstone(
        &self,
        article: &Article,
        comment: &Comment,
        deleted: Option<&DateTime<Utc>>,
    ) -> Tombstone {
        Tombstone {
            in_reply_to: Some(self.in_reply_to(article, comment)),
            context: Some(self.urls.context(&article.key)),
            replies: Some(self.urls.replies(&article.key, Some(&comment.key))),
            ..self.tombstone(self.comment_id(&article.key, comment), deleted, "Note")
        }
    }

    /// An activity by the local actor `username` about `object`, addressed publicly, to the
    /// actor's followers and to anyone `mentioned`.
    pub fn public_activity(
        &self,
        id: String,
        kind: ActivityType,
        username: &str,
        published: Option<Timestamp>,
        object: Object,
        mentioned: Vec<String>,
    ) -> Activity {
        let mut cc = vec![self.urls.followers(username)];
        cc.extend(mentioned);
        Activity { id, kind, actor: self.urls.actor(username), published, to: vec![PUBLIC.to_string()], cc, object }
    }

    /// The Create of an article, as the outbox lists it.
    pub fn create(&self, article: &Article, site: &LocalActor, object: Post) -> Activity {
        self.public_activity(
            self.urls.article_activity(&article.key),
            ActivityType::Create(CreateType::Create),
            &site.username,
            Some(Timestamp(article.published)),
            Object::Post(Box::new(object)),
            vec![],
        )
    }

    /// A Follow of `object` by `actor` (ids), addressed `to` the one followed when sent.
    pub fn follow(&self, id: String, actor: String, object: String, to: Vec<String>) -> Follow {
        Follow { id, kind: FollowType::Follow, actor, object, to }
    }

    /// The Accept, by the local actor `followed`, of the Follow `follow_id` by `follower`.
    pub fn accept(&self, uuid: &str, followed: &str, follower: &str, follow_id: &str) -> Activity {
        let followed = self.urls.actor(followed);
        let follow = self.follow(follow_id.to_string(), follower.to_string(), followed.clone(), vec![]);
        self.about_follow(uuid, ActivityType::Accept(AcceptType::Accept), followed, follower, follow)
    }

    /// The Undo, by the local actor `username` (the site), of its Follow `follow_id` of `followed`.
    pub fn undo_follow(&self, uuid: &str, username: &str, follow_id: &str, followed: &str) -> Activity {
        let site = self.urls.actor(username);
        let follow = self.follow(follow_id.to_string(), site.clone(), followed.to_string(), vec![]);
        self.about_follow(uuid, ActivityType::Undo(UndoType::Undo), site, followed, follow)
    }

    /// An activity by `actor` about `follow`, addressed to the other side of it alone.
    fn about_follow(&self, uuid: &str, kind: ActivityType, actor: String, to: &str, follow: Follow) -> Activity {
        Activity {
            id: self.urls.activity(uuid),
            kind,
            actor,
            published: None,
            to: vec![to.to_string()],
            cc: vec![],
            object: Object::Follow(follow),
        }
    }

    /// A collection given by its size alone (a commenter's outbox, followers, following).
    pub fn collection_count(&self, id: String, total: i64) -> OrderedCollection {
        OrderedCollection {
            id,
            kind: Default::default(),
            total_items: Some(total),
            first: None,
            last: None,
            attributed_to: None,
        }
    }

    /// A paged `OrderedCollection`'s front: its size and links to its first and last pages.
    pub fn collection(&self, id: &str, total: i64) -> OrderedCollection {
        OrderedCollection {
            first: (total > 0).then(|| First::Link(format!("{id}?page=1"))),
            last: (total > 0).then(|| format!("{id}?page={}", last_page(total))),
            ..self.collection_count(id.to_string(), total)
        }
    }

    /// Page `page` (from 1) of a collection of `total` items.
    pub fn collection_page<T: Serialize>(
        &self,
        id: &str,
        page: i64,
        total: i64,
        items: Vec<T>,
    ) -> OrderedCollectionPage<T> {
        OrderedCollectionPage {
            id: format!("{id}?page={page}"),
            kind: Default::default(),
            part_of: id.to_string(),
            total_items: Some(total),
            ordered_items: items,
            next: (page < last_page(total)).then(|| format!("{id}?page={}", page + 1)),
            prev: (page > 1).then(|| format!("{id}?page={}", page - 1)),
            attributed_to: None,
        }
    }
}

/// The author on another server that a comment answers, as (actor id, handle): the federated
/// reply it answers, or the followed article it replies to directly. They are mentioned and
/// addressed, so their server shows the answer to them.
pub fn answered_remote_author(article: &Article, comment: &Comment) -> Option<(String, String)> {
    match (&comment.parent, &article.followed) {
        (Some(parent), _) => parent.remote_author.clone(),
        (None, Some(followed)) => Some((
            followed.author_ap_id.clone(),
            followed.author_handle.clone().unwrap_or_else(|| followed.author_ap_id.clone()),
        )),
        (None, None) => None,
    }
}

/// `content` again under the article's language, as `contentMap`.
fn in_language(language: Option<&str>, content: &str) -> Option<BTreeMap<String, String>> {
    language.map(|lang| BTreeMap::from([(lang.to_string(), content.to_string())]))
}

fn last_page(total: i64) -> i64 {
    ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1)
}

/// The media type of an image, from its file extension.
pub fn media_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or_default().to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        _ => "image/jpeg",
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::html::text_to_html;
    use crate::domain::{CommentAuthor, Origin, ParentRef, Status};
    use serde_json::json;

    fn person(id: i64, username: &str) -> LocalActor {
        LocalActor {
            id,
            username: username.into(),
            kind: ActorKind::Person,
            display_name: "Maria Petrova".into(),
            site_username: Some("Maria Petrova".into()),
            public_key_pem: None,
            created_at: Utc.timestamp_opt(0, 0).single().unwrap_or_default(),
        }
    }

    #[test]
    fn an_answer_to_a_federated_reply_mentions_its_author() {
        let config = Config::defaults();
        let urls = Urls::new("https://bridge.example".into());
        let render = Renderer { urls: &urls, config: &config };
        let when = Utc.with_ymd_and_hms(2024, 5, 14, 9, 0, 0).single().unwrap_or_default();
        let article = Article {
            id: 1,
            key: Key::parse("a").unwrap(),
            title: "T".into(),
            url: url::Url::parse("https://news.example/a").unwrap(),
            content: text_to_html("body"),
            summary: None,
            author: person(1, "desk"),
            tags: vec![],
            published: when,
            updated: None,
            image: None,
            language: None,
            sensitive: false,
            deleted_at: None,
            version: 1,
            followed: None,
        };
        let author = person(2, "maria_petrova");
        let comment = Comment {
            id: 7,
            article_id: 1,
            key: Key::parse("c7").unwrap(),
            parent: Some(ParentRef {
                id: 6,
                key: Key::parse("r-6").unwrap(),
                remote_ap_id: Some("https://mastodon.example/users/alice/statuses/1".into()),
                remote_author: Some(("https://mastodon.example/users/alice".into(), "@alice@mastodon.example".into())),
            }),
            origin: Origin::Local,
            status: Status::Visible,
            author: CommentAuthor::Local(author.clone()),
            content: text_to_html("I agree"),
            published: when,
            updated: None,
            deleted_at: None,
            remote_ap_id: None,
            remote: None,
        };
        let note = serde_json::to_value(render.comment(
            &article,
            &comment,
            &author,
            RepliesPreview { item_ids: vec![], has_more: false },
        ))
        .expect("json");
        assert_eq!(note["inReplyTo"], "https://mastodon.example/users/alice/statuses/1");
        assert_eq!(
            note["tag"],
            json!([{ "type": "Mention", "href": "https://mastodon.example/users/alice", "name": "@alice@mastodon.example" }])
        );
        assert!(note["cc"].as_array().unwrap().contains(&json!("https://mastodon.example/users/alice")));
        let content = note["content"].as_str().unwrap();
        assert!(content.starts_with(r#"<p><span class="h-card"><a href="https://mastodon.example/users/alice" class="u-url mention">@<span>alice</span></a></span></p>"#), "{content}");
        assert!(content.ends_with("<p>I agree</p>"));
        assert_eq!(note["url"], "https://news.example/a#comment-c7");
    }
}
