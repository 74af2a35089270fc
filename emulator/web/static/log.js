// DUIS log page: every request, response and alert in order; filters; details on demand.
"use strict";
(() => {
  const { el } = gb;
  const body = document.querySelector("#log tbody");
  const detail = document.getElementById("detail");
  const form = document.getElementById("filters");
  const entries = new Map();
  const params = new URLSearchParams(location.search);
  if (params.get("request")) document.getElementById("f-request").value = params.get("request");

  function filters() {
    return { user: form.user.value, device: form.device.value, srv: form.srv.value,
             outcome: form.outcome.value, request: form.request.value.trim() };
  }
  function matches(e, f) {
    return (!f.user || e.user === f.user) && (!f.device || e.device === f.device)
      && (!f.srv || e.srv === f.srv) && (!f.outcome || e.outcome === f.outcome)
      && (!f.request || e.request_id === f.request);
  }
  function addOption(select, value, text) {
    if (!value || [...select.options].some((o) => o.value === value)) return;
    select.append(el("option", { value }, text || value));
  }
  function row(e) {
    const label = e.direction === "request" ? `request to ${e.endpoint}` : `${e.direction} to ${e.user_name || e.user}`;
    return el("tr", { id: `entry-${e.seq}`, "data-seq": e.seq, "data-outcome": e.outcome },
      el("td", {}, e.seq), el("td", {}, e.at.slice(11, 23)), el("td", {}, label),
      el("td", {}, e.user_name || "", el("br"), el("span", { class: "eui" }, e.user)),
      el("td", { class: "eui" }, e.device || "—"), el("td", {}, e.srv || "—"),
      el("td", { title: e.meaning }, e.code || "—"),
      el("td", { class: gb.outcomeClass(e.outcome) }, e.outcome),
      el("td", { class: "reason" }, e.reason || ""),
      el("td", {}, el("button", { type: "button", class: "link open", "aria-controls": "detail",
        onclick: () => open(e.seq) }, `open #${e.seq}`)));
  }
  function add(e) {
    if (entries.has(e.seq)) return;
    entries.set(e.seq, e);
    addOption(form.user, e.user, `${e.user_name || "?"} ${e.user}`);
    addOption(form.device, e.device);
    addOption(form.srv, e.srv);
    const tr = row(e);
    tr.hidden = !matches(e, filters());
    body.append(tr);
    count();
  }
  function count() {
    const shown = [...body.rows].filter((r) => !r.hidden).length;
    document.getElementById("count").textContent = `${shown} of ${entries.size} shown`;
  }
  function refilter() {
    const f = filters();
    for (const tr of body.rows) tr.hidden = !matches(entries.get(Number(tr.dataset.seq)), f);
    count();
  }
  form.addEventListener("input", refilter);
  form.addEventListener("change", refilter);  // a select set by script or assistive tech: change only
  form.addEventListener("submit", (ev) => ev.preventDefault());

  function gbcs(p) {
    return el("div", { class: "gbcs" },
      el("h4", {}, `GBCS ${p.where}` + (p.use_case ? ` — ${p.use_case}` : "")),
      p.error ? el("p", { class: "reason" }, p.error) : null,
      el("ul", { class: "checks" }, (p.checks || []).map((c) => el("li", { class: "verdict", "data-check": c.check, "data-status": c.status },
        `${c.check}: `, el("span", { class: `status-${c.status}` }, c.status),
        c.reason ? el("span", { class: "muted" }, ` — ${c.reason}`) : null,
        c.key ? el("span", { class: "muted" }, ` (key ${c.key})`) : null))),
      el("details", {}, el("summary", {}, "decoded (named rendering)"), el("pre", {}, p.text || "")),
      el("details", {}, el("summary", {}, "bytes"), el("pre", {}, p.hex)));
  }
  function documentPart(d) {
    const sig = d.xml_signature;
    return el("div", { class: "document", "data-name": d.name },
      el("h3", {}, d.name === "answer" ? "The DSP's answer" : `The ${d.name}`),
      el("p", { class: "verdict", "data-check": "xml-signature", "data-status": sig.status }, "XML signature: ",
        el("span", { class: `status-${sig.status}` }, sig.status), sig.detail ? el("span", { class: "muted" }, ` — ${sig.detail}`) : null),
      d.gbcs.map(gbcs),
      el("details", {}, el("summary", {}, "XML"), el("pre", {}, d.xml)));
  }
  async function open(seq) {
    for (const tr of body.querySelectorAll("tr.selected")) tr.classList.remove("selected");
    document.getElementById(`entry-${seq}`)?.classList.add("selected");
    detail.hidden = false;
    detail.replaceChildren(el("p", { class: "muted" }, `Opening #${seq}…`));
    try {
      const d = await gb.json(`/web/api/log/${seq}`);
      detail.replaceChildren(...[
        el("h2", {}, `#${d.seq} ${d.direction} — SRV ${d.srv || "?"} — ${d.code || "no code"}`),
        el("p", {}, `Request ID ${d.request_id || "—"}; ${d.meaning || ""}`),
        d.outcome === "refused" ? el("p", { class: "reason", id: "refusal" },
          `Refused ${d.code} (${d.meaning}): ${d.reason || "no reason recorded"}`) : null,
        d.documents.map(documentPart)].flat().filter((n) => n));
      detail.dataset.seq = d.seq;
      detail.focus();
    } catch (err) { detail.replaceChildren(el("p", { class: "reason" }, String(err))); }
  }

  gb.json("/web/api/log").then((snap) => {
    snap.entries.forEach(add);
    gb.follow(snap.last_event, { duis: add });
    const wanted = Number(params.get("open"));
    if (wanted) open(wanted);
  }).catch((err) => body.append(el("tr", {}, el("td", { class: "reason" }, String(err)))));
})();
