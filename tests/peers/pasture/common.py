"""Helpers shared by the pasture interop scripts: free ports, waiting for servers, the
admin API of threadbridge, reading HTML as a reader sees it, and the result table.

Command line (used by tests/peers/pasture.sh):
    common.py free-ports N          print N free TCP ports of 127.0.0.1
    common.py wait SECONDS URL...   wait until every URL answers HTTP (any status)
"""

import json
import re
import socket
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser


# --- processes and ports ------------------------------------------------------------------


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_for(urls: list[str], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    pending = list(urls)
    while pending and time.monotonic() < deadline:
        url = pending[0]
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/activity+json"}), timeout=2)
            pending.pop(0)
        except urllib.error.HTTPError:
            pending.pop(0)  # it answers: that is all we wait for
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    for url in pending:
        print(f"not answering after {seconds} s: {url}", file=sys.stderr)
    return not pending


# --- threadbridge's admin API ---------------------------------------------------------------


class AdminError(Exception):
    pass


@dataclass
class Admin:
    base: str
    token: str

    def request(self, method: str, path: str, body=None) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            raise AdminError(f"{method} {path} -> {e.code}: {text}") from None

    def put(self, path: str, body: dict) -> dict:
        status, doc = self.request("PUT", path, body)
        if status not in (200, 201):
            raise AdminError(f"PUT {path} -> {status}: {doc}")
        return doc

    def get(self, path: str) -> dict:
        return self.request("GET", path)[1]


# --- what a reader sees of some HTML -----------------------------------------------------------

# Elements whose content is never shown as text.
HIDDEN = {"script", "style", "template"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.links: list[dict] = []
        self._hidden = 0
        self._link = None

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v or "") for k, v in attrs}
        self.tags.append((tag, attrs))
        if tag in HIDDEN:
            self._hidden += 1
        if tag == "a":
            self._link = {"attrs": attrs, "text": ""}
            self.links.append(self._link)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, {k: (v or "") for k, v in attrs}))

    def handle_endtag(self, tag):
        if tag in HIDDEN and self._hidden:
            self._hidden -= 1
        if tag == "a":
            self._link = None

    def handle_data(self, data):
        if self._hidden:
            return
        self.text.append(data)
        if self._link is not None:
            self._link["text"] += data


def read_html(html: str) -> _Reader:
    r = _Reader()
    r.feed(html or "")
    r.close()
    return r


def words(html: str) -> list[str]:
    """The words a reader sees, in order (punctuation and spacing left out)."""
    return re.findall(r"\w+", " ".join(read_html(html).text))


def words_of_text(text: str | None) -> list[str]:
    return re.findall(r"\w+", text or "")


# Never in stored content: active or embedding elements, and document-level ones.
FORBIDDEN_TAGS = {
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "img", "audio",
    "video", "source", "form", "input", "button", "select", "textarea", "meta", "link", "base",
    "html", "head", "body", "title", "svg", "math",
}


def unsafe_parts(html: str) -> list[str]:
    """What a sanitiser must have removed, as found in `html` (empty when it is clean)."""
    r = read_html(html)
    problems = []
    for tag, attrs in r.tags:
        if tag in FORBIDDEN_TAGS:
            problems.append(f"<{tag}>")
        for name, value in attrs.items():
            if name.startswith("on") or name in ("style", "srcdoc"):
                problems.append(f"{tag}[{name}]")
            if name in ("href", "src", "action", "formaction") and re.match(r"\s*(javascript|data|vbscript):", value, re.I):
                problems.append(f"{tag}[{name}={value[:20]}]")
    for link in r.links:
        rel = set(link["attrs"].get("rel", "").split())
        if not {"nofollow", "noopener", "noreferrer"} <= rel:
            problems.append(f"<a> without rel=nofollow noopener noreferrer ({link['attrs'].get('rel')!r})")
    return problems


# --- the table ------------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    sent: str = ""
    stored: str = ""
    checks: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def check(self, label: str, ok: bool, detail: str = ""):
        self.checks.append(label)
        if not ok:
            self.failures.append(f"{label}: {detail}" if detail else label)

    @property
    def passed(self) -> bool:
        return not self.failures


def print_table(title: str, rows: list[Row]):
    headers = ("variant", "sent", "stored?", "checked", "result")
    lines = []
    for r in rows:
        result = "PASS" if r.passed else "FAIL"
        lines.append((r.name, r.sent, r.stored, ", ".join(r.checks), result))
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(headers)]
    widths[3] = min(widths[3], 70)

    def fmt(cells):
        out = []
        for i, c in enumerate(cells):
            c = c if len(c) <= widths[i] else c[: widths[i] - 1] + "…"
            out.append(c.ljust(widths[i]))
        return "| " + " | ".join(out) + " |"

    print(f"\n## {title}\n")
    print(fmt(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in lines:
        print(fmt(line))
    failed = [r for r in rows if not r.passed]
    if failed:
        print(f"\nFailures ({len(failed)}):")
        for r in failed:
            for f in r.failures:
                print(f"  - {r.name}: {f}")
    print(f"\n{title}: {len(rows) - len(failed)} passed, {len(failed)} failed")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "free-ports":
        print(" ".join(str(p) for p in free_ports(int(sys.argv[2]))))
    elif len(sys.argv) >= 4 and sys.argv[1] == "wait":
        sys.exit(0 if wait_for(sys.argv[3:], float(sys.argv[2])) else 1)
    else:
        sys.exit(__doc__)
