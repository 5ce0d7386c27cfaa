//! Limits on what one inbox request may ask of us, checked before anything else is done with
//! it: the shape of its JSON (depth, list lengths, size of the whole) and how often a server
//! may post (a token bucket per server, answered with 429 and `Retry-After`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The deepest nesting accepted (a Create of a Note with a collection page is about 6).
pub const MAX_DEPTH: usize = 24;
/// The longest list accepted anywhere in an activity (`to`, `cc`, `tag`, `attachment`, ...).
pub const MAX_ARRAY: usize = 1000;
/// The most values (of any kind) in one activity.
pub const MAX_VALUES: usize = 20_000;

/// Why an activity's JSON is refused.
pub fn check_shape(value: &Value) -> Result<(), String> {
    let mut count = 0usize;
    walk(value, 1, &mut count)
}

fn walk(value: &Value, depth: usize, count: &mut usize) -> Result<(), String> {
    *count += 1;
    if *count > MAX_VALUES {
        return Err(format!("the activity has more than {MAX_VALUES} values"));
    }
    if depth > MAX_DEPTH {
        return Err(format!("the activity is nested deeper than {MAX_DEPTH} levels"));
    }
    match value {
        Value::Array(items) if items.len() > MAX_ARRAY => {
            Err(format!("the activity has a list of {} items (at most {MAX_ARRAY})", items.len()))
        }
        Value::Array(items) => items.iter().try_for_each(|v| walk(v, depth + 1, count)),
        Value::Object(map) => map.values().try_for_each(|v| walk(v, depth + 1, count)),
        _ => Ok(()),
    }
}

/// Requests per second each server may send to the inboxes, with a burst allowance.
#[derive(Clone)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: moka::sync::Cache<String, Arc<Mutex<Bucket>>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `per_second` 0 turns the limit off.
    pub fn new(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: moka::sync::Cache::builder()
                .max_capacity(crate::startup::memory::RATE_LIMITED_SERVERS)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }

    /// Takes one request's token for `server`; Err with how long to wait when there is none.
    pub fn check(&self, server: &str) -> Result<(), Duration> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let burst = self.burst;
        let bucket = self
            .buckets
            .get_with(server.to_string(), || Arc::new(Mutex::new(Bucket { tokens: burst, at: Instant::now() })));
        let mut bucket = bucket.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_second;
            Err(Duration::from_secs_f64(wait.max(1.0)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deep_and_long_json_is_refused() {
        assert!(check_shape(&json!({"type": "Create", "object": {"tag": [1, 2, 3]}})).is_ok());
        let mut deep = json!(1);
        for _ in 0..MAX_DEPTH {
            deep = json!([deep]);
        }
        assert!(check_shape(&deep).unwrap_err().contains("deeper"));
        let long = Value::Array(vec![json!(0); MAX_ARRAY + 1]);
        assert!(check_shape(&json!({ "to": long })).unwrap_err().contains("list"));
    }

    #[test]
    fn a_server_over_its_rate_waits() {
        let limiter = RateLimiter::new(1, 3);
        for _ in 0..3 {
            assert!(limiter.check("a.example").is_ok());
        }
        let wait = limiter.check("a.example").unwrap_err();
        assert!(wait >= Duration::from_secs(1), "{wait:?}");
        assert!(limiter.check("b.example").is_ok(), "other servers have their own bucket");
        assert!(RateLimiter::new(0, 0).check("a.example").is_ok(), "0 turns it off");
    }
}
