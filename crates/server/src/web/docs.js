// Renders the OpenAPI document as a reference page: operations grouped by tag, with their
// parameters, request bodies and answers; schemas are expanded from their $refs. It reads
// /assets/docs.json, the document whose summaries and descriptions the server has rendered from
// Markdown to HTML (raw HTML in them escaped), so no Markdown code lives here.
"use strict";

const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids.flat()) e.append(k);
  return e;
};

// A summary or description: a block, or inline after a name (its first paragraph on the line).
const md = (html, inline = false) => {
  const d = el("div", { class: inline ? "md inline" : "md" });
  d.innerHTML = html || "";
  return d;
};

let components = {};

function resolve(s) {
  if (s && s.$ref) return components[s.$ref.split("/").pop()] || {};
  return s || {};
}

function typeOf(s) {
  s = resolve(s);
  if (s.oneOf) return s.oneOf.map(typeOf).join(" | ");
  const t = Array.isArray(s.type) ? s.type.filter(x => x !== "null").join("|") : s.type;
  if (t === "array") return typeOf(s.items) + "[]";
  if (s.enum) return s.enum.map(v => JSON.stringify(v)).join(" | ");
  return (t || "any") + (s.format ? " (" + s.format + ")" : "");
}

// A schema as a nested list of its properties (two levels deep).
function schemaView(s, depth = 0) {
  s = resolve(s);
  if (s.type === "array" || (Array.isArray(s.type) && s.type.includes("array"))) {
    return el("div", {}, "array of ", schemaView(s.items, depth));
  }
  const props = s.properties || {};
  if (!Object.keys(props).length) {
    const note = s.additionalProperties ? "object (any fields)" : typeOf(s);
    return el("code", {}, note);
  }
  const required = new Set(s.required || []);
  const ul = el("ul", { class: "schema" });
  for (const [name, p] of Object.entries(props)) {
    const r = resolve(p);
    const li = el("li", {}, el("code", {}, name), " ", el("span", { class: "type" }, typeOf(p)),
      required.has(name) ? el("span", { class: "req" }, " required") : "",
      r.description ? [" — ", md(r.description, true)] : "");
    const inner = r.type === "array" ? resolve(r.items) : r;
    if (depth < 1 && inner.properties) li.append(schemaView(inner, depth + 1));
    ul.append(li);
  }
  if (s.additionalProperties) ul.append(el("li", {}, "… and the object's own fields"));
  return ul;
}

function operation(path, method, op) {
  const id = (method + path).replace(/[^a-z0-9]+/gi, "-");
  const sec = el("section", { class: "op", id });
  sec.append(el("h3", {}, el("span", { class: "method " + method }, method.toUpperCase()), " ",
    el("code", {}, path)));
  if (op.summary) sec.append(md(op.summary));
  if (op.description) sec.append(md(op.description));
  const params = op.parameters || [];
  if (params.length) {
    const ul = el("ul");
    for (const p of params) {
      ul.append(el("li", {}, el("code", {}, p.name), ` (${p.in}) `, typeOf(p.schema),
        p.description ? [" — ", md(p.description, true)] : ""));
    }
    sec.append(el("h4", {}, "Parameters"), ul);
  }
  if (op.requestBody) {
    sec.append(el("h4", {}, "Body"));
    for (const [type, c] of Object.entries(op.requestBody.content || {})) {
      sec.append(el("p", {}, el("code", {}, type)));
      if (c.schema) sec.append(schemaView(c.schema));
    }
  }
  const ok = Object.entries(op.responses || {}).filter(([s]) => s < "400");
  const errors = Object.keys(op.responses || {}).filter(s => s >= "400");
  for (const [status, r] of ok) {
    sec.append(el("h4", {}, "Answer " + status), md(r.description));
    for (const [type, c] of Object.entries(r.content || {})) {
      sec.append(el("p", {}, el("code", {}, type)));
      if (c.schema && type.includes("json")) sec.append(schemaView(c.schema));
    }
  }
  if (errors.length) {
    sec.append(el("p", { class: "errors" }, "Errors: " + errors.join(", ") +
      " — each " + '{"error":{"code","message","field"?}}'));
  }
  return sec;
}

async function main() {
  const doc = await (await fetch("/assets/docs.json")).json();
  components = (doc.components && doc.components.schemas) || {};
  document.getElementById("intro").replaceChildren(md(doc.info.description));
  const groups = new Map((doc.tags || []).map(t => [t.name, { tag: t, ops: [] }]));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags || ["other"])[0];
      if (!groups.has(tag)) groups.set(tag, { tag: { name: tag }, ops: [] });
      groups.get(tag).ops.push([path, method, op]);
    }
  }
  const toc = document.getElementById("toc");
  const ops = document.getElementById("ops");
  for (const { tag, ops: list } of groups.values()) {
    if (!list.length) continue;
    toc.append(el("a", { href: "#tag-" + tag.name }, tag.name), " ");
    ops.append(el("h2", { id: "tag-" + tag.name }, tag.name), md(tag.description));
    for (const [path, method, op] of list) ops.append(operation(path, method, op));
  }
}

main().catch(e => {
  document.getElementById("intro").textContent = "Could not load the document: " + e;
});
