//! Imports a site's existing discussions: a WordPress export (WXR), a Disqus export, or
//! threadbridge's own JSON. The file is parsed as it streams, on a blocking thread
//! ([`wxr`], [`disqus`], [`json`]), and written in batches (one transaction each) by
//! [`run`]; items are matched by keys made from the source's ids, so running an import again,
//! or after it was interrupted, adds only what is missing. Nothing imported is delivered.

pub mod command;
mod disqus;
mod json;
pub mod progress;
pub mod source;
pub(crate) mod text;
mod wxr;
pub(crate) mod xml;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::domain::Key;
use crate::store::import::{ImportItem, ItemOutcome};
use crate::store::{Store, StoreResult};
use source::{Progress, Source};

/// The formats an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Wxr,
    Disqus,
    Json,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Wxr => "wxr",
            Format::Disqus => "disqus",
            Format::Json => "json",
        }
    }

    /// The format the first bytes of a file show, if any.
    pub fn guess(head: &[u8]) -> Option<Format> {
        let text = String::from_utf8_lossy(head);
        let text = text.trim_start_matches('\u{feff}').trim_start();
        if text.starts_with('{') || text.starts_with('[') {
            Some(Format::Json)
        } else if text.contains("<rss") && text.contains("wordpress.org/export") {
            Some(Format::Wxr)
        } else if text.contains("<disqus") {
            Some(Format::Disqus)
        } else {
            None
        }
    }
}

/// A fatal error in the file, at its line: the import stops there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// What a parser found in the file.
#[derive(Debug)]
pub enum Found {
    Item {
        item: ImportItem,
        line: u64,
    },
    /// Not imported, as the source marks it (spam, a draft, a pingback).
    Skip {
        reason: String,
        line: u64,
    },
    /// An item that cannot be imported (a bad date, a link that is not a URL); the import goes on.
    Invalid {
        message: String,
        line: u64,
    },
}

/// Where parsers hand what they find; an `Err` means the writer has stopped.
pub type Sink<'a> = dyn FnMut(Found) -> Result<(), Stopped> + 'a;

/// The writer stopped (a store error): the parser stops too.
#[derive(Debug)]
pub struct Stopped;

/// How many of a kind the import created, changed, or found already as in the file.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    pub imported: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// An item that was not imported because of an error, at its line in the file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ItemError {
    pub line: u64,
    pub message: String,
}

/// What an import did: the answer of the admin endpoint and the last line of the command.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Summary {
    pub format: &'static str,
    pub articles: Tally,
    pub comments: Tally,
    /// How many items were not imported, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// The first [`MAX_ERRORS`] items that could not be imported.
    pub errors: Vec<ItemError>,
    pub error_count: u64,
    /// Set when the import stopped before the end of the file (a malformed file): what was
    /// written stays, and running the import again with a fixed file finishes it.
    pub failed: Option<String>,
}

const MAX_ERRORS: usize = 100;

impl Summary {
    /// True when every item was imported or skipped as the source marks it.
    pub fn succeeded(&self) -> bool {
        self.failed.is_none() && self.error_count == 0
    }

    fn tally(&mut self, articles: bool) -> &mut Tally {
        if articles {
            &mut self.articles
        } else {
            &mut self.comments
        }
    }

    fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
    }

    fn error(&mut self, line: u64, message: String) {
        self.error_count += 1;
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(ItemError { line, message });
        }
    }

    /// One line: what was imported, updated, unchanged, skipped (with reasons) and failed.
    pub fn line(&self) -> String {
        let (a, c) = (self.articles, self.comments);
        let skipped: u64 = self.skipped.values().sum();
        let reasons: Vec<String> = self.skipped.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        let mut line = format!(
            "{}: imported {} articles and {} comments, updated {}, unchanged {}, skipped {}",
            self.format,
            a.imported,
            c.imported,
            a.updated + c.updated,
            a.unchanged + c.unchanged,
            skipped
        );
        if !reasons.is_empty() {
            line.push_str(&format!(" ({})", reasons.join("; ")));
        }
        line.push_str(&format!(", {} errors", self.error_count));
        if let Some(failed) = &self.failed {
            line.push_str(&format!("; stopped at {failed}"));
        }
        line
    }
}

/// What every import needs besides the file.
#[derive(Clone)]
pub struct Options {
    /// Given, or guessed from the first bytes.
    pub format: Option<Format>,
    /// Writes what names no author.
    pub site_actor_id: i64,
    /// Where an article without a link of its own points (see [`json`]).
    pub urls: crate::federation::urls::Urls,
}

/// Items per transaction.
const BATCH: usize = 500;
/// Comments kept waiting for their parent (or article) to arrive later in the file.
const MAX_WAITING: usize = 50_000;

/// Imports `input` into `store`. A file error stops the import and is reported in the summary
/// (`failed`); what was written before it stays. A store error is returned as such.
pub async fn run(
    store: Arc<dyn Store>,
    input: impl Read + Send + 'static,
    options: Options,
    progress: Arc<Progress>,
) -> StoreResult<Summary> {
    let (sender, mut receiver) = mpsc::channel::<Found>(BATCH * 2);
    let parser_progress = progress.clone();
    let urls = options.urls.clone();
    let given = options.format;
    // The file is read on a blocking thread only, the first bytes too (the input may block).
    let parser = tokio::task::spawn_blocking(move || {
        let mut input = BufReader::with_capacity(256 * 1024, input);
        let head = input.fill_buf().map(<[u8]>::to_vec).unwrap_or_default();
        let Some(format) = given.or_else(|| Format::guess(&head)) else {
            let message = "not a WordPress export (WXR), a Disqus export or threadbridge JSON; give the format";
            return (None, Err(FileError { line: 1, message: message.into() }));
        };
        let source = Source::new(input, parser_progress.clone());
        let mut sink = |found: Found| {
            if matches!(found, Found::Item { .. }) {
                parser_progress.items.fetch_add(1, Ordering::Relaxed);
            }
            sender.blocking_send(found).map_err(|_| Stopped)
        };
        let parsed = match format {
            Format::Wxr => wxr::parse(source, &mut sink),
            Format::Disqus => disqus::parse(source, &mut sink),
            Format::Json => json::parse(source, &urls, &mut sink),
        };
        (Some(format), parsed)
    });

    let mut writer = Writer {
        store,
        site: options.site_actor_id,
        summary: Summary::default(),
        waiting: HashMap::new(),
        waiting_count: 0,
        same_as: HashMap::new(),
    };
    let mut batch: Vec<(ImportItem, u64)> = Vec::with_capacity(BATCH);
    loop {
        let found = receiver.recv().await;
        let done = found.is_none();
        if let Some(found) = found {
            match found {
                Found::Item { item, line } => batch.push((item, line)),
                Found::Skip { reason, .. } => writer.summary.skip(&reason),
                Found::Invalid { message, line } => writer.summary.error(line, message),
            }
        }
        if batch.len() >= BATCH || (done && !batch.is_empty()) || (receiver.is_empty() && !batch.is_empty()) {
            let result = writer.write(std::mem::take(&mut batch)).await;
            if let Err(err) = result {
                receiver.close();
                let _ = parser.await;
                return Err(err);
            }
        }
        if done {
            break;
        }
    }
    match parser.await {
        Ok((format, parsed)) => {
            writer.summary.format = format.map_or("unknown", Format::as_str);
            if let Err(err) = parsed {
                writer.summary.failed = Some(err.to_string());
            }
        }
        Err(err) => writer.summary.failed = Some(format!("the parser failed: {err}")),
    }
    writer.give_up_waiting();
    Ok(writer.summary)
}

/// The write side: batches to the store, tallies, and comments that wait for an item that
/// comes later in the file.
struct Writer {
    store: Arc<dyn Store>,
    site: i64,
    summary: Summary,
    /// By the (article, item) key they wait for; the item key is empty for the article itself.
    waiting: HashMap<(String, String), Vec<(ImportItem, u64)>>,
    waiting_count: usize,
    /// Articles of the file that are the same page as one already stored: their key, and that
    /// article's, which their comments go under.
    same_as: HashMap<String, Key>,
}

impl Writer {
    /// A comment of an article that is the same page as a stored one goes under that one.
    fn redirect(&self, item: &mut ImportItem) -> bool {
        if let ImportItem::Comment(comment) = item {
            if let Some(target) = self.same_as.get(comment.article.as_str()) {
                comment.article = target.clone();
                return true;
            }
        }
        false
    }

    async fn write(&mut self, mut batch: Vec<(ImportItem, u64)>) -> StoreResult<()> {
        while !batch.is_empty() {
            for (item, _) in &mut batch {
                self.redirect(item);
            }
            let (items, lines): (Vec<ImportItem>, Vec<u64>) = batch.into_iter().unzip();
            let outcomes = self.store.import_batch(self.site, &items).await?;
            let mut released = Vec::new();
            for ((item, line), outcome) in items.into_iter().zip(lines).zip(outcomes) {
                let stored = matches!(outcome, ItemOutcome::Created | ItemOutcome::Updated | ItemOutcome::Unchanged);
                if stored {
                    let waited_for = match &item {
                        ImportItem::Article(a) => (a.key.as_str().to_string(), String::new()),
                        ImportItem::Comment(c) => (c.article.as_str().to_string(), c.key.as_str().to_string()),
                    };
                    if let Some(children) = self.waiting.remove(&waited_for) {
                        self.waiting_count -= children.len();
                        released.extend(children);
                    }
                }
                let is_article = matches!(item, ImportItem::Article(_));
                match outcome {
                    ItemOutcome::Created => self.summary.tally(is_article).imported += 1,
                    ItemOutcome::Updated => self.summary.tally(is_article).updated += 1,
                    ItemOutcome::Unchanged => self.summary.tally(is_article).unchanged += 1,
                    ItemOutcome::Skipped(reason) => self.summary.skip(&reason),
                    ItemOutcome::SameAs(target) => {
                        self.summary.skip("an article already has its link (its comments go there)");
                        if let ImportItem::Article(article) = &item {
                            let waited_for = (article.key.as_str().to_string(), String::new());
                            self.same_as.insert(article.key.as_str().to_string(), target);
                            if let Some(children) = self.waiting.remove(&waited_for) {
                                self.waiting_count -= children.len();
                                released.extend(children);
                            }
                        }
                    }
                    ItemOutcome::NoArticle => {
                        let mut item = item;
                        if self.redirect(&mut item) {
                            released.push((item, line));
                        } else {
                            self.wait(item, line, &ItemOutcome::NoArticle);
                        }
                    }
                    ItemOutcome::NoParent => self.wait(item, line, &outcome),
                }
            }
            batch = released;
        }
        Ok(())
    }

    fn wait(&mut self, item: ImportItem, line: u64, outcome: &ItemOutcome) {
        let ImportItem::Comment(comment) = &item else { return };
        let waits_for = match (outcome, &comment.parent) {
            (ItemOutcome::NoParent, Some(parent)) => parent.as_str().to_string(),
            _ => String::new(),
        };
        if self.waiting_count >= MAX_WAITING {
            self.summary.error(line, "too many comments come before the item they answer".into());
            return;
        }
        self.waiting_count += 1;
        self.waiting.entry((comment.article.as_str().to_string(), waits_for)).or_default().push((item, line));
    }

    /// At the end of the file: what still waits answers something the file does not hold.
    fn give_up_waiting(&mut self) {
        for ((_, parent), items) in std::mem::take(&mut self.waiting) {
            let reason = if parent.is_empty() {
                "its article is not in the file (or was not imported)"
            } else {
                "the comment it answers is not in the file (or was not imported)"
            };
            for _ in items {
                self.summary.skip(reason);
            }
        }
    }
}
