// Objects of an app: the list, a new object with its fields, and an object's fields edited in
// place (rename, required, unique, indexed, default, drop; new fields added). A relation field
// names the object it points at and what deleting its target does. The API's own validation
// errors are shown beside the field they name.
"use strict";

const TYPES = ["text", "integer", "number", "boolean", "date", "datetime", "json", "relation"];
const ON_DELETE = [["restrict", "restrict (refuse the delete)"], ["cascade", "cascade (delete these too)"],
  ["set_null", "set_null (empty this field)"]];

// A default typed in a form, as the field's JSON value (undefined when empty).
function parseDefault(type, s) {
  if (s === "") return undefined;
  if (type === "integer" || type === "number") return Number.isNaN(Number(s)) ? s : Number(s);
  if (type === "boolean") return s === "true" ? true : s === "false" ? false : s;
  if (type === "json") { try { return JSON.parse(s); } catch { return s; } }
  return s;
}

// One editable field row; `f` is an existing field (or null for a new one); `targets` names the
// app's objects a relation field may point at.
function fieldRow(f, onRemove, targets = []) {
  const row = el("fieldset", { class: "fieldedit" });
  const [nameRow, name] = field("Field name", el("input", { value: f ? f.name : "", required: true }), f ? f.name : "");
  const typeSel = el("select", { disabled: f ? true : null }, TYPES.map(t => el("option", { value: t, selected: f && f.type === t }, t)));
  const [typeRow] = field(f ? "Type (fixed)" : "Type", typeSel);
  const box = (label, on) => { const [r, i] = field(label, el("input", { type: "checkbox", checked: on })); r.classList.add("check"); return [r, i]; };
  const [reqRow, req] = box("Required", f && f.required);
  const [uniRow, uni] = box("Unique", f && f.unique);
  const [idxRow, idx] = box("Indexed", f && f.indexed);
  const [defRow, def] = field("Default", el("input", { value: f && f.default !== undefined ? text(f.default) : "" }));
  // A relation's target and delete rule: chosen when the field is made, fixed after.
  const names = f && f.object && !targets.includes(f.object) ? [f.object, ...targets] : targets;
  const [objRow, objSel] = field(f ? "Points at (fixed)" : "Points at", el("select", { disabled: f ? true : null },
    names.map(n => el("option", { value: n, selected: f && f.object === n }, n))));
  const [delRow, delSel] = field(f ? "On delete (fixed)" : "On delete of the target", el("select", { disabled: f ? true : null },
    ON_DELETE.map(([v, l]) => el("option", { value: v, selected: f && f.on_delete === v }, l))));
  const relation = () => { objRow.hidden = delRow.hidden = typeSel.value !== "relation"; };
  typeSel.addEventListener("change", relation);
  relation();
  row.append(el("legend", {}, f ? f.name : "New field"), nameRow, typeRow, objRow, delRow, reqRow, uniRow, idxRow, defRow);
  let dropped = null;
  if (f) {
    const [dropRow, drop] = box("Drop this field", false);
    row.append(dropRow);
    dropped = drop;
  } else {
    row.append(el("button", { type: "button", class: "link", onclick: () => { row.remove(); onRemove && onRemove(); } }, "Remove"));
  }
  // Errors name the field by its (new) name.
  name.addEventListener("input", () => (name.dataset.field = name.value.trim()));
  const spec = () => {
    const s = { name: name.value.trim(), type: typeSel.value, required: req.checked, unique: uni.checked, indexed: idx.checked };
    if (s.type === "relation") Object.assign(s, { object: objSel.value, on_delete: delSel.value });
    const d = parseDefault(typeSel.value, def.value);
    if (d !== undefined) s.default = d;
    return s;
  };
  return { row, spec, f, dropped, inputs: { req, uni, idx, def } };
}

async function objectsView(app) {
  inApp(app, "objects");
  const { objects } = await api("GET", `/v1/apps/${enc(app)}/objects`);
  const list = table([
    { label: "Object", render: o => el("a", { href: `#/apps/${enc(app)}/objects/${enc(o.name)}` }, o.name) },
    { label: "Label", key: "label" },
    { label: "Fields", render: o => o.fields.map(f => `${f.name}:${f.type}${f.object ? " → " + f.object : ""}`).join(", ") },
    { label: "", render: o => el("a", { href: `#/apps/${enc(app)}/objects/${enc(o.name)}/schema` }, "Edit fields") },
  ], objects);
  const [nameRow, name] = field("Name", el("input", { required: true, placeholder: "contacts" }), "name");
  const [labelRow, label] = field("Label", el("input", {}), "label");
  const rows = el("div", { class: "fieldlist" });
  const editors = [];
  const targets = objects.map(o => o.name);
  const addRow = () => { const e = fieldRow(null, () => editors.splice(editors.indexOf(e), 1), targets); editors.push(e); rows.append(e.row); };
  addRow();
  const create = form({ class: "card", "aria-label": "New object" }, [
    el("h2", {}, "New object"), nameRow, labelRow, el("h3", {}, "Fields"), rows,
    el("button", { type: "button", onclick: addRow }, "Add a field"), " ",
    el("button", { type: "submit" }, "Create object"),
  ], async () => {
    const o = await api("POST", `/v1/apps/${enc(app)}/objects`, {
      name: name.value.trim(), label: label.value.trim() || undefined, fields: editors.map(e => e.spec()) });
    toast(`Object ${o.name} created`);
    location.hash = `#/apps/${enc(app)}/objects/${enc(o.name)}`;
  });
  setView(`Objects of ${app}`, objects.length ? list : el("p", {}, "No objects yet."), create);
}

async function schemaView(app, name) {
  inApp(app, "objects", { label: name, href: `#/apps/${enc(app)}/objects/${enc(name)}` }, { label: "Fields" });
  const path = `/v1/apps/${enc(app)}/objects/${enc(name)}`;
  const [obj, { objects }] = await Promise.all([api("GET", path), api("GET", `/v1/apps/${enc(app)}/objects`)]);
  const targets = objects.map(o => o.name);
  const editors = obj.fields.map(f => fieldRow(f, null, targets));
  const added = [];
  const list = el("div", { class: "fieldlist" }, editors.map(e => e.row));
  const addRow = () => { const e = fieldRow(null, () => added.splice(added.indexOf(e), 1), targets); added.push(e); list.append(e.row); };
  const [labelRow, label] = field("Label", el("input", { value: obj.label }), "label");
  const edit = form({ class: "card", "aria-label": "Edit fields" }, [
    labelRow, list, el("button", { type: "button", onclick: addRow }, "Add a field"), " ",
    el("button", { type: "submit" }, "Save changes"),
  ], async () => {
    const patch = { add: added.map(e => e.spec()), rename: {}, drop: [], index: [], unindex: [], change: {} };
    if (label.value !== obj.label) patch.label = label.value;
    for (const e of editors) {
      const f = e.f, s = e.spec();
      if (e.dropped.checked) { patch.drop.push(f.name); continue; }
      if (s.name !== f.name) patch.rename[f.name] = s.name;
      if (s.indexed !== f.indexed) (s.indexed ? patch.index : patch.unindex).push(s.name);
      const c = {};
      if (s.required !== f.required) c.required = s.required;
      if (s.unique !== f.unique) c.unique = s.unique;
      if (text(s.default) !== text(f.default)) c.default = s.default === undefined ? null : s.default;
      // Renames apply first, so later changes name the field by its new name.
      if (Object.keys(c).length) patch.change[s.name] = c;
    }
    await api("PATCH", path, patch);
    toast("Fields saved");
    schemaView(app, obj.name);
  });
  setView(`Fields of ${obj.name}`, el("p", { class: "muted" },
    "A field's type is fixed once made; to change it, add a field of the new type and fill it."), edit);
}
