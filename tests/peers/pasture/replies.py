"""Replies from fediverse-pasture to a threadbridge article, one per payload variant of
fediverse-pasture-inputs, each checked through threadbridge's admin API for what a reader of
the site would see (or that it was refused or ignored, when that is right).

The Create activities are built, signed and sent by pasture itself (its one_actor data and
ActivitySender, on bovine); this script only chooses what goes into each Note: the input's
fields, with `inReplyTo` pointing at the article (and the inputs' placeholder host
`http://pasture-one-actor` replaced by where pasture's one_actor really runs).
"""

import argparse
import asyncio
import json
import logging
import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import fediverse_pasture_inputs
from fediverse_pasture.one_actor import bovine_actor_and_session
from fediverse_pasture.runner import ActivitySender

from common import Admin, Row, print_table, read_html, unsafe_parts, words_of_text

PLACEHOLDER = "http://pasture-one-actor"
ARTICLE_KEY = "pasture-interop"
COMMENT_KEY = "c1"
EITHER = object()  # stored or not: both are acceptable answers to that input
UNSET = object()


def visible(html: str | None) -> str:
    """The characters a reader sees (whitespace left out: layout may differ)."""
    return re.sub(r"\s+", "", "".join(read_html(html or "").text))


def links(html: str | None) -> list[tuple[str, str]]:
    return [(a["attrs"].get("href", ""), re.sub(r"\s+", "", a["text"])) for a in read_html(html or "").links]


def http_url(value: Any) -> str | None:
    """The http(s) URL an ActivityStreams `url`/`href` value gives: a string, a Link, or, in
    a list, the text/html one or else the first."""
    if isinstance(value, str):
        return value if re.match(r"https?://", value) else None
    if isinstance(value, dict):
        return http_url(value.get("href"))
    if isinstance(value, list) and value:
        html = [v for v in value if isinstance(v, dict) and v.get("mediaType") == "text/html"]
        return http_url((html or value)[0])
    return None


def same_url(a: str | None, b: str | None) -> bool:
    """Equal as URLs (`https://host` and `https://host/` are one address)."""
    norm = lambda u: u + "/" if u and re.fullmatch(r"https?://[^/?#]+", u) else u
    return norm(a) == norm(b)


def expected_attachments(value: Any) -> list[dict]:
    """What a reader should get of `attachment`: a link per item that has an http(s) URL, with
    its media type and description (Mastodon's rule: `summary`, else `name`)."""
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        url = http_url(item.get("url")) or http_url(item.get("href"))
        if not url:
            continue
        att = {"url": url}
        if isinstance(item.get("mediaType"), str):
            att["media_type"] = item["mediaType"]
        desc = next((item[k] for k in ("summary", "name") if isinstance(item.get(k), str) and item[k].strip()), None)
        if desc:
            att["name"] = desc
        out.append(att)
    return out[:16]


@dataclass
class Case:
    name: str
    fields: dict  # what goes into the Note (merged over pasture's skeleton)
    stored: Any = True  # True, False or EITHER
    why: str = ""  # why it must not be stored (shown in the table)
    parent: Any = None  # expected `parent` key (None: the article); a set: any of them
    depth: int | None = 1
    extra_checks: list[Callable] = field(default_factory=list)
    # filled in while running
    object_id: str | None = None
    sent: str = ""
    phase: int = 1


def note_fields(example: dict, base: str, article: str, comment: str) -> dict:
    """The input with its placeholder URLs made real: note1 is our article, note2 our site
    comment, anything else on pasture-one-actor is on the running one_actor."""

    def fix(v):
        if isinstance(v, str):
            v = v.replace(f"{PLACEHOLDER}/assets/note1.jsonap", article)
            v = v.replace(f"{PLACEHOLDER}/assets/note2.jsonap", comment)
            return v.replace(PLACEHOLDER, base)
        if isinstance(v, list):
            return [fix(x) for x in v]
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        return v

    return fix(example)


def build_cases(base: str, actor_id: str, article: str, comment: str) -> list[Case]:
    inputs = fediverse_pasture_inputs.available
    cases: list[Case] = []

    def add(group: str, i: int, example: dict, **kw):
        f = note_fields(example, base, article, comment)
        if "inReplyTo" not in f:
            f["inReplyTo"] = article
        cases.append(Case(f"{group}#{i}", f, **kw))

    # inReplyTo in its many shapes: a string, a list, a Link, a Collection, an embedded object.
    reply_shapes = {
        0: dict(),  # our article's id
        1: dict(stored=False, why="parent on an unknown, unreachable server"),
        2: dict(),  # [article]
        3: dict(stored=EITHER, why="a Link as inReplyTo (AS2 allows it; Mastodon ignores it)"),
        4: dict(parent={None, COMMENT_KEY}),  # [article, comment]: one of them
        5: dict(stored=False, why="a Collection of actors is no post to answer"),
        6: dict(),  # embedded copy of our article: only its id counts
    }
    for i, ex in enumerate(inputs["in_reply_to"].examples):
        add("in_reply_to", i, ex, **reply_shapes.get(i, {}))

    for group in ("html_bad", "html_tags", "html_tags_article", "html_anchor"):
        for i, ex in enumerate(inputs[group].examples):
            f = note_fields(ex, base, article, comment)
            if visible(f.get("content")):
                add(group, i, ex, extra_checks=[check_content])
            else:
                add(group, i, ex, stored=False, why="nothing readable left once sanitised")

    # html_bad's inputs in 0.3.0 write `<$script>` (a template slip upstream), which is text,
    # not a tag; the same inputs without the `$` are the tags that input means to test.
    for i, ex in enumerate(inputs["html_bad"].examples):
        ex = {**ex, "content": ex["content"].replace("$", "")}
        if visible(ex["content"]):
            add("html_bad(no $)", i, ex, extra_checks=[check_content])
        else:
            add("html_bad(no $)", i, ex, stored=False, why="nothing readable left once sanitised")

    for i, ex in enumerate(inputs["html_tags_summary"].examples):
        add("html_tags_summary", i, ex, extra_checks=[check_content, check_summary_html])

    for group in ("mentions", "hashtags", "hashtag_jsonld", "quotes", "context", "public_addressing"):
        for i, ex in enumerate(inputs[group].examples):
            add(group, i, ex, extra_checks=[check_content])

    for group in ("attachments", "image_attachments", "image_description", "recommended_attachments"):
        for i, ex in enumerate(inputs[group].examples):
            add(group, i, ex, extra_checks=[check_content, check_attachments])

    for i, ex in enumerate(inputs["content_warnings"].examples):
        add("content_warnings", i, ex, extra_checks=[check_content, check_summary_plain, check_attachments])

    for i, ex in enumerate(inputs["language"].examples):
        add("language", i, ex, extra_checks=[check_language])

    for i, ex in enumerate(inputs["url"].examples):
        add("url", i, ex, extra_checks=[check_content, check_url])

    for i, ex in enumerate(inputs["necessary_properties"].examples):
        missing = [k for k, v in ex.items() if v is None]
        if not missing:
            add("necessary_properties", i, ex, extra_checks=[check_content])
        elif missing == ["published"]:
            add("necessary_properties", i, ex, extra_checks=[check_content, check_published_now])
        else:
            add("necessary_properties", i, ex, stored=False, why=f"no {missing[0]}")

    for i, ex in enumerate(inputs["attributed_to"].examples):
        authors = ex["attributedTo"] if isinstance(ex["attributedTo"], list) else [ex["attributedTo"]]
        if len(authors) > 1:
            add("attributed_to", i, ex, stored=EITHER, why="two authors", extra_checks=[check_content])
        else:
            add("attributed_to", i, ex, extra_checks=[check_content])

    posts = {"Note", "Article", "Page"}
    not_posts = {"Place", "Profile", "Relationship", "Tombstone", None}
    for i, ex in enumerate(inputs["object_types"].examples):
        kind = ex.get("type")
        if isinstance(kind, str) and kind in posts:
            add("object_types", i, ex, extra_checks=[check_content, check_summary_plain])
        elif (kind if isinstance(kind, str) or kind is None else "list") in not_posts:
            add("object_types", i, ex, stored=False, why=f"a {kind} is no post")
        else:
            add("object_types", i, ex, stored=EITHER, why=f"{kind}: not a Note/Article/Page", extra_checks=[check_content])

    # Beyond the inputs (same sender): where the reply sits, and who may read it.
    cases.append(Case("extra:reply-to-comment", {"content": "<p>answering the site comment</p>", "inReplyTo": comment},
                      parent=COMMENT_KEY, depth=2, extra_checks=[check_content]))
    cases.append(Case("extra:unlisted", {"content": "<p>unlisted reply</p>", "inReplyTo": article,
                                         "to": [f"{actor_id}/followers"], "cc": ["https://www.w3.org/ns/activitystreams#Public"]},
                      extra_checks=[check_content]))
    cases.append(Case("extra:direct-message", {"content": "<p>private: only for the site</p>", "inReplyTo": article,
                                               "to": [], "cc": []},
                      stored=False, why="a direct message to the site: must not become a public comment"))
    cases.append(Case("extra:followers-only", {"content": "<p>for my followers only</p>", "inReplyTo": article,
                                               "to": [f"{actor_id}/followers"], "cc": []},
                      stored=False, why="followers-only: must not become a public comment"))
    return cases


# --- checks of a stored reply (each returns (label, ok, detail)) ---------------------------------


def check_content(case: Case, c: dict, ctx) -> list:
    f = case.fields
    expected = visible(f.get("content"))
    kind = f.get("type")
    if kind in ("Article", "Page") and isinstance(f.get("name"), str):
        expected = visible(f["name"]) + expected
    got = visible(c.get("content"))
    out = [("text as sent", got == expected, f"reader sees {got[:80]!r}, sent {expected[:80]!r}")]
    for href, text in links(f.get("content")):
        if re.match(r"https?://", href):
            kept = (href, text) in links(c.get("content"))
            out.append(("link kept", kept, f"<a href={href!r}>{text}</a> missing in {c.get('content')!r}"))
    return out


def check_summary_plain(case: Case, c: dict, ctx) -> list:
    f = case.fields
    s = f.get("summary")
    want = s if isinstance(s, str) and s.strip() and (f.get("type", "Note") == "Note" or f.get("sensitive")) else None
    got = (c.get("remote") or {}).get("summary")
    return [("content warning", got == want, f"remote.summary {got!r}, expected {want!r}")]


def check_summary_html(case: Case, c: dict, ctx) -> list:
    want = visible(case.fields.get("summary")) or None
    got = (c.get("remote") or {}).get("summary")
    ok = (re.sub(r"\s+", "", got) if got else None) == want and not re.search(r"<[a-zA-Z/!]", got or "")
    return [("content warning as plain text", ok, f"remote.summary {got!r}, expected the text {want!r}")]


def check_attachments(case: Case, c: dict, ctx) -> list:
    want = expected_attachments(case.fields.get("attachment"))
    got = (c.get("remote") or {}).get("attachments") or []
    ok = len(got) == len(want)
    for g, w in zip(got, want):
        ok = ok and same_url(g.get("url"), w["url"]) and g.get("name") == w.get("name")
        # a media type given on the attachment must be kept; one on a nested Link may be taken
        if "media_type" in w:
            ok = ok and g.get("media_type") == w["media_type"]
    return [(f"{len(want)} attachment(s)", ok, f"got {json.dumps(got)[:300]}, expected {json.dumps(want)[:300]}")]


def check_language(case: Case, c: dict, ctx) -> list:
    f = case.fields
    cmap = f.get("contentMap")
    lang = (c.get("remote") or {}).get("language")
    got = visible(c.get("content"))
    if not cmap:
        return [("no language", lang is None, f"remote.language {lang!r}"),
                ("text as sent", got == visible(f.get("content")), f"reader sees {got!r}")]
    out = [("language from contentMap", lang in cmap, f"remote.language {lang!r}, contentMap {cmap}")]
    if "content" in f:
        out.append(("text = content", got == visible(f["content"]), f"reader sees {got!r}"))
    else:
        want = visible(cmap.get(lang)) if lang in cmap else None
        out.append(("text = contentMap[language]", got == want, f"reader sees {got!r}, language {lang!r}"))
    return out


def check_url(case: Case, c: dict, ctx) -> list:
    want = http_url(case.fields.get("url"))
    got = (c.get("remote") or {}).get("url")
    return [("page link (remote.url)", same_url(got, want), f"remote.url {got!r}, expected {want!r}")]


def check_published_now(case: Case, c: dict, ctx) -> list:
    try:
        p = datetime.fromisoformat(c["published"].replace("Z", "+00:00"))
        ok = abs(p - datetime.now(timezone.utc)) < timedelta(minutes=10)
    except (KeyError, TypeError, ValueError):
        ok = False
    return [("published = arrival", ok, f"published {c.get('published')!r}")]


def check_common(case: Case, c: dict, ctx) -> list:
    out = []
    parent_ok = c.get("parent") in case.parent if isinstance(case.parent, set) else c.get("parent") == case.parent
    depth_ok = case.depth is None or c.get("depth") == case.depth or isinstance(case.parent, set)
    out.append(("parent", parent_ok and depth_ok, f"parent {c.get('parent')!r} depth {c.get('depth')!r}, expected {case.parent!r}"))
    a = c.get("author") or {}
    out.append(("author", a.get("name") == ctx["actor_name"] and a.get("handle") == ctx["handle"] and a.get("url") == ctx["actor_id"],
                f"author {a}"))
    out.append(("shown", c.get("origin") == "remote" and c.get("status") == "visible",
                f"origin {c.get('origin')!r} status {c.get('status')!r}"))
    bad = unsafe_parts(c.get("content") or "")
    out.append(("sanitised", not bad, f"{bad} in {c.get('content')!r}"))
    return out


# --- sending through pasture ------------------------------------------------------------------------


class _PostFailures(logging.Handler):
    """pasture's ActivitySender logs (and swallows) a refused POST with its status."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.statuses: list[int] = []

    def emit(self, record):
        if isinstance(record.msg, str) and record.msg.startswith("Posting to inbox of") and len(record.args or ()) >= 2:
            self.statuses.append(record.args[1])


async def send_all(cases: list[Case], one_actor: str, site_actor: str, phase: int, log) -> None:
    failures = _PostFailures()
    runner_log = logging.getLogger("fediverse_pasture.runner")
    runner_log.addHandler(failures)
    runner_log.propagate = False
    async with bovine_actor_and_session(one_actor) as (bovine_actor, actor, _session):
        sender = ActivitySender.for_actor(bovine_actor, actor)
        for case in cases:
            if case.phase != phase:
                continue
            sender.init_create_note(lambda note, f=case.fields: {**note, **f})
            case.object_id = sender.note.get("id")
            before = len(failures.statuses)
            try:
                result = await sender.send(site_actor)
            except Exception as e:  # not an HTTP answer: the request itself failed
                case.sent = f"error {type(e).__name__}"
                log.write(f"{case.name}: {e!r}\n")
                continue
            if result is not None:
                case.sent = str(result.status)
            elif len(failures.statuses) > before:
                case.sent = str(failures.statuses[-1])
            else:
                case.sent = "not sent"
            log.write(json.dumps({"case": case.name, "sent": case.sent, "activity": sender.activity}) + "\n")


def thread(admin: Admin) -> dict:
    return admin.get(f"/api/admin/articles/{ARTICLE_KEY}/thread")


def wait_stored(admin: Admin, ids: set[str], seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        doc = thread(admin)
        have = {c.get("ap_id") for c in doc["comments"]}
        if ids <= have or time.monotonic() > deadline:
            return doc
        time.sleep(0.3)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threadbridge", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--one-actor", required=True, help="base URL of pasture's one_actor")
    ap.add_argument("--one-actor-dir", required=True, help="its folder (data.toml)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    tb = args.threadbridge.rstrip("/")
    admin = Admin(tb, args.token)
    started = time.monotonic()

    # The article and a site comment, as the news site publishes them.
    art = admin.put(f"/api/admin/articles/{ARTICLE_KEY}", {
        "title": "Pasture interop", "url": "https://news.example/pasture",
        "content": "<p>An article the fediverse answers.</p>", "author": {"username": "ed"},
    })
    com = admin.put(f"/api/admin/articles/{ARTICLE_KEY}/comments/{COMMENT_KEY}", {
        "author": {"username": "ann"}, "content": "A reader's comment on the site.",
    })
    article, comment = art["ap_id"], com["ap_id"]

    os.chdir(args.one_actor_dir)  # pasture reads its actor's keys from ./data.toml
    one_actor = args.one_actor.rstrip("/")
    actor_id = f"{one_actor}/actor"
    host = one_actor.split("://", 1)[1]
    ctx = {"actor_id": actor_id, "actor_name": "Test Actor", "handle": f"@actor@{host}"}
    site_actor = f"{tb}/users/site"

    cases = build_cases(one_actor, actor_id, article, comment)
    # A reply to a federated reply: sent once its parent (in_reply_to#0) is stored.
    nested = Case("extra:reply-to-reply", {"content": "<p>answering a fediverse reply</p>"}, depth=2,
                  extra_checks=[check_content], phase=2)
    cases.append(nested)

    with open(os.path.join(args.out, "pasture-activities.jsonl"), "w") as log:
        asyncio.run(send_all(cases, one_actor, site_actor, 1, log))
        first = next(c for c in cases if c.name == "in_reply_to#0")
        if first.object_id:
            wait_stored(admin, {first.object_id}, 10)
            stored_first = {c["ap_id"]: c for c in thread(admin)["comments"]}.get(first.object_id)
            nested.fields["inReplyTo"] = first.object_id
            nested.parent = stored_first["id"] if stored_first else "(in_reply_to#0 not stored)"
            asyncio.run(send_all(cases, one_actor, site_actor, 2, log))

    must = {c.object_id for c in cases if c.stored is True and c.object_id}
    doc = wait_stored(admin, must, 20)
    time.sleep(1.5)  # what is fetched in the background (parent chains) has its chance too
    doc = thread(admin)
    with open(os.path.join(args.out, "thread.json"), "w") as fp:
        json.dump(doc, fp, indent=1)
    by_id = {c.get("ap_id"): c for c in doc["comments"]}

    rows = []
    for case in cases:
        row = Row(case.name, sent=case.sent)
        c = by_id.get(case.object_id) if case.object_id else None
        row.stored = "yes" if c else "no"
        if case.stored is False:
            row.check(f"not stored ({case.why})", c is None, f"stored as {c and c.get('id')}: {c and c.get('content')!r}")
        elif case.stored is True:
            row.check("sent 202", case.sent == "202", f"inbox answered {case.sent}")
            row.check("stored", c is not None, "not in the thread")
        else:
            row.checks.append(f"either ({case.why})")
        if c is not None:
            for check in [check_common, *case.extra_checks]:
                for label, ok, detail in check(case, c, ctx):
                    row.check(label, ok, detail)
        rows.append(row)

    # Nothing else may have reached the thread (a refused input stored after all, twice, ...).
    known = {c.object_id for c in cases if c.object_id} | {comment}
    strays = [c for c in doc["comments"] if c.get("ap_id") not in known]
    extra = Row("(whole thread)", sent="-", stored=str(len(doc["comments"])))
    extra.check("nothing else stored", not strays, "; ".join(f"{c.get('id')}: {c.get('content')!r}" for c in strays))
    site = next((c for c in doc["comments"] if c.get("ap_id") == comment), None)
    extra.check("site comment intact", bool(site) and site.get("origin") == "local" and site.get("parent") is None,
                f"{site}")
    rows.append(extra)

    print_table("threadbridge receives pasture's replies", rows)
    print(f"(sent {len(cases)} activities and checked the thread in {time.monotonic() - started:.1f} s)")
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
