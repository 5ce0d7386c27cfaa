// threadbridge's embed: the federated discussion under an article, and "reply from your own
// account". Licence: AGPL-3.0-or-later. No framework, no build step: this file is served as it is.
//
// Two ways in:
// - on the site's page, <script src="https://bridge.example/embed.js" data-article="KEY" async>
//   puts the thread after itself, in a shadow root (the site's CSS custom properties --tb-* reach
//   it, nothing else of the page's CSS does);
// - on threadbridge's own embed page (/embed/articles/KEY, which a site may frame), it enhances
//   the page in place.
// Either way the thread is the server's HTML (which reads fully without this script); the script
// only adds: times in the reader's locale, a handle form on every "Reply", "Follow" and similar
// action, and "More comments" loaded in place.
(function () {
  "use strict";

  var HANDLE_KEY = "threadbridge:handle";
  var HANDLE = /^@?([a-z0-9_.+-]+)@((?:[a-z0-9-]+\.)*[a-z0-9-]+(?::[0-9]{1,5})?)$/i;
  var SUBSCRIBE = "http://ostatus.org/schema/1.0/subscribe";
  var INTENT = "https://w3id.org/fep/3b86/";

  // ---------------------------------------------------------------- the reader's server

  function parseHandle(text) {
    var m = HANDLE.exec(String(text || "").trim());
    return m ? { user: m[1], domain: m[2].toLowerCase() } : null;
  }

  // Loopback servers are reached over http (tests, local demos); every other over https.
  function origin(domain) {
    var host = domain.replace(/:[0-9]+$/, "");
    var local = host === "localhost" || /^127\.[0-9.]+$/.test(host);
    return (local ? "http://" : "https://") + domain;
  }

  function isWebUrl(text) {
    try {
      var u = new URL(text);
      return u.protocol === "https:" || u.protocol === "http:";
    } catch (e) {
      return false;
    }
  }

  // The reader's server's WebFinger answer for their handle, read from the browser (no server of
  // ours fetches addresses a visitor types).
  function webfinger(handle) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller && setTimeout(function () { controller.abort(); }, 8000);
    var url = origin(handle.domain) + "/.well-known/webfinger?resource=" +
      encodeURIComponent("acct:" + handle.user + "@" + handle.domain);
    return fetch(url, { headers: { Accept: "application/jrd+json, application/json" }, credentials: "omit",
                        signal: controller ? controller.signal : undefined })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .finally(function () { if (timer) clearTimeout(timer); });
  }

  // Where the reader's server lets them do `action` (reply, like, boost, follow) on `target`:
  // its FEP-3b86 intent, else the interaction page of its OStatus subscribe template.
  function destination(jrd, action, target) {
    var links = (jrd && Array.isArray(jrd.links)) ? jrd.links : [];
    function template(rel) {
      for (var i = 0; i < links.length; i++) {
        var l = links[i] || {};
        if (String(l.rel || "").toLowerCase() === rel.toLowerCase() && typeof l.template === "string") {
          return l.template;
        }
      }
      return null;
    }
    var wanted = {
      reply: [[INTENT + "Create", "{inReplyTo}"], [INTENT + "Object", "{object}"]],
      like: [[INTENT + "Like", "{object}"], [INTENT + "Object", "{object}"]],
      boost: [[INTENT + "Announce", "{object}"], [INTENT + "Object", "{object}"]],
      follow: [[INTENT + "Follow", "{object}"]]
    }[action] || [];
    wanted.push([SUBSCRIBE, "{uri}"]);
    for (var i = 0; i < wanted.length; i++) {
      var t = template(wanted[i][0]);
      if (t && t.indexOf(wanted[i][1]) >= 0) {
        var url = t.split(wanted[i][1]).join(encodeURIComponent(target));
        if (isWebUrl(url)) return url;
      }
    }
    return null;
  }

  // ---------------------------------------------------------------- enhancing the thread

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (text) e.textContent = text;
    return e;
  }

  var formCount = 0;

  // A handle form in an action (<details class="tb-action">): one button per thing to do there.
  function addForm(details, actions) {
    var target = details.getAttribute("data-reply-to") || details.getAttribute("data-follow");
    if (!target || details.querySelector("form")) return;
    var id = "tb-handle-" + (++formCount);
    var form = el("form", { "class": "tb-handle-form" });
    var label = el("label", { "for": id }, "Your fediverse handle");
    var input = el("input", { id: id, type: "text", name: "handle", autocomplete: "username",
                              placeholder: "@you@mastodon.social", spellcheck: "false", required: "" });
    try { input.value = localStorage.getItem(HANDLE_KEY) || ""; } catch (e) { /* storage off */ }
    var status = el("p", { "class": "tb-status", role: "status", "aria-live": "polite" });
    form.appendChild(label);
    form.appendChild(input);
    actions.forEach(function (a) {
      form.appendChild(el("button", { type: "submit", "class": "tb-button", value: a[0] }, a[1]));
    });
    form.appendChild(status);
    var chosen = actions[0][0];
    form.addEventListener("click", function (ev) {
      if (ev.target && ev.target.value) chosen = ev.target.value;
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var handle = parseHandle(input.value);
      if (!handle) {
        status.textContent = "That is not a handle: type it as @you@your.server.";
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      input.removeAttribute("aria-invalid");
      try { localStorage.setItem(HANDLE_KEY, "@" + handle.user + "@" + handle.domain); } catch (e) { /* off */ }
      status.textContent = "Looking up " + handle.domain + "…";
      webfinger(handle).then(function (jrd) {
        var url = destination(jrd, chosen, target);
        if (!url) throw new Error("no interaction address");
        status.textContent = "";
        var link = el("a", { href: url, "class": "tb-continue", target: "_blank", rel: "noopener" },
                      "Continue on " + handle.domain + " →");
        status.appendChild(link);
        var opened = window.open(url, "_blank");
        if (opened) opened.opener = null;
        else link.focus();
      }).catch(function () {
        status.textContent = handle.domain + " did not say where to " + (chosen === "follow" ? "follow" : chosen) +
          ". Paste the address above into its search instead.";
      });
    });
    details.appendChild(form);
  }

  function localTimes(root) {
    var times = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var d = new Date(times[i].getAttribute("datetime"));
      if (!isNaN(d.getTime())) {
        times[i].textContent = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
      }
    }
  }

  function enhance(root, base, load) {
    localTimes(root);
    var actions = root.querySelectorAll("details.tb-action");
    for (var i = 0; i < actions.length; i++) {
      var d = actions[i];
      if (d.hasAttribute("data-follow")) addForm(d, [["follow", "Follow"]]);
      else addForm(d, [["reply", "Reply"], ["like", "Like"], ["boost", "Boost"]]);
    }
    var more = root.querySelector(".tb-pages a[rel=next]");
    if (more && load) {
      more.addEventListener("click", function (ev) {
        ev.preventDefault();
        more.textContent = "Loading…";
        load(new URL(more.getAttribute("href"), base).href).then(function (main) {
          var list = main.querySelector(".tb-comments");
          var nav = root.querySelector(".tb-pages");
          if (list) root.querySelector(".tb-thread").insertBefore(list, nav);
          var next = main.querySelector(".tb-pages a[rel=next]");
          nav.parentNode.removeChild(nav);
          if (next) root.querySelector(".tb-thread").appendChild(next.parentNode);
          enhance(root, base, load);
        });
      });
    }
  }

  // ---------------------------------------------------------------- the two ways in

  function fetchMain(url) {
    return fetch(url, { credentials: "omit" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var main = doc.querySelector("main.tb-thread");
      if (!main) throw new Error("no thread in the answer");
      return main;
    });
  }

  function mount(script) {
    if (script.getAttribute("data-threadbridge-mounted")) return;
    script.setAttribute("data-threadbridge-mounted", "1");
    var base = new URL(script.src, document.baseURI);
    var key = script.getAttribute("data-article");
    var host = el("div", { "class": "threadbridge" });
    script.parentNode.insertBefore(host, script.nextSibling);
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    root.appendChild(el("link", { rel: "stylesheet", href: new URL("/embed/thread.css", base).href }));
    var pageUrl = new URL("/embed/articles/" + encodeURIComponent(key), base).href;
    fetchMain(pageUrl).then(function (main) {
      root.appendChild(document.importNode(main, true));
      enhance(root, pageUrl, function (url) { return fetchMain(url).then(function (m) { return document.importNode(m, true); }); });
    }).catch(function () {
      var p = el("p", {}, "The discussion could not be loaded. ");
      p.appendChild(el("a", { href: pageUrl }, "Read it here."));
      root.appendChild(p);
    });
  }

  var own = document.querySelector("main.tb-thread");
  if (own && !document.querySelector("script[data-article]")) {
    enhance(document, location.href, null);
    return;
  }
  var scripts = document.querySelectorAll("script[data-article]");
  for (var i = 0; i < scripts.length; i++) mount(scripts[i]);
})();
