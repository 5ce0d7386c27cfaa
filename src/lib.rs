//! threadbridge: a site's articles and reader comments, bridged into ActivityPub.
//!
//! A tour, in the order a request meets them:
//! - [`config`]: every setting, from the environment.
//! - [`startup`]: builds the application on a listener the caller bound, and runs it.
//! - [`http`]: the router, extractors (admin auth, JSON bodies, content negotiation), errors.
//! - [`admin`]: the admin API the site drives (articles, comments, threads).
//! - [`public`]: what the site's readers see without a token: the public thread, the embed.
//! - [`federation`]: what the fediverse sees: actors, objects, collections, WebFinger, NodeInfo;
//!   the inbox, HTTP signatures and safe fetching.
//! - [`delivery`]: the durable outbox: fan-out, the worker that signs and sends, retries.
//! - [`domain`]: articles, comments, threads, usernames and HTML, as pure logic.
//! - [`store`]: the `Store` interface with its SQLite and PostgreSQL implementations.
//! - [`webhook`]: what the site is told of federated replies, signed, retried.
//! - [`doctor`]: `threadbridge doctor`, the operator's check of a running service.
//! - [`import`]: a site's existing discussions (WordPress, Disqus, JSON) read into the store.
//! - [`feeds`]: the site's RSS, Atom or JSON feeds, polled: new items become articles.

pub mod admin;
pub mod config;
pub mod delivery;
pub mod doctor;
pub mod domain;
pub mod federation;
pub mod feeds;
pub mod http;
pub mod import;
pub mod public;
pub mod startup;
pub mod store;
pub mod webhook;
