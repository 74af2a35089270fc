// Feeder page: the load against the rating as the scenario runs, a marker per SRV, the DNO's
// decisions and the consent register, from a snapshot and then the event stream; the run's
// controls post to /web/api/feeder/control.
"use strict";
(() => {
  const { el } = gb;
  const SVG = "http://www.w3.org/2000/svg";
  const W = 1000, H = 340, L = 48, R = 12, T = 26, B = 30;  // the plot inside the margins
  const $ = (id) => document.getElementById(id);
  let run = null;  // the snapshot, kept up to date by the events
  let drawn = false;

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  function clock(t) {  // simulated seconds since the start -> HH:MM:SS UTC
    const start = new Date(run.scenario.start_utc);
    const s = Math.floor(((start.getUTCHours() * 3600 + start.getUTCMinutes() * 60 + start.getUTCSeconds() + t) % 86400 + 86400) % 86400);
    return [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, "0")).join(":");
  }

  function kind(srv) { return srv.ok ? (srv.srv === "7.6" ? "7-6" : srv.srv === "7.8" ? "7-8" : "other") : "bad"; }

  function draw() {
    drawn = false;
    const sc = run.scenario, pts = run.points;
    const peak = pts.reduce((m, p) => Math.max(m, p[1]), 0);
    const top = Math.max(sc.rating_kw * 1.25, peak * 1.05);
    const x = (t) => L + (W - L - R) * Math.min(Math.max(t / sc.duration_s, 0), 1);
    const y = (kw) => T + (H - T - B) * (1 - kw / top);
    const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", id: "load-chart",
      "aria-label": `Feeder load against its ${sc.rating_kw} kW rating, ${pts.length} samples, ${run.srvs.length} SRVs` });
    for (let kw = 0; kw <= top; kw += 25) {
      chart.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: y(kw), y2: y(kw) }),
        svg("text", { x: L - 6, y: y(kw) + 4, "text-anchor": "end" }, `${kw}`));
    }
    for (let t = 0; t <= sc.duration_s; t += 3600) {
      const anchor = t === 0 ? "start" : t + 3600 > sc.duration_s ? "end" : "middle";
      chart.append(svg("text", { x: x(t), y: H - 10, "text-anchor": anchor }, clock(t).slice(0, 5)));
    }
    chart.append(svg("text", { x: 4, y: 14 }, "kW"));
    const last = pts.length ? pts[pts.length - 1][0] : 0;
    for (const e of run.emergencies) {
      const x0 = x(e.start), x1 = x(e.end === null ? Math.max(last, e.start) : e.end);
      chart.append(svg("rect", { class: "emergency", x: x0, y: T, width: Math.max(x1 - x0, 1), height: H - T - B,
        "data-start": e.start, "data-end": e.end ?? "" },
        svg("title", {}, `emergency ${e.event} from ${clock(e.start)}${e.end === null ? "" : ` to ${clock(e.end)} (${e.end_reason})`}: ${e.reason}`)));
    }
    chart.append(svg("line", { class: "rating", x1: L, x2: W - R, y1: y(sc.rating_kw), y2: y(sc.rating_kw) }));
    const polyline = (cls, value) => svg("polyline", { class: cls,
      points: pts.map((p) => `${x(p[0]).toFixed(1)},${y(value(p)).toFixed(1)}`).join(" ") });
    chart.append(polyline("target", (p) => sc.rating_kw - p[2]), polyline("load", (p) => p[1]));
    const markers = svg("g", { id: "markers" });
    for (const s of run.srvs) {
      const k = kind(s), mx = x(s.sent_at);
      const shape = k === "7-6" ? `M${mx - 4},${T - 12} h8 l-4,8 z` : k === "7-8" ? `M${mx - 4},${T - 4} h8 l-4,-8 z`
        : k === "other" ? `M${mx},${T - 13} l4,5 l-4,5 l-4,-5 z` : `M${mx - 4},${T - 12} l8,8 m0,-8 l-8,8`;
      markers.append(svg("path", { d: shape, class: `marker m-${k}`, "data-srv": s.srv, "data-t": s.sent_at,
        "data-premises": s.premises, "data-status": s.status },
        svg("title", {}, `${clock(s.sent_at)} SRV ${s.srv} ${s.premises} slot ${s.slot ?? "—"}: ${s.status}`)));
    }
    chart.append(markers);
    $("chart").replaceChildren(chart);
    figures(peak);
  }

  function figures(peak) {
    const sc = run.scenario, pts = run.points;
    const over = pts.filter((p) => p[1] > sc.rating_kw).length * sc.step_s / 60;
    const byType = {};
    for (const s of run.srvs) byType[s.srv] = (byType[s.srv] || 0) + 1;
    const types = Object.keys(byType).sort().map((k) => `${k}: ${byType[k]}`).join(", ");
    const f = $("figures");
    Object.assign(f.dataset, { samples: pts.length, peak: peak.toFixed(3), minutesOver: over.toFixed(1), srvs: run.srvs.length });
    f.textContent = `${pts.length} of ${Math.round(sc.duration_s / sc.step_s)} samples`
      + (pts.length ? ` (to ${clock(pts[pts.length - 1][0])})` : "")
      + ` · peak ${peak.toFixed(3)} kW against ${sc.rating_kw} kW · ${over.toFixed(1)} min over the rating`
      + ` · ${run.srvs.length} SRVs${types ? ` (${types})` : ""}`;
    $("srv-count").textContent = `(${run.srvs.length})`;
  }

  function later() { if (!drawn) { drawn = true; requestAnimationFrame(draw); } }

  function pointRow(p) {
    return el("tr", {}, el("td", {}, clock(p[0])), el("td", { class: "kw" }, p[1].toFixed(3)), el("td", {}, p[2].toFixed(3)));
  }

  function srvRow(s) {
    return el("tr", { "data-srv": s.srv }, el("td", {}, s.n), el("td", {}, clock(s.sent_at)), el("td", {}, s.srv),
      el("td", { class: "eui" }, s.premises), el("td", {}, s.slot ?? "—"),
      el("td", { class: s.ok ? "outcome-answered" : "outcome-failed" }, s.status),
      el("td", {}, s.response_s === null ? "—" : s.response_s.toFixed(1)));
  }

  function consent(rows) {
    run.consent = rows;
    $("consent").tBodies[0].replaceChildren(...rows.map((r) => el("tr", { "data-premises": r.premises },
      el("td", { class: "eui" }, r.premises), el("td", { class: `consent-${r.consent}` }, r.consent),
      el("td", {}, r.terms), el("td", {}, r.charger_kw), el("td", {}, r.slot ?? "—"),
      el("td", { class: r.switch ? `switch-${r.switch}` : "" }, r.switch ?? "—"), el("td", {}, r.times_curtailed))));
  }

  function emergencies() {
    $("emergencies").replaceChildren(...run.emergencies.map((e) => el("li", { "data-event": e.event },
      el("strong", {}, `Emergency ${e.event} declared at ${clock(e.start)}`), `: ${e.reason}`,
      e.end === null ? " (in force)" : ` — ended at ${clock(e.end)}: ${e.end_reason}`)));
  }

  function control(state) {
    // the POST's answer and the stream's event race: the newest state wins
    if (run.control && state.version < run.control.version) return;
    run.control = state;
    const toggle = $("run-toggle"), finished = state.state === "finished";
    toggle.textContent = state.state === "paused" ? "Run" : "Pause";
    toggle.disabled = finished;
    $("run-step").disabled = finished;
    $("run-speed").disabled = finished;
    const speed = $("run-speed");
    if (![...speed.options].some((o) => Number(o.value) === state.speed)) speed.append(option(state.speed));
    speed.value = String(state.speed);
    const s = $("run-state");
    s.dataset.state = state.state;
    s.textContent = finished ? "The run has ended." : state.state === "paused"
      ? `Paused at sample ${state.held_at === null ? "—" : state.held_at + 1}.` : "Running.";
  }

  function option(speed) {
    return el("option", { value: String(speed) }, speed === 0 ? "as fast as it can" : speed === 1
      ? "1× (real time)" : `${speed}× (${speed >= 60 ? `${speed / 60} min` : `${speed} s`} per second)`);
  }

  function finished(data) {
    run.finished = data;
    const box = $("outcome");
    box.hidden = false;
    $("checks").replaceChildren(...Object.entries(data.checks).map(([name, held]) =>
      el("li", { class: held ? "status-verified" : "status-failed" }, `${held ? "ok" : "FAILED"}: ${name}`)));
    const s = data.summary;
    $("outcome-figures").textContent = `peak ${s.feeder_peak_kw} kW (without the DNO ${s.feeder_peak_kw_without_curtailment} kW), `
      + `${s.srv_count} SRVs, response p50 ${s.srv_response_s_p50} s, max ${s.srv_response_s_max} s; `
      + `${s.customers_affected} customers affected, ${s.energy_curtailed_kwh} kWh curtailed; ${s.minutes_over_rating} min over the rating`;
  }

  async function act(action, speed) {
    try {
      control(await gb.json("/web/api/feeder/control", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(speed === undefined ? { action } : { action, speed }) }));
    } catch (err) { $("run-state").textContent = String(err); }
  }

  $("run-toggle").addEventListener("click", () => act(run.control.state === "paused" ? "run" : "pause"));
  $("run-step").addEventListener("click", () => act("step"));
  $("run-speed").addEventListener("change", (event) => act("speed", Number(event.target.value)));

  gb.json("/web/api/feeder").then((snap) => {
    run = snap;
    const sc = snap.scenario;
    $("scenario-name").textContent = sc.name;
    $("scenario-about").textContent = `Feeder ${sc.feeder}, ${sc.premises} premises, rating ${sc.rating_kw} kW, `
      + `from ${sc.start_utc} for ${sc.duration_s / 3600} h in ${sc.step_s} s samples. ${sc.description || ""}`;
    $("run-speed").replaceChildren(...snap.speeds.map(option));
    $("points").tBodies[0].replaceChildren(...snap.points.map(pointRow));
    $("srvs").tBodies[0].replaceChildren(...snap.srvs.map(srvRow));
    $("notes").replaceChildren(...snap.notes.map((text) => el("li", {}, text)));
    consent(snap.consent);
    emergencies();
    control(snap.control);
    if (snap.finished) finished(snap.finished);
    draw();
    gb.follow(snap.last_event, {
      step(data) { run.points.push(data.point); $("points").tBodies[0].append(pointRow(data.point)); later(); },
      srv(data) { run.srvs.push(data); $("srvs").tBodies[0].append(srvRow(data)); later(); },
      note(data) { run.notes.push(data.text); $("notes").append(el("li", {}, data.text)); },
      consent(data) { consent(data.rows); },
      emergencies(data) { run.emergencies = data.spans; emergencies(); later(); },
      control,
      finished,
    });
  }).catch((err) => $("main").append(el("p", { class: "reason" }, String(err))));
})();
