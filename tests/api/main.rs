//! One integration test binary: every test drives the real HTTP surface on port 0, over a real
//! SQLite file and (when reachable) a real PostgreSQL database.

mod helpers;
mod inbound;
mod peer;
mod replies;
mod shapes;

mod articles;
mod bad_input;
mod browser;
mod cache;
mod cli;
mod delivery;
mod discovery;
mod feeds;
mod following;
mod golden;
mod import;
mod moderation;
mod public;
mod signatures_in;
mod thread;
mod two_sites;
mod upgrade;
mod webhook;
