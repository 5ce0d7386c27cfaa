#!/usr/bin/env python3
"""HTTP helper for bench/http.sh (python3 standard library only).

Subcommands (machine-readable KEY=VALUE lines go to stdout, progress to stderr):

  wait         poll a URL until it answers 200 (bounded by --timeout, and by --pid staying alive)
  put-article  create/update one article through the admin API
  fetch        GET a URL once, check the status, save the body to a file
  seed         seed a thread-shaped set of comments on one article through the admin API
  delete       delete a share of the seeded comments (chosen at random) through the admin API
  latency      sequential keep-alive GETs of one URL; report p50/p90/p99

Every loop here is bounded in count and in time. Only loopback URLs are accepted.
"""
import argparse
import http.client
import json
import os
import random
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def out(key, value):
    print(f"{key}={value}", flush=True)


def split_url(url):
    u = urlsplit(url)
    if u.scheme != "http":
        sys.exit(f"only http:// URLs are supported: {url}")
    host = u.hostname or ""
    if host not in LOOPBACK and not host.startswith("127."):
        sys.exit(f"refusing non-loopback target {host!r}: benchmarks only talk to this machine")
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    return host, u.port or 80, path


def connect(host, port, timeout):
    """HTTPConnection with TCP_NODELAY, so no request waits on Nagle + delayed ACK."""
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    c.connect()
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


class Client:
    """One keep-alive HTTP/1.1 connection that reconnects once on a dropped socket."""

    def __init__(self, base, timeout=60.0):
        self.host, self.port, self.prefix = split_url(base)
        self.prefix = self.prefix.rstrip("/")
        self.timeout = timeout
        self.conn = None

    def _connect(self):
        self.conn = connect(self.host, self.port, self.timeout)

    def request(self, method, path, body=None, headers=None):
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, self.prefix + path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                payload = resp.read()
                if resp.will_close:
                    self.conn.close()
                    self.conn = None
                return resp.status, resp.getheader("Content-Type", ""), payload
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.BadStatusLine):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def auth(token):
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- wait

def cmd_wait(a):
    host, port, path = split_url(a.url)
    deadline = time.monotonic() + a.timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if a.pid and not os.path.exists(f"/proc/{a.pid}"):
            sys.exit(f"process {a.pid} exited before {a.url} answered ({last})")
        try:
            c = http.client.HTTPConnection(host, port, timeout=2)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                out("READY_AFTER_S", f"{a.timeout - (deadline - time.monotonic()):.2f}")
                return
            last = f"HTTP {r.status}"
        except OSError as e:
            last = str(e)
        time.sleep(0.2)
    sys.exit(f"{a.url} did not answer 200 within {a.timeout}s ({last})")


# ---------------------------------------------------------------- put-article

def article_body(key):
    return {
        "title": f"Benchmark article {key}: city council approves the new tram line",
        "url": f"https://news.example/a/{key}",
        "content": (
            "<p>The city council voted on Tuesday to approve the long-debated tram line "
            "connecting the <a href=\"https://news.example/tags/riverside\">riverside</a> "
            "district with the central station.</p>"
            "<p>Construction is expected to begin next spring and to last about three years. "
            "Residents raised concerns about noise, parking and the felling of old trees "
            "along the planned route.</p>"
            "<p>“We listened to every objection,” the deputy mayor said.</p>"
        ),
        "summary": "Council approves the riverside tram line; works start next spring.",
        "author": {"username": "Desk", "name": "News desk"},
        "tags": ["news", "city", "transport"],
    }


def cmd_put_article(a):
    c = Client(a.base)
    status, _, payload = c.request("PUT", "/api/admin/articles/" + quote(a.key, safe=""),
                                   article_body(a.key), auth(a.token))
    if status not in (200, 201):
        sys.exit(f"PUT article {a.key}: HTTP {status}: {payload[:500]!r}")
    ap_id = ""
    try:
        ap_id = json.loads(payload).get("ap_id", "")
    except (ValueError, AttributeError):
        pass
    out("STATUS", status)
    out("AP_ID", ap_id)


# ---------------------------------------------------------------- fetch

def cmd_fetch(a):
    host, port, path = split_url(a.url)
    hdrs = {"Accept": a.accept} if a.accept else {}
    if a.token:
        hdrs.update(auth(a.token))
    c = http.client.HTTPConnection(host, port, timeout=60)
    c.request("GET", path, headers=hdrs)
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        sys.exit(f"GET {a.url}: HTTP {r.status}: {body[:500]!r}")
    ctype = r.getheader("Content-Type", "")
    if a.expect_type and a.expect_type not in ctype:
        sys.exit(f"GET {a.url}: Content-Type {ctype!r} does not contain {a.expect_type!r}")
    try:
        json.loads(body)
    except ValueError:
        sys.exit(f"GET {a.url}: body is not JSON: {body[:300]!r}")
    with open(a.out, "wb") as f:
        f.write(body)
    out("STATUS", r.status)
    out("CONTENT_TYPE", ctype)
    out("BYTES", len(body))


# ---------------------------------------------------------------- seed

FIRST = ("Alexander Maria Ivan Olga Dmitri Anna Sergei Elena Pavel Natalia John Emma Liam "
         "Sofia Lucas Mia Noah Chloe Omar Aisha Kenji Yuki Mateo Lucia Jan Eva Piotr Zofia "
         "Hans Greta Pierre Camille Giulia Marco Ahmed Fatima Lars Ingrid Tomás Inés").split()
LAST = ("Romanov Ivanova Petrov Smirnova Sokolov Kuznetsova Popov Volkova Smith Johnson "
        "Brown Garcia Martin Bernard Rossi Russo Müller Schmidt Kowalski Nowak Novák Svoboda "
        "Andersen Nielsen Tanaka Suzuki Haddad Mansour Silva Santos Dubois Moreau Fischer "
        "Weber Lindqvist Berg Costa Ferreira Horvat Kovač").split()
CYRILLIC = ("Александр Романов", "Мария Иванова", "Ольга Смирнова", "Дмитрий Соколов",
            "Наталья Кузнецова", "Павел Попов", "Елена Волкова", "Сергей Петров")
WORDS = ("the a council tram line route noise parking trees residents station district city "
         "plan budget years spring works vote mayor deputy article agree disagree really "
         "think because people bus bike car traffic safety cost money tax school children "
         "night morning weekend shop street bridge river old new long short finally again "
         "never always maybe obviously why how when what where who better worse cheaper "
         "faster slower quiet loud green concrete").split()


def make_authors(rng, n):
    pool = [f"{f} {l}" for f in FIRST for l in LAST]
    rng.shuffle(pool)
    names = list(CYRILLIC) + pool
    if n > len(names):
        names += [f"reader{i:05d}" for i in range(n - len(names))]
    return names[:n]


def sentence(rng):
    ws = [rng.choice(WORDS) for _ in range(rng.randint(5, 18))]
    return " ".join(ws).capitalize() + rng.choice(".!?…")


def make_content(rng, i):
    paras = [" ".join(sentence(rng) for _ in range(rng.randint(1, 4)))
             for _ in range(rng.choice((1, 1, 1, 2, 3)))]
    r = rng.random()
    if r < 0.08:
        paras[0] += " Полностью согласен — давно пора."
    if r < 0.45:  # plain text, possibly multi-paragraph
        return "\n\n".join(paras)
    html = "".join(f"<p>{p}</p>" for p in paras)
    if r > 0.9:
        html += f'<p>See <a href="https://news.example/a/{i % 97}">this earlier story</a>.</p>'
    elif r > 0.8:
        html += "<blockquote><p>" + sentence(rng) + "</p></blockquote>"
    return html


def plan_thread(count, n_authors, max_depth, seed):
    """Return waves[depth] = [comment dict...]; every parent is in an earlier wave."""
    rng = random.Random(seed)
    authors = make_authors(rng, n_authors)
    # share of comments per depth: 0 = direct reply to the article
    shares = [0.15, 0.30, 0.27, 0.17, 0.11, 0.06, 0.04, 0.02][: max_depth + 1]
    total = sum(shares)
    sizes = [max(1, int(count * s / total)) for s in shares]
    sizes[1 if len(sizes) > 1 else 0] += count - sum(sizes)
    # authors: everyone comments at least once, then a long tail of very active readers
    weights = [1.0 / (k + 1) ** 0.9 for k in range(len(authors))]
    assigned = list(authors) + rng.choices(authors, weights=weights, k=max(0, count - len(authors)))
    assigned = assigned[:count]
    rng.shuffle(assigned)
    tz = timezone(timedelta(hours=3))
    base = datetime(2015, 9, 22, 6, 45, tzinfo=tz)
    waves, prev, n = [], [], 0
    for depth, size in enumerate(sizes):
        wave = []
        hot = prev[: max(1, len(prev) // 10)]  # a few sub-threads draw most replies
        for _ in range(size):
            n += 1
            ckey = f"c{n:06d}"
            if depth == 0:
                parent, when = None, base + timedelta(minutes=rng.randint(0, 2 * 24 * 60))
            else:
                p = rng.choice(hot) if rng.random() < 0.5 else rng.choice(prev)
                parent, when = p["key"], p["when"] + timedelta(minutes=rng.randint(1, 12 * 60))
            c = {"key": ckey, "when": when, "body": {
                "author": {"username": assigned[n - 1]},
                "content": make_content(rng, n),
                "published": when.isoformat(timespec="seconds"),
            }}
            if parent:
                c["body"]["parent"] = parent
            wave.append(c)
        waves.append(wave)
        prev = wave
    return waves, len(set(assigned))


def cmd_seed(a):
    waves, n_authors = plan_thread(a.count, a.authors, a.max_depth, a.seed)
    local = threading.local()
    art = "/api/admin/articles/" + quote(a.article, safe="") + "/comments/"
    hdrs = auth(a.token)
    deadline = time.monotonic() + a.max_seconds
    done = [0]
    done_lock = threading.Lock()

    def put(c):
        if time.monotonic() > deadline:
            raise RuntimeError(f"seeding exceeded {a.max_seconds}s")
        cl = getattr(local, "client", None)
        if cl is None:
            cl = local.client = Client(a.base)
        status, _, payload = cl.request("PUT", art + quote(c["key"], safe=""), c["body"], hdrs)
        if status not in (200, 201):
            raise RuntimeError(f"PUT comment {c['key']}: HTTP {status}: {payload[:400]!r}\n"
                               f"request body: {json.dumps(c['body'], ensure_ascii=False)[:400]}")
        with done_lock:
            done[0] += 1
            if done[0] % 1000 == 0:
                log(f"  seeded {done[0]}/{a.count} comments")

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=a.threads) as ex:
        for depth, wave in enumerate(waves):
            # list() re-raises the first failure; parents of wave d are all stored before wave d+1
            list(ex.map(put, wave))
    dt = time.monotonic() - t0
    out("SEEDED", done[0])
    out("SEED_SECONDS", f"{dt:.1f}")
    out("SEED_RATE", f"{done[0] / dt:.0f}" if dt > 0 else "0")
    out("AUTHORS", n_authors)
    out("DEPTHS", "/".join(str(len(w)) for w in waves))


def cmd_delete(a):
    """Deletes round(count * fraction) of the comments c000001..c{count}, picked with --seed."""
    rng = random.Random(a.seed)
    keys = [f"c{n:06d}" for n in range(1, a.count + 1)]
    chosen = rng.sample(keys, round(a.count * a.fraction))
    art = "/api/admin/articles/" + quote(a.article, safe="") + "/comments/"
    hdrs = auth(a.token)
    local = threading.local()
    deadline = time.monotonic() + a.max_seconds

    def delete(key):
        if time.monotonic() > deadline:
            raise RuntimeError(f"deleting exceeded {a.max_seconds}s")
        cl = getattr(local, "client", None)
        if cl is None:
            cl = local.client = Client(a.base)
        status, _, payload = cl.request("DELETE", art + quote(key, safe=""), None, hdrs)
        if status not in (200, 204):
            raise RuntimeError(f"DELETE comment {key}: HTTP {status}: {payload[:400]!r}")

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=a.threads) as ex:
        list(ex.map(delete, chosen))
    out("DELETED", len(chosen))
    out("DELETE_SECONDS", f"{time.monotonic() - t0:.1f}")


# ---------------------------------------------------------------- latency

def pct(sorted_vals, p):
    """nearest-rank percentile"""
    if not sorted_vals:
        return float("nan")
    k = max(1, -(-len(sorted_vals) * p // 100))  # ceil(n*p/100)
    return sorted_vals[int(k) - 1]


def cmd_latency(a):
    host, port, path = split_url(a.url)
    hdrs = {"Accept": a.accept}
    if a.token:
        hdrs.update(auth(a.token))
    conn = connect(host, port, 120)

    def once():
        nonlocal conn
        t = time.perf_counter()
        try:
            conn.request("GET", path, headers=hdrs)
            r = conn.getresponse()
            body = r.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()
            conn = connect(host, port, 120)
            t = time.perf_counter()
            conn.request("GET", path, headers=hdrs)
            r = conn.getresponse()
            body = r.read()
        dt = (time.perf_counter() - t) * 1000.0
        if r.status != 200:
            sys.exit(f"GET {a.url}: HTTP {r.status}: {body[:300]!r}")
        return dt, body

    first_ms, body = once()
    doc = json.loads(body)
    n_comments = len(doc.get("comments", [])) if isinstance(doc, dict) else -1
    if a.expect_comments is not None and n_comments != a.expect_comments:
        sys.exit(f"thread has {n_comments} comments, expected {a.expect_comments}")
    lat = []
    deadline = time.monotonic() + a.max_seconds
    while len(lat) < a.requests and time.monotonic() < deadline:
        dt, _ = once()
        lat.append(dt)
    conn.close()
    lat.sort()
    out("FIRST_MS", f"{first_ms:.1f}")
    out("N", len(lat))
    out("BYTES", len(body))
    out("COMMENTS", n_comments)
    for p in (50, 90, 99):
        out(f"P{p}_MS", f"{pct(lat, p):.1f}")
    out("MIN_MS", f"{lat[0]:.1f}" if lat else "nan")
    out("MAX_MS", f"{lat[-1]:.1f}" if lat else "nan")
    out("MEAN_MS", f"{sum(lat) / len(lat):.1f}" if lat else "nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("wait")
    p.add_argument("--url", required=True)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--pid", type=int)
    p.set_defaults(fn=cmd_wait)

    p = sub.add_parser("put-article")
    p.add_argument("--base", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--key", required=True)
    p.set_defaults(fn=cmd_put_article)

    p = sub.add_parser("fetch")
    p.add_argument("--url", required=True)
    p.add_argument("--accept")
    p.add_argument("--token")
    p.add_argument("--expect-type")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_fetch)

    p = sub.add_parser("seed")
    p.add_argument("--base", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--article", required=True)
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--authors", type=int, default=500)
    p.add_argument("--max-depth", type=int, default=4)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--seed", type=int, default=20150922)
    p.add_argument("--max-seconds", type=float, default=600)
    p.set_defaults(fn=cmd_seed)

    p = sub.add_parser("latency")
    p.add_argument("--url", required=True)
    p.add_argument("--token")
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--max-seconds", type=float, default=60)
    p.add_argument("--expect-comments", type=int)
    p.add_argument("--accept", default="application/json")
    p.set_defaults(fn=cmd_latency)

    p = sub.add_parser("delete")
    p.add_argument("--base", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--article", required=True)
    p.add_argument("--count", type=int, required=True, help="comments seeded (c000001..)")
    p.add_argument("--fraction", type=float, default=0.2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--seed", type=int, default=20151009)
    p.add_argument("--max-seconds", type=float, default=600)
    p.set_defaults(fn=cmd_delete)

    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
