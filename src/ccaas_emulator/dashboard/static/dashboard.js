// The ccaas-emulator dashboard: polls GET /emulator/v1/dashboard and draws it; the clock buttons call
// POST /emulator/v1/clock. No library, no build step; every value from the server goes in as text, never as HTML.
"use strict";

const POLL_MS = 1000; // one snapshot a second while the tab is visible (docs/dashboard.md: why polling)
const API = "/emulator/v1";
const SVG = "http://www.w3.org/2000/svg";
let token = null;
let timer = null;
let busy = false;

function readToken() {
  // #token=<secret> in the address (never sent to the server), kept for this tab only, then removed from view.
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem("ccaas-control-token", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  token = sessionStorage.getItem("ccaas-control-token");
}

function headers(extra) {
  const all = Object.assign({ Accept: "application/json" }, extra || {});
  if (token) all.Authorization = "Bearer " + token;
  return all;
}

async function call(method, path, body) {
  const options = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) options.body = JSON.stringify(body);
  const response = await fetch(API + path, options);
  const data = await response.json().catch(() => null);
  if (response.status === 401) {
    document.getElementById("token-form").hidden = false;
  }
  if (!response.ok) {
    const message = data && data.error ? data.error.code + " " + data.error.message : "HTTP " + response.status;
    throw new Error(message);
  }
  return data;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function fill(tableId, rows, cells) {
  const body = document.querySelector("#" + tableId + " tbody");
  const fresh = document.createDocumentFragment();
  for (const row of rows) {
    const tr = document.createElement("tr");
    if (row.id) tr.dataset.id = row.id;
    for (const cell of cells(row)) {
      const td = document.createElement("td");
      if (cell instanceof Node) td.appendChild(cell);
      else td.textContent = cell === null || cell === undefined ? "" : String(cell);
      tr.appendChild(td);
    }
    fresh.appendChild(tr);
  }
  body.replaceChildren(fresh);
}

function shortTime(iso) {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
}

function badge(text) {
  return el("span", text || "", "badge s-" + (text || "none"));
}

function journal(events) {
  const list = el("ol", null, "journal");
  for (const event of events) {
    const item = el("li", event.to + (event.result ? " · " + event.result : ""));
    item.title = shortTime(event.at) + " by " + event.actor + (event.from ? " (from " + event.from + ")" : "");
    list.appendChild(item);
  }
  return list;
}

function step(chainStep) {
  if (!chainStep) return "";
  return "loop " + chainStep.loop + " · contact " + (chainStep.contactIndex + 1) + " · phone " +
    (chainStep.phoneIndex + 1) + (chainStep.phoneType ? " (" + chainStep.phoneType + ")" : "");
}

function barChart(container, entries, label) {
  // Horizontal bars: one per result, its count at the end.
  const width = 420, bar = 18, gap = 6, left = 170;
  const height = Math.max(entries.length, 1) * (bar + gap) + gap;
  const max = Math.max(1, ...entries.map((entry) => entry[1]));
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 " + width + " " + height);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  if (!entries.length) {
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", 4); text.setAttribute("y", 18); text.textContent = "no results yet";
    svg.appendChild(text);
  }
  entries.forEach(([name, count], index) => {
    const y = gap + index * (bar + gap);
    const caption = document.createElementNS(SVG, "text");
    caption.setAttribute("x", left - 6); caption.setAttribute("y", y + bar - 5);
    caption.setAttribute("text-anchor", "end"); caption.textContent = name;
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("x", left); rect.setAttribute("y", y); rect.setAttribute("height", bar);
    rect.setAttribute("width", Math.max(1, (width - left - 50) * count / max));
    rect.setAttribute("class", "r-" + name);
    const value = document.createElementNS(SVG, "text");
    value.setAttribute("x", left + Math.max(1, (width - left - 50) * count / max) + 4);
    value.setAttribute("y", y + bar - 5); value.textContent = count;
    svg.append(caption, rect, value);
  });
  container.replaceChildren(svg);
}

function timelineChart(container, timeline) {
  // Columns per bucket of simulated time: deliveries created (behind) and deliveries that got a result (front).
  const width = 420, height = 160, bottom = 20, count = timeline.created.length;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 " + width + " " + height);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Deliveries created and finished over simulated time");
  if (!count) {
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", 4); text.setAttribute("y", 18); text.textContent = "no deliveries yet";
    svg.appendChild(text);
    container.replaceChildren(svg);
    return;
  }
  const max = Math.max(1, ...timeline.created, ...timeline.finished);
  const slot = width / count;
  const scale = (height - bottom - 4) / max;
  for (let index = 0; index < count; index++) {
    for (const [series, offset, cls] of [["created", 0.1, "created"], ["finished", 0.4, "finished"]]) {
      const value = timeline[series][index];
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", index * slot + slot * offset); rect.setAttribute("width", slot * 0.45);
      rect.setAttribute("y", height - bottom - value * scale); rect.setAttribute("height", value * scale);
      rect.setAttribute("class", cls);
      const tip = document.createElementNS(SVG, "title");
      tip.textContent = series + ": " + value;
      rect.appendChild(tip);
      svg.appendChild(rect);
    }
  }
  const start = new Date(timeline.start);
  const end = new Date(start.getTime() + timeline.bucketSeconds * 1000 * count);
  for (const [x, anchor, moment] of [[2, "start", start], [width - 2, "end", end]]) {
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", x); text.setAttribute("y", height - 5); text.setAttribute("text-anchor", anchor);
    text.textContent = moment.toISOString().slice(0, 16).replace("T", " ") + "Z";
    svg.appendChild(text);
  }
  const legend = el("p", null, "muted legend");
  legend.append(el("span", "■", "key created"), " created  ", el("span", "■", "key finished"), " got a result  (each column " +
    Math.round(timeline.bucketSeconds / 60) + " min)");
  container.replaceChildren(svg, legend);
}

function render(data) {
  document.getElementById("clock-now").textContent = shortTime(data.clock.now);
  document.getElementById("clock-now").setAttribute("datetime", data.clock.now);
  const speed = document.getElementById("clock-speed");
  speed.textContent = data.clock.speed === 0 ? "stopped" : "running ×" + data.clock.speed;
  speed.className = "badge " + (data.clock.speed === 0 ? "stopped" : "running");

  fill("engagements", data.engagements.value, (row) => [
    row.name || row.id, row.channel, row.dialMode, row.priority, row.processingOrder, row.pending, row.inProcess,
  ]);
  const totals = data.totals;
  document.getElementById("delivery-total").textContent =
    "(" + data.deliveries.length + " of " + totals.deliveries + ": " +
    Object.entries(totals.byStatus).map(([status, count]) => status + " " + count).join(", ") + ")";
  fill("deliveries", data.deliveries, (row) => [
    shortTime(row.createdOn), row.to, row.channel, badge(row.status), row.result, step(row.chainStep),
    journal(row.events),
  ]);
  fill("tasks", data.tasks, (row) => [
    row.id.slice(0, 8), row.channel, badge(row.status), row.lastResult,
    row.loop + " · " + (row.contactIndex + 1) + "/" + row.contacts + " · " + (row.phoneIndex + 1),
    row.dials, row.customerReached ? "yes" : "no", shortTime(row.nextScheduledAt),
  ]);
  document.getElementById("scripted-total").textContent = "(" + data.scriptedOutcomes.total + ")";
  fill("scripted", data.scriptedOutcomes.value, (row) => [row.phoneNumber, row.result]);
  fill("queues", data.queues.value, (row) => [row.queueId.slice(0, 8), row.representatives,
    row.averageHandleSeconds]);
  barChart(document.getElementById("chart-results"), Object.entries(totals.byResult), "Outcomes by result");
  timelineChart(document.getElementById("chart-timeline"), data.timeline);
}

function say(text, failed, where) {
  const status = document.getElementById(where || "status");
  status.textContent = text;
  status.className = failed ? "failed" : "";
}

async function refresh() {
  if (busy) return;
  busy = true;
  try {
    render(await call("GET", "/dashboard"));
    say("updated " + new Date().toLocaleTimeString() + " (every " + POLL_MS / 1000 + " s)");
  } catch (error) {
    say("could not read the emulator: " + error.message, true);
  } finally {
    busy = false;
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    if (!document.hidden) await refresh();
    schedule();
  }, POLL_MS);
}

async function changeClock(body, button) {
  const buttons = document.querySelectorAll("#clock button");
  buttons.forEach((each) => { each.disabled = true; });
  say(button.getAttribute("aria-label") + "…", false, "last-action");
  try {
    const answer = await call("POST", "/clock", body);
    const processed = answer.processed || {};
    const results = processed.results ? Object.entries(processed.results).map(([k, v]) => k + " " + v).join(", ") : "";
    say(button.getAttribute("aria-label") + ": now " + shortTime(answer.now) + (results ? " · " + results : ""),
      false, "last-action");
    await refresh();
  } catch (error) {
    say(button.getAttribute("aria-label") + " failed: " + error.message, true, "last-action");
  } finally {
    buttons.forEach((each) => { each.disabled = false; });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  readToken();
  document.querySelectorAll("#clock button").forEach((button) => {
    button.addEventListener("click", () => {
      const body = button.dataset.advance ? { advance: button.dataset.advance } : { speed: Number(button.dataset.speed) };
      changeClock(body, button);
    });
  });
  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    token = document.getElementById("token-input").value.trim();
    sessionStorage.setItem("ccaas-control-token", token);
    document.getElementById("token-form").hidden = true;
    refresh();
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  refresh().then(schedule);
});
