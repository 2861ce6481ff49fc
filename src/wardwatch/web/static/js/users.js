"use strict";
// The user administration page: add a user, disable one, issue a token, through the JSON API.

function randomPassword() {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  const bytes = new Uint8Array(18);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

function shown(target, text) {
  target.textContent = text;
  target.hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  const add = document.querySelector("form[data-add-user]");
  const added = document.querySelector("[data-testid=add-result]");
  add?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(add);
    const password = randomPassword();
    const body = { username: data.get("username"), role: data.get("role"), password,
      unit: data.get("unit") || null, display_name: data.get("display_name") || null };
    try {
      const user = await api("/api/users", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body) });
      shown(added, `Added ${user.username} (${user.role}). Initial password, shown once: ${password}`);
      add.reset();
    } catch (error) {
      shown(added, `Not added: ${error.message}`);
    }
  });
  for (const button of document.querySelectorAll("button[data-disable]")) {
    button.addEventListener("click", async () => {
      const name = button.dataset.disable;
      if (!window.confirm(`Disable ${name}? Their sessions and tokens end now.`)) return;
      try {
        await api(`/api/users/${encodeURIComponent(name)}/disable`, { method: "POST" });
        window.location.reload();
      } catch (error) {
        window.alert(`Not disabled: ${error.message}`);
      }
    });
  }
  const token = document.querySelector("form[data-token]");
  const issued = document.querySelector("[data-testid=token-result]");
  token?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(token);
    const body = { name: data.get("name"), scopes: data.get("scope") ? [data.get("scope")] : null,
      expires_days: data.get("expires_days") ? Number(data.get("expires_days")) : null };
    try {
      const made = await api(`/api/users/${encodeURIComponent(data.get("username"))}/tokens`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      shown(issued, `Token ${made.name} for ${made.user} (scopes: ${made.scopes.join(" ")}), shown once: ${made.token}`);
    } catch (error) {
      shown(issued, `Not issued: ${error.message}`);
    }
  });
});
