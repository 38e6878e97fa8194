// The dashboard's shell: sign-in, the hash router, the header and the app's section menu, and
// the list of apps. Each view is a function that fills `#view`.
"use strict";

const view = () => document.getElementById("view");

function setView(title, ...kids) {
  live.clear();
  const v = view();
  v.replaceChildren(el("h1", {}, title), ...kids);
  document.title = title + " · sluice";
  v.focus({ preventScroll: true });
}

function crumbs(parts) {
  const nav = document.getElementById("crumbs");
  nav.replaceChildren(...parts.flatMap((p, i) => [
    i ? el("span", { class: "sep", "aria-hidden": "true" }, "/") : "",
    p.href ? el("a", { href: p.href }, p.label) : el("span", {}, p.label),
  ]));
}

function side(app, current) {
  const nav = document.getElementById("side");
  if (!app) { nav.hidden = true; return; }
  nav.hidden = false;
  const items = [["objects", "Objects"], ["import", "Import"], ["jobs", "Jobs"],
    ["batches", "Batches"], ["query", "Query"], ["access", "Tokens & users"]];
  nav.replaceChildren(el("ul", {}, items.map(([k, label]) => el("li", {},
    el("a", { href: `#/apps/${enc(app)}/${k}`, "aria-current": k === current ? "page" : null }, label)))));
}

function signinView() {
  side(null);
  crumbs([{ label: "Sign in" }]);
  const [tokRow, tok] = field("Token (admin or app token)", el("input", { type: "password", autocomplete: "off" }), "token");
  const byToken = form({ class: "card", "aria-label": "Sign in with a token" },
    [el("h2", {}, "With a token"), tokRow, el("button", { type: "submit" }, "Sign in")],
    async () => signIn(tok.value.trim()));
  const [appRow, appIn] = field("App", el("input", { autocomplete: "organization" }), "app");
  const [userRow, user] = field("User name", el("input", { autocomplete: "username" }), "username");
  const [pwRow, pw] = field("Password", el("input", { type: "password", autocomplete: "current-password" }), "password");
  const byUser = form({ class: "card", "aria-label": "Sign in as an app user" },
    [el("h2", {}, "As an app user"), appRow, userRow, pwRow, el("button", { type: "submit" }, "Sign in")],
    async () => {
      const s = await api("POST", "/v1/auth/token", { app: appIn.value.trim(), username: user.value, password: pw.value });
      await signIn(s.token);
    });
  setView("Sign in", el("div", { class: "cards" }, byToken, byUser));
}

async function signIn(token) {
  const me = await api("GET", "/v1/me", undefined, { token });
  if (me.kind === "anonymous") throw new ApiError(401, { error: { message: "that token was not accepted", code: "unauthorized" } });
  S.set(token, me);
  location.hash = me.app ? `#/apps/${enc(me.app)}/objects` : "#/apps";
}

async function appsView() {
  side(null);
  crumbs([{ label: "Apps" }]);
  const me = S.me();
  if (me && me.app) { location.hash = `#/apps/${enc(me.app)}/objects`; return; }
  const { apps } = await api("GET", "/v1/apps");
  const list = table([
    { label: "Name", render: a => el("a", { href: `#/apps/${enc(a.name)}/objects` }, a.name) },
    { label: "Label", key: "label" },
    { label: "Anonymous role", key: "anonymous_role" },
    { label: "Created", key: "created_at" },
  ], apps);
  const [nameRow, name] = field("Name", el("input", { required: true, placeholder: "crm" }), "name");
  const [labelRow, label] = field("Label", el("input", { placeholder: "CRM" }), "label");
  const create = form({ class: "card inline", "aria-label": "New app" },
    [el("h2", {}, "New app"), nameRow, labelRow, el("button", { type: "submit" }, "Create app")],
    async () => {
      const a = await api("POST", "/v1/apps", { name: name.value.trim(), label: label.value.trim() || undefined });
      toast(`App ${a.name} created`);
      location.hash = `#/apps/${enc(a.name)}/objects`;
    });
  setView("Apps", apps.length ? list : el("p", {}, "No apps yet."), create);
}

const routes = [
  [/^#\/signin$/, signinView],
  [/^#\/apps$/, appsView],
  [/^#\/apps\/([^/]+)\/objects$/, a => objectsView(a)],
  [/^#\/apps\/([^/]+)\/objects\/([^/]+)$/, (a, o) => recordsView(a, o)],
  [/^#\/apps\/([^/]+)\/objects\/([^/]+)\/schema$/, (a, o) => schemaView(a, o)],
  [/^#\/apps\/([^/]+)\/objects\/([^/]+)\/records\/([^/]+)$/, (a, o, id) => recordView(a, o, id)],
  [/^#\/apps\/([^/]+)\/import$/, a => importView(a)],
  [/^#\/apps\/([^/]+)\/jobs$/, a => jobsView(a)],
  [/^#\/apps\/([^/]+)\/jobs\/([^/]+)$/, (a, id) => jobView(a, id)],
  [/^#\/apps\/([^/]+)\/batches$/, a => batchesView(a)],
  [/^#\/apps\/([^/]+)\/batches\/([^/]+)$/, (a, id) => batchView(a, id)],
  [/^#\/apps\/([^/]+)\/query$/, a => queryView(a)],
  [/^#\/apps\/([^/]+)\/access$/, a => accessView(a)],
];

// The crumbs and menu of a view inside app `app`.
function inApp(app, section, ...more) {
  side(app, section);
  crumbs([{ label: "Apps", href: "#/apps" }, { label: app, href: `#/apps/${enc(app)}/objects` }, ...more]);
}

// The query part of the hash (`#/apps/crm/import?object=contacts`).
function hashQuery() {
  return new URLSearchParams((location.hash.split("?")[1]) || "");
}

async function route() {
  const me = S.me();
  const who = document.getElementById("who");
  document.getElementById("signout").hidden = !me;
  who.textContent = me ? (me.app ? `${me.user} · ${me.role} of ${me.app}` : `${me.user} (admin)`) : "";
  const hash = (location.hash || "#/apps").split("?")[0];
  if (!S.token() && hash !== "#/signin") { location.hash = "#/signin"; return; }
  for (const [re, f] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    try {
      await f(...m.slice(1).map(decodeURIComponent));
    } catch (e) {
      setView("Something went wrong", el("p", { class: "err", role: "alert" }, `${e.message} (${e.code || "error"})`));
    }
    return;
  }
  location.hash = "#/apps";
}

document.getElementById("signout").addEventListener("click", () => signedOut("Signed out."));
window.addEventListener("hashchange", route);
route();
