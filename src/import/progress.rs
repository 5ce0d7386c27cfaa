//! The progress of `threadbridge import` on a terminal: one line redrawn in place, with a bar
//! (how much of the file is read), items and items per second, and the time left.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::source::Progress;

const BAR: usize = 24;

/// One progress line for `bytes` of `total` read and `items` parsed after `elapsed`.
pub fn line(bytes: u64, total: Option<u64>, items: u64, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64().max(0.001);
    let rate = items as f64 / seconds;
    let mut out = String::new();
    match total.filter(|t| *t > 0) {
        Some(total) => {
            let done = (bytes.min(total) as f64 / total as f64).clamp(0.0, 1.0);
            let filled = (done * BAR as f64).round() as usize;
            out.push('[');
            out.push_str(&"#".repeat(filled));
            out.push_str(&"-".repeat(BAR - filled));
            out.push_str(&format!("] {:>3}%  {}/{}", (done * 100.0).floor(), size(bytes), size(total)));
            out.push_str(&format!("  {items} items  {rate:.0}/s"));
            if done > 0.0 && done < 1.0 {
                let left = seconds * (1.0 - done) / done;
                out.push_str(&format!("  {} left", clock(left)));
            }
        }
        None => out.push_str(&format!("{}  {items} items  {rate:.0}/s", size(bytes))),
    }
    out
}

fn size(bytes: u64) -> String {
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if mib >= 1.0 {
        format!("{mib:.1} MiB")
    } else {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    }
}

fn clock(seconds: f64) -> String {
    let seconds = seconds.round() as u64;
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// Redraws the line on stderr every 200 ms until `done` fires, then clears it.
pub async fn show(progress: Arc<Progress>, total: Option<u64>, done: Arc<tokio::sync::Notify>) {
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let text = line(progress.bytes(), total, progress.items(), started.elapsed());
                let mut err = std::io::stderr();
                let _ = write!(err, "\r{text}\x1b[K");
                let _ = err.flush();
            }
            _ = done.notified() => {
                let text = line(progress.bytes(), total, progress.items(), started.elapsed());
                eprintln!("\r{text}\x1b[K");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_the_bar_rate_and_time_left() {
        let text = line(25 * 1024 * 1024, Some(100 * 1024 * 1024), 5_000, Duration::from_secs(10));
        assert_eq!(text, "[######------------------]  25%  25.0 MiB/100.0 MiB  5000 items  500/s  0:30 left");
        let unknown = line(512 * 1024, None, 10, Duration::from_secs(1));
        assert_eq!(unknown, "512 KiB  10 items  10/s");
    }
}
