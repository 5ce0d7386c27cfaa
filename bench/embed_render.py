#!/usr/bin/env python3
"""How fast the embed's first page shows in Chromium, for bench/embed.sh (python3 standard
library only; drives chromedriver over WebDriver).

A site page on loopback (served by this script) carries the embed's one script line; each run
loads it in a fresh tab and times, from the navigation's start, when the first comment of the
thread is in the page (polled every 5 ms in the page). The same for the framed page (its
iframe's load event), and, as the floor of the method, a page with no embed (its load event).
Machine-readable KEY=VALUE lines go to stdout, progress to stderr. Loopback only.
"""
import argparse
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

WAIT_SCRIPT = """
const t = setInterval(() => {
  const h = document.querySelector('.threadbridge');
  if (h && h.shadowRoot && h.shadowRoot.querySelector('li.tb-comment')) {
    window.__tbShown = performance.now(); clearInterval(t);
  }
}, 5);
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def site_server(bridge, key):
    pages = {
        "/embed": f"<!doctype html><html><head><meta charset=utf-8><title>Article</title></head><body>"
                  f"<h1>Article</h1><p>Text.</p><script>{WAIT_SCRIPT}</script>"
                  f"<script src=\"{bridge}/embed.js\" data-article=\"{key}\" async></script></body></html>",
        "/framed": f"<!doctype html><html><head><meta charset=utf-8><title>Article</title></head><body>"
                   f"<h1>Article</h1><iframe src=\"{bridge}/embed/articles/{key}\" "
                   f"onload=\"window.__tbShown = performance.now()\" style=\"width:100%;height:800px\"></iframe></body></html>",
        "/plain": "<!doctype html><html><head><meta charset=utf-8><title>Article</title></head><body>"
                  "<h1>Article</h1><p>Text.</p><script>window.addEventListener('load', () => "
                  "{ window.__tbShown = performance.now(); });</script></body></html>",
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path.split("?")[0])
            if body is None:
                self.send_error(404)
                return
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class WebDriver:
    def __init__(self, binary):
        self.port = free_port()
        self.proc = subprocess.Popen([binary, f"--port={self.port}"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                self.call("GET", "/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("chromedriver did not start")
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,1000"]}}}}
        self.session = "/session/" + self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            value = json.loads(r.read())["value"]
        if isinstance(value, dict) and "error" in value:
            raise RuntimeError(f"webdriver {path}: {value}")
        return value

    def run(self, script):
        return self.call("POST", self.session + "/execute/sync", {"script": script, "args": []})

    def close(self):
        try:
            self.call("DELETE", self.session)
        finally:
            self.proc.kill()


def time_page(wd, url, timeout):
    """Milliseconds from the navigation's start to window.__tbShown on a fresh load of url."""
    wd.call("POST", wd.session + "/url", {"url": "about:blank"})
    wd.call("POST", wd.session + "/url", {"url": url})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = wd.run("return window.__tbShown || null;")
        if shown:
            return float(shown)
        time.sleep(0.02)
    sys.exit(f"{url}: nothing shown within {timeout}s")


def pct(sorted_vals, p):
    k = max(1, -(-len(sorted_vals) * p // 100))
    return sorted_vals[int(k) - 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bridge", required=True, help="threadbridge's base URL (loopback)")
    ap.add_argument("--key", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    a = ap.parse_args()
    if not a.bridge.startswith(("http://127.", "http://localhost")):
        sys.exit("loopback only")
    if not os.path.exists(a.chromedriver):
        sys.exit(f"no chromedriver at {a.chromedriver} (apt-get install chromium chromium-driver)")
    server, site = site_server(a.bridge.rstrip("/"), a.key)
    wd = WebDriver(a.chromedriver)
    try:
        for name in ("plain", "embed", "framed"):
            first = time_page(wd, f"{site}/{name}?run=0", 30)
            runs = sorted(time_page(wd, f"{site}/{name}?run={i}", 30) for i in range(1, a.runs + 1))
            log(f"  {name}: first {first:.0f} ms, p50 {pct(runs, 50):.0f} ms")
            key = name.upper()
            print(f"{key}_FIRST_MS={first:.0f}")
            print(f"{key}_P50_MS={pct(runs, 50):.0f}")
            print(f"{key}_P90_MS={pct(runs, 90):.0f}")
            print(f"{key}_MAX_MS={runs[-1]:.0f}")
    finally:
        wd.close()
        server.shutdown()


if __name__ == "__main__":
    main()
