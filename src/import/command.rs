//! `threadbridge import FILE [--format wxr|disqus|json]`: imports straight into the store the
//! configuration names (the service may be running on it), with progress on a terminal.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use super::source::Progress;
use super::{progress, Format, Options};
use crate::config::Config;
use crate::federation::urls::Urls;
use crate::startup;

/// Runs the import and prints its summary as the last line; true when nothing failed.
pub async fn run(config: &Config, path: &Path, format: Option<Format>) -> anyhow::Result<bool> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let total = file.metadata().ok().map(|m| m.len());
    let store = startup::open_store(config).await?;
    let site = store.ensure_site_actor(&config.site_username, &config.site_name).await?;
    let options = Options { format, site_actor_id: site.id, urls: Urls::new(config.base_url()) };
    let progress = Arc::new(Progress::default());
    let done = Arc::new(tokio::sync::Notify::new());
    let shown =
        std::io::stderr().is_terminal().then(|| tokio::spawn(progress::show(progress.clone(), total, done.clone())));
    let summary = super::run(store, file, options, progress).await;
    if let Some(shown) = shown {
        done.notify_one();
        let _ = shown.await;
    }
    let summary = summary?;
    for error in &summary.errors {
        eprintln!("line {}: {}", error.line, error.message);
    }
    if summary.error_count > summary.errors.len() as u64 {
        eprintln!("... and {} more errors", summary.error_count - summary.errors.len() as u64);
    }
    if let Some(failed) = &summary.failed {
        eprintln!("the import stopped at {failed}; what came before is stored, and running it again with a fixed file finishes it");
    }
    println!("{}", summary.line());
    Ok(summary.succeeded())
}
