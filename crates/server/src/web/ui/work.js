// Jobs and batches: lists with status, counts, duration and who started them, refreshed while
// anything runs; a detail view with live progress, cancel, the callback's state and the result.
"use strict";

const RUNNING = new Set(["queued", "running", "pending"]);

function badge(status) {
  return el("span", { class: "status " + status }, status);
}

// A cancel button stays in place but is live only while there is something to stop; once the
// work has ended it is disabled (and grey), its title saying why.
function cancelable(button, status, done = false) {
  button.disabled = done || !RUNNING.has(status);
  button.title = button.disabled ? `Nothing to cancel: it is ${status}` : "";
  return button;
}

async function jobsView(app) {
  inApp(app, "jobs");
  const box = el("div", {});
  const load = async () => {
    const { jobs } = await api("GET", `/v1/apps/${enc(app)}/jobs?limit=50`);
    box.replaceChildren(jobs.length ? table([
      { label: "Job", render: j => el("a", { href: `#/apps/${enc(app)}/jobs/${enc(j.id)}` }, j.id.slice(0, 13) + "…") },
      { label: "Status", render: j => badge(j.status) },
      { label: "Operation", render: j => `${j.operation} ${j.object}` },
      { label: "Rows", render: j => `${j.progress.processed}/${j.progress.total}` },
      { label: "Failed", render: j => String(j.progress.failed) },
      { label: "By", key: "created_by" },
      { label: "Created", key: "created_at" },
      { label: "Took", render: j => duration(j.started_at, j.completed_at) },
    ], jobs, { class: "jobs" }) : el("p", {}, "No jobs yet: ", el("a", { href: `#/apps/${enc(app)}/import` }, "import a file"), "."));
    return jobs.some(j => RUNNING.has(j.status));
  };
  setView("Jobs", box);
  await load();
  live.every(2000, () => load().catch(() => {}));
}

async function jobView(app, id) {
  inApp(app, "jobs", { label: "Jobs", href: `#/apps/${enc(app)}/jobs` }, { label: id.slice(0, 13) + "…" });
  const path = `/v1/apps/${enc(app)}/jobs/${enc(id)}`;
  const job = await api("GET", path);
  const facts = el("dl", { class: "facts" });
  const showFacts = j => facts.replaceChildren(...[
    ["Status", badge(j.status)], ["Operation", `${j.operation} into ${j.object}`],
    ["Key", j.find_by || "—"], ["Created by", j.created_by], ["Created", j.created_at],
    ["Took", duration(j.started_at, j.completed_at)],
    ["Callback", j.callback ? `${j.callback.status} (${j.callback.attempts} attempts)${j.callback.last_error ? ": " + j.callback.last_error : ""}` : "none"],
  ].flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  showFacts(job);
  const cancel = cancelable(el("button", { type: "button", class: "danger", onclick: async () => {
    try {
      const j = await api("POST", `${path}/cancel`);
      showFacts(j);
      cancelable(cancel, j.status);
      toast("Cancel asked: the job stops at its next chunk");
    } catch (e) { toast(e.message); }
  } }, "Cancel job"), job.status);
  const progress = el("div", {});
  setView(`Job ${id.slice(0, 13)}…`, facts, cancel, progress);
  jobProgress(app, job, progress, (j, done) => { showFacts(j); cancelable(cancel, j.status, done); });
}

async function batchesView(app) {
  inApp(app, "batches");
  const box = el("div", {});
  const load = async () => {
    const { batches } = await api("GET", `/v1/apps/${enc(app)}/batches?limit=50`);
    box.replaceChildren(batches.length ? table([
      { label: "Batch", render: b => el("a", { href: `#/apps/${enc(app)}/batches/${enc(b.id)}` }, b.id.slice(0, 13) + "…") },
      { label: "Status", render: b => badge(b.status) },
      { label: "Operations", render: b => b.operations.map(o => `${o.action} ${o.object}`).join(", ") },
      { label: "Records", render: b => `${b.objects_success + b.objects_failed}/${b.objects_total}` },
      { label: "Failed", render: b => String(b.objects_failed) },
      { label: "By", key: "created_by" },
      { label: "Created", key: "created_at" },
      { label: "Took", render: b => duration(b.started_at, b.completed_at) },
    ], batches, { class: "batches" }) : el("p", {}, "No batches yet: make one from a ", el("a", { href: `#/apps/${enc(app)}/query` }, "query"), "."));
  };
  setView("Batches", box);
  await load();
  live.every(2000, () => load().catch(() => {}));
}

async function batchView(app, id) {
  inApp(app, "batches", { label: "Batches", href: `#/apps/${enc(app)}/batches` }, { label: id.slice(0, 13) + "…" });
  const path = `/v1/apps/${enc(app)}/batches/${enc(id)}`;
  const batch = await api("GET", path);
  const bar = el("progress", { max: 1, value: 0, "aria-label": "Batch progress" });
  const pct = el("span", { class: "pct" });
  const facts = el("dl", { class: "facts" });
  const buttons = el("p", {});
  const show = (b, done) => {
    bar.max = Math.max(b.objects_total, 1);
    bar.value = b.objects_success + b.objects_failed;
    pct.textContent = `${Math.floor((100 * bar.value) / bar.max)}%`;
    facts.replaceChildren(...[
      ["Status", badge(b.status)], ["Operations", b.operations.map(o => `${o.action} ${o.object}${o.query ? " where " + o.query : ""}`).join("; ")],
      ["Records", `${b.objects_success} changed, ${b.objects_failed} failed, of ${b.objects_total}${b.cascaded ? `; ${b.cascaded} more deleted by cascade` : ""}`],
      ["Created by", b.created_by], ["Took", duration(b.started_at, b.completed_at)],
    ].flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    buttons.replaceChildren(
      b.status === "pending" ? el("button", { type: "button", onclick: act("start") }, "Start") : "",
      cancelable(el("button", { type: "button", class: "danger", onclick: act("cancel") }, "Cancel batch"), b.status, done));
  };
  const act = verb => async () => {
    try { show(await api("POST", `${path}/${verb}`), false); if (verb === "start") live.add(follow(path, show)); } catch (e) { toast(e.message); }
  };
  show(batch, false);
  setView(`Batch ${id.slice(0, 13)}…`, el("div", { class: "barline" }, bar, pct), facts, buttons);
  if (batch.status === "running") live.add(follow(path, show));
}
