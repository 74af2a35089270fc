// Premises page: every premises and device, live state replaced as events arrive.
"use strict";
(() => {
  const { el } = gb;
  const root = document.getElementById("premises");

  function switches(live) {
    return el("table", { class: "switches" },
      el("caption", { class: "muted", style: "text-align:left" }, "Auxiliary load control switches"),
      el("thead", {}, el("tr", {}, ["slot", "EUI", "role", "relay", "level", "label (switch)",
        "label (meter)", "boost associated"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, live.switches.map((s) => el("tr", { "data-eui": s.eui, "data-slot": s.slot },
        el("td", {}, s.slot), el("td", { class: "eui" }, s.eui || "—"), el("td", {}, s.role),
        el("td", { class: `relay state-${s.relay}`, "data-relay": s.relay }, s.relay),
        el("td", { class: "level" }, `${s.level} %`), el("td", {}, s.label || "—"),
        el("td", {}, s.meter_label || "—"), el("td", {}, s.boost_associated ? "yes" : "no")))));
  }

  function hub(live) {
    const mains = live.hub.mains;
    return el("div", {},
      el("h3", {}, "Comms Hub"),
      el("p", {}, el("span", { class: "eui" }, live.hub.eui), " — mains ",
        el("strong", { class: mains.on ? "mains-on" : "mains-off", "data-mains": mains.on ? "on" : "off" },
          mains.on ? "on" : "off"),
        mains.alert ? el("span", { class: "muted" }, ` (alert ${mains.alert} at ${mains.since})`) : null),
      el("table", {}, el("caption", { class: "muted", style: "text-align:left" }, "Device log"),
        el("tbody", {}, live.hub.device_log.map((d) => el("tr", {},
          el("td", { class: "eui" }, d.eui), el("td", {}, d.type))))));
  }

  function meter(live) {
    return el("div", {},
      el("h3", {}, "Electricity meter (ESME)"),
      el("p", { class: "eui" }, live.meter.eui),
      !live.meter.registers
        ? el("p", { class: "muted registers-unreported" }, "Registers and credit: not reported by the premises host.")
        : el("table", { class: "registers" },
          el("caption", { class: "muted", style: "text-align:left" }, "Registers and credit"),
          el("tbody", {}, live.meter.registers.map((r) => el("tr", {},
            el("th", { scope: "row" }, r.name), el("td", { class: "eui" }, `${r.obis} /${r.attribute}`),
            el("td", {}, String(r.value))))),
        ),
      el("p", { class: "muted" }, `boost button available: ${live.meter.boost_available ? "yes" : "no"}; `
        + `meter's device log: ${live.meter.device_log.length} devices`));
  }

  function gas(live) {
    if (!live.gas) return null;
    return el("div", {}, el("h3", {}, "Gas"),
      el("p", {}, "GSME ", el("span", { class: "eui" }, live.gas.gsme), ", GPF ",
        el("span", { class: "eui" }, live.gas.gpf)),
      el("p", { class: "muted" }, `wakes every ${live.gas.wake_interval_s} s; last wake-up at clock `
        + `${live.gas.last_wake_s} s; woken for ${live.gas.wakes} held command(s); mirror `
        + `refreshed at ${live.gas.mirror_refreshes} wake-up(s)`));
  }

  function card(p) {
    const id = `premises-${p.name}`;
    return el("section", { class: "card premises", id, "data-name": p.name, "aria-labelledby": `${id}-h` },
      el("h2", { id: `${id}-h` }, p.name),
      el("p", { class: "muted" }, `Supplier ${p.supplier} · Electricity Distributor ${p.distributor}`
        + (p.mpxn ? ` · MPxN ${p.mpxn}` : "")),
      p.live ? el("div", { "data-source": p.live.hosted ? "premises-host" : "in-process" },
        p.live.hosted ? el("p", { class: "muted" }, "Run by the premises host process: its devices as it last reported them.") : null,
        switches(p.live), el("div", { class: "grid" }, hub(p.live), meter(p.live), gas(p.live)))
        : el("p", { class: "muted" }, "Device models run in another process (the premises host), which has not reported them yet."),
      el("details", {}, el("summary", {}, `${p.devices.length} devices in the inventory`),
        el("table", {}, el("tbody", {}, p.devices.map((d) => el("tr", {},
          el("td", { class: "eui" }, d.eui), el("td", {}, d.type)))))));
  }

  function show(p) {
    const fresh = card(p);
    const old = document.getElementById(`premises-${p.name}`);
    if (old) {
      const open = old.querySelector("details")?.open;
      if (open) fresh.querySelector("details").open = true;
      old.replaceWith(fresh);
    } else root.append(fresh);
  }

  // The DSP's clock (dsp serve --start/--speed): its time at the snapshot, run on at its speed.
  let ticking = null;
  function runClock(clock) {
    if (ticking !== null) clearInterval(ticking);  // a new pace: run on from its snapshot
    const shown = document.getElementById("dsp-clock");
    const base = Date.parse(clock.utc), since = Date.now();
    document.getElementById("dsp-speed").textContent =
      clock.speed === 1 ? "(real time)" : `(${clock.speed}× real time)`;
    const tick = () => {
      const now = new Date(base + (Date.now() - since) * clock.speed);
      shown.dateTime = now.toISOString();
      shown.textContent = now.toISOString().replace(/\.\d{3}Z$/, "Z");
    };
    tick();
    ticking = setInterval(tick, 1000);
  }

  gb.json("/web/api/premises").then((snap) => {
    if (snap.clock) runClock(snap.clock);
    snap.premises.forEach(show);
    gb.follow(snap.last_event, { premises: show, clock: runClock });
  }).catch((err) => root.append(el("p", { class: "reason" }, String(err))));
})();
