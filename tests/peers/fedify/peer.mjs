// A small fediverse server built on Fedify that federates with a running
// threadbridge and checks, on both sides, what a Fedify user would see.
// Started by tests/peers/fedify.sh; see README.md beside this file.
//
// SPDX-License-Identifier: AGPL-3.0-or-later

import http from "node:http";
import https from "node:https";
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { Temporal } from "@js-temporal/polyfill";
import {
  createFederation,
  generateCryptoKeyPair,
  MemoryKvStore,
  verifyRequestDetailed,
} from "@fedify/fedify";
import {
  Accept,
  Create,
  Delete,
  Endpoints,
  Follow,
  isActor,
  Like,
  Mention,
  Note,
  Person,
  PUBLIC_COLLECTION,
  Tombstone,
  Undo,
  Update,
} from "@fedify/vocab";

// ---------------------------------------------------------------- settings

function env(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`peer: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const TB_INTERNAL = env("TB_INTERNAL"); // http://127.0.0.1:<port>, threadbridge itself
const PUBLIC_URL = env("TB_PUBLIC_URL"); // https://localhost:<proxy port>, what the fediverse sees
const PROXY_PORT = Number(env("PROXY_PORT"));
const PEER_PORT = Number(env("PEER_PORT"));
const ADMIN_TOKEN = env("TB_ADMIN_TOKEN");
const TLS_CERT = env("TLS_CERT");
const TLS_KEY = env("TLS_KEY");
const VERBOSE = process.env.PEER_VERBOSE === "1";

const PEER_ORIGIN = `http://127.0.0.1:${PEER_PORT}`;
const PUBLIC_HOST = new URL(PUBLIC_URL).host; // localhost:<proxy port>
const SITE_HANDLE = `@site@${PUBLIC_HOST}`;
const SITE_ID = `${PUBLIC_URL}/users/site`;
const ME = "alice";
const RUN = randomUUID().slice(0, 8); // makes every text of this run unique

function log(...args) {
  if (VERBOSE) console.error("peer:", ...args);
}

// ------------------------------------------- observations (both directions)

/** Every POST our Fedify server received in its inboxes. */
const inboxPosts = [];
/** Every activity Fedify handed to our inbox listeners (so: verified). */
const received = [];
/** Every signed POST Fedify sent to threadbridge (one per knock). */
const knocks = [];
/** Every request that reached threadbridge through the HTTPS proxy. */
const proxied = [];

// Fedify calls the global fetch for deliveries; watch (never change) what
// it sends to threadbridge's inboxes, to see its double knocking.
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const request = input instanceof Request ? input : null;
  const url = String(request ? request.url : input);
  const method = (init?.method ?? request?.method ?? "GET").toUpperCase();
  const response = await realFetch(input, init);
  if (method === "POST" && url.startsWith(PUBLIC_URL)) {
    const headers = new Headers(init?.headers ?? request?.headers);
    knocks.push({
      url,
      spec: headers.has("signature-input") ? "rfc9421" : headers.has("signature") ? "draft-cavage" : "unsigned",
      status: response.status,
    });
    log("knock", knocks.at(-1));
  }
  return response;
};

// ---------------------------------------------------------------- Fedify

const kv = new MemoryKvStore();
const federation = createFederation({
  kv,
  origin: PEER_ORIGIN,
  // threadbridge runs on this machine: Fedify refuses loopback addresses
  // unless told it is a test.
  allowPrivateAddress: true,
  // firstKnock is left at Fedify's default (rfc9421), so the Follow below
  // double-knocks as every Fedify server does.
});

const rsaKeys = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
const ed25519Keys = await generateCryptoKeyPair("Ed25519");

/** Our notes by local id: { note, deleted }. */
const notes = new Map();

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== ME) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Alice Fedify",
      summary: "A Fedify test peer",
      url: new URL(`/@${identifier}`, PEER_ORIGIN),
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) =>
    identifier === ME ? [rsaKeys, ed25519Keys] : []
  );

federation.setObjectDispatcher(
  Note,
  "/users/{identifier}/notes/{id}",
  (_ctx, { identifier, id }) => {
    const entry = identifier === ME ? notes.get(id) : undefined;
    return entry && !entry.deleted ? entry.note : null;
  },
);

/** Our Follow activities by local id, served at their ids: Fedify fetches an
 * Accept's embedded Follow again from its own origin before trusting it. */
const follows = new Map();
federation.setObjectDispatcher(
  Follow,
  "/users/{identifier}/follows/{id}",
  (_ctx, { identifier, id }) => (identifier === ME ? follows.get(id) ?? null : null),
);

function remember(kind) {
  return async (ctx, activity) => {
    let object = null;
    try {
      object = await activity.getObject({ documentLoader: ctx.documentLoader });
    } catch (e) {
      log("could not read the object of", activity.id?.href, e);
    }
    received.push({ kind, activity, object, recipient: ctx.recipient });
    log("received", kind, activity.id?.href, "for", ctx.recipient ?? "shared inbox");
  };
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, remember("Accept"))
  .on(Create, remember("Create"))
  .on(Update, remember("Update"))
  .on(Delete, remember("Delete"))
  .onError((_ctx, error) => console.error("peer: inbox listener error:", error));

const ctx = federation.createContext(new URL(PEER_ORIGIN), undefined);
const aliceId = ctx.getActorUri(ME);
const aliceInbox = ctx.getInboxUri(ME);
const sharedInbox = ctx.getInboxUri();

// --------------------------------------------------- our HTTP server (Node)

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function toHeaders(raw) {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value != null) headers.set(name, value);
  }
  return headers;
}

async function sendResponse(res, response) {
  const headers = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const body = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, headers);
  res.end(body);
}

const peerServer = http.createServer(async (req, res) => {
  try {
    const body = await readBody(req);
    const url = new URL(req.url, PEER_ORIGIN);
    const request = new Request(url, {
      method: req.method,
      headers: toHeaders(req.headers),
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    });
    // A note we deleted is gone: 410 with a Tombstone, as Mastodon answers.
    const noteMatch = url.pathname.match(/^\/users\/alice\/notes\/([^/]+)$/);
    if (req.method === "GET" && noteMatch && notes.get(noteMatch[1])?.deleted) {
      const tombstone = new Tombstone({ id: url, deleted: notes.get(noteMatch[1]).deletedAt });
      res.writeHead(410, { "content-type": "application/activity+json" });
      res.end(JSON.stringify(await tombstone.toJsonLd({ contextLoader: ctx.contextLoader })));
      return;
    }
    const isInbox = req.method === "POST" && (url.pathname === "/inbox" || url.pathname === `/users/${ME}/inbox`);
    let post = null;
    if (isInbox) {
      // Fedify's own verifier, run on a copy, so the table can say which key
      // signed each delivery (the inbox below verifies it again, as always).
      const check = await verifyRequestDetailed(request.clone(), {
        documentLoader: ctx.documentLoader,
        contextLoader: ctx.contextLoader,
      });
      let json = null;
      try {
        json = JSON.parse(body.toString("utf8"));
      } catch { /* Fedify answers it */ }
      post = {
        path: url.pathname,
        spec: req.headers["signature-input"] ? "rfc9421" : req.headers["signature"] ? "draft-cavage" : "unsigned",
        verified: check.verified,
        keyId: check.verified ? check.key.id?.href : null,
        failure: check.verified ? null : JSON.stringify(check.reason),
        activityId: json?.id ?? null,
        type: json?.type ?? null,
        status: null,
      };
      inboxPosts.push(post);
    }
    const response = await federation.fetch(request, {
      contextData: undefined,
      onNotFound: () => new Response("Not Found", { status: 404 }),
      onNotAcceptable: () => new Response("Not Acceptable", { status: 406 }),
    });
    if (post) {
      post.status = response.status;
      log("inbox", post);
    } else {
      log(req.method, url.pathname, "->", response.status);
    }
    await sendResponse(res, response);
  } catch (e) {
    console.error("peer: request failed:", e);
    res.writeHead(500);
    res.end();
  }
});

// ------------------------- the HTTPS front of threadbridge (see README.md)

const internal = new URL(TB_INTERNAL);
const proxy = https.createServer(
  { cert: readFileSync(TLS_CERT), key: readFileSync(TLS_KEY) },
  (req, res) => {
    // Host (and every other header) is passed on untouched: threadbridge
    // checks that a signature was made for its own host.
    const upstream = http.request(
      {
        host: internal.hostname,
        port: internal.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, "x-forwarded-proto": "https" },
      },
      (upRes) => {
        proxied.push({ method: req.method, path: req.url, status: upRes.statusCode });
        res.writeHead(upRes.statusCode, upRes.headers);
        upRes.pipe(res);
      },
    );
    upstream.on("error", (e) => {
      proxied.push({ method: req.method, path: req.url, status: 502 });
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(upstream);
  },
);

await new Promise((resolve) => peerServer.listen(PEER_PORT, "127.0.0.1", resolve));
await new Promise((resolve) => proxy.listen(PROXY_PORT, "127.0.0.1", resolve));
log("peer at", PEER_ORIGIN, "threadbridge at", PUBLIC_URL);

// ------------------------------------------------------------- helpers

async function admin(method, path, body) {
  const response = await realFetch(`${TB_INTERNAL}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch { /* keep text */ }
  return { status: response.status, json, text };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls until probe() returns a truthy value, or gives up after ms. */
async function until(probe, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) return null;
    await sleep(200);
  }
}

const thread = async (key) => (await admin("GET", `/api/admin/articles/${encodeURIComponent(key)}/thread`)).json;
const findComment = (t, pred) => (t?.comments ?? []).find(pred);
const followers = async () => (await admin("GET", "/api/admin/followers?per_page=500")).json;
const text = (html) => String(html ?? "").replace(/<[^>]*>/g, "");
const receivedSince = (n) => received.slice(n);

/** The delivery of an activity (by id) to one of our inboxes, as the admin API lists it. */
async function deliveryTo(activityId, inboxes) {
  const list = (await admin("GET", "/api/admin/deliveries?per_page=500")).json;
  return (list?.items ?? []).find((d) =>
    inboxes.includes(d.inbox) && (d.activity === activityId || String(d.activity).endsWith(activityId))
  );
}

/** The inbox POSTs that carried an activity, with Fedify's verdicts. */
const postsOf = (activityId) => inboxPosts.filter((p) => p.activityId === activityId);

function describePosts(posts) {
  if (posts.length === 0) return "no inbox POST";
  return posts
    .map((p) => `${p.path} ${p.spec} ${p.verified ? `verified key ${p.keyId}` : `NOT verified (${p.failure})`} -> ${p.status}`)
    .join("; ");
}

async function send(recipient, activity) {
  const before = knocks.length;
  let error = null;
  try {
    await ctx.sendActivity({ identifier: ME }, recipient, activity, { preferSharedInbox: true });
  } catch (e) {
    error = e;
  }
  const mine = knocks.slice(before);
  return {
    ok: error == null && mine.length > 0 && mine.at(-1).status >= 200 && mine.at(-1).status < 300,
    error,
    knocks: mine,
    summary: mine.length ? mine.map((k) => `${k.spec} -> ${k.status}`).join(", ") : `no request (${error})`,
  };
}

// ------------------------------------------------------------- the steps

const results = [];

async function step(name, body) {
  const started = Date.now();
  let outcome;
  try {
    outcome = await body();
  } catch (e) {
    outcome = { peer: `exception: ${e?.stack ?? e}`, tb: "-", checks: [false] };
  }
  const pass = outcome.checks.length > 0 && outcome.checks.every(Boolean);
  results.push({ name, peer: outcome.peer, tb: outcome.tb, pass, ms: Date.now() - started });
  console.error(`${pass ? "PASS" : "FAIL"} ${name} (${Date.now() - started} ms)`);
  if (!pass) console.error(`     peer: ${outcome.peer}\n     threadbridge: ${outcome.tb}`);
  return pass;
}

let site = null;
let follow = null;
const ARTICLE = `fedify-${RUN}`;
let article = null; // the admin API's article
let siteComment = null; // the admin API's comment "c1"
let replyToArticle = null; // our Note
let replyToComment = null; // our Note

function newNote(key, inReplyTo, mentions, html) {
  const id = new URL(`/users/${ME}/notes/${key}`, PEER_ORIGIN);
  const note = new Note({
    id,
    attribution: aliceId,
    replyTarget: new URL(inReplyTo),
    content: html,
    published: Temporal.Now.instant(),
    // As Mastodon addresses a public reply: to Public, cc whom it mentions.
    tos: [PUBLIC_COLLECTION],
    ccs: mentions.map((m) => new URL(m.id)),
    tags: mentions.map((m) => new Mention({ href: new URL(m.id), name: m.handle })),
  });
  notes.set(key, { note, deleted: false });
  return note;
}

function mentionHtml(m) {
  return `<span class="h-card"><a href="${m.url}" class="u-url mention">@<span>${m.handle.split("@")[1]}</span></a></span>`;
}

// a. WebFinger, with Fedify's own lookup.
await step("a. WebFinger @site", async () => {
  const jrd = await ctx.lookupWebFinger(`acct:site@${PUBLIC_HOST}`);
  const self = jrd?.links?.find((l) => l.rel === "self" && /activity\+json/.test(l.type ?? ""));
  site = await ctx.lookupObject(SITE_HANDLE);
  const wf = proxied.find((p) => p.path.startsWith("/.well-known/webfinger"));
  const actorGet = proxied.find((p) => p.path === "/users/site");
  return {
    peer: `lookupWebFinger: self ${self?.href ?? "none"}; lookupObject(${SITE_HANDLE}): ${site ? `${site.constructor.name} ${site.id?.href}` : "null"}`,
    tb: `answered GET /.well-known/webfinger ${wf?.status ?? "never asked"}, GET /users/site ${actorGet?.status ?? "never asked"}`,
    checks: [
      self?.href === SITE_ID,
      isActor(site),
      site?.id?.href === SITE_ID,
      site?.preferredUsername === "site",
      site?.inboxId != null,
      wf?.status === 200,
      actorGet?.status === 200,
    ],
  };
});
if (!site) {
  finish();
}

// b. Follow, double knocking.
await step("b. Follow -> Accept", async () => {
  follow = new Follow({ id: new URL(`/users/${ME}/follows/${RUN}`, PEER_ORIGIN), actor: aliceId, object: site.id, to: site.id });
  follows.set(RUN, follow);
  const sent = await send(site, follow);
  const accept = await until(() =>
    received.find((r) => r.kind === "Accept" && r.activity.actorId?.href === SITE_ID && r.object?.id?.href === follow.id.href)
  );
  const acceptPosts = accept ? postsOf(accept.activity.id.href) : [];
  const remembered = await kv.get(["_fedify", "httpMessageSignaturesSpec", new URL(PUBLIC_URL).origin]);
  const row = await until(async () => (await followers())?.items?.find((f) => f.actor === aliceId.href));
  // Fedify's double knock: RFC 9421 first (firstKnock's default); the other
  // spec only after an answer of 400 or more.
  const firstIs9421 = sent.knocks[0]?.spec === "rfc9421";
  const fellBackProperly = sent.knocks.length === 1 ||
    (sent.knocks.length === 2 && sent.knocks[0].status >= 400 && sent.knocks[1].spec === "draft-cavage");
  return {
    peer: `Follow knocks: ${sent.summary}; Fedify remembers ${remembered}; Accept ${accept ? `of ${accept.object.id.href} via ${describePosts(acceptPosts)}` : "never received"}`,
    tb: row ? `followers lists ${row.actor} (follows ${row.follows}, inbox ${row.inbox}, shared ${row.shared_inbox})` : "followers does not list the peer",
    checks: [
      sent.ok,
      firstIs9421,
      fellBackProperly,
      accept != null,
      acceptPosts.length > 0 && acceptPosts.every((p) => p.verified && p.status === 202 && p.keyId?.startsWith(SITE_ID)),
      row != null,
      row?.inbox === aliceInbox.href,
    ],
  };
});

// b2. threadbridge accepts RFC 9421 (FEDERATION.md), so the first knock should do.
await step("b2. RFC 9421 first knock accepted", async () => {
  const followKnocks = knocks.filter((k) => k.spec !== "unsigned").slice(0, 2);
  const first = followKnocks[0];
  return {
    peer: `first knock ${first ? `${first.spec} -> ${first.status}` : "none"}`,
    tb: first && first.status < 300 ? "verified Fedify's RFC 9421 signature (rsa-v1_5-sha256, content-digest)" : "refused Fedify's RFC 9421 signature",
    checks: [first?.spec === "rfc9421", first != null && first.status >= 200 && first.status < 300],
  };
});

// c. An article, then a site comment, delivered to us.
await step("c. article Create delivered", async () => {
  const n = received.length;
  const token = `article-${RUN}`;
  const put = await admin("PUT", `/api/admin/articles/${ARTICLE}`, {
    title: `Fedify peer test ${RUN}`,
    url: `https://news.example/${ARTICLE}`,
    content: `<p>Body of ${token}.</p>`,
    author: { username: "ed" },
  });
  article = put.json;
  const got = await until(() =>
    receivedSince(n).find((r) => r.kind === "Create" && r.object?.id?.href === article?.ap_id)
  );
  const posts = got ? postsOf(got.activity.id.href) : [];
  const delivery = got ? await until(() => deliveryTo(got.activity.id.href, [sharedInbox.href, aliceInbox.href]).then((d) => d?.state === "done" && d)) : null;
  return {
    peer: got ? `Create of ${got.object.id.href} (${got.object.constructor.name}, by ${got.activity.actorId?.href}) via ${describePosts(posts)}; content has the token: ${text(got.object.content).includes(token)}` : "no Create received",
    tb: `PUT article ${put.status} ap_id ${article?.ap_id}; delivery ${delivery ? `${delivery.state} to ${delivery.inbox}` : "not done"}`,
    checks: [
      put.status === 201,
      got != null,
      got?.activity.actorId?.href === SITE_ID,
      text(got?.object?.content).includes(token),
      posts.length > 0 && posts.every((p) => p.verified && p.status === 202 && p.keyId?.startsWith(SITE_ID)),
      delivery != null,
    ],
  };
});

await step("c2. site comment Create delivered", async () => {
  const n = received.length;
  const token = `comment-${RUN}`;
  const put = await admin("PUT", `/api/admin/articles/${ARTICLE}/comments/c1`, {
    author: { username: "ann" },
    content: `Ann says ${token}`,
  });
  siteComment = put.json;
  const annId = `${PUBLIC_URL}/users/ann`;
  const got = await until(() =>
    receivedSince(n).find((r) => r.kind === "Create" && r.object?.id?.href === siteComment?.ap_id)
  );
  const posts = got ? postsOf(got.activity.id.href) : [];
  return {
    peer: got ? `Create of ${got.object.id.href} by ${got.activity.actorId?.href}, inReplyTo ${got.object.replyTargetId?.href}, via ${describePosts(posts)}` : "no Create received",
    tb: `PUT comment ${put.status} ap_id ${siteComment?.ap_id}`,
    checks: [
      put.status === 201,
      got != null,
      got?.activity.actorId?.href === annId,
      got?.object?.attributionId?.href === annId,
      got?.object?.replyTargetId?.href === article?.ap_id,
      text(got?.object?.content).includes(token),
      posts.length > 0 && posts.every((p) => p.verified && p.status === 202 && p.keyId?.startsWith(annId)),
    ],
  };
});

// d. Our replies to the article and to the site comment.
// The site's profile page (its actor's url, a URL or a Link), as Mastodon links a mention.
const siteMention = () => ({
  id: SITE_ID,
  handle: SITE_HANDLE,
  url: (site.url instanceof URL ? site.url : site.url?.href)?.href ?? SITE_ID,
});

await step("d. replies land in the thread", async () => {
  const t1 = `reply-to-article-${RUN}`;
  const t2 = `reply-to-comment-${RUN}`;
  replyToArticle = newNote(`r1-${RUN}`, article.ap_id, [siteMention()], `<p>${mentionHtml(siteMention())} ${t1}</p>`);
  replyToComment = newNote(`r2-${RUN}`, siteComment.ap_id, [siteMention()], `<p>${mentionHtml(siteMention())} ${t2}</p>`);
  const s1 = await send(site, new Create({
    id: new URL(`${replyToArticle.id.href}/create`),
    actor: aliceId,
    object: replyToArticle,
    tos: replyToArticle.toIds,
    ccs: replyToArticle.ccIds,
    published: replyToArticle.published,
  }));
  const s2 = await send(site, new Create({
    id: new URL(`${replyToComment.id.href}/create`),
    actor: aliceId,
    object: replyToComment,
    tos: replyToComment.toIds,
    ccs: replyToComment.ccIds,
    published: replyToComment.published,
  }));
  const both = await until(async () => {
    const t = await thread(ARTICLE);
    const a = findComment(t, (c) => c.ap_id === replyToArticle.id.href);
    const b = findComment(t, (c) => c.ap_id === replyToComment.id.href);
    return a && b ? { a, b } : null;
  });
  const { a, b } = both ?? {};
  const authorOk = (c) => c?.origin === "remote" && c?.author?.name === "Alice Fedify" &&
    c?.author?.handle === `@${ME}@127.0.0.1:${PEER_PORT}`;
  return {
    peer: `Create(reply to article): ${s1.summary}; Create(reply to comment): ${s2.summary}`,
    tb: both
      ? `thread: ${a.id} parent ${a.parent} depth ${a.depth} ${a.status} by ${a.author?.handle} "${text(a.content).trim()}"; ${b.id} parent ${b.parent} depth ${b.depth} ${b.status} by ${b.author?.handle} "${text(b.content).trim()}"`
      : "the thread does not show both replies",
    checks: [
      s1.ok,
      s2.ok,
      both != null,
      a?.parent == null && a?.depth === 1,
      b?.parent === siteComment.id && b?.depth === 2,
      a?.status === "visible" && b?.status === "visible",
      text(a?.content).includes(t1),
      text(b?.content).includes(t2),
      authorOk(a),
      authorOk(b),
    ],
  };
});

// e. Edit, then delete, the reply to the comment.
await step("e. Update edits the reply", async () => {
  const token = `edited-${RUN}`;
  const old = notes.get(`r2-${RUN}`).note;
  const edited = old.clone({
    content: `<p>${mentionHtml(siteMention())} ${token}</p>`,
    updated: Temporal.Now.instant().add({ seconds: 1 }),
  });
  notes.set(`r2-${RUN}`, { note: edited, deleted: false });
  const sent = await send(site, new Update({
    id: new URL(`${edited.id.href}/update/1`),
    actor: aliceId,
    object: edited,
    tos: edited.toIds,
    ccs: edited.ccIds,
  }));
  const c = await until(async () => {
    const found = findComment(await thread(ARTICLE), (x) => x.ap_id === edited.id.href);
    return found && text(found.content).includes(token) ? found : null;
  });
  const now = c ?? findComment(await thread(ARTICLE), (x) => x.ap_id === edited.id.href);
  return {
    peer: `Update: ${sent.summary}`,
    tb: `thread item ${now?.id}: "${text(now?.content).trim()}", updated ${now?.updated}`,
    checks: [sent.ok, c != null, !text(c?.content).includes(`reply-to-comment-${RUN}`), c?.updated != null],
  };
});

await step("e2. Delete removes the reply", async () => {
  const key = `r2-${RUN}`;
  const note = notes.get(key).note;
  const before = findComment(await thread(ARTICLE), (x) => x.ap_id === note.id.href);
  notes.set(key, { note, deleted: true, deletedAt: Temporal.Now.instant() });
  const sent = await send(site, new Delete({
    id: new URL(`${note.id.href}/delete`),
    actor: aliceId,
    object: new Tombstone({ id: note.id }),
    tos: note.toIds,
    ccs: note.ccIds,
  }));
  // Gone as a reader sees it: no longer listed, or a placeholder without
  // author or content.
  const gone = (c) => c == null || (c.status === "deleted" && c.author == null && !text(c.content).trim());
  const t = await until(async () => {
    const t = await thread(ARTICLE);
    return t && gone(findComment(t, (x) => x.id === before?.id)) ? t : null;
  });
  const now = findComment(t ?? await thread(ARTICLE), (x) => x.id === before?.id);
  const other = findComment(t ?? await thread(ARTICLE), (x) => x.ap_id === replyToArticle.id.href);
  const ours = await realFetch(note.id, { headers: { accept: "application/activity+json" } });
  return {
    peer: `Delete(Tombstone): ${sent.summary}; our note now answers ${ours.status}`,
    tb: now ? `thread item ${now.id}: status ${now.status}, author ${JSON.stringify(now.author)}, content ${JSON.stringify(now.content)}` : `thread no longer lists ${before?.id}`,
    checks: [before != null, ours.status === 410, sent.ok, t != null, other?.status === "visible"],
  };
});

// f. Like the article (signed draft-cavage: see README.md).
await step("f. Like counts", async () => {
  const before = (await thread(ARTICLE))?.article?.reactions?.likes;
  const specKey = ["_fedify", "httpMessageSignaturesSpec", new URL(PUBLIC_URL).origin];
  // What Fedify remembers after falling back: this delivery is signed with
  // its draft-cavage signer, the other spec threadbridge must accept.
  await kv.set(specKey, "draft-cavage-http-signatures-12");
  const sent = await send(site, new Like({
    id: new URL(`/users/${ME}/likes/${RUN}`, PEER_ORIGIN),
    actor: aliceId,
    object: new URL(article.ap_id),
    to: site.id,
  }));
  await kv.delete(specKey);
  const likes = await until(async () => {
    const n = (await thread(ARTICLE))?.article?.reactions?.likes;
    return n === 1 ? n : null;
  });
  const now = likes ?? (await thread(ARTICLE))?.article?.reactions?.likes;
  return {
    peer: `Like: ${sent.summary}`,
    tb: `article.reactions.likes ${before} -> ${now}`,
    checks: [sent.ok, sent.knocks[0]?.spec === "draft-cavage", before === 0, likes === 1],
  };
});

// g. A site user answers our reply: we are mentioned and get the Create.
await step("g. answer to our reply reaches us", async () => {
  const n = received.length;
  const token = `answer-${RUN}`;
  const t = await thread(ARTICLE);
  const ours = findComment(t, (c) => c.ap_id === replyToArticle.id.href);
  const put = await admin("PUT", `/api/admin/articles/${ARTICLE}/comments/c2`, {
    author: { username: "bea" },
    content: `Bea answers ${token}`,
    parent: ours?.id,
  });
  const beaId = `${PUBLIC_URL}/users/bea`;
  const got = await until(() =>
    receivedSince(n).find((r) => r.kind === "Create" && r.object?.id?.href === put.json?.ap_id)
  );
  const posts = got ? postsOf(got.activity.id.href) : [];
  const mentions = [];
  if (got?.object) for await (const tag of got.object.getTags()) if (tag instanceof Mention) mentions.push(tag.href?.href);
  const addressed = got ? [...got.object.toIds, ...got.object.ccIds].map((u) => u.href) : [];
  const after = findComment(await thread(ARTICLE), (c) => c.ap_id === put.json?.ap_id);
  return {
    peer: got
      ? `Create of ${got.object.id.href} by ${got.activity.actorId?.href}, inReplyTo ${got.object.replyTargetId?.href}, mentions ${mentions.join(" ")}, via ${describePosts(posts)}`
      : "no Create received",
    tb: `PUT comment ${put.status} parent ${put.json?.parent}; thread: ${after ? `${after.id} under ${after.parent} depth ${after.depth}` : "not listed"}`,
    checks: [
      ours != null,
      put.status === 201,
      after?.parent === ours?.id,
      got != null,
      got?.activity.actorId?.href === beaId,
      got?.object?.replyTargetId?.href === replyToArticle.id.href,
      mentions.includes(aliceId.href),
      addressed.includes(aliceId.href),
      text(got?.object?.content).includes(token),
      posts.length > 0 && posts.every((p) => p.verified && p.status === 202 && p.keyId?.startsWith(beaId)),
    ],
  };
});

// h. Unfollow.
await step("h. Undo Follow", async () => {
  const listed = (await followers())?.items?.some((f) => f.actor === aliceId.href);
  const sent = await send(site, new Undo({
    id: new URL(`/users/${ME}/follows/${RUN}/undo`, PEER_ORIGIN),
    actor: aliceId,
    object: follow,
    to: site.id,
  }));
  const goneAt = await until(async () => {
    const f = await followers();
    return f && !f.items.some((x) => x.actor === aliceId.href) ? f : null;
  });
  return {
    peer: `Undo(Follow): ${sent.summary}`,
    tb: `followers listed the peer before: ${listed}; after: ${goneAt ? `not listed (total ${goneAt.total})` : "still listed"}`,
    checks: [listed === true, sent.ok, goneAt != null],
  };
});

finish();

function finish() {
  const cell = (v) => String(v).replaceAll("|", "\\|");
  console.log("");
  console.log("| step | result | peer (Fedify) side | threadbridge side |");
  console.log("|---|---|---|---|");
  for (const r of results) {
    console.log(`| ${cell(r.name)} | ${r.pass ? "pass" : "FAIL"} | ${cell(r.peer)} | ${cell(r.tb)} |`);
  }
  const passed = results.filter((r) => r.pass).length;
  const failed = results.length - passed;
  console.log("");
  console.log(`fedify-peer: ${passed} passed, ${failed} failed`);
  peerServer.close();
  proxy.close();
  process.exit(failed === 0 && results.length > 0 ? 0 : 1);
}
