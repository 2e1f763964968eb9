// chatd operator pages (/ops): dashboard from /api/stats with inline SVG charts, conversation
// search + full transcript (every event with its data), and JSONL/CSV export with the same filters.
import {
  $, api, botWords, clock, downloadAuthed, dur, epoch, eventLabel, fill, h, handoffWords, listWords, loginForm, pct,
  priorityWord, richText, routingWords, s, secretName, signOut, stamp, tokenStore,
} from "./common.js";
import { attachmentNode } from "./files.js";
import { loadAudit, wireAudit } from "./ops_audit.js";
import { loadDeliveries, wireDeliveries } from "./ops_deliveries.js";
import { N_, intlLocale, localePicker, startL10n, tr, trn } from "./l10n.js";

// the page in the operator's language before anything is drawn; the picker in the header changes it
await startL10n();
$("#logout").before(localePicker());

const TOKEN_KEY = "chatd.ops.token";
const TABS = ["dashboard", "conversations", "audit", "deliveries"];
const PAGE = 50;
const state = { token: "", filters: {}, offset: 0, rows: [], names: new Map() };
/** The operator's time zone: the dashboard's day and hours, and exports, follow it. */
const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const agentName = (id) => (id ? state.names.get(id) || id : "—");
/** A date input's YYYY-MM-DD as local midnight, for the API (which reads zone-less dates as UTC). */
const localMidnight = (day) => {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d).toISOString();
};

function showLogin() {
  fill($("#login-screen"),
    loginForm({ storageKey: TOKEN_KEY, title: tr("Operations"), hint: tr("Operators sign in with name and password (or an operator token)."), onLogin: start, role: "operator" }),
  );
  $("#login-screen").hidden = false;
  $("#app").hidden = true;
}

async function boot() {
  const token = tokenStore.get(TOKEN_KEY);
  if (!token) return showLogin();
  try {
    const me = await api(token, "/api/me");
    start(token, me.agent || me);
  } catch {
    tokenStore.clear(TOKEN_KEY);
    showLogin();
  }
}

function start(token, me) {
  state.token = token;
  $("#login-screen").hidden = true;
  $("#app").hidden = false;
  $("#me-name").textContent = me.name || "";
  const now = new Date();
  $("#day").value = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-${String(now.getDate()).padStart(2, "0")}`;
  $("#day-zone").textContent = `(${ZONE})`;
  const tab = TABS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "dashboard";
  loadAgents();
  showTab(tab);
  loadDashboard();
  setInterval(() => !$("#view-dashboard").hidden && !document.hidden && loadLive(), 10000);
}

// ---------------------------------------------------------------- dashboard
async function loadDashboard() {
  await Promise.all([loadStats(), loadLive()]);
}

async function loadStats() {
  const day = $("#day").value;
  $("#stats-msg").textContent = "";
  try {
    const st = await api(state.token, `/api/stats?${query({ ...(day ? { day } : {}), tz: ZONE })}`);
    paintKpis(st);
    paintVolume(st.hourly || []);
    paintWait(st.hourly || []);
  } catch (e) {
    $("#stats-msg").textContent = tr("Could not load statistics: {error}", { error: e.message });
  }
}

async function loadLive() {
  try {
    const [q, ag] = await Promise.all([api(state.token, "/api/queue"), api(state.token, "/api/agents")]);
    const by = q.waiting_by_class || {};
    fill($("#queue-now"),
      ...[
        [tr("Waiting"), num(q.waiting ?? 0)],
        [tr("Urgent"), num(by.urgent ?? 0)],
        [tr("VIP"), num(by.vip ?? 0)],
        [tr("Oldest wait"), q.waiting ? dur(q.oldest_wait_s) : "—"],
        [tr("Agents online"), num(q.agents_online ?? 0)],
        [tr("Free slots"), `${num(q.free_slots)} / ${num(q.slots)}`],
      ].map(([k, v]) => h("div", { class: "qn" }, h("span", { class: "muted", text: k }), h("strong", { text: String(v) }))),
    );
    const agents = ag.agents || [];
    rememberAgents(agents);
    fill($("#agents-table tbody"),
      ...agents.map((a) =>
        h(
          "tr",
          {},
          h("td", {}, h("strong", { text: a.name, title: a.agent_id }), a.role === "operator" ? h("div", { class: "muted small", text: tr("operator") }) : null),
          h("td", {}, h("span", { class: `status ${a.status}`, text: statusWord(a.status) })),
          h("td", { text: `${num(a.active ?? 0)} / ${num(a.capacity)}` }),
          h("td", { text: (a.languages || []).join(", ") }),
          h("td", { text: (a.skills || []).join(", ") || "—" }),
        ),
      ),
    );
    if (!agents.length) $("#agents-table tbody").append(h("tr", {}, h("td", { colspan: 5, class: "muted", text: tr("No agents yet.") })));
  } catch (e) {
    fill($("#queue-now"), h("p", { class: "muted", text: tr("Live data unavailable: {error}", { error: e.message }) }));
  }
}

/** Names for agent ids (the agent filter, the results, transcripts). */
function rememberAgents(agents) {
  for (const a of agents) state.names.set(a.agent_id, a.name);
  const sel = $("#agent-filter");
  const chosen = sel.value;
  fill(sel,
    h("option", { value: "", text: tr("Anyone") }),
    ...agents.filter((a) => a.role !== "operator").map((a) => h("option", { value: a.agent_id, text: a.name })),
  );
  sel.value = chosen;
}
async function loadAgents() {
  try {
    rememberAgents((await api(state.token, "/api/agents")).agents || []);
  } catch {
    /* names fall back to ids */
  }
}

function paintKpis(st) {
  const csat = st.csat_avg == null ? "—" : `${new Intl.NumberFormat(intlLocale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(st.csat_avg)} ★`;
  const items = [
    [tr("Conversations"), num(st.conversations ?? 0), st.day ? tr("on {date}", { date: dayWords(st.day) }) : tr("today")],
    [tr("Bot deflection"), pct(st.deflection_rate), tr("answered without a person")],
    [tr("Handed off"), num(st.handed_off ?? 0), tr("went to the human queue")],
    [tr("Tickets"), num(st.tickets ?? 0), tr("left instead of waiting")],
    [tr("Median wait"), dur(st.wait_p50_s), tr("queue to agent")],
    [tr("P90 wait"), dur(st.wait_p90_s), tr("9 in 10 waited less")],
    [tr("First response"), dur(st.first_response_p50_s), tr("median, from joining the queue")],
    [tr("CSAT"), csat, trn(st.csat_count ?? 0, "{n} rating", "{n} ratings")],
  ];
  fill($("#kpis"),
    ...items.map(([label, value, note]) =>
      h("div", { class: "kpi" }, h("div", { class: "kpi-l", text: label }), h("div", { class: "kpi-v", text: String(value) }), h("div", { class: "kpi-n", text: note })),
    ),
  );
}

const W = 720;
const H = 200;
const PAD = { l: 40, r: 12, t: 12, b: 26 };

/** Axis ticks from 0: a round step (counts: whole numbers) so that at most 5 steps cover `top`. */
export function axisTicks(top, steps) {
  const step = steps.find((st) => st * 5 >= top) ?? steps[steps.length - 1] * Math.ceil(top / (5 * steps[steps.length - 1]));
  const n = Math.max(1, Math.ceil(top / step));
  return Array.from({ length: n + 1 }, (_, i) => i * step);
}
const COUNT_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000];
const WAIT_STEPS = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
const shortDur = (v) => (v >= 3600 ? tr("{n}h", { n: v / 3600 }) : v >= 60 ? tr("{n}m", { n: v / 60 }) : tr("{n}s", { n: v }));
/** A count in the page's locale ("—" for none). */
const num = (v) => (v == null ? "—" : new Intl.NumberFormat(intlLocale()).format(v));
/** The API's YYYY-MM-DD as the page's locale writes a date (a calendar day: no time zone shift). */
const dayWords = (day) => {
  const [y, m, d] = String(day).split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return isNaN(date) ? String(day) : date.toLocaleDateString(intlLocale(), { dateStyle: "medium", timeZone: "UTC" });
};
const STATUSES = { online: N_("online"), away: N_("away"), offline: N_("offline"), open: N_("open"), queued: N_("queued"), assigned: N_("assigned"), closed: N_("closed"), bot: N_("bot"), answered: N_("answered") };
/** An agent's or a conversation's status in words. */
const statusWord = (st) => (STATUSES[st] ? tr(STATUSES[st]) : String(st || ""));

function frame(ticks, fmt, label) {
  const g = s("g", {});
  const ih = H - PAD.t - PAD.b;
  const max = ticks[ticks.length - 1];
  for (const v of ticks) {
    const y = PAD.t + ih - (ih * v) / max;
    g.append(s("line", { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, stroke: "#e3e7ee", "stroke-width": 1 }));
    g.append(s("text", { class: "tick", x: PAD.l - 6, y: y + 4, "text-anchor": "end", "font-size": 11, fill: "#5f6b7e" }, fmt(v)));
  }
  const bw = (W - PAD.l - PAD.r) / 24;
  for (let hr = 0; hr < 24; hr += 3) {
    g.append(s("text", { x: PAD.l + bw * hr + bw / 2, y: H - 8, "text-anchor": "middle", "font-size": 11, fill: "#5f6b7e" }, tr("{hour}h", { hour: String(hr).padStart(2, "0") })));
  }
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, preserveAspectRatio: "none" }, s("title", {}, label), g);
  return { svg, bw, ih, max };
}

function byHour(hourly) {
  const rows = Array.from({ length: 24 }, (_, hour) => ({ hour, conversations: 0, deflected: 0, handed_off: 0, wait_p50_s: null }));
  for (const r of hourly) if (r && r.hour >= 0 && r.hour < 24) rows[r.hour] = { ...rows[r.hour], ...r };
  return rows;
}

function paintVolume(hourly) {
  const rows = byHour(hourly);
  const total = rows.reduce((n, r) => n + (r.conversations || 0), 0);
  const ticks = axisTicks(Math.max(...rows.map((r) => r.conversations || 0), 1), COUNT_STEPS);
  const { svg, bw, ih, max } = frame(ticks, num, tr("Conversations per hour ({zone}): {total} in total", { zone: ZONE, total }));
  const scale = (v) => (ih * v) / max;
  for (const r of rows) {
    const x = PAD.l + bw * r.hour + bw * 0.15;
    const w = bw * 0.7;
    const base = PAD.t + ih;
    const d = Math.min(r.deflected || 0, r.conversations || 0);
    const ho = Math.min(r.handed_off || 0, (r.conversations || 0) - d);
    const rest = (r.conversations || 0) - d - ho;
    let y = base;
    for (const [v, cls] of [[d, "#12b76a"], [ho, "#1f5fff"], [rest, "#c2c8d2"]]) {
      if (!v) continue;
      const hgt = scale(v);
      y -= hgt;
      svg.append(s("rect", { x, y, width: w, height: hgt, fill: cls, rx: 2 }, s("title", {}, tr("{hour}:00 — {total} conversations, {bot} answered by the bot, {handed} handed off", { hour: String(r.hour).padStart(2, "0"), total: r.conversations, bot: d, handed: ho }))));
    }
  }
  fill($("#chart-volume"), svg);
}

function paintWait(hourly) {
  const rows = byHour(hourly);
  const vals = rows.map((r) => (r.wait_p50_s == null ? null : Number(r.wait_p50_s)));
  const ticks = axisTicks(Math.max(...vals.filter((v) => v != null), 10), WAIT_STEPS);
  const { svg, bw, ih, max } = frame(ticks, shortDur, tr("Median wait per hour ({zone})", { zone: ZONE }));
  let path = "";
  let pen = false;
  vals.forEach((v, hr) => {
    if (v == null) {
      pen = false;
      return;
    }
    const x = PAD.l + bw * hr + bw / 2;
    const y = PAD.t + ih - (ih * v) / max;
    path += `${pen ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)} `;
    pen = true;
    svg.append(s("circle", { cx: x, cy: y, r: 3.5, fill: "#b54708" }, s("title", {}, tr("{hour}:00 — median wait {time}", { hour: String(hr).padStart(2, "0"), time: dur(v) }))));
  });
  if (path) svg.insertBefore(s("path", { d: path, fill: "none", stroke: "#f79009", "stroke-width": 2.5, "stroke-linejoin": "round" }), svg.querySelector("circle"));
  else svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle", "font-size": 13, fill: "#5f6b7e" }, tr("Nobody waited for a person on this day.")));
  fill($("#chart-wait"), svg);
}

// ---------------------------------------------------------------- conversations
function readFilters() {
  const f = Object.fromEntries(new FormData($("#filters")).entries());
  const out = {};
  for (const [k, v] of Object.entries(f)) if (String(v).trim()) out[k] = String(v).trim();
  // the date inputs are local days; "To" means up to and including that day
  if (out.since) out.since = localMidnight(out.since);
  if (out.until) {
    const d = new Date(localMidnight(out.until));
    d.setDate(d.getDate() + 1);
    out.until = d.toISOString();
  }
  return out;
}
const query = (obj) => new URLSearchParams(obj).toString();

async function search(offset = 0) {
  state.filters = readFilters();
  state.offset = offset;
  $("#conv-msg").textContent = tr("Searching…");
  try {
    const r = await api(state.token, `/api/conversations?${query({ ...state.filters, limit: PAGE, offset })}`);
    state.rows = r.conversations || [];
    renderRows();
    $("#conv-msg").textContent = state.rows.length ? "" : tr("No conversations match these filters.");
  } catch (e) {
    $("#conv-msg").textContent = tr("Search failed: {error}", { error: e.message });
  }
}

function renderRows() {
  fill($("#results tbody"),
    ...state.rows.map((c) =>
      h(
        "tr",
        { tabindex: 0, class: "clickable", dataset: { id: c.conversation_id }, onclick: () => openTranscript(c.conversation_id), onkeydown: (e) => e.key === "Enter" && openTranscript(c.conversation_id) },
        h("td", { text: stamp(c.created_at) }),
        h("td", {},
          h("code", { text: String(c.conversation_id).slice(0, 14) }),
          c.verified ? h("span", { class: "badge ok", text: tr("verified") }) : null,
          c.subject ? h("div", { class: "subject", text: c.subject }) : null),
        h("td", {}, h("span", { class: `badge ${c.status}`, text: statusWord(c.status) })),
        h("td", { text: c.intent || "—" }),
        h("td", { text: (c.locale || "").toUpperCase() }),
        h("td", { text: c.agent_name || agentName(c.agent_id) }),
        h("td", { text: handoffWords(c.handoff_reason) || "—" }),
        h("td", { class: "csat", text: c.csat_score ? `${"★".repeat(c.csat_score)}${"☆".repeat(5 - c.csat_score)}` : "—", title: c.csat_comment || "" }),
        h("td", {}, ...(c.tags || []).map((t) => h("span", { class: "tag", text: t }))),
      ),
    ),
  );
  $("#page-info").textContent = state.rows.length ? tr("{first}–{last}", { first: state.offset + 1, last: state.offset + state.rows.length }) : "";
  $("#prev-page").disabled = state.offset === 0;
  $("#next-page").disabled = state.rows.length < PAGE;
}

async function openTranscript(id) {
  try {
    const r = await api(state.token, `/api/conversations/${encodeURIComponent(id)}`);
    const c = r.conversation || {};
    const box = $("#transcript");
    box.hidden = false;
    $("#transcript-title").textContent = tr("Transcript · {id}", { id: c.conversation_id || id });
    const waited = c.enqueued_at && c.assigned_at ? dur(epoch(c.assigned_at) - epoch(c.enqueued_at)) : "—";
    const closedEv = (r.events || []).filter((e) => e.type === "closed").pop();
    const facts = [
      [tr("Status"), statusWord(c.status)],
      [tr("Started"), stamp(c.created_at)],
      [tr("Language"), c.locale],
      [tr("Identity"), c.verified ? tr("verified · {user}", { user: c.user_id || "" }) : tr("anonymous")],
      [tr("Priority"), priorityWord(c.priority)],
      [tr("Topic"), c.intent || "—"],
      [tr("Agent"), c.agent_name || agentName(c.agent_id)],
      [tr("Handoff reason"), handoffWords(c.handoff_reason) || "—"],
      [tr("Waited"), waited],
      [tr("First response"), c.first_response_at && c.enqueued_at ? dur(epoch(c.first_response_at) - epoch(c.enqueued_at)) : "—"],
      [tr("Closed"), c.closed_at ? `${stamp(c.closed_at)}${closedEv ? ` · ${eventLabel(closedEv)}` : ""}` : "—"],
      [tr("CSAT"), c.csat_score ? (c.csat_comment ? tr("{score}/5 “{comment}”", { score: c.csat_score, comment: c.csat_comment }) : tr("{score}/5", { score: c.csat_score })) : "—"],
      [tr("Tags"), (c.tags || []).join(", ") || "—"],
    ];
    fill($("#transcript-facts"), ...facts.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v == null ? "—" : String(v) })]));
    fill($("#transcript-events"), ...(r.events || []).map(eventRow));
    box.scrollIntoView({ behavior: "smooth", block: "start" });
    $("#transcript-title").focus?.();
  } catch (e) {
    toast(tr("Transcript: {error}", { error: e.message }));
  }
}

function eventRow(ev) {
  const d = ev.data || {};
  const details = [];
  if (ev.type === "message" && ev.author === "bot") {
    const confidence = d.confidence != null ? new Intl.NumberFormat(intlLocale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(d.confidence) : "—";
    details.push(botWords(d), tr("intent: {intent}", { intent: d.intent ?? tr("none") }), tr("confidence: {value}", { value: confidence }));
    if (d.suggestions && d.suggestions.length) details.push(tr("suggested: {intents}", { intents: d.suggestions.map((x) => x.intent).join(", ") }));
  }
  if (d.masked && d.masked.length) details.push(tr("masked: {kinds}", { kinds: listWords([...new Set(d.masked.map(secretName))]) }));
  if (ev.type === "assigned") {
    details.push(
      tr("routed to {agent}: {why}", { agent: d.agent_name || agentName(d.agent_id), why: routingWords(d.reason) || "—" }),
      tr("waited {time}", { time: d.waited_s != null ? dur(d.waited_s) : "—" }),
    );
  } else if (ev.type === "closed" || ev.type === "audit" || ev.type === "queued" || ev.type === "requeued") {
    // the label says it in words; keep what it does not say
    if (d.agent_id) details.push(tr("agent id: {id}", { id: d.agent_id }));
  } else if (ev.type !== "message") {
    // queue entry (priority, skills), requeue/transfer reasons, ticket ids, csat ...: show all data
    for (const [k, v] of Object.entries(d)) if (k !== "masked" && k !== "warning") details.push(`${k.replaceAll("_", " ")}: ${fmtVal(v)}`);
  }
  const role = AUTHORS[ev.author] ? tr(AUTHORS[ev.author]) : ev.author || "";
  const who = ev.author_name ? `${role} · ${ev.author_name}` : role;
  const body = ev.text != null && ev.text !== "" ? ev.text : ev.type === "message" ? "" : eventLabel(ev);
  return h(
    "li",
    { class: `erow ${ev.author || ""} ${ev.internal ? "internal" : ""} k-${ev.type}` },
    h("div", { class: "e-seq", text: `#${ev.seq}` }),
    h("div", { class: "e-time", text: clock(ev.ts) }),
    h("div", { class: "e-main" },
      h("div", { class: "e-head" }, h("strong", { text: who || "" }), h("span", { class: "badge", text: ev.type }), ev.internal ? h("span", { class: "badge internal", text: tr("internal") }) : null),
      body ? h("div", { class: "e-text", dir: "auto" }, richText(body)) : null,
      ev.type === "attachment" && ev.attachment ? attachmentNode(state.token, ev.attachment) : null,
      details.length ? h("div", { class: "e-data", text: [...new Set(details)].join(" · ") }) : null,
    ),
  );
}
const AUTHORS = { customer: N_("customer"), bot: N_("bot"), agent: N_("agent"), system: N_("system") };
const fmtVal = (v) => (typeof v === "object" ? JSON.stringify(v) : String(v));

async function exportAs(format, rows = "event") {
  const filters = readFilters();
  $("#conv-msg").textContent = tr("Preparing {format}…", { format: format.toUpperCase() });
  try {
    const q = query({ format, ...(rows === "event" ? {} : { rows }), tz: ZONE, ...filters });
    const name = await downloadAuthed(state.token, `/api/export?${q}`, `chatd-export.${format}`);
    $("#conv-msg").textContent = tr("Downloaded {name}.", { name });
  } catch (e) {
    $("#conv-msg").textContent = tr("Export failed: {error}", { error: e.message });
  }
}

// ---------------------------------------------------------------- shell
let toastTimer = 0;
function toast(text) {
  const el = $("#toast");
  el.textContent = text;
  el.className = "toast error";
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 4000);
}

function showTab(name) {
  for (const t of TABS) {
    const on = t === name;
    $(`#tab-${t}`).setAttribute("aria-selected", String(on));
    $(`#tab-${t}`).tabIndex = on ? 0 : -1;
    $(`#view-${t}`).hidden = !on;
  }
  history.replaceState(null, "", `#${name}`);
  if (name === "conversations" && !state.searched) {
    state.searched = true;
    search(0);
  }
  if (name === "dashboard" && state.token) loadDashboard();
  if (name === "audit" && state.token) loadAudit(state.token);
  if (name === "deliveries" && state.token) loadDeliveries(state.token);
}

function wire() {
  $("#tab-dashboard").addEventListener("click", () => showTab("dashboard"));
  $("#tab-conversations").addEventListener("click", () => showTab("conversations"));
  $("#tab-audit").addEventListener("click", () => showTab("audit"));
  $("#tab-deliveries").addEventListener("click", () => showTab("deliveries"));
  $(".tabs").addEventListener("keydown", (e) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const now = TABS.findIndex((t) => $(`#tab-${t}`).getAttribute("aria-selected") === "true");
    const next = TABS[(now + (e.key === "ArrowRight" ? 1 : TABS.length - 1)) % TABS.length];
    showTab(next);
    $(`#tab-${next}`).focus();
  });
  wireAudit(() => state.token);
  wireDeliveries(() => state.token);
  $("#logout").addEventListener("click", async () => {
    await signOut(TOKEN_KEY);
    location.reload();
  });
  $("#day-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loadStats();
  });
  $("#refresh-stats").addEventListener("click", loadDashboard);
  $("#filters").addEventListener("submit", (e) => {
    e.preventDefault();
    search(0);
  });
  $("#filters").addEventListener("reset", () => setTimeout(() => search(0), 0));
  $("#prev-page").addEventListener("click", () => search(Math.max(0, state.offset - PAGE)));
  $("#next-page").addEventListener("click", () => search(state.offset + PAGE));
  $("#export-jsonl").addEventListener("click", () => exportAs("jsonl"));
  $("#export-csv").addEventListener("click", () => exportAs("csv"));
  $("#export-conversations").addEventListener("click", () => exportAs("csv", "conversation"));
  $("#close-transcript").addEventListener("click", () => ($("#transcript").hidden = true));
  $("#transcript-title").tabIndex = -1;
}

wire();
boot();
