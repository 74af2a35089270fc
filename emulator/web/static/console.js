// gbhan web console: shared helpers (our own, no dependencies). Pages read a snapshot, then
// follow the server-sent event stream from the snapshot's last event.
"use strict";

const gb = {
  async json(path, options) {
    const reply = await fetch(path, options);
    const body = await reply.json();
    if (!reply.ok) throw new Error(body.error || `${path}: HTTP ${reply.status}`);
    return body;
  },

  // el("td", {class: "x"}, "text", otherNode)
  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  },

  // Follow the event stream after event `after`; handlers: {duis(data), premises(data)}.
  follow(after, handlers) {
    const state = document.getElementById("stream");
    const source = new EventSource(`/web/api/events?after=${after}`);
    for (const [kind, handle] of Object.entries(handlers)) {
      source.addEventListener(kind, (event) => handle(JSON.parse(event.data)));
    }
    source.onopen = () => { if (state) { state.dataset.state = "live"; state.textContent = "live"; } };
    source.onerror = () => { if (state) { state.dataset.state = "down"; state.textContent = "reconnecting"; } };
    return source;
  },

  outcomeClass(outcome) { return `outcome-${outcome}`; },
};
window.gb = gb;
