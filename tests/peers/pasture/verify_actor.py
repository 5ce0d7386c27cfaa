"""Runs fediverse-pasture's verify_actor app against threadbridge's site actor and checks
its report.

verify_actor (started by tests/peers/pasture.sh) resolves `acct:site@host` by WebFinger, then
for each of its test actors fetches our actor and posts to its inbox:

- alice and dean fetch and post **unsigned** (an EchoRequest without `actor`): the inbox must
  refuse it (401 for no signature; threadbridge answers 400 first, for the missing actor);
- bob and emily fetch and post **signed** (a Like): accepted (202);
- claire and frank as bob, but their own actor documents answer only **signed** GETs, so
  threadbridge must sign its fetch of their key.

It also checks that WebFinger of the actor's preferredUsername gives the actor back. Both its
JSON answer and its HTML report are saved in --out.
"""

import argparse
import json
import os
import re
import sys
import time
import urllib.parse
import urllib.request

from common import Row, print_table

UNSIGNED = ("alice", "dean")
SIGNED = ("bob", "emily")
SIGNED_FETCH = ("claire", "frank")


def ask(verify: str, actor_uri: str, accept: str) -> bytes:
    body = urllib.parse.urlencode({"actor_uri": actor_uri}).encode()
    req = urllib.request.Request(
        verify + "/", data=body, method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": accept},
    )
    with urllib.request.urlopen(req, timeout=120) as resp:
        return resp.read()


def statuses(steps: list) -> dict[str, list]:
    """What each test actor was answered, read from verify_actor's log of steps."""
    out: dict[str, list] = {}
    current = None
    expect_status = False
    for step in steps:
        text = str(step)
        m = re.match(r"Running verification for (\w+)", text)
        if m:
            current = m.group(1)
            out[current] = []
            continue
        if current is None:
            continue
        m = re.match(r"Got (\d+) for unsigned POST", text)
        if m:
            out[current].append(("unsigned POST", int(m.group(1))))
        if expect_status and isinstance(step, int):
            out[current].append(("signed POST", step))
        expect_status = text.startswith("Successfully posted to inbox with result")
        if text.startswith("Successfully posted to inbox but remote server"):
            out[current].append(("signed POST", 400))
        if text.startswith("Failed to post to inbox") or text.startswith("Something went wrong"):
            out[current].append(("error", text))
        if text.startswith("ClientResponseError") or "ClientResponseError" in text:
            m = re.search(r"status=(\d+)", text)
            out[current].append(("signed POST", int(m.group(1)) if m else text))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threadbridge", required=True)
    ap.add_argument("--verify-actor", required=True, help="base URL of pasture's verify_actor app")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    tb = args.threadbridge.rstrip("/")
    verify = args.verify_actor.rstrip("/")
    host = tb.split("://", 1)[1]
    acct = f"acct:site@{host}"
    started = time.monotonic()

    rows: list[Row] = []
    try:
        answer = json.loads(ask(verify, acct, "application/json"))
    except Exception as e:  # verify_actor itself failed: that is a failure too
        row = Row("verify_actor", sent="-", stored="-")
        row.check("verify_actor answered", False, repr(e))
        print_table("pasture verify_actor against the site actor", [row])
        return 1
    result = answer.get("result", {})
    steps = json.loads(answer.get("messages") or "{}").get("steps", [])
    with open(os.path.join(args.out, "verify_actor.json"), "w") as fp:
        json.dump({"result": result, "steps": steps}, fp, indent=1)
    try:
        with open(os.path.join(args.out, "verify_actor.html"), "wb") as fp:
            fp.write(ask(verify, acct, "text/html"))
    except Exception as e:
        print(f"(the HTML report could not be made: {e!r})")

    seen = statuses(steps)
    resolved = any(str(s).startswith(f"Resolved to {tb}/users/site") for s in steps)
    wf = Row("webfinger", sent="-", stored="-")
    wf.check(f"{acct} -> {tb}/users/site", resolved, "not resolved: " + "; ".join(map(str, steps[:6])))
    wf.check("preferredUsername round trip", result.get("webfinger") is True, f"webfinger {result.get('webfinger')!r}")
    rows.append(wf)

    for name in (*UNSIGNED, *SIGNED, *SIGNED_FETCH):
        r = result.get(name) or {}
        got = seen.get(name, [])
        posts = [s for kind, s in got if kind.endswith("POST")]
        row = Row(name, sent=",".join(map(str, posts)) or "-", stored="-")
        row.check("GET actor" + (" (signed)" if name not in UNSIGNED else ""), r.get("get_actor") is True,
                  f"get_actor {r.get('get_actor')!r}; {got}")
        if name in UNSIGNED:
            # An unsigned request is refused with 401 before its body is read (FEDERATION.md).
            row.check("unsigned POST refused 401", r.get("post_inbox") is False and posts == [401],
                      f"post_inbox {r.get('post_inbox')!r}, answers {got}")
        else:
            label = "signed POST accepted 202" + (" (key fetched signed)" if name in SIGNED_FETCH else "")
            row.check(label, r.get("post_inbox") is True and posts == [202], f"post_inbox {r.get('post_inbox')!r}, answers {got}")
        rows.append(row)

    print_table("pasture verify_actor against the site actor", rows)
    print("verify_actor's own table:")
    for name, r in result.items():
        if name != "webfinger":
            print(f"  {name:7} GET actor {'X' if r.get('get_actor') else ' '}  POST inbox {'X' if r.get('post_inbox') else ' '}")
    print(f"  webfinger {'ok' if result.get('webfinger') else 'FAILED'}")
    print(f"(verify_actor took {time.monotonic() - started:.1f} s; report: verify_actor.json, verify_actor.html)")
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
