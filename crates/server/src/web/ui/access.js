// Tokens and users of an app: lists, creation (a token's secret shown once) and revocation.
"use strict";

const ROLES = ["reader", "writer", "owner"];

async function accessView(app) {
  inApp(app, "access");
  const base = `/v1/apps/${enc(app)}`;
  const tokensBox = el("div", {});
  const usersBox = el("div", {});
  const secret = el("div", { class: "secret", role: "status" });
  const roleSelect = () => el("select", {}, ROLES.map(r => el("option", { value: r, selected: r === "writer" }, r)));

  const loadTokens = async () => {
    const { tokens } = await api("GET", `${base}/tokens`);
    tokensBox.replaceChildren(tokens.length ? table([
      { label: "User", key: "user" }, { label: "Role", key: "role" }, { label: "Id", key: "id" },
      { label: "Created", key: "created_at" },
      { label: "", render: t => el("button", { type: "button", class: "danger", "aria-label": `Revoke the token of ${t.user}`, onclick: async () => {
        if (!confirm(`Revoke ${t.user}'s token? Calls with it will be refused at once.`)) return;
        try { await api("DELETE", `${base}/tokens/${enc(t.id)}`); toast("Token revoked"); await loadTokens(); } catch (e) { toast(e.message); }
      } }, "Revoke") },
    ], tokens, { class: "tokens" }) : el("p", {}, "No tokens."));
  };
  const loadUsers = async () => {
    const { users } = await api("GET", `${base}/users`);
    usersBox.replaceChildren(users.length ? table([
      { label: "Name", key: "name" }, { label: "Role", key: "role" },
      { label: "First name", key: "first_name" }, { label: "Last name", key: "last_name" },
      { label: "", render: u => el("button", { type: "button", class: "danger", "aria-label": `Delete user ${u.name}`, onclick: async () => {
        if (!confirm(`Delete user ${u.name}?`)) return;
        try { await api("DELETE", `${base}/users/${enc(u.name)}`); toast("User deleted"); await loadUsers(); } catch (e) { toast(e.message); }
      } }, "Delete") },
    ], users, { class: "users" }) : el("p", {}, "No users."));
  };

  const [tuRow, tUser] = field("User name", el("input", { required: true }), "user");
  const [trRow, tRole] = field("Role", roleSelect(), "role");
  const newToken = form({ class: "card inline", "aria-label": "New token" },
    [el("h3", {}, "New token"), tuRow, trRow, el("button", { type: "submit" }, "Create token")], async () => {
      const t = await api("POST", `${base}/tokens`, { user: tUser.value.trim(), role: tRole.value });
      secret.replaceChildren(el("p", {}, `Token for ${t.user} (${t.role}) — copy it now, it is shown once:`),
        el("code", { class: "tokenvalue" }, t.token));
      await loadTokens();
    });
  const [unRow, uName] = field("Name", el("input", { required: true, autocomplete: "off" }), "name");
  const [upRow, uPass] = field("Password", el("input", { type: "password", required: true, autocomplete: "new-password" }), "password");
  const [urRow, uRole] = field("Role", roleSelect(), "role");
  const [ufRow, uFirst] = field("First name", el("input", {}), "first_name");
  const [ulRow, uLast] = field("Last name", el("input", {}), "last_name");
  const newUser = form({ class: "card inline", "aria-label": "New user" },
    [el("h3", {}, "New user"), unRow, upRow, urRow, ufRow, ulRow, el("button", { type: "submit" }, "Create user")], async () => {
      await api("POST", `${base}/users`, { name: uName.value.trim(), password: uPass.value, role: uRole.value,
        first_name: uFirst.value || undefined, last_name: uLast.value || undefined });
      toast("User created");
      await loadUsers();
    });
  setView("Tokens & users", el("h2", {}, "Tokens"), tokensBox, secret, newToken, el("h2", {}, "Users"), usersBox, newUser);
  await Promise.all([loadTokens(), loadUsers()]);
}
