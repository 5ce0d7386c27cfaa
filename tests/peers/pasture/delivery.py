"""threadbridge -> pasture: pasture's test actor `bob` (served by verify_actor, whose inbox
takes only POSTs whose HTTP signature bovine verifies) follows the site, signed by bovine.
threadbridge must answer with an Accept, then deliver a new article's Create, both signed so
that bovine accepts them (202), as the admin API's deliveries show.
"""

import argparse
import asyncio
import os
import secrets
import sys
import time

import aiohttp
from fediverse_pasture.data_provider import DataProvider, bovine_actor_for_actor_data

from common import Admin, Row, print_table


async def follow(actor_id: str, data, site: str, inbox: str) -> int:
    bovine_actor, _ = bovine_actor_for_actor_data(actor_id, data)
    async with aiohttp.ClientSession() as session:
        await bovine_actor.init(session=session)
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "type": "Follow",
            "id": f"{actor_id}/follows/{secrets.token_urlsafe(6)}",
            "actor": actor_id,
            "object": site,
        }
        try:
            return (await bovine_actor.post(inbox, activity)).status
        except aiohttp.ClientResponseError as e:
            return e.status


def delivery_to(admin: Admin, inbox: str, kind: str, seconds: float) -> dict | None:
    deadline = time.monotonic() + seconds
    while True:
        items = admin.get("/api/admin/deliveries?per_page=500")["items"]
        found = [d for d in items if d.get("inbox") == inbox and d.get("activity_type") == kind]
        if found and found[0]["state"] != "pending" or time.monotonic() > deadline:
            return found[0] if found else None
        time.sleep(0.3)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threadbridge", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--verify-actor", required=True, help="base URL of pasture's verify_actor app")
    ap.add_argument("--verify-actor-dir", required=True, help="its folder (data.toml)")
    args = ap.parse_args()
    tb = args.threadbridge.rstrip("/")
    admin = Admin(tb, args.token)
    os.chdir(args.verify_actor_dir)
    dp = DataProvider.load()
    bob = next(a for a in dp.possible_actors if a.actor_name == "bob")
    assert bob.requires_signed_post_for_inbox, "pasture's bob is the actor whose inbox checks signatures"
    actor_id = f"{args.verify_actor.rstrip('/')}/bob"
    bob_inbox = f"{actor_id}/inbox"
    site = f"{tb}/users/site"

    rows = []
    status = asyncio.run(follow(actor_id, bob, site, f"{site}/inbox"))
    row = Row("Follow by bob", sent=str(status), stored="-")
    row.check("Follow accepted 202", status == 202, f"inbox answered {status}")
    followers = admin.get("/api/admin/followers")["items"]
    row.check("bob listed as follower", any(f.get("actor") == actor_id for f in followers), f"followers {followers}")
    rows.append(row)

    accept = delivery_to(admin, bob_inbox, "Accept", 20)
    row = Row("Accept -> bob", sent=str(accept and accept.get("last_status")), stored=str(accept and accept.get("state")))
    row.check("delivered, bovine verified the signature (202)", bool(accept) and accept["state"] == "done" and accept.get("last_status") == 202,
              f"delivery {accept}")
    rows.append(row)

    admin.put("/api/admin/articles/pasture-delivery", {
        "title": "For pasture's followers", "url": "https://news.example/pasture-delivery",
        "content": "<p>Delivered to bob.</p>", "author": {"username": "ed"},
    })
    create = delivery_to(admin, bob_inbox, "Create", 20)
    row = Row("Create (article) -> bob", sent=str(create and create.get("last_status")), stored=str(create and create.get("state")))
    row.check("delivered, bovine verified the signature (202)", bool(create) and create["state"] == "done" and create.get("last_status") == 202,
              f"delivery {create}")
    rows.append(row)

    print_table("threadbridge delivers to pasture (signatures checked by bovine)", rows)
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
