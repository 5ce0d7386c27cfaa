//! The file being imported, read through one wrapper: it counts bytes (for progress) and lines
//! (to name the place of an error) in a shared [`Progress`], and refuses an item that grows
//! past a limit, so a file made of one endless element or string cannot fill memory.

use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How far an import has come, read by whoever shows progress.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes of the file read so far.
    pub bytes: AtomicU64,
    /// Articles and comments parsed so far.
    pub items: AtomicU64,
    /// Newlines read so far.
    lines: AtomicU64,
    /// Where the item being read began (bytes), for the size limit.
    mark: AtomicU64,
}

impl Progress {
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    pub fn items(&self) -> u64 {
        self.items.load(Ordering::Relaxed)
    }

    /// The line being read (1-based).
    pub fn line(&self) -> u64 {
        self.lines.load(Ordering::Relaxed) + 1
    }

    /// An item starts here: the size limit counts from this point.
    pub fn mark(&self) {
        self.mark.store(self.bytes(), Ordering::Relaxed);
    }
}

/// The largest item (an article with its comments in WXR or JSON, a post in Disqus).
pub const ITEM_LIMIT: u64 = 64 * 1024 * 1024;

pub struct Source<R> {
    inner: R,
    limit: u64,
    progress: Arc<Progress>,
}

impl<R: BufRead> Source<R> {
    pub fn new(inner: R, progress: Arc<Progress>) -> Source<R> {
        Source { inner, limit: ITEM_LIMIT, progress }
    }

    /// Where reading has come, shared with whoever holds the same [`Progress`].
    pub fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }
}

impl<R: BufRead> BufRead for Source<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let since_mark = self.progress.bytes().saturating_sub(self.progress.mark.load(Ordering::Relaxed));
        if since_mark > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("one item is larger than {} MiB", self.limit / (1024 * 1024)),
            ));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        // The bytes consumed are still in the inner buffer: count their newlines first.
        if let Ok(buffered) = self.inner.fill_buf() {
            let upto = amount.min(buffered.len());
            let lines = buffered[..upto].iter().filter(|&&b| b == b'\n').count() as u64;
            self.progress.lines.fetch_add(lines, Ordering::Relaxed);
        }
        self.inner.consume(amount);
        self.progress.bytes.fetch_add(amount as u64, Ordering::Relaxed);
    }
}

impl<R: BufRead> Read for Source<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_bytes_are_counted_and_an_endless_item_is_refused() {
        let progress = Arc::new(Progress::default());
        let mut source = Source::new(io::Cursor::new(b"a\nb\nc".to_vec()), progress.clone());
        let mut text = String::new();
        source.read_to_string(&mut text).expect("read");
        assert_eq!((progress.line(), progress.bytes()), (3, 5));

        let mut source = Source::new(io::BufReader::new(io::repeat(b'x')), Arc::new(Progress::default()));
        source.limit = 1000;
        let mut sink = Vec::new();
        let err = (&mut source).take(1_000_000).read_to_end(&mut sink).expect_err("refused");
        assert!(err.to_string().contains("larger than"), "{err}");
        assert!(sink.len() < 20_000, "stops soon after the limit ({} bytes read)", sink.len());
    }
}
