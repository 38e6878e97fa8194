// The dashboard's core: the API client (the token lives in this tab's session storage, never in a
// URL), DOM helpers, forms that show the API's errors beside their fields, event streams read with
// fetch (so the token goes in a header), and downloads.
"use strict";

const S = {
  token: () => sessionStorage.getItem("sluice.token"),
  me: () => JSON.parse(sessionStorage.getItem("sluice.me") || "null"),
  set(token, me) {
    sessionStorage.setItem("sluice.token", token);
    sessionStorage.setItem("sluice.me", JSON.stringify(me));
  },
  clear() {
    sessionStorage.removeItem("sluice.token");
    sessionStorage.removeItem("sluice.me");
  },
};

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || "http_" + status;
    this.field = e.field;
  }
}

const enc = encodeURIComponent;

async function api(method, path, body, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  const token = opts.token || S.token();
  if (token) headers.Authorization = "Bearer " + token;
  let payload = body;
  if (body !== undefined && !(body instanceof Blob) && typeof body !== "string") {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const resp = await fetch(path, { method, headers, body: payload });
  if (opts.raw) {
    if (!resp.ok) throw new ApiError(resp.status, await resp.json().catch(() => null));
    return resp;
  }
  const text = await resp.text();
  const data = text ? JSON.parse(text) : null;
  if (!resp.ok) {
    if (resp.status === 401 && !opts.token) signedOut("Your session ended: sign in again.");
    throw new ApiError(resp.status, data);
  }
  return data;
}

// el("button", {class: "x", onclick: f}, "text", child…)
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "value") e.value = v;
    else if (k === "checked") e.checked = !!v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined && k !== false) e.append(k);
  return e;
}

let uid = 0;
// A labelled input: returns [wrapper, input]; the wrapper shows the field's error.
function field(label, input, name) {
  const id = "f" + ++uid;
  input.id = id;
  if (name) input.dataset.field = name;
  const err = el("span", { class: "err", id: id + "-err", role: "alert" });
  input.setAttribute("aria-describedby", id + "-err");
  const wrap = el("div", { class: "fieldrow" }, el("label", { for: id }, label), input, err);
  return [wrap, input];
}

// Shows `e` in `form`: beside the input whose data-field matches, or at the form's top.
function showError(form, e) {
  form.querySelectorAll(".err").forEach(x => (x.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach(x => x.removeAttribute("aria-invalid"));
  const msg = `${e.message}${e.code ? " (" + e.code + ")" : ""}`;
  const target = e.field && form.querySelector(`[data-field="${CSS.escape(e.field)}"]`);
  if (target) {
    target.setAttribute("aria-invalid", "true");
    const err = document.getElementById(target.getAttribute("aria-describedby"));
    if (err) { err.textContent = msg; return; }
  }
  let top = form.querySelector(".formerr");
  if (!top) { top = el("p", { class: "formerr err", role: "alert" }); form.prepend(top); }
  top.textContent = msg;
}

// A form whose submit runs `action`; errors are shown in the form.
function form(attrs, kids, action) {
  const f = el("form", attrs, ...kids);
  f.addEventListener("submit", async ev => {
    ev.preventDefault();
    const btn = f.querySelector("button[type=submit]");
    if (btn) btn.disabled = true;
    try {
      f.querySelectorAll(".err").forEach(x => (x.textContent = ""));
      await action(f);
    } catch (e) {
      showError(f, e);
    } finally {
      if (btn) btn.disabled = false;
    }
  });
  return f;
}

function toast(msg) {
  const t = document.getElementById("toast");
  t.textContent = msg;
  t.classList.add("on");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("on"), 4000);
}

// A table: columns [{key|render, label, fit}], rows of objects. With `clip`, long values are cut
// short to fit the width (each cell's title holds the whole of a text value), but those of `fit`
// columns (short ones: ids, numbers, dates) are kept whole on one line.
function table(columns, rows, opts = {}) {
  const fit = c => (opts.clip && c.fit ? "fit" : null);
  const head = el("tr", {}, columns.map(c => el("th", { scope: "col", class: fit(c) }, c.label)));
  const cell = (c, v) => (opts.clip && !c.fit ? el("div", { class: "cell", title: typeof v === "string" && v ? v : null }, v) : v);
  const body = rows.map(r => el("tr", opts.rowAttrs ? opts.rowAttrs(r) : {},
    columns.map(c => el("td", { class: fit(c) }, cell(c, c.render ? c.render(r) : text(r[c.key]))))));
  const cls = [opts.class, opts.clip && "clip"].filter(Boolean).join(" ");
  return el("div", { class: "tablewrap" }, el("table", { class: cls },
    el("thead", {}, head), el("tbody", {}, body)));
}

function text(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function duration(a, b) {
  if (!a) return "";
  const ms = (b ? new Date(b) : new Date()) - new Date(a);
  return ms < 60000 ? (ms / 1000).toFixed(1) + " s" : Math.floor(ms / 60000) + " min " + Math.round((ms % 60000) / 1000) + " s";
}

// Follows an event stream (`…/events`) to its `done` event; calls onDoc for each document.
// Returns a function that stops following.
function follow(path, onDoc) {
  const ctrl = new AbortController();
  (async () => {
    while (!ctrl.signal.aborted) {
      try {
        const resp = await fetch(path + "/events", {
          headers: { Authorization: "Bearer " + S.token() }, signal: ctrl.signal });
        if (!resp.ok) throw new ApiError(resp.status, await resp.json().catch(() => null));
        const reader = resp.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const frame = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev = (frame.match(/^event: (.*)$/m) || [])[1];
            const data = (frame.match(/^data: (.*)$/m) || [])[1];
            if (!data) continue;
            const doc = JSON.parse(data);
            onDoc(doc, ev === "done");
            if (ev === "done" || ev === "error") return;
          }
        }
      } catch (e) {
        if (ctrl.signal.aborted) return;
        if (e instanceof ApiError) { toast(e.message); return; }
      }
      await new Promise(r => setTimeout(r, 1000));
    }
  })();
  return () => ctrl.abort();
}

// Downloads `path` (with the token) as `name`.
async function download(path, name) {
  const resp = await api("GET", path, undefined, { raw: true });
  const url = URL.createObjectURL(await resp.blob());
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function signedOut(msg) {
  S.clear();
  location.hash = "#/signin";
  if (msg) toast(msg);
}

// Timers and streams of the current view, stopped when the view changes.
const live = {
  stops: [],
  add(stop) { this.stops.push(stop); },
  every(ms, f) { const t = setInterval(f, ms); this.add(() => clearInterval(t)); },
  clear() { this.stops.splice(0).forEach(s => s()); },
};
