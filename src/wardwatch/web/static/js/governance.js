"use strict";
// The governance page: switch framework on change, and record completed training through the JSON API.

document.addEventListener("DOMContentLoaded", () => {
  const chooser = document.querySelector("form[data-framework-form]");
  const select = chooser?.querySelector("select[name=framework]");
  select?.addEventListener("change", () => chooser.submit());

  const form = document.querySelector("form[data-add-training]");
  const result = document.querySelector("[data-testid=training-result]");
  form?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = { username: data.get("username"), course: data.get("course"),
      completed_on: data.get("completed_on"), expires_on: data.get("expires_on") || null,
      role: data.get("role") || null, evidence: data.get("evidence") || "" };
    try {
      const record = await api("/api/governance/training", { method: "POST",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      result.textContent = `Recorded ${record.username} (${record.role}): ${record.course_title}, ` +
        `valid ${record.expires_on ? "until " + record.expires_on : "with no expiry"}. Reloading…`;
      result.hidden = false;
      window.setTimeout(() => window.location.reload(), 600);
    } catch (error) {
      result.textContent = `Not recorded: ${error.message}`;
      result.hidden = false;
    }
  });
});
