// The query console: read-only SQL, results in a table (or a CSV download), and from a result
// holding ids, a batch that deletes or updates those records — the count shown before it starts.
"use strict";

async function queryView(app) {
  inApp(app, "query");
  const { objects } = await api("GET", `/v1/apps/${enc(app)}/objects`);
  const first = objects[0] ? objects[0].name : "contacts";
  const [sqlRow, sql] = field("SQL (one SELECT over this app's objects, by name or label)",
    el("textarea", { rows: 5, spellcheck: "false" }, `SELECT id, * FROM ${first} LIMIT 100`), "sql");
  const out = el("div", { class: "results" });
  const csvButton = el("button", { type: "button", onclick: async () => {
    try {
      const resp = await api("POST", `/v1/apps/${enc(app)}/query?format=csv`, { sql: sql.value }, { raw: true });
      const url = URL.createObjectURL(await resp.blob());
      const a = el("a", { href: url, download: "query.csv" });
      document.body.append(a); a.click(); a.remove();
    } catch (e) { showError(run, e); }
  } }, "Download CSV");
  const run = form({ class: "card", "aria-label": "Query" }, [sqlRow, el("button", { type: "submit" }, "Run"), " ", csvButton],
    async () => {
      const r = await api("POST", `/v1/apps/${enc(app)}/query`, { sql: sql.value });
      out.replaceChildren(el("p", { class: "count" }, `${r.rows.length} rows`),
        table(r.columns.map((c, i) => ({ label: c, render: row => text(row[i]) })), r.rows, { class: "queryresult" }),
        batchFrom(app, objects, r));
    });
  setView("Query", run, out);
}

// A batch over the ids of result `r` (its `id` column), if it has one.
function batchFrom(app, objects, r) {
  const col = r.columns.indexOf("id");
  if (col < 0 || !r.rows.length) return el("p", { class: "muted" }, "Select an id column to act on the records found.");
  const ids = [...new Set(r.rows.map(row => row[col]).filter(v => typeof v === "string"))];
  const [objRow, objSel] = field("Object", el("select", {}, objects.map(o => el("option", { value: o.name }, o.name))), "object");
  const [actRow, action] = field("Action", el("select", {}, el("option", { value: "delete" }, "delete"), el("option", { value: "update" }, "update")), "action");
  const [setRow, setIn] = field("Set (JSON, for an update)", el("input", { value: "{}", placeholder: '{"status": "archived"}' }), "set");
  const confirmBox = el("p", { class: "confirm", role: "status" });
  const go = form({ class: "card", "aria-label": "Batch from this result" }, [
    el("h2", {}, "Act on these records"), el("div", { class: "row" }, objRow, actRow, setRow), confirmBox,
    el("button", { type: "submit" }, "Review"),
  ], async f => {
    const btn = f.querySelector("button[type=submit]");
    const verb = action.value;
    if (!f.dataset.ready) {
      // First press: show the count; the second starts the batch.
      confirmBox.textContent = `${verb === "delete" ? "Delete" : "Update"} ${ids.length} records of ${objSel.value}? Press again to start.`;
      f.dataset.ready = "1";
      btn.textContent = `${verb === "delete" ? "Delete" : "Update"} ${ids.length} records`;
      return;
    }
    const op = { action: verb, object: objSel.value, ids };
    if (verb === "update") {
      try { op.set = JSON.parse(setIn.value || "{}"); } catch { throw new ApiError(400, { error: { message: "set is not JSON", code: "invalid_json", field: "set" } }); }
    }
    const b = await api("POST", `/v1/apps/${enc(app)}/batches`, { start: true, operations: [op] });
    location.hash = `#/apps/${enc(app)}/batches/${enc(b.id)}`;
  });
  [objSel, action, setIn].forEach(x => x.addEventListener("change", () => { delete go.dataset.ready; confirmBox.textContent = ""; go.querySelector("button[type=submit]").textContent = "Review"; }));
  return go;
}
