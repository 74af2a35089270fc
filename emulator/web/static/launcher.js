// Launcher page: a catalogue template sent as a user to a device, followed to its response;
// the users' response endpoints, through the configuration API.
"use strict";
(() => {
  const { el } = gb;
  const form = document.getElementById("launch");
  const fields = document.getElementById("l-fields");
  const status = document.getElementById("l-status");
  const trace = document.querySelector("#l-trace tbody");
  let templates = [], senders = [], following = null;

  function senderFor(role) { return senders.find((s) => s.role === role && s.can_send); }

  async function chooseTemplate() {
    const t = await gb.json(`/web/api/templates/${encodeURIComponent(form.template.value)}`);
    const user = senderFor(t.role);
    if (user) form.user.value = user.eui;
    if ([...form.target.options].some((o) => o.value === t.target)) form.target.value = t.target;
    fields.replaceChildren(...t.fields.map((f, i) => el("div", { class: "field" },
      el("label", { for: `field-${i}` }, f.label),
      el("input", { id: `field-${i}`, "data-path": f.path, value: f.value, size: 28 }))));
    if (!t.fields.length) fields.append(el("p", { class: "muted" }, "This template has no values to edit."));
  }

  function traceRow(e) {
    return el("tr", { "data-seq": e.seq, "data-code": e.code, "data-outcome": e.outcome, "data-direction": e.direction },
      el("td", {}, e.seq),
      el("td", {}, e.direction === "request" ? `request to ${e.endpoint}` : e.direction),
      el("td", { title: e.meaning }, e.code || "—"),
      el("td", { class: gb.outcomeClass(e.outcome) }, e.outcome),
      el("td", { class: "reason" }, e.reason || ""),
      el("td", {}, el("a", { href: `/log?open=${e.seq}&request=${encodeURIComponent(e.request_id || "")}` }, `open #${e.seq} in the log`)));
  }
  function onDuis(e) {
    if (!following || e.request_id !== following) return;
    if (trace.querySelector(`tr[data-seq="${e.seq}"]`)) return;
    // the stream and the log's snapshot may each bring some first: keep the log's order
    const later = [...trace.rows].find((r) => Number(r.dataset.seq) > e.seq);
    trace.insertBefore(traceRow(e), later || null);
    if (e.direction === "response") status.textContent = `Answered: ${e.code} (${e.outcome}).`;
    else if (e.outcome === "refused") status.textContent = `Refused: ${e.code} — ${e.reason || e.meaning}.`;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const values = {};
    for (const input of fields.querySelectorAll("input[data-path]")) values[input.dataset.path] = input.value;
    trace.replaceChildren();
    status.textContent = "Sending…";
    try {
      const result = await gb.json("/web/api/send", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ template: form.template.value, user: form.user.value, target: form.target.value,
          tamper: form.tamper.value, fields: values }) });
      following = result.request_id;
      status.dataset.requestId = result.request_id;
      const codes = result.answers.map((a) => `${a.source} ${a.code}`).join(", ");
      status.textContent = result.error ? `Error: ${result.error}` : `Sent ${result.request_id}: ${codes}. Waiting for the response…`;
      const snap = await gb.json(`/web/api/log?request=${encodeURIComponent(following)}`);
      snap.entries.forEach(onDuis);
    } catch (err) { status.textContent = `Error: ${err.message}`; }
  });

  async function endpoints() {
    const users = await gb.json("/gbhan/v1/users");
    const tbody = document.querySelector("#endpoints tbody");
    tbody.replaceChildren(...users.map((u, i) => {
      const input = el("input", { id: `endpoint-${i}`, value: u.endpoint || "", size: 40, type: "url", "aria-label": `endpoint of ${u.name}` });
      const save = async () => {
        const note = document.getElementById("e-status");
        try {
          const r = await gb.json(`/gbhan/v1/users/${u.eui}/endpoint`, { method: "PUT",
            headers: { "Content-Type": "application/json" }, body: JSON.stringify({ endpoint: input.value || null }) });
          note.textContent = `${u.name}: endpoint ${r.endpoint || "cleared"}`;
        } catch (err) { note.textContent = `${u.name}: ${err.message}`; }
      };
      return el("tr", { "data-eui": u.eui }, el("td", {}, u.name, el("br"), el("span", { class: "eui" }, u.eui)),
        el("td", {}, u.role), el("td", {}, input),
        el("td", {}, el("button", { type: "button", onclick: save }, "Save")));
    }));
  }

  (async () => {
    [templates, senders] = await Promise.all([gb.json("/web/api/templates"), gb.json("/web/api/senders")]);
    const devices = await gb.json("/gbhan/v1/devices");
    form.template.replaceChildren(...templates.map((t) => el("option", { value: t.name }, `${t.srv} — ${t.name}`)));
    form.user.replaceChildren(...senders.map((s) => el("option", { value: s.eui, disabled: !s.can_send },
      `${s.name} (${s.role}) ${s.eui}`)));
    form.target.replaceChildren(...devices.map((d) => el("option", { value: d.eui }, `${d.eui} ${d.type} (${d.premises})`)));
    form.template.addEventListener("change", chooseTemplate);
    const wanted = new URLSearchParams(location.search).get("template");
    const first = templates.find((t) => t.name === wanted) || templates.find((t) => t.srv === "7.6") || templates[0];
    form.template.value = first.name;
    await chooseTemplate();
    await endpoints();
    const snap = await gb.json("/web/api/log?limit=0");
    gb.follow(snap.last_event, { duis: onDuis });
  })().catch((err) => { status.textContent = `Error: ${err.message}`; });
})();
