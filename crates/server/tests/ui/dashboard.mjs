// The dashboard in real headless Chromium, driven by Playwright: sign in (Sign out shown only once
// signed in); make an object (an API validation error shown beside its field); import 5,000 rows
// with 10 bad ones through the wizard and see 100% and the 10 failures; browse and filter the
// records; a wide object's records fit at 1280 px; query, then delete what the query found as a
// batch and watch it finish; a pending batch canceled; revoke a token and see its next call
// refused; a finished job's Cancel disabled; relations: a contacts object whose `account` field
// points at accounts, made in the form, a CSV imported with its account column matched by the
// accounts' email ("Match by", and `account.email` pre-filled), the account shown as a link that
// opens it, a bad id refused beside its field; the API reference's Markdown rendered. Each step
// asserts on what the page shows and saves a screenshot.
//
// node dashboard.mjs BASE_URL ADMIN_TOKEN SCREENSHOT_DIR   (run by the e2e test `ui`, with
// UI_NODE_MODULES naming the node_modules that hold playwright-core)
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

const { chromium } = createRequire(join(process.env.UI_NODE_MODULES, "x"))("playwright-core");
const [base, admin, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
const errors = [];
page.on("pageerror", e => errors.push(e.message));
// Nothing may come from elsewhere: every request goes to this server.
const elsewhere = [];
page.on("request", r => { if (![base, "data:", "blob:"].some(p => r.url().startsWith(p))) elsewhere.push(r.url()); });
const shot = async (name, fullPage = true) => page.screenshot({ path: join(shots, name + ".png"), fullPage });
const step = async (name, f) => { process.stdout.write(`- ${name} … `); await f(); console.log("ok"); };
// A call to the API as the admin, for what a step needs made beforehand.
async function call(method, path, body) {
  const r = await fetch(base + path, { method, body: body && JSON.stringify(body),
    headers: { Authorization: "Bearer " + admin, "Content-Type": "application/json" } });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}
// A cancel button's state: disabled or not, and whether it is painted as a live destructive action
// (the `danger` red, --bad).
const cancelState = b => b.evaluate(e => ({ disabled: e.disabled, red: getComputedStyle(e).backgroundColor === "rgb(179, 38, 30)" }));

// Every control has a name a screen reader announces (a label, or aria-label).
async function labelled() {
  const bare = await page.evaluate(() => [...document.querySelectorAll("input, select, textarea, button")]
    .filter(e => !e.hidden && e.offsetParent !== null)
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !(e.textContent || "").trim())
    .map(e => e.outerHTML.slice(0, 80)));
  assert.deepEqual(bare, [], "controls without labels");
}

await step("sign in with the admin token", async () => {
  await page.goto(base + "/ui");
  await page.getByLabel("Token (admin or app token)").fill(admin);
  await labelled();
  assert.equal(await page.locator("#signout").isVisible(), false, "no Sign out while signed out");
  await shot("01-sign-in");
  await page.getByRole("button", { name: "Sign in" }).first().click();
  await page.getByRole("heading", { name: "Apps" }).waitFor();
  assert.ok(await page.getByRole("button", { name: "Sign out" }).isVisible(), "Sign out once signed in");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("sluice.token")), admin);
  assert.ok(!page.url().includes(admin), "the token is never in the URL");
});

await step("create an app and an object, with a validation error beside its field", async () => {
  await page.getByLabel("Name").fill("crm");
  await page.getByLabel("Label").fill("CRM");
  await page.getByRole("button", { name: "Create app" }).click();
  await page.getByRole("heading", { name: "Objects of crm" }).waitFor();
  await page.getByLabel("Name", { exact: true }).fill("contacts");
  await page.getByLabel("Field name").fill("1email");
  await page.getByRole("button", { name: "Create object" }).click();
  const bad = page.locator('input[aria-invalid="true"]');
  await bad.waitFor();
  assert.equal(await bad.inputValue(), "1email");
  const msg = await page.locator(".fieldedit .err").first().textContent();
  assert.match(msg, /validation_failed|invalid/, msg);
  await shot("02-object-validation-error");
  await page.getByLabel("Field name").fill("email");
  const first = page.locator("fieldset.fieldedit").first();
  await first.getByLabel("Required").check();
  await first.getByLabel("Unique").check();
  await page.getByRole("button", { name: "Add a field" }).click();
  const second = page.locator("fieldset.fieldedit").nth(1);
  await second.getByLabel("Field name").fill("age");
  await second.getByLabel("Type").selectOption("integer");
  await second.getByLabel("Indexed").check();
  await labelled();
  await page.getByRole("button", { name: "Create object" }).click();
  await page.getByRole("heading", { name: "contacts" }).waitFor();
});

await step("import 5,000 rows with 10 bad ones through the wizard", async () => {
  const rows = ["E-mail,age"];
  for (let i = 0; i < 5000; i++) rows.push(`user${i}@example.com,${i % 500 === 3 ? "not-a-number" : i % 100}`);
  const file = join(tmpdir(), `contacts-${process.pid}.csv`);
  writeFileSync(file, rows.join("\n") + "\n");
  await page.getByRole("link", { name: "Import", exact: true }).click();
  await page.getByRole("heading", { name: "Import" }).waitFor();
  await page.locator("input[type=file]").setInputFiles(file);
  await page.getByRole("button", { name: "Upload" }).click();
  await page.getByRole("heading", { name: "2. Preview (5000 rows)" }).waitFor();
  // The header "E-mail" is matched to the field "email" by name; "age" too.
  assert.equal(await page.getByLabel("Column “E-mail” →").inputValue(), "email");
  assert.equal(await page.getByLabel("Column “age” →").inputValue(), "age");
  assert.match(await page.locator(".mapstatus").textContent(), /Every column is mapped/);
  await page.getByLabel("Column “E-mail” →").selectOption("");
  assert.match(await page.locator(".mapstatus").textContent(), /Required fields without a column: email/);
  await page.getByLabel("Column “E-mail” →").selectOption("email");
  await labelled();
  await shot("03-import-mapping");
  await page.getByRole("button", { name: "Start the job" }).click();
  await page.locator(".pct", { hasText: "100%" }).first().waitFor({ timeout: 60000 });
  await page.locator("table.failures").waitFor({ timeout: 30000 });
  assert.equal(await page.locator("table.failures tbody tr").count(), 10);
  assert.match(await page.locator(".counts").first().textContent(), /added 4990 .*failed 10/);
  assert.match(await page.locator("table.failures tbody tr").first().textContent(), /user3@example.com/);
  await page.getByRole("button", { name: "Download the result file" }).waitFor();
  await shot("04-import-done-failures");
});

await step("browse and filter the records", async () => {
  await page.goto(base + "/ui#/apps/crm/objects/contacts");
  await page.locator("p.count").waitFor();
  assert.match(await page.locator("p.count").textContent(), /of 4990/);
  await page.getByRole("button", { name: "Add a filter" }).click();
  await page.locator(".filter").getByLabel("Field").selectOption("age");
  await page.locator(".filter").getByLabel("Operator").selectOption("gte");
  await page.locator(".filter").getByLabel("Value").fill("90");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.locator("p.count", { hasText: "of 500" }).waitFor();
  await page.getByRole("button", { name: "Next" }).click();
  await page.locator("p.count", { hasText: "21–40 of 500" }).waitFor();
  await labelled();
  await shot("05-records-filtered");
  await page.setViewportSize({ width: 400, height: 860 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 400, `usable at 400 px (the page is ${wide} px wide)`);
  await shot("06-records-400px");
  await page.setViewportSize({ width: 1280, height: 860 });
});

await step("a wide object's records fit at 1280 px, and scroll inside their box at 400 px", async () => {
  const names = ["full_name", "email", "company", "job_title", "phone", "city", "notes", "score"];
  await call("POST", "/v1/apps/crm/objects", { name: "people",
    fields: names.map(n => ({ name: n, type: n === "score" ? "integer" : "text" })) });
  for (let i = 0; i < 12; i++) {
    await call("POST", "/v1/apps/crm/objects/people/records", {
      full_name: `Maximiliana Wolfeschlegelsteinhausen-Bergerdorff ${i}`,
      email: `maximiliana.wolfeschlegelsteinhausen.bergerdorff.${i}@an-international-example-company.com`,
      company: "International Consolidated Widgets and Sprockets Holding Company Limited",
      job_title: "Senior Vice President of Strategic Partnerships and Channel Development",
      phone: "+44 20 7946 0958 extension 4471", city: "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
      notes: "Met at the trade fair; wants a quote for 40,000 units with quarterly delivery, ".repeat(4) + i,
      score: i * 7 });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(base + "/ui#/apps/crm/objects/people");
  await page.locator("p.count", { hasText: "of 12" }).waitFor();
  const box = () => page.locator(".tablewrap").evaluate(e => ({ scroll: e.scrollWidth, client: e.clientWidth }));
  const wide = await box();
  assert.ok(wide.scroll <= wide.client, `no sideways scroll at 1280 px (${wide.scroll} > ${wide.client})`);
  const page1280 = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(page1280 <= 1280, `the page fits at 1280 px (${page1280})`);
  // The long e-mail is cut short on the page, and whole in the cell's title.
  const cut = page.locator("table.records tbody tr").first().locator('.cell[title$="@an-international-example-company.com"]');
  assert.ok(await cut.evaluate(e => e.scrollHeight > e.clientHeight || e.scrollWidth > e.clientWidth), "the e-mail is cut short");
  await shot("11-records-wide", false);
  await page.setViewportSize({ width: 400, height: 800 });
  const narrow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(narrow <= 400, `the page fits at 400 px (${narrow})`);
  const small = await box();
  assert.ok(small.scroll > small.client, "at 400 px the table scrolls inside its box");
  await page.setViewportSize({ width: 1280, height: 860 });
});

await step("query, then delete what it found as a batch, and watch it finish", async () => {
  await page.goto(base + "/ui#/apps/crm/query");
  await page.getByLabel(/^SQL/).fill("SELECT id, email, age FROM contacts WHERE age < 10");
  await page.getByRole("button", { name: "Run" }).click();
  await page.locator("p.count", { hasText: "490 rows" }).waitFor();
  await page.getByRole("button", { name: "Review" }).click();
  assert.match(await page.locator(".confirm").textContent(), /Delete 490 records of contacts\?/);
  await page.locator(".confirm").scrollIntoViewIfNeeded();
  await shot("07-query-and-batch", false);
  await page.getByRole("button", { name: "Delete 490 records" }).click();
  await page.locator(".status.success").waitFor({ timeout: 30000 });
  assert.match(await page.locator("dl.facts").textContent(), /490 changed, 0 failed, of 490/);
  await shot("08-batch-done");
  await page.goto(base + "/ui#/apps/crm/batches");
  await page.locator("table.batches tbody tr").first().waitFor();
  assert.match(await page.locator("table.batches tbody tr").first().textContent(), /success.*delete contacts/);
});

await step("a finished batch cannot be canceled; a pending one can", async () => {
  await page.locator("table.batches tbody tr a").first().click();
  await page.locator(".status.success").waitFor();
  assert.deepEqual(await cancelState(page.getByRole("button", { name: "Cancel batch" })), { disabled: true, red: false });
  const { records } = await call("GET", "/v1/apps/crm/objects/contacts/records?limit=1");
  const b = await call("POST", "/v1/apps/crm/batches", { operations: [{ action: "delete", object: "contacts", ids: [records[0].id] }] });
  assert.equal(b.status, "pending");
  await page.goto(base + `/ui#/apps/crm/batches/${b.id}`);
  await page.locator(".status.pending").waitFor();
  const cancel = page.getByRole("button", { name: "Cancel batch" });
  assert.deepEqual(await cancelState(cancel), { disabled: false, red: true });
  await cancel.click();
  await page.locator(".status.canceled").waitFor();
  assert.deepEqual(await cancelState(cancel), { disabled: true, red: false });
});

await step("revoke a token and see its next call refused", async () => {
  await page.goto(base + "/ui#/apps/crm/access");
  await page.locator("form[aria-label='New token']").getByLabel("User name").fill("robot");
  await page.locator("form[aria-label='New token']").getByLabel("Role").selectOption("reader");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = (await page.locator("code.tokenvalue").textContent()).trim();
  await labelled();
  await shot("09-tokens");
  const call = t => fetch(base + "/v1/apps/crm/objects/contacts/records?limit=1", { headers: { Authorization: "Bearer " + t } });
  assert.equal((await call(token)).status, 200);
  page.once("dialog", d => d.accept());
  await page.getByRole("button", { name: "Revoke the token of robot" }).click();
  await page.locator("table.tokens").waitFor({ state: "detached" });
  assert.equal((await call(token)).status, 401);
});

await step("jobs list and job detail", async () => {
  await page.goto(base + "/ui#/apps/crm/jobs");
  await page.locator("table.jobs tbody tr").first().waitFor();
  assert.match(await page.locator("table.jobs tbody tr").first().textContent(), /completed.*insert contacts.*5000\/5000.*10/);
  await page.locator("table.jobs tbody tr a").first().click();
  await page.locator("table.failures").waitFor();
  const cancel = page.getByRole("button", { name: "Cancel job" });
  assert.deepEqual(await cancelState(cancel), { disabled: true, red: false }, "a completed job's Cancel is off");
  assert.match(await cancel.getAttribute("title"), /completed/);
  await shot("10-job-detail");
});

// Relations, in an app of their own: accounts made through the API, contacts (with its relation
// field) through the form.
const accounts = {};
await step("a relation field chosen in the object form: its target and on_delete", async () => {
  await call("POST", "/v1/apps", { name: "sales" });
  await call("POST", "/v1/apps/sales/objects", { name: "accounts", fields: [
    { name: "name", type: "text", required: true }, { name: "email", type: "text", required: true, unique: true }] });
  for (const [name, email] of [["Acme", "ops@acme.io"], ["Globex", "it@globex.io"]]) {
    accounts[name] = (await call("POST", "/v1/apps/sales/objects/accounts/records", { name, email })).id;
  }
  await page.goto(base + "/ui#/apps/sales/objects");
  await page.getByRole("heading", { name: "Objects of sales" }).waitFor();
  await page.getByLabel("Name", { exact: true }).fill("contacts");
  const first = page.locator("fieldset.fieldedit").first();
  await first.getByLabel("Field name").fill("email");
  assert.equal(await first.getByLabel("Points at").isVisible(), false, "no target for a text field");
  await page.getByRole("button", { name: "Add a field" }).click();
  const second = page.locator("fieldset.fieldedit").nth(1);
  await second.getByLabel("Field name").fill("account");
  await second.getByLabel("Type").selectOption("relation");
  assert.deepEqual(await second.getByLabel("Points at").locator("option").allTextContents(), ["accounts"]);
  await second.getByLabel("Points at").selectOption("accounts");
  await second.getByLabel("On delete of the target").selectOption("cascade");
  await labelled();
  await page.getByRole("button", { name: "Create object" }).click();
  await page.getByRole("heading", { name: "contacts" }).waitFor();
  const obj = await call("GET", "/v1/apps/sales/objects/contacts");
  const account = obj.fields.find(f => f.name === "account");
  assert.deepEqual([account.type, account.object, account.on_delete], ["relation", "accounts", "cascade"]);
  await page.goto(base + "/ui#/apps/sales/objects/contacts/schema");
  assert.equal(await page.getByLabel("Points at (fixed)").last().inputValue(), "accounts");
});

// Uploads `rows` as a CSV into the wizard for sales' contacts.
async function upload(name, rows) {
  const file = join(tmpdir(), `${name}-${process.pid}.csv`);
  writeFileSync(file, rows.join("\n") + "\n");
  await page.goto(base + "/ui#/apps/sales/import?object=contacts");
  await page.getByRole("heading", { name: "Import" }).waitFor();
  await page.locator("input[type=file]").setInputFiles(file);
  await page.getByRole("button", { name: "Upload" }).click();
  await page.getByRole("heading", { name: `2. Preview (${rows.length - 1} rows)` }).waitFor();
}

await step("import contacts whose account column is matched by the account's email", async () => {
  await upload("contacts-accounts", ["Email,Account Email", "ann@x.io,ops@acme.io", "bob@x.io,it@globex.io",
    "cid@x.io,ops@acme.io", "dan@x.io,nobody@nowhere.io"]);
  const column = page.getByLabel("Column “Account Email” →");
  const by = page.getByLabel("Column “Account Email”: match by");
  assert.equal(await column.inputValue(), "");
  assert.equal(await by.isVisible(), false, "no Match by before a relation field is chosen");
  await column.selectOption("account");
  await by.waitFor();
  assert.deepEqual(await by.locator("option").allTextContents(), ["id", "email"]);
  assert.equal(await by.inputValue(), "id");
  await by.selectOption("email");
  assert.equal(await page.getByLabel("Column “Email”: match by").isVisible(), false);
  await labelled();
  await shot("13-import-match-by");
  const [sent] = await Promise.all([
    page.waitForRequest(r => r.method() === "POST" && r.url().endsWith("/v1/apps/sales/jobs")),
    page.getByRole("button", { name: "Start the job" }).click()]);
  const mappings = sent.postDataJSON().field_mappings;
  assert.deepEqual(mappings, [{ column: "Email", field: "email" }, { column: "Account Email", field: "account", lookup: "email" }]);
  await page.locator(".pct", { hasText: "100%" }).first().waitFor({ timeout: 30000 });
  await page.locator("table.failures").waitFor({ timeout: 30000 });
  assert.match(await page.locator(".counts").first().textContent(), /added 3 .*failed 1/);
  assert.match(await page.locator("table.failures tbody tr").first().textContent(), /nobody@nowhere\.io/);
});

await step("a header account.email is pre-filled as the field account, matched by email", async () => {
  await upload("contacts-dotted", ["email,account.email", "eve@x.io,it@globex.io"]);
  assert.equal(await page.getByLabel("Column “account.email” →").inputValue(), "account");
  assert.equal(await page.getByLabel("Column “account.email”: match by").inputValue(), "email");
  await page.getByRole("button", { name: "Start the job" }).click();
  await page.locator(".pct", { hasText: "100%" }).first().waitFor({ timeout: 30000 });
  assert.match(await page.locator(".counts").first().textContent(), /added 1 .*failed 0/);
});

await step("the records show the account as a link that opens it", async () => {
  await page.goto(base + "/ui#/apps/sales/objects/contacts");
  await page.locator("p.count", { hasText: "of 4" }).waitFor();
  const ann = page.locator("table.records tbody tr", { hasText: "ann@x.io" });
  const link = ann.getByRole("link", { name: "Acme" });
  assert.equal(await link.getAttribute("href"), `#/apps/sales/objects/accounts/records/${accounts.Acme}`);
  assert.equal(await page.locator("table.records tbody tr", { hasText: "eve@x.io" }).getByRole("link", { name: "Globex" }).count(), 1);
  await shot("14-records-relation");
  await link.click();
  await page.getByRole("heading", { name: "Record of accounts" }).waitFor();
  assert.equal(await page.getByLabel(/^email/).inputValue(), "ops@acme.io");
  assert.ok(page.url().endsWith(`/records/${accounts.Acme}`), page.url());
});

await step("a contact's editor: the account as a link and its id, a bad id refused beside it", async () => {
  await page.goBack();
  await page.locator("table.records tbody tr", { hasText: "bob@x.io" }).getByRole("link").first().click();
  await page.getByRole("heading", { name: "Record of contacts" }).waitFor();
  const input = page.getByLabel(/^account/);
  assert.equal(await input.inputValue(), accounts.Globex);
  assert.equal(await page.locator(".rellink a").textContent(), "Globex");
  await input.fill("00000000-0000-0000-0000-000000000000");
  await page.getByRole("button", { name: "Save" }).click();
  await page.locator('input[aria-invalid="true"]').waitFor();
  assert.match(await page.locator(`#${await input.getAttribute("aria-describedby")}`).textContent(), /reference_not_found/);
  await labelled();
  await shot("15-record-relation");
  await page.locator(".rellink a").click();
  await page.getByRole("heading", { name: "Record of accounts" }).waitFor();
  assert.equal(await page.getByLabel(/^email/).inputValue(), "it@globex.io");
});

await step("the API reference renders its Markdown", async () => {
  await page.goto(base + "/docs");
  await page.locator("section.op").first().waitFor();
  const text = await page.locator("main").innerText();
  assert.ok(!text.includes("`"), "no raw backticks: " + text.split("\n").filter(l => l.includes("`")).slice(0, 3).join(" | "));
  assert.match(await page.locator("#intro code").first().textContent(), /Authorization: Bearer <token>/);
  assert.ok(await page.locator(".md code").count() > 20, "descriptions' code shown as code");
  await shot("12-api-reference", false);
});

assert.deepEqual(errors, [], "no script errors");
assert.deepEqual(elsewhere, [], "no request to another server");
await browser.close();
console.log("dashboard: all steps passed");
