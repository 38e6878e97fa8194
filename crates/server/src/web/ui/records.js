// Records: a table per object with the list API's filters, sort, cursor paging and total count;
// one record opened to edit or delete (system fields read-only). A relation field's value is a
// link to the record it names, read with `expand` to show that record by its first text field.
"use strict";

const OPS = [["eq", "="], ["ne", "≠"], ["gt", ">"], ["gte", "≥"], ["lt", "<"], ["lte", "≤"],
  ["like", "like"], ["in", "in (a,b)"], ["null", "is empty (true/false)"]];
const SYSTEM = ["id", "created_at", "updated_at", "created_by", "updated_by"];
// Types whose values are short enough to show whole in the records table.
const SHORT = new Set(["integer", "number", "boolean", "date", "datetime"]);

// The objects `obj`'s relation fields point at, by name.
async function targetsOf(app, obj) {
  const names = [...new Set(obj.fields.filter(f => f.object).map(f => f.object))];
  const objs = await Promise.all(names.map(n => api("GET", `/v1/apps/${enc(app)}/objects/${enc(n)}`)));
  return Object.fromEntries(names.map((n, i) => [n, objs[i]]));
}

// The `expand` parameter that reads `obj`'s related records with its own.
function expandOf(obj) {
  const rel = obj.fields.filter(f => f.object).map(f => f.name);
  return rel.length ? `expand=${enc(rel.join(","))}` : null;
}

// A link to the record relation field `f` names: `v` is its id, or the record itself (expanded),
// then shown by the first text field of `target` that has a value.
function relationLink(app, f, v, target) {
  if (v === null || v === undefined || v === "") return "";
  const id = typeof v === "object" ? v.id : String(v);
  const by = typeof v === "object" && target && target.fields.find(t => t.type === "text" && v[t.name]);
  return el("a", { href: `#/apps/${enc(app)}/objects/${enc(f.object)}/records/${enc(id)}`, class: "rel", title: `${f.object} ${id}` },
    by ? text(v[by.name]) : id.slice(0, 13) + "…");
}

async function recordsView(app, name) {
  inApp(app, "objects", { label: name });
  const base = `/v1/apps/${enc(app)}/objects/${enc(name)}`;
  const obj = await api("GET", base);
  const targets = await targetsOf(app, obj);
  const names = obj.fields.map(f => f.name);
  // Filters may name a related record's field too (`account.email`).
  const related = obj.fields.filter(f => f.object).flatMap(f => targets[f.object].fields.map(t => `${f.name}.${t.name}`));
  const filters = el("div", { class: "filters" });
  const addFilter = () => {
    const [fRow, f] = field("Field", el("select", {}, [...names, ...SYSTEM, ...related].map(n => el("option", { value: n }, n))));
    const [oRow, o] = field("Operator", el("select", {}, OPS.map(([v, l]) => el("option", { value: v }, l))));
    const [vRow, v] = field("Value", el("input", {}));
    const row = el("div", { class: "filter" }, fRow, oRow, vRow,
      el("button", { type: "button", class: "link", onclick: () => row.remove() }, "Remove"));
    row.query = () => (v.value === "" ? null : `${enc(f.value)}${o.value === "eq" ? "" : "[" + o.value + "]"}=${enc(v.value)}`);
    filters.append(row);
  };
  const [sortRow, sort] = field("Sort by", el("select", {}, [...SYSTEM, ...names].map(n => el("option", { value: n, selected: n === "created_at" }, n))));
  const [dirRow, dir] = field("Order", el("select", {}, el("option", { value: "-" }, "descending"), el("option", { value: "" }, "ascending")));
  const [sizeRow, size] = field("Page size", el("select", {}, [20, 50, 100].map(n => el("option", { value: n }, n))));
  const out = el("div", { class: "results" });
  const cursors = [];
  let next = null;
  const load = async cursor => {
    const qs = [...filters.children].map(r => r.query());
    qs.push(`sort=${dir.value}${enc(sort.value)}`, `limit=${size.value}`, "count=true", expandOf(obj));
    if (cursor) qs.push(`cursor=${enc(cursor)}`);
    const page = await api("GET", `${base}/records?${qs.filter(Boolean).join("&")}`);
    next = page.next_cursor;
    const start = cursors.length * Number(size.value);
    const total = page.total !== undefined ? ` of ${page.total}` : page.total_omitted ? ` (count: ${page.total_omitted})` : "";
    const cols = [{ label: "id", render: r => el("a", { href: `#/apps/${enc(app)}/objects/${enc(name)}/records/${enc(r.id)}`, title: r.id }, r.id.slice(0, 13) + "…") },
      ...obj.fields.map(f => f.object
        ? { label: f.name, render: r => relationLink(app, f, r[f.name], targets[f.object]) }
        : { label: f.name, key: f.name, fit: SHORT.has(f.type) }),
      // To the minute, to leave the width to the fields; the whole time is the title.
      { label: "updated (UTC)", fit: true, render: r => el("time", { datetime: r.updated_at, title: r.updated_at }, text(r.updated_at).slice(0, 16).replace("T", " ")) },
      { label: "by", key: "updated_by" }];
    out.replaceChildren(
      el("p", { class: "count", "data-total": page.total }, page.records.length ? `${start + 1}–${start + page.records.length}${total}` : `No records${total}`),
      table(cols, page.records, { class: "records", clip: true }),
      el("div", { class: "pager" },
        el("button", { type: "button", disabled: !cursors.length, onclick: () => { cursors.pop(); load(cursors[cursors.length - 1]).catch(e => showError(controls, e)); } }, "Previous"),
        el("button", { type: "button", disabled: !next, onclick: () => { cursors.push(next); load(next).catch(e => showError(controls, e)); } }, "Next")));
  };
  const controls = form({ class: "card", "aria-label": "Filter records" }, [
    filters, el("button", { type: "button", onclick: addFilter }, "Add a filter"),
    el("div", { class: "row" }, sortRow, dirRow, sizeRow),
    el("button", { type: "submit" }, "Apply"),
  ], async () => { cursors.length = 0; await load(null); });
  setView(`${obj.label || obj.name}`, el("p", {},
    el("a", { href: `#/apps/${enc(app)}/objects/${enc(name)}/records/new`, class: "button" }, "New record"), " ",
    el("a", { href: `#/apps/${enc(app)}/objects/${enc(name)}/schema` }, "Edit fields"), " · ",
    el("a", { href: `#/apps/${enc(app)}/import?object=${enc(name)}` }, "Import a file")), controls, out);
  await load(null);
}

// An input for a field of type `f.type`, holding `v`.
function valueInput(f, v) {
  if (f.object && v && typeof v === "object") v = v.id;
  const s = v === null || v === undefined ? "" : f.type === "json" ? JSON.stringify(v, null, 2) : String(v);
  switch (f.type) {
    case "integer": case "number": return el("input", { type: "number", step: f.type === "integer" ? "1" : "any", value: s });
    case "boolean": return el("select", {}, ["", "true", "false"].map(o => el("option", { value: o, selected: o === s }, o || "(empty)")));
    case "date": return el("input", { type: "date", value: s });
    case "json": return el("textarea", { rows: 3 }, s);
    default: return el("input", { value: s });
  }
}

function readInput(f, input) {
  const s = input.value;
  if (s === "") return null;
  if (f.type === "integer" || f.type === "number") return Number(s);
  if (f.type === "boolean") return s === "true";
  if (f.type === "json") { try { return JSON.parse(s); } catch { return s; } }
  // A relation takes an id, or a lookup by a unique field of its target: {"email": "…"}.
  if (f.object && s.trim().startsWith("{")) { try { return JSON.parse(s); } catch { return s; } }
  return s.trim();
}

async function recordView(app, name, id) {
  const base = `/v1/apps/${enc(app)}/objects/${enc(name)}`;
  inApp(app, "objects", { label: name, href: `#/apps/${enc(app)}/objects/${enc(name)}` }, { label: id === "new" ? "New" : id.slice(0, 13) + "…" });
  const obj = await api("GET", base);
  const expand = expandOf(obj);
  const [rec, targets] = await Promise.all([
    id === "new" ? {} : api("GET", `${base}/records/${enc(id)}${expand ? "?" + expand : ""}`), targetsOf(app, obj)]);
  const inputs = obj.fields.map(f => {
    const type = f.object ? `relation → ${f.object} (its id)` : f.type;
    const [row, input] = field(`${f.name}${f.required ? " (required)" : ""} · ${type}`, valueInput(f, rec[f.name]), f.name);
    if (f.object) row.append(el("p", { class: "rellink" }, "Points at: ", rec[f.name] ? relationLink(app, f, rec[f.name], targets[f.object]) : "(none)"));
    return { f, row, input };
  });
  const system = id === "new" ? [] : SYSTEM.map(k => field(k, el("input", { value: rec[k] || "", readonly: true }))[0]);
  const edit = form({ class: "card", "aria-label": "Record" }, [
    ...inputs.map(i => i.row),
    system.length ? el("fieldset", { class: "system" }, el("legend", {}, "System fields (read-only)"), ...system) : "",
    el("button", { type: "submit" }, id === "new" ? "Create record" : "Save"),
  ], async () => {
    const body = {};
    for (const { f, input } of inputs) {
      const v = readInput(f, input);
      if (id === "new" && v === null) continue;
      body[f.name] = v;
    }
    if (id === "new") {
      const r = await api("POST", `${base}/records`, body);
      toast("Record created");
      location.hash = `#/apps/${enc(app)}/objects/${enc(name)}/records/${enc(r.id)}`;
    } else {
      await api("PATCH", `${base}/records/${enc(id)}`, body);
      toast("Record saved");
      recordView(app, name, id);
    }
  });
  const del = id === "new" ? "" : el("button", { type: "button", class: "danger", onclick: async () => {
    if (!confirm("Delete this record?")) return;
    try {
      await api("DELETE", `${base}/records/${enc(id)}`);
      toast("Record deleted");
      location.hash = `#/apps/${enc(app)}/objects/${enc(name)}`;
    } catch (e) { showError(edit, e); }
  } }, "Delete record");
  setView(id === "new" ? `New ${obj.name} record` : `Record of ${obj.name}`, edit, del);
}
