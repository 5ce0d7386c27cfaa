//! `threadbridge doctor`: run beside `serve` with the same settings, it checks from outside what
//! an operator gets wrong (the public URL, WebFinger on the handle domain, NodeInfo and
//! host-meta, TLS) and prints each check as `ok` or `FAIL` with a one-line fix.

use std::time::Duration;

use serde_json::Value;

use crate::config::Config;

/// One check's outcome: what was checked, and the fix when it failed.
pub struct Check {
    pub name: String,
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: impl Into<String>) -> Check {
        Check { name: name.into(), fix: None }
    }

    fn fail(name: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name: name.into(), fix: Some(fix.into()) }
    }
}

/// Runs every check against the running service the configuration describes.
pub async fn run(config: &Config) -> anyhow::Result<Vec<Check>> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent(concat!("threadbridge-doctor/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let base = config.base_url();
    let actor = format!("{base}/users/{}", config.site_username);
    let mut checks = vec![];

    checks.push(match get_json(&client, &format!("{base}/health")).await {
        Ok(_) => Check::ok(format!("the public URL {base} answers")),
        Err(e) => Check::fail(
            format!("the public URL {base} answers"),
            format!("{e}: start `threadbridge serve`, and point THREADBRIDGE_PUBLIC_URL (or the proxy) at it"),
        ),
    });

    let domain = config.handle_domain();
    let scheme = if config.dev && is_loopback(&domain) { "http" } else { "https" };
    let resource = format!("acct:{}@{domain}", config.site_username);
    let finger = format!("{scheme}://{domain}/.well-known/webfinger?resource={resource}");
    let name = format!("WebFinger on {domain} names {actor}");
    checks.push(match get_json(&client, &finger).await {
        Ok(jrd) if jrd["subject"] != resource.as_str() => Check::fail(
            name,
            format!("{finger} answers the subject {}, not {resource}: its redirect reaches another server", jrd["subject"]),
        ),
        Ok(jrd) if self_link(&jrd).as_deref() != Some(actor.as_str()) => Check::fail(
            name,
            format!("{finger} names {:?} as the actor: it must redirect to {base}/.well-known/webfinger", self_link(&jrd)),
        ),
        Ok(_) => Check::ok(name),
        Err(e) => Check::fail(
            name,
            format!("{e}: redirect {scheme}://{domain}/.well-known/webfinger to {base}/.well-known/webfinger (FEDERATION.md, \"Handles on the site's domain\")"),
        ),
    });

    for (path, what) in [("/.well-known/nodeinfo", "NodeInfo"), ("/.well-known/host-meta.json", "host-meta")] {
        let url = format!("{base}{path}");
        checks.push(match get_json(&client, &url).await {
            Ok(doc) if doc["links"].as_array().is_some_and(|l| !l.is_empty()) => Check::ok(format!("{what} answers")),
            Ok(_) => {
                Check::fail(format!("{what} answers"), format!("{url} has no links: is it threadbridge answering?"))
            }
            Err(e) => Check::fail(
                format!("{what} answers"),
                format!("{e}: the proxy must pass {path} on to threadbridge (deploy/nginx.conf)"),
            ),
        });
    }

    checks.push(if config.public_url.scheme() == "https" {
        Check::ok("TLS is in use")
    } else if config.dev {
        Check::ok("TLS is not in use (dev mode)")
    } else {
        Check::fail(
            "TLS is in use",
            "THREADBRIDGE_PUBLIC_URL is http://: other servers refuse it; serve https behind a TLS proxy (deploy/nginx.conf)",
        )
    });
    Ok(checks)
}

async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value, String> {
    let response = client.get(url).header("Accept", "application/json").send().await.map_err(|e| {
        let mut why = e.to_string();
        if let Some(source) = std::error::Error::source(&e) {
            why = format!("{why} ({source})");
        }
        format!("GET {url} failed: {why}")
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("GET {url} answered {status}"));
    }
    response.json().await.map_err(|e| format!("GET {url} is not JSON: {e}"))
}

fn self_link(jrd: &Value) -> Option<String> {
    let links = jrd["links"].as_array()?;
    links.iter().find(|l| l["rel"] == "self").and_then(|l| l["href"].as_str()).map(str::to_string)
}

fn is_loopback(domain: &str) -> bool {
    let host = domain.rsplit_once(':').map_or(domain, |(host, _)| host);
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}
