#!/usr/bin/env python3
"""Writes a site export for bench/import.sh: a WordPress WXR or a Disqus XML file of
--articles articles and --comments comments in all, in each exporter's shape.

Comments are spread over the articles (a few draw many), nested (about half answer an earlier
comment of the same article that is not spam, up to any depth), and marked as real exports mark them: about 4%
deleted (trash), 2% spam, 2% unapproved. Names repeat, some with spaces and Cyrillic. The file is
written as it is generated, so its size does not bound memory. Deterministic for a seed.

    bench/import_file.py --format wxr|disqus --articles N --comments N [--seed S] OUT
"""
import argparse
import random
from datetime import datetime, timedelta, timezone

NAMES = ["Ingrid Solberg", "Tomás Reyes", "Олег Петров", "Marta K", "SPB 1221", "Vita vko",
         "Alexander Romanov", "new reader", "Дмитрий Соколов", "harbour_watcher"]
WORDS = ("the ferry harbour council fees boat town quay mayor winter islands engine crew "
         "schedule ticket price season storm repair shipyard weekend market").split()


def sentence(rng, words):
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def comment_text(rng):
    paragraphs = [" ".join(sentence(rng, rng.randint(6, 14)) for _ in range(rng.randint(1, 3)))
                  for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.1:
        paragraphs[0] = "<em>" + paragraphs[0] + "</em>"
    return paragraphs


def plan(rng, articles, comments):
    """Comments per article: each article gets a share, a tenth of them get most."""
    weights = [rng.choice([1, 1, 1, 1, 1, 1, 1, 1, 1, 12]) for _ in range(articles)]
    total = sum(weights)
    counts = [comments * w // total for w in weights]
    for i in range(comments - sum(counts)):
        counts[i % articles] += 1
    return counts


def marks(rng):
    r = rng.random()
    if r < 0.04:
        return "trash"
    if r < 0.06:
        return "spam"
    if r < 0.08:
        return "held"
    return "ok"


def cdata(text):
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def wxr(out, rng, counts):
    start = datetime(2012, 1, 1, tzinfo=timezone.utc)
    out.write('<?xml version="1.0" encoding="UTF-8" ?>\n<rss version="2.0"\n'
              '\txmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"\n'
              '\txmlns:content="http://purl.org/rss/1.0/modules/content/"\n'
              '\txmlns:wfw="http://wellformedweb.org/CommentAPI/"\n'
              '\txmlns:dc="http://purl.org/dc/elements/1.1/"\n'
              '\txmlns:wp="http://wordpress.org/export/1.2/"\n>\n<channel>\n'
              '\t<title>Bench Gazette</title>\n\t<link>https://gazette.example</link>\n'
              '\t<wp:wxr_version>1.2</wp:wxr_version>\n'
              '\t<wp:author><wp:author_id>1</wp:author_id><wp:author_login><![CDATA[editor]]></wp:author_login>'
              '<wp:author_display_name><![CDATA[Hannah Editor]]></wp:author_display_name></wp:author>\n')
    comment_id = 1000
    for a, count in enumerate(counts):
        post_id = a + 1
        when = start + timedelta(hours=6 * a)
        body = "\n\n".join(" ".join(sentence(rng, 12) for _ in range(4)) for _ in range(5))
        out.write(f"\t<item>\n\t\t<title>{cdata(sentence(rng, 7))}</title>\n"
                  f"\t\t<link>https://gazette.example/{when:%Y/%m/%d}/story-{post_id}/</link>\n"
                  f"\t\t<pubDate>{when:%a, %d %b %Y %H:%M:%S} +0000</pubDate>\n"
                  f"\t\t<dc:creator><![CDATA[editor]]></dc:creator>\n"
                  f"\t\t<content:encoded>{cdata(body)}</content:encoded>\n"
                  f"\t\t<excerpt:encoded><![CDATA[]]></excerpt:encoded>\n"
                  f"\t\t<wp:post_id>{post_id}</wp:post_id>\n"
                  f"\t\t<wp:post_date_gmt><![CDATA[{when:%Y-%m-%d %H:%M:%S}]]></wp:post_date_gmt>\n"
                  f"\t\t<wp:status><![CDATA[publish]]></wp:status>\n"
                  f"\t\t<wp:post_type><![CDATA[post]]></wp:post_type>\n"
                  f"\t\t<category domain=\"category\" nicename=\"news\"><![CDATA[News]]></category>\n")
        ids = []
        for c in range(count):
            comment_id += 1
            parent = rng.choice(ids) if ids and rng.random() < 0.5 else 0
            mark = marks(rng)
            if mark != "spam":  # nobody answers spam: it was never shown
                ids.append(comment_id)
            approved = {"trash": "trash", "spam": "spam", "held": "0", "ok": "1"}[mark]
            cwhen = when + timedelta(minutes=3 * c + 1)
            name = rng.choice(NAMES)
            text = "\n\n".join(comment_text(rng))
            out.write(f"\t\t<wp:comment>\n\t\t\t<wp:comment_id>{comment_id}</wp:comment_id>\n"
                      f"\t\t\t<wp:comment_author>{cdata(name)}</wp:comment_author>\n"
                      f"\t\t\t<wp:comment_author_email><![CDATA[reader{rng.randint(1, 999)}@mail.example]]></wp:comment_author_email>\n"
                      f"\t\t\t<wp:comment_date_gmt><![CDATA[{cwhen:%Y-%m-%d %H:%M:%S}]]></wp:comment_date_gmt>\n"
                      f"\t\t\t<wp:comment_content>{cdata(text)}</wp:comment_content>\n"
                      f"\t\t\t<wp:comment_approved><![CDATA[{approved}]]></wp:comment_approved>\n"
                      f"\t\t\t<wp:comment_type><![CDATA[comment]]></wp:comment_type>\n"
                      f"\t\t\t<wp:comment_parent>{parent}</wp:comment_parent>\n"
                      f"\t\t\t<wp:comment_user_id>0</wp:comment_user_id>\n\t\t</wp:comment>\n")
        out.write("\t</item>\n")
    out.write("</channel>\n</rss>\n")


def disqus(out, rng, counts):
    start = datetime(2012, 1, 1, tzinfo=timezone.utc)
    out.write('<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
              'xmlns:dsq="http://disqus.com/disqus-internals">\n')
    for a in range(len(counts)):
        when = start + timedelta(hours=6 * a)
        out.write(f'  <thread dsq:id="{4100000000 + a}">\n    <id>{a + 1} https://gazette.example/?p={a + 1}</id>\n'
                  f'    <forum>gazette</forum>\n    <link>https://gazette.example/{when:%Y/%m/%d}/story-{a + 1}/</link>\n'
                  f'    <title>{sentence(rng, 7)}</title>\n    <message />\n'
                  f'    <createdAt>{when:%Y-%m-%dT%H:%M:%SZ}</createdAt>\n'
                  f'    <author><name>Bench Gazette</name><isAnonymous>false</isAnonymous><username>gazette</username></author>\n'
                  f'    <isClosed>false</isClosed>\n    <isDeleted>false</isDeleted>\n  </thread>\n')
    # Posts in time order across all threads, as Disqus lists them.
    events = []
    for a, count in enumerate(counts):
        when = start + timedelta(hours=6 * a)
        for c in range(count):
            events.append((when + timedelta(minutes=3 * c + 1), a))
    events.sort()
    post_id = 2200000000
    ids_by_thread = {}
    for cwhen, a in events:
        post_id += 1
        ids = ids_by_thread.setdefault(a, [])
        parent = rng.choice(ids) if ids and rng.random() < 0.5 else None
        mark = marks(rng)
        if mark != "spam":  # nobody answers spam: it was never shown
            ids.append(post_id)
        name = rng.choice(NAMES)
        message = "".join(f"<p>{p}</p>" for p in comment_text(rng))
        parent_tag = f'    <parent dsq:id="{parent}" />\n' if parent else ""
        approved = "    <isApproved>false</isApproved>\n" if mark == "held" else ""
        out.write(f'  <post dsq:id="{post_id}">\n    <id />\n    <message>{cdata(message)}</message>\n'
                  f'    <createdAt>{cwhen:%Y-%m-%dT%H:%M:%SZ}</createdAt>\n'
                  f'    <isDeleted>{"true" if mark == "trash" else "false"}</isDeleted>\n'
                  f'    <isSpam>{"true" if mark == "spam" else "false"}</isSpam>\n{approved}'
                  f'    <author><name>{name}</name><isAnonymous>true</isAnonymous></author>\n'
                  f'    <thread dsq:id="{4100000000 + a}" />\n{parent_tag}  </post>\n')
    out.write("</disqus>\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--format", choices=["wxr", "disqus"], required=True)
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--comments", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("out")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    counts = plan(rng, args.articles, args.comments)
    with open(args.out, "w", encoding="utf-8", buffering=1 << 20) as out:
        (wxr if args.format == "wxr" else disqus)(out, rng, counts)


if __name__ == "__main__":
    main()
