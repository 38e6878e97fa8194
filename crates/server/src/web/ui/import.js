// The import wizard: drop a CSV, ZIP or NDJSON file → upload progress → the first rows → map each
// column to a field (pre-filled by name, required fields flagged; a relation field's column matched
// by id or a unique field of its target, `account.email` pre-filled as such) → insert, update,
// upsert or delete by a key → a live bar with rows/s and counts → the result file and the failed
// rows.
"use strict";

// Uploads `file` to app `app`, reporting progress (0–1); resolves to the stored file's document.
function uploadFile(app, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/v1/apps/${enc(app)}/files?name=${enc(file.name)}`);
    xhr.setRequestHeader("Authorization", "Bearer " + S.token());
    const lower = file.name.toLowerCase();
    const type = lower.endsWith(".zip") ? "application/zip"
      : lower.endsWith(".ndjson") || lower.endsWith(".jsonl") ? "application/x-ndjson" : "text/csv";
    xhr.setRequestHeader("Content-Type", type);
    xhr.upload.onprogress = e => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 201) resolve(body); else reject(new ApiError(xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError(0, { error: { message: "the upload was interrupted", code: "network" } }));
    xhr.send(file);
  });
}

const squash = s => s.toLowerCase().replace(/[^a-z0-9]/g, "");

async function importView(app) {
  inApp(app, "import");
  const { objects } = await api("GET", `/v1/apps/${enc(app)}/objects`);
  const wanted = hashQuery().get("object");
  const [objRow, objSel] = field("Object", el("select", {}, objects.map(o =>
    el("option", { value: o.name, selected: o.name === wanted }, o.label || o.name))), "object");
  const [fileRow, fileIn] = field("File (CSV, ZIP holding one CSV, or NDJSON)",
    el("input", { type: "file", accept: ".csv,.zip,.ndjson,.jsonl,text/csv,application/zip" }), "file");
  const drop = el("div", { class: "dropzone" }, "Drop a file here, or choose one above");
  const progress = el("progress", { max: 1, value: 0, "aria-label": "Upload progress", hidden: true });
  const step2 = el("div", { class: "step" });
  const start = form({ class: "card", "aria-label": "File" }, [el("h2", {}, "1. File"), objRow, fileRow, drop, progress,
    el("button", { type: "submit" }, "Upload")], async f => {
    const file = fileIn.files[0];
    if (!file) throw new ApiError(400, { error: { message: "choose a file first", code: "required", field: "file" } });
    progress.hidden = false;
    const up = await uploadFile(app, file, p => (progress.value = p));
    progress.value = 1;
    const obj = objects.find(o => o.name === objSel.value);
    await mapping(app, obj, up, step2);
  });
  drop.addEventListener("dragover", e => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", e => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length) { fileIn.files = e.dataTransfer.files; drop.textContent = e.dataTransfer.files[0].name; }
  });
  setView("Import", objects.length ? start : el("p", {}, "Create an object first."), step2);
}

// Steps 2–4 once the file is stored: preview, mapping, operation; then the run.
async function mapping(app, obj, up, box) {
  const preview = await api("GET", `/v1/apps/${enc(app)}/files/${enc(up.file_id)}/preview?rows=5`);
  const cols = up.columns;
  // What a relation field's column may name its records by: id, or a unique field of the target.
  const keysOf = {};
  await Promise.all([...new Set(obj.fields.filter(f => f.object).map(f => f.object))].map(async n => {
    const t = await api("GET", `/v1/apps/${enc(app)}/objects/${enc(n)}`);
    keysOf[n] = ["id", ...t.fields.filter(f => f.unique).map(f => f.name)];
  }));
  const selects = cols.map(c => {
    // `account.email`: the relation field `account`, matched by its target's `email`.
    const dot = c.indexOf(".");
    const rel = dot > 0 && obj.fields.find(f => f.object && squash(f.name) === squash(c.slice(0, dot)));
    const match = rel || obj.fields.find(f => squash(f.name) === squash(c));
    const sel = el("select", {}, el("option", { value: "" }, "(skip)"),
      ...obj.fields.map(f => el("option", { value: f.name, selected: match && match.name === f.name }, f.name + (f.required ? " *" : ""))));
    const [row] = field(`Column “${c}” →`, sel, c);
    const bySel = el("select", { "aria-label": `Column “${c}”: match by` });
    const [byRow] = field("Match by", bySel);
    byRow.classList.add("matchby");
    row.append(byRow);
    const matchBy = () => {
      const f = obj.fields.find(x => x.name === sel.value);
      byRow.hidden = !(f && f.object);
      if (byRow.hidden) return;
      const keys = keysOf[f.object];
      const was = bySel.value || (rel && rel.name === f.name && keys.find(k => squash(k) === squash(c.slice(dot + 1))));
      bySel.replaceChildren(...keys.map(k => el("option", { value: k, selected: k === was }, k)));
    };
    sel.addEventListener("change", matchBy);
    matchBy();
    return [row, sel, bySel];
  });
  const status = el("p", { class: "mapstatus", role: "status" });
  const refresh = () => {
    const used = new Set(selects.map(([, s]) => s.value).filter(Boolean));
    const missing = obj.fields.filter(f => f.required && !used.has(f.name)).map(f => f.name);
    const skipped = cols.filter((c, i) => !selects[i][1].value);
    status.replaceChildren(
      missing.length ? el("span", { class: "warn" }, `Required fields without a column: ${missing.join(", ")}. `) : "",
      skipped.length ? `Unmapped columns: ${skipped.join(", ")}.` : "Every column is mapped.");
  };
  selects.forEach(([, s]) => s.addEventListener("change", refresh));
  refresh();
  const ops = ["insert", "update", "upsert", "delete"];
  const opSel = el("select", {}, ops.map(o => el("option", { value: o }, o)));
  const keys = ["id", ...obj.fields.filter(f => f.unique).map(f => f.name)];
  const keySel = el("select", {}, el("option", { value: "" }, "(none: insert every row)"), keys.map(k => el("option", { value: k }, k)));
  const [opRow] = field("Operation", opSel, "operation");
  const [keyRow] = field("Match records by (key field)", keySel, "find_by");
  const [emptyRow, empty] = field("Leave fields whose cell is empty as they are", el("input", { type: "checkbox" }), "ignore_empty");
  emptyRow.classList.add("check");
  opSel.addEventListener("change", () => { if (opSel.value !== "insert" && !keySel.value) keySel.value = keys[keys.length > 1 ? 1 : 0]; });
  const run = el("div", { class: "step" });
  const go = form({ class: "card", "aria-label": "Mapping" }, [
    el("h2", {}, `2. Preview (${up.rows} rows)`),
    table(cols.map((c, i) => ({ label: c, render: r => text(r[i]) })), preview.rows),
    el("h2", {}, "3. Map columns to fields"), el("div", { class: "maps" }, selects.map(([r]) => r)), status,
    el("h2", {}, "4. Operation"), el("div", { class: "row" }, opRow, keyRow), emptyRow,
    el("button", { type: "submit" }, "Start the job"),
  ], async () => {
    const body = { operation: opSel.value, object: obj.name, file_id: up.file_id, ignore_empty: empty.checked,
      field_mappings: selects.map(([, s, by], i) => s.value && Object.assign({ column: cols[i], field: s.value },
        // A plain id needs no lookup.
        by.closest("[hidden]") || by.value === "id" ? {} : { lookup: by.value })).filter(Boolean) };
    if (keySel.value) body.find_by = keySel.value;
    const job = await api("POST", `/v1/apps/${enc(app)}/jobs`, body);
    go.querySelector("button[type=submit]").replaceWith(el("p", {}, "Job ", el("a", { href: `#/apps/${enc(app)}/jobs/${enc(job.id)}` }, job.id), " started."));
    jobProgress(app, job, run);
  });
  box.replaceChildren(go, run);
}

// A job's live progress, then its result: used by the wizard and the job view (which passes
// `also` to hear each document too).
function jobProgress(app, job, box, also) {
  const path = `/v1/apps/${enc(app)}/jobs/${enc(job.id)}`;
  const bar = el("progress", { max: 1, value: 0, "aria-label": "Job progress" });
  const pct = el("span", { class: "pct" });
  const counts = el("p", { class: "counts" });
  const after = el("div", {});
  box.replaceChildren(el("h2", {}, "Progress"), el("div", { class: "barline" }, bar, pct), counts, after);
  let last = null;
  const show = (j, done) => {
    const p = j.progress;
    bar.max = Math.max(p.total, 1);
    bar.value = p.processed;
    const now = Date.now();
    let rate = "";
    if (last && now > last.t && p.processed > last.n) rate = ` · ${Math.round((p.processed - last.n) / ((now - last.t) / 1000))} rows/s`;
    else if (done && j.started_at && j.completed_at) rate = ` · ${Math.round(p.processed / Math.max((new Date(j.completed_at) - new Date(j.started_at)) / 1000, 0.001))} rows/s`;
    last = { t: now, n: p.processed };
    pct.textContent = `${Math.floor((100 * p.processed) / Math.max(p.total, 1))}%${rate}`;
    counts.replaceChildren(el("span", { class: "status " + j.status }, j.status), ` ${p.processed}/${p.total} rows: `,
      ...["added", "updated", "skipped", "deleted", "failed"].map(k => el("span", { class: "count-" + k }, `${k} ${p[k]} `)),
      // Records deleted with the rows' own by a relation's `on_delete: cascade`.
      p.cascaded ? el("span", { class: "count-cascaded" }, `cascaded ${p.cascaded} `) : "");
    if (done) finished(app, j, after);
    if (also) also(j, done);
  };
  show(job, false);
  live.add(follow(path, show));
}

async function finished(app, j, box) {
  const path = `/v1/apps/${enc(app)}/jobs/${enc(j.id)}`;
  const kids = [el("button", { type: "button", onclick: () => download(`${path}/result`, `${j.id}-result.zip`) }, "Download the result file")];
  if (j.error) kids.unshift(el("p", { class: "err" }, j.error));
  if (j.progress.failed) {
    const f = await api("GET", `${path}/failures?limit=100`);
    kids.push(el("h3", {}, `Failed rows (${f.failed}${f.failed > f.rows.length ? ", first " + f.rows.length : ""})`),
      table([{ label: "Row", key: "row" }, { label: "Cells", render: r => r.cells.join(", ") },
        { label: "Errors", render: r => r.message }], f.rows, { class: "failures" }));
  }
  box.replaceChildren(...kids);
}
