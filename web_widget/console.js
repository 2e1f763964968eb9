// chatd agent console (/console): my chats, the conversation with its bot history, canned replies,
// knowledge-base search, notes, tags, transfer, close, live queue overview and tickets.
import {
  $, AgentSocket, fill, s, api, beep, botWords, clock, dur, epoch, eventLabel, flashTitle, h, handoffWords, listWords,
  loginForm, pct, priorityWord, richText, secretName, signOut, stamp, tokenStore, uid,
} from "./common.js";
import { attachmentNode, humanSize, uploadFile } from "./files.js";
import { N_, localePicker, startL10n, tr, trn } from "./l10n.js";

// the page in the agent's language before anything is drawn; the picker in the header changes it
await startL10n();
$("#logout").before(localePicker());

const TOKEN_KEY = "chatd.console.token";
const state = {
  token: "",
  me: null,
  sock: null,
  convs: new Map(), // conversation_id -> {summary, events[], seqs:Set, unread, earlier[], gone, pending:Map}
  current: null,
  canned: [],
  mode: "reply",
  welcomeIds: null, // ids in the last welcome: their "assigned" frames are not new assignments
  tickets: [],
  ticketCurrent: null,
  sound: localStorage.getItem("chatd.console.sound") !== "off",
  kbRef: null,
};

// ---------------------------------------------------------------- login
function showLogin() {
  const wrap = $("#login-screen");
  fill(wrap,
    loginForm({
      storageKey: TOKEN_KEY,
      title: tr("Agent console"),
      hint: tr("Sign in with your name and password, or the token `chatd agents add` printed."),
      onLogin: start,
    }),
  );
  wrap.hidden = false;
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
  state.me = me;
  $("#login-screen").hidden = true;
  $("#app").hidden = false;
  $("#me-name").textContent = me.name || me.agent_id || "";
  const status = localStorage.getItem("chatd.console.status") || "online";
  $("#my-status").value = status;
  paintStatus();
  paintSound();
  state.sock = new AgentSocket({ token, status, onFrame, onState: paintConn });
  state.sock.connect();
  api(token, "/api/canned").then((r) => (state.canned = r.canned || []), () => {});
  api(token, "/api/queue").then(paintQueue, () => {});
  loadTickets();
  setInterval(tick, 5000);
}

function paintConn(st, extra) {
  const el = $("#conn");
  el.className = `conn ${st}`;
  const words = { connecting: N_("Connecting…"), online: N_("Connected"), reconnecting: N_("Reconnecting…"), refused: N_("Signed out") };
  el.textContent = words[st] ? tr(words[st]) : st;
  if (st === "refused") {
    toast(extra ? tr("The server refused the token: {reason}. Sign in again.", { reason: extra }) : tr("The server refused the token. Sign in again."));
    tokenStore.clear(TOKEN_KEY);
    setTimeout(() => location.reload(), 1500);
  }
}

// ---------------------------------------------------------------- frames
function onFrame(f) {
  // The contract names the assignment frame "assigned", like the conversation event kind; the server
  // sends "chat_assigned". Both are recognised by their shape: a summary plus its events.
  if (f.conversation && typeof f.conversation === "object" && typeof f.seq !== "number") return onAssigned(f);
  switch (f.type) {
    case "welcome": {
      state.me = { ...state.me, ...f.agent };
      $("#me-name").textContent = state.me.name || "";
      if (f.agent && f.agent.status) {
        $("#my-status").value = f.agent.status;
        paintStatus();
      }
      const ids = new Set((f.conversations || []).map((c) => c.conversation_id));
      state.welcomeIds = ids;
      for (const [id, c] of state.convs) if (!ids.has(id) && !c.gone) markGone(id, "requeued");
      for (const summary of f.conversations || []) upsert(summary);
      renderList();
      break;
    }
    case "unassigned":
      markGone(f.conversation_id, f.reason);
      break;
    case "queue_overview":
      paintQueue(f);
      break;
    case "typing": {
      const c = state.convs.get(f.conversation_id);
      if (!c) break;
      c.typing = f.active ? Date.now() : 0;
      if (state.current === f.conversation_id) paintTyping();
      break;
    }
    case "kb_results":
      if (!f.ref || f.ref === state.kbRef) paintKb(f.results || []);
      break;
    case "ticket":
      onTicket(f.ticket);
      break;
    case "ack":
      break;
    case "error": {
      for (const c of state.convs.values()) {
        const p = c.pending.get(f.ref);
        if (p) {
          p.failed = f.message || f.code;
          if (state.current === c.summary.conversation_id) renderTimeline();
        }
      }
      toast(`${f.code}: ${f.message || ""}`);
      break;
    }
    case "pong":
      break;
    default:
      if (typeof f.seq === "number" && f.conversation_id) {
        const c = state.convs.get(f.conversation_id);
        if (!c) break;
        addEvent(c, f, true);
        renderList();
        if (state.current === f.conversation_id) renderConv();
      }
  }
}

function onAssigned(f) {
  const id = f.conversation.conversation_id;
  const isNew = !state.convs.has(id) && !(state.welcomeIds && state.welcomeIds.has(id));
  const c = upsert(f.conversation);
  c.gone = null;
  c.earlier = f.earlier || c.earlier || [];
  for (const ev of f.events || []) addEvent(c, ev, false);
  if (isNew) {
    c.unread = Math.max(c.unread, 1);
    notifyNew(c);
  }
  renderList();
  if (state.current === id) renderConv();
  else if (!state.current) select(id);
}

function upsert(summary) {
  let c = state.convs.get(summary.conversation_id);
  if (!c) {
    c = { summary, events: [], seqs: new Set(), unread: 0, earlier: [], gone: null, pending: new Map(), typing: 0 };
    state.convs.set(summary.conversation_id, c);
  } else c.summary = { ...c.summary, ...summary };
  return c;
}

function addEvent(c, ev, live) {
  if (typeof ev.seq !== "number" || c.seqs.has(ev.seq)) return;
  c.seqs.add(ev.seq);
  c.events.push(ev);
  c.events.sort((a, b) => a.seq - b.seq);
  if (ev.cid) c.pending.delete(ev.cid);
  const d = ev.data || {};
  if (ev.type === "tags") c.summary.tags = d.tags || [];
  if (ev.type === "closed") c.summary.status = "closed";
  if (ev.type === "message" && ev.author === "customer") c.typing = 0;
  if (live && ev.author === "customer" && state.current !== c.summary.conversation_id) c.unread++;
  if (live && ev.author === "customer" && document.hidden) flashTitle(tr("New message"));
}

function markGone(id, reason) {
  const c = state.convs.get(id);
  if (!c) return;
  c.gone = reason || "closed";
  if (state.current !== id) state.convs.delete(id);
  renderList();
  if (state.current === id) renderConv();
}

function notifyNew(c) {
  if (state.sound) beep();
  flashTitle(tr("New chat"));
  toast(tr("New chat assigned: {name}", { name: customerLabel(c.summary) }), "info");
}

// ---------------------------------------------------------------- chat list
const customerLabel = (s) => (s.user_id ? s.user_id : tr("Visitor {id}", { id: String(s.conversation_id).slice(-6) }));

function waitingSince(c) {
  // the customer waits since their oldest message after the last agent message
  let since = null;
  for (const ev of c.events) {
    if (ev.type !== "message") continue;
    if (ev.author === "agent") since = null;
    else if (ev.author === "customer" && since == null) since = ev.ts;
  }
  return since;
}

function renderList() {
  const ul = $("#chat-list");
  const convs = [...state.convs.values()].sort((a, b) => (epoch(a.summary.assigned_at) || 0) - (epoch(b.summary.assigned_at) || 0));
  fill(ul,
    ...convs.map((c) => {
      const s = c.summary;
      const id = s.conversation_id;
      const since = waitingSince(c);
      const waitS = since != null ? Date.now() / 1000 - epoch(since) : null;
      const last = [...c.events].reverse().find((e) => e.type === "message" || e.type === "note");
      return h(
        "li",
        {},
        h(
          "button",
          {
            class: `chat-item${state.current === id ? " active" : ""}${c.gone ? " gone" : ""}`,
            "aria-current": state.current === id ? "true" : null,
            dataset: { id },
            onclick: () => select(id),
          },
          h(
            "div",
            { class: "ci-top" },
            h("span", { class: `dot ${s.customer_online === false ? "off" : "on"}`, title: s.customer_online === false ? tr("Customer offline") : tr("Customer online") }),
            h("strong", { class: "ci-name", text: customerLabel(s) }),
            s.verified ? h("span", { class: "badge ok", text: tr("verified"), title: tr("Identity verified") }) : null,
            s.priority && s.priority !== "normal" ? h("span", { class: `badge ${s.priority}`, text: priorityWord(s.priority) }) : null,
            c.unread ? h("span", { class: "unread", text: String(c.unread), "aria-label": trn(c.unread, "{n} unread message", "{n} unread messages") }) : null,
          ),
          h("div", { class: "ci-last", text: last ? last.text || "" : s.intent || "" }),
          h(
            "div",
            { class: "ci-meta" },
            h("span", { text: `${(s.locale || "en").toUpperCase()}${s.intent ? ` · ${s.intent}` : ""}` }),
            c.gone
              ? h("span", { class: "gone-label", text: GONE[c.gone] ? tr(GONE[c.gone]) : c.gone })
              : waitS != null
                ? h("span", { class: `wait${waitS > 120 ? " late" : ""}`, text: tr("waiting {time}", { time: dur(waitS) }) })
                : h("span", { class: "muted", text: s.assigned_at ? tr("assigned {time}", { time: clock(s.assigned_at) }) : "" }),
          ),
        ),
      );
    }),
  );
  $("#chat-empty").hidden = convs.length > 0;
  const unread = convs.reduce((n, c) => n + c.unread, 0);
  const cnt = $("#chats-count");
  cnt.hidden = !convs.length;
  cnt.textContent = unread ? tr("{n} · {unread} new", { n: convs.length, unread }) : String(convs.length);
}

/** Why a chat left this agent (the unassigned frame's reason). */
const GONE = { closed: N_("closed"), requeued: N_("back in the queue"), transferred: N_("transferred") };

function tick() {
  renderList();
  const c = state.convs.get(state.current);
  if (c && c.typing && Date.now() - c.typing > 8000) {
    c.typing = 0;
    paintTyping();
  }
}

function select(id) {
  const prev = state.convs.get(state.current);
  if (prev && prev.gone && state.current !== id) state.convs.delete(state.current);
  state.current = id;
  const c = state.convs.get(id);
  if (c) c.unread = 0;
  fill($("#kb-results"));
  closeTransfer();
  $("#view-chats").classList.toggle("showing", !!c);
  renderList();
  renderConv();
  $("#compose-text").focus();
}

/** Phone width: back from the conversation to the list (the list and the chat share the screen). */
function backToList() {
  $("#view-chats").classList.remove("showing");
  const active = $("#chat-list .chat-item.active");
  (active || $("#tab-chats")).focus();
}

/** Below 1,100 px the side panel is a drawer opened from the conversation header. */
function toggleDetails(open = !$("#details").classList.contains("open")) {
  $("#details").classList.toggle("open", open);
  $("#details-toggle").setAttribute("aria-expanded", String(open));
  if (open) $("#details-close").focus();
  else $("#details-toggle").focus();
}

/** Ask before something that cannot be undone, in an accessible modal dialog. */
function askConfirm(question, yes) {
  const dlg = $("#confirm-dialog");
  $("#confirm-text").textContent = question;
  $("#confirm-yes").textContent = yes;
  dlg.returnValue = "";
  dlg.showModal();
  $("#confirm-no").focus();
  return new Promise((resolve) => dlg.addEventListener("close", () => resolve(dlg.returnValue === "yes"), { once: true }));
}

// ---------------------------------------------------------------- transfer to a colleague
const STATUS_ORDER = { online: 0, away: 1, offline: 2 };
const STATUS_WORDS = { online: N_("online"), away: N_("away"), offline: N_("offline") };
async function openTransfer() {
  const panel = $("#transfer-panel");
  if (!panel.hidden) return closeTransfer();
  panel.hidden = false;
  $("#transfer-open").setAttribute("aria-expanded", "true");
  $("#transfer-msg").textContent = tr("Loading colleagues…");
  fill($("#transfer-list"));
  let agents = [];
  try {
    agents = (await api(state.token, "/api/agents")).agents || []; // fresh: statuses change
  } catch (e) {
    $("#transfer-msg").textContent = tr("Could not load colleagues: {error}", { error: e.message });
    return;
  }
  const me = state.me && state.me.agent_id;
  const colleagues = agents
    .filter((a) => a.role === "agent" && a.agent_id !== me)
    .sort((a, b) => (STATUS_ORDER[a.status] ?? 3) - (STATUS_ORDER[b.status] ?? 3) || String(a.name).localeCompare(b.name));
  $("#transfer-msg").textContent = colleagues.length ? "" : tr("No colleagues yet.");
  fill($("#transfer-list"),
    ...colleagues.map((a) => {
      const full = (a.active ?? 0) >= (a.capacity ?? 0);
      const free = a.status === "online" && !full;
      const status = STATUS_WORDS[a.status] ? tr(STATUS_WORDS[a.status]) : a.status;
      const facts = [status, !free && a.status === "online" ? tr("no free slot") : null,
        tr("{active}/{capacity} chats", { active: a.active ?? 0, capacity: a.capacity ?? "—" }), (a.languages || []).join(", ").toUpperCase()];
      return h(
        "li",
        {},
        h(
          "button",
          { class: "pick", disabled: !free, dataset: { agent: a.agent_id }, onclick: () => transferTo(a) },
          h("span", { class: `dot ${a.status === "online" ? "on" : "off"}`, "aria-hidden": "true" }),
          h("strong", { text: a.name }),
          h("span", { class: "muted", text: ` · ${facts.filter(Boolean).join(" · ")}` }),
        ),
      );
    }),
  );
  const first = $("#transfer-list button:not(:disabled)");
  if (first) first.focus();
}
function closeTransfer() {
  $("#transfer-panel").hidden = true;
  $("#transfer-open").setAttribute("aria-expanded", "false");
}
function transferTo(agent) {
  if (!state.current) return;
  if (sendFrame({ type: "transfer", cid: uid(), conversation_id: state.current, to_agent_id: agent.agent_id })) {
    closeTransfer();
    toast(tr("Transferring the chat to {name}…", { name: agent.name }), "info");
  }
}

// ---------------------------------------------------------------- conversation view
function renderConv() {
  const c = state.convs.get(state.current);
  $("#conv-empty").hidden = !!c;
  $("#conv-main").hidden = !c;
  $("#details").hidden = !c;
  if (!c) return;
  const s = c.summary;
  $("#conv-title").textContent = customerLabel(s);
  const sub = $("#conv-sub");
  fill(sub,
    h("span", { class: "badge", text: (s.locale || "en").toUpperCase(), title: tr("Customer language") }),
    s.verified ? h("span", { class: "badge ok", text: tr("verified") }) : h("span", { class: "badge", text: tr("not verified") }),
    s.priority ? h("span", { class: `badge ${s.priority}`, text: priorityWord(s.priority) }) : null,
    s.intent ? h("span", { class: "badge topic", text: s.intent, title: tr("What the bot understood the customer wants") }) : null,
    s.handoff_reason ? h("span", { class: "muted", text: handoffWords(s.handoff_reason) }) : null,
    h("span", { class: "muted", text: `· ${s.customer_online === false ? tr("offline") : tr("online")}` }),
  );
  const banner = $("#conv-banner");
  const closed = s.status === "closed" || c.gone;
  banner.hidden = !closed;
  banner.textContent = c.gone === "transferred" ? tr("This chat was transferred to another agent.") : c.gone === "requeued" ? tr("This chat went back to the queue.") : tr("This chat is closed.");
  for (const el of [$("#compose-text"), $("#send-btn"), $("#close-conv"), $("#to-queue")]) el.disabled = !!closed;
  renderTimeline();
  paintTyping();
  renderDetails(c);
}

function renderTimeline() {
  const c = state.convs.get(state.current);
  if (!c) return;
  const tl = $("#timeline");
  const stick = tl.scrollHeight - tl.scrollTop - tl.clientHeight < 80;
  fill(tl, ...c.events.map(eventNode), ...[...c.pending.entries()].map(([cid, p]) => pendingNode(cid, p)));
  if (stick || tl.dataset.conv !== state.current) tl.scrollTop = tl.scrollHeight;
  tl.dataset.conv = state.current;
}

export function eventNode(ev) {
  const d = ev.data || {};
  if (ev.type === "message" || ev.type === "ticket_reply") {
    if (ev.author === "system") return h("div", { class: "ev sys warn", text: ev.text || "" });
    const who = ev.author === "customer" ? tr("Customer") : ev.author === "bot" ? tr("Bot") : ev.author_name || tr("Agent");
    const meta = [clock(ev.ts)];
    if (ev.author === "bot") meta.push(botWords(d));
    if (ev.type === "ticket_reply") meta.push(tr("ticket answer"));
    const masked = [...new Set((d.masked || []).map(secretName))];
    return h(
      "div",
      { class: `ev msg ${ev.author}` },
      h("div", { class: "ev-who", text: who }),
      h("div", { class: "bubble", dir: "auto" }, richText(ev.text)),
      masked.length ? h("div", { class: "masked", text: tr("Masked by chatd: {kinds}. The customer was warned.", { kinds: listWords(masked) }) }) : null,
      h("div", { class: "ev-meta", text: meta.filter(Boolean).join(" · ") }),
    );
  }
  if (ev.type === "attachment" && ev.attachment) {
    const who = ev.author === "customer" ? tr("Customer") : ev.author_name || tr("Agent");
    return h(
      "div",
      { class: `ev msg ${ev.author}` },
      h("div", { class: "ev-who", text: who }),
      h("div", { class: "bubble att-bubble" }, attachmentNode(state.token, ev.attachment)),
      h("div", { class: "ev-meta", text: clock(ev.ts) }),
    );
  }
  if (ev.type === "note") {
    return h(
      "div",
      { class: "ev note" },
      h("div", { class: "ev-who", text: tr("Internal note · {agent}", { agent: ev.author_name || tr("agent") }) }),
      h("div", { class: "bubble", dir: "auto" }, richText(ev.text)),
      h("div", { class: "ev-meta", text: clock(ev.ts) }),
    );
  }
  return h("div", { class: "ev sys" }, h("span", { text: eventLabel(ev) }), h("time", { text: ` · ${clock(ev.ts)}` }));
}

function pendingNode(cid, p) {
  if (p.file) {
    return h(
      "div",
      { class: `ev msg agent pending${p.failed ? " failed" : ""}` },
      h("div", { class: "ev-who", text: tr("You") }),
      h(
        "div",
        { class: "bubble att-bubble" },
        h("span", { class: "att-meta", text: `${p.file.name} · ${humanSize(p.file.size)}` }),
        p.failed ? null : h("progress", { class: "att-progress", max: "1", value: String(p.progress || 0), dataset: { cid }, "aria-label": tr("Uploading {name}", { name: p.file.name }) }),
      ),
      h(
        "div",
        { class: "ev-meta" },
        p.failed ? `${tr("Not sent: {error}", { error: p.failed })} ` : tr("Uploading…"),
        p.failed ? h("button", { class: "link", text: tr("Retry"), onclick: () => sendUpload(state.current, cid) }) : null,
      ),
    );
  }
  return h(
    "div",
    { class: `ev msg ${p.note ? "note" : "agent"} pending${p.failed ? " failed" : ""}` },
    h("div", { class: "ev-who", text: p.note ? tr("Internal note") : tr("You") }),
    h("div", { class: "bubble", text: p.text }),
    h(
      "div",
      { class: "ev-meta" },
      p.failed ? `${tr("Not sent: {error}", { error: p.failed })} ` : tr("Sending…"),
      p.failed ? h("button", { class: "link", text: tr("Retry"), onclick: () => sendPending(state.current, cid) }) : null,
    ),
  );
}

function paintTyping() {
  const c = state.convs.get(state.current);
  $("#cust-typing").hidden = !(c && c.typing);
}

function renderDetails(c) {
  const s = c.summary;
  const facts = [
    [tr("Conversation"), s.conversation_id],
    [tr("Language"), (s.locale || "en") === "zh" ? tr("Chinese (zh)") : tr("English (en)")],
    [tr("Identity"), s.verified ? tr("verified · {user}", { user: s.user_id || "" }) : tr("not verified")],
    [tr("Priority"), priorityWord(s.priority || "normal")],
    [tr("Topic"), s.intent || "—"],
    [tr("Handoff"), handoffWords(s.handoff_reason) || "—"],
    [tr("Started"), stamp(s.created_at)],
    [tr("Waited"), s.enqueued_at && s.assigned_at ? dur(epoch(s.assigned_at) - epoch(s.enqueued_at)) : "—"],
  ];
  fill($("#facts"), ...facts.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]));
  fill($("#tags"),
    ...(s.tags || []).map((tag) =>
      h("span", { class: "tag" }, tag, h("button", { class: "tag-x", "aria-label": tr("Remove tag {tag}", { tag }), text: "×", onclick: () => setTags((s.tags || []).filter((x) => x !== tag)) })),
    ),
    (s.tags || []).length ? null : h("span", { class: "muted", text: tr("No tags") }),
  );
  const earlier = c.earlier || [];
  fill($("#earlier"),
    ...(earlier.length
      ? earlier.map((e) => h("li", {}, h("strong", { text: stamp(e.created_at) }), h("span", { class: "muted", text: ` · ${EARLIER[e.status] ? tr(EARLIER[e.status]) : e.status}${e.intent ? ` · ${e.intent}` : ""}` }), e.subject ? h("div", { text: e.subject, translate: "no" }) : null))
      : [h("li", { class: "muted", text: s.verified ? tr("None.") : tr("Only shown for verified customers.") })]),
  );
}

const EARLIER = { bot: N_("bot"), queued: N_("queued"), assigned: N_("assigned"), closed: N_("closed") };

// ---------------------------------------------------------------- actions
function sendFrame(frame) {
  if (!state.sock.send(frame)) {
    toast(tr("Not connected; try again in a moment."));
    return false;
  }
  return true;
}

function attachFiles(files) {
  const c = state.convs.get(state.current);
  if (!c || c.gone) return;
  for (const file of files) {
    const cid = uid();
    c.pending.set(cid, { file, progress: 0, failed: null });
    sendUpload(state.current, cid);
  }
}

/** Upload one pending file; a retry reuses its cid, so the server stores it once. */
function sendUpload(convId, cid) {
  const c = state.convs.get(convId);
  const p = c && c.pending.get(cid);
  if (!p) return;
  p.failed = null;
  p.progress = 0;
  const repaint = () => state.current === convId && renderTimeline();
  repaint();
  uploadFile(state.token, convId, p.file, cid, (x) => {
    p.progress = x;
    const bar = document.querySelector(`#timeline progress[data-cid="${CSS.escape(cid)}"]`);
    if (bar) bar.value = x;
  })
    .then(() => {
      // The attachment event (same cid) removes the pending entry; until then it shows done.
      p.progress = 1;
    })
    .catch((err) => {
      p.failed = err.message || tr("upload failed");
      repaint();
    });
}

function sendPending(convId, cid) {
  const c = state.convs.get(convId);
  const p = c && c.pending.get(cid);
  if (!p) return;
  p.failed = null;
  const frame = { type: p.note ? "note" : "message", cid, conversation_id: convId, text: p.text };
  if (!state.sock.send(frame)) p.failed = tr("not connected");
  if (state.current === convId) renderTimeline();
}

function submitComposer() {
  const ta = $("#compose-text");
  const text = ta.value.trim();
  const c = state.convs.get(state.current);
  if (!text || !c || c.gone) return;
  const cid = uid();
  c.pending.set(cid, { text, note: state.mode === "note", failed: null });
  ta.value = "";
  stopTyping();
  hideCanned();
  sendPending(state.current, cid);
  $("#timeline").scrollTop = $("#timeline").scrollHeight;
}

function setTags(tags) {
  const c = state.convs.get(state.current);
  if (!c) return;
  if (sendFrame({ type: "tag", cid: uid(), conversation_id: state.current, tags })) {
    c.summary.tags = tags;
    renderDetails(c);
  }
}

let typingOn = false;
let typingTimer = 0;
function stopTyping() {
  clearTimeout(typingTimer);
  if (typingOn && state.current) state.sock.send({ type: "typing", conversation_id: state.current, active: false });
  typingOn = false;
}

function setMode(mode) {
  state.mode = mode;
  $("#mode-reply").setAttribute("aria-checked", String(mode === "reply"));
  $("#mode-note").setAttribute("aria-checked", String(mode === "note"));
  const ta = $("#compose-text");
  ta.classList.toggle("note-mode", mode === "note");
  ta.setAttribute("aria-label", mode === "note" ? tr("Internal note (not shown to the customer)") : tr("Reply to the customer"));
  ta.placeholder = mode === "note" ? tr("Internal note: only agents and operators see it") : tr("Type a reply…  (/ for canned replies, Enter to send, Shift+Enter for a new line)");
  $("#send-btn").textContent = mode === "note" ? tr("Add note") : tr("Send");
  if (mode === "note") stopTyping();
}

// canned replies: "/shortcut" at the start of the composer
let cannedIdx = 0;
let cannedItems = [];
function updateCanned() {
  const ta = $("#compose-text");
  const m = /^\/(\S*)$/.exec(ta.value);
  if (!m) return hideCanned();
  const q = m[1].toLowerCase();
  cannedItems = state.canned.filter((c) => c.shortcut.toLowerCase().startsWith(q) || c.text.toLowerCase().includes(q)).slice(0, 8);
  if (!cannedItems.length) return hideCanned();
  cannedIdx = Math.min(cannedIdx, cannedItems.length - 1);
  const pop = $("#canned-pop");
  fill(pop,
    ...cannedItems.map((c, i) =>
      h(
        "li",
        { role: "option", id: `canned-${i}`, "aria-selected": String(i === cannedIdx), class: i === cannedIdx ? "sel" : "", onmousedown: (e) => { e.preventDefault(); pickCanned(i); } },
        h("strong", { text: `/${c.shortcut}` }),
        h("span", { text: c.text }),
      ),
    ),
  );
  pop.hidden = false;
  ta.setAttribute("aria-activedescendant", `canned-${cannedIdx}`);
}
function hideCanned() {
  $("#canned-pop").hidden = true;
  $("#compose-text").removeAttribute("aria-activedescendant");
  cannedIdx = 0;
}
function pickCanned(i) {
  const c = cannedItems[i];
  if (!c) return;
  const ta = $("#compose-text");
  ta.value = c.text;
  hideCanned();
  ta.focus();
  ta.setSelectionRange(ta.value.length, ta.value.length);
}

// knowledge base: kb_search over the socket, HTTP as a fallback
async function searchKb(query) {
  const c = state.convs.get(state.current);
  const locale = (c && c.summary.locale) || "en";
  state.kbRef = uid();
  fill($("#kb-results"), h("li", { class: "muted", text: tr("Searching…") }));
  if (state.sock.send({ type: "kb_search", cid: state.kbRef, query, locale })) return;
  try {
    const r = await api(state.token, `/api/kb/search?q=${encodeURIComponent(query)}&locale=${locale}`);
    paintKb(r.results || []);
  } catch (e) {
    paintKb([], e.message);
  }
}
function paintKb(results, err) {
  fill($("#kb-results"),
    ...(results.length
      ? results.map((r) =>
          h(
            "li",
            { class: "kb-item" },
            h("div", { class: "kb-title" }, h("strong", { text: r.title || r.intent }), h("span", { class: "muted", text: ` ${pct((r.score || 0) / (r.score > 1 ? 100 : 1), 0)}` })),
            h("p", { class: "kb-answer", text: r.answer || "" }),
            h("button", { class: "btn small", text: tr("Insert"), onclick: () => insertAnswer(r.answer || "") }),
          ),
        )
      : [h("li", { class: "muted", text: err || tr("No matching answers.") })]),
  );
}
function insertAnswer(text) {
  const ta = $("#compose-text");
  setMode("reply");
  ta.value = ta.value ? `${ta.value.trimEnd()}\n${text}` : text;
  ta.focus();
}

// ---------------------------------------------------------------- queue overview
function paintQueue(q) {
  if (!q) return;
  const by = q.waiting_by_class || {};
  const box = $("#queue-overview");
  const pill = (label, value, cls = "") => h("span", { class: `pill ${cls}` }, h("span", { class: "pill-l", text: label }), h("strong", { text: String(value) }));
  fill(box,
    pill(tr("Waiting"), q.waiting ?? 0, q.waiting ? "warn" : ""),
    by.urgent ? pill(tr("Urgent"), by.urgent, "urgent") : null,
    by.vip ? pill(tr("VIP"), by.vip) : null,
    pill(tr("Oldest"), q.waiting ? dur(q.oldest_wait_s) : "—"),
    pill(tr("Agents online"), q.agents_online ?? 0),
    pill(tr("Free slots"), q.free_slots ?? "—"),
  );
}

function paintStatus() {
  const sel = $("#my-status");
  sel.className = sel.value;
}
function paintSound() {
  const b = $("#sound-toggle");
  b.setAttribute("aria-pressed", String(state.sound));
  // an SVG bell (emoji fonts are not everywhere); the slash shows when sound is off
  fill(
    b,
    s(
      "svg",
      { viewBox: "0 0 24 24", width: 20, height: 20, fill: "none", stroke: "currentColor", "stroke-width": 2, "stroke-linecap": "round", "aria-hidden": "true" },
      s("path", { d: "M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9M10.3 21a1.94 1.94 0 0 0 3.4 0" }),
      state.sound ? null : s("path", { d: "M3 3l18 18" }),
    ),
  );
  b.title = state.sound ? tr("Sound on new chats: on") : tr("Sound on new chats: off");
  b.setAttribute("aria-label", b.title);
}

// ---------------------------------------------------------------- tickets
async function loadTickets() {
  const status = $("#ticket-filter").value;
  try {
    const r = await api(state.token, `/api/tickets?status=${status}`);
    state.tickets = r.tickets || [];
  } catch (e) {
    state.tickets = [];
    toast(tr("Tickets: {error}", { error: e.message }));
  }
  renderTickets();
  loadOpenCount();
}
/** The Tickets tab always shows how many tickets are open (waiting for an answer). */
async function loadOpenCount() {
  let open = 0;
  try {
    open = ((await api(state.token, "/api/tickets?status=open&limit=1000")).tickets || []).length;
  } catch {
    return;
  }
  const cnt = $("#tickets-count");
  cnt.hidden = !open;
  cnt.textContent = open >= 1000 ? "999+" : String(open);
  cnt.title = trn(open, "{n} open ticket", "{n} open tickets");
  cnt.setAttribute("aria-label", cnt.title);
}
function onTicket(t) {
  const status = $("#ticket-filter").value;
  state.tickets = state.tickets.filter((x) => x.ticket_id !== t.ticket_id);
  if (status === (t.status || "open")) state.tickets.unshift(t);
  renderTickets();
  loadOpenCount();
}
async function closeTicket() {
  const id = state.ticketCurrent;
  if (!id) return;
  $("#ticket-close").disabled = true;
  try {
    await api(state.token, `/api/tickets/${id}/close`, { method: "POST" });
    $("#ticket-msg").textContent = tr("Ticket #{id} closed.", { id: String(id) });
    await loadTickets();
    await openTicket(id);
    $("#ticket-msg").textContent = tr("Ticket #{id} closed.", { id: String(id) });
  } catch (e) {
    toast(tr("Ticket #{id} was not closed: {error}", { id: String(id), error: e.message }));
  } finally {
    $("#ticket-close").disabled = false;
  }
}
const TICKET_STATUS = { open: N_("open"), answered: N_("answered"), closed: N_("closed") };
const ticketStatus = (st) => (TICKET_STATUS[st] ? tr(TICKET_STATUS[st]) : st);
function renderTickets() {
  fill($("#ticket-list"),
    ...state.tickets.map((t) =>
      h(
        "li",
        {},
        h(
          "button",
          { class: `chat-item${state.ticketCurrent === t.ticket_id ? " active" : ""}`, dataset: { ticket: t.ticket_id }, onclick: () => openTicket(t.ticket_id) },
          h("div", { class: "ci-top" }, h("strong", { class: "ci-name", text: `#${t.ticket_id} · ${t.contact || tr("no contact")}` }), h("span", { class: `badge ${t.status}`, text: ticketStatus(t.status) })),
          h("div", { class: "ci-last", text: t.text || "" }),
          h("div", { class: "ci-meta" }, h("span", { class: "muted", text: stamp(t.created_at) })),
        ),
      ),
    ),
  );
  $("#ticket-empty").hidden = state.tickets.length > 0;
}
async function openTicket(id) {
  state.ticketCurrent = id;
  $("#view-tickets").classList.add("showing");
  renderTickets();
  $("#ticket-msg").textContent = "";
  try {
    const r = await api(state.token, `/api/tickets/${id}`);
    const t = r.ticket;
    $("#ticket-empty-view").hidden = true;
    $("#ticket-main").hidden = false;
    $("#ticket-title").textContent = tr("Ticket #{id}", { id: String(t.ticket_id) });
    fill($("#ticket-sub"),
      h("span", { class: `badge ${t.status}`, text: ticketStatus(t.status) }),
      h("span", { class: "muted", text: `${tr("contact: {contact}", { contact: t.contact || "—" })} · ${stamp(t.created_at)}` }),
      r.conversation && r.conversation.locale ? h("span", { class: "badge", text: r.conversation.locale.toUpperCase() }) : null,
    );
    $("#ticket-close").hidden = t.status === "closed";
    fill($("#ticket-timeline"),
      h("div", { class: "ev ticket-q" }, h("div", { class: "ev-who", text: tr("Ticket question") }), h("div", { class: "bubble", dir: "auto" }, richText(t.text))),
      ...(r.events || []).map(eventNode),
    );
    $("#ticket-text").focus();
  } catch (e) {
    toast(tr("Ticket: {error}", { error: e.message }));
  }
}
async function replyTicket() {
  const id = state.ticketCurrent;
  const text = $("#ticket-text").value.trim();
  if (!id || !text) return;
  $("#ticket-send").disabled = true;
  try {
    await api(state.token, `/api/tickets/${id}/reply`, { method: "POST", body: { text } });
    $("#ticket-text").value = "";
    $("#ticket-msg").textContent = tr("Answer sent. The customer sees it in the chat.");
    await loadTickets();
    await openTicket(id);
    $("#ticket-msg").textContent = tr("Answer sent. The customer sees it in the chat.");
  } catch (e) {
    $("#ticket-msg").textContent = tr("Not sent: {error}", { error: e.message });
  } finally {
    $("#ticket-send").disabled = false;
  }
}

// ---------------------------------------------------------------- misc UI
let toastTimer = 0;
function toast(text, kind = "error") {
  const el = $("#toast");
  el.textContent = text;
  el.className = `toast ${kind}`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 4000);
}

function showTab(name) {
  for (const t of ["chats", "tickets"]) {
    const on = t === name;
    $(`#tab-${t}`).setAttribute("aria-selected", String(on));
    $(`#tab-${t}`).tabIndex = on ? 0 : -1;
    $(`#view-${t}`).hidden = !on;
  }
  if (name === "tickets") loadTickets();
}

function wire() {
  $("#tab-chats").addEventListener("click", () => showTab("chats"));
  $("#tab-tickets").addEventListener("click", () => showTab("tickets"));
  $(".tabs").addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      const next = $("#tab-chats").getAttribute("aria-selected") === "true" ? "tickets" : "chats";
      showTab(next);
      $(`#tab-${next}`).focus();
    }
  });
  $("#my-status").addEventListener("change", (e) => {
    const status = e.target.value;
    localStorage.setItem("chatd.console.status", status);
    state.sock.status = status;
    state.sock.send({ type: "set_status", status });
    paintStatus();
  });
  $("#sound-toggle").addEventListener("click", () => {
    state.sound = !state.sound;
    localStorage.setItem("chatd.console.sound", state.sound ? "on" : "off");
    paintSound();
    if (state.sound) beep();
  });
  $("#logout").addEventListener("click", async () => {
    state.sock && state.sock.close();
    await signOut(TOKEN_KEY);
    location.reload();
  });
  $("#mode-reply").addEventListener("click", () => setMode("reply"));
  $("#mode-note").addEventListener("click", () => setMode("note"));
  $("#attach-btn").addEventListener("click", () => $("#attach-input").click());
  $("#attach-input").addEventListener("change", (e) => {
    attachFiles([...e.target.files]);
    e.target.value = "";
  });
  $("#compose-text").addEventListener("paste", (e) => {
    const files = [...((e.clipboardData && e.clipboardData.files) || [])];
    if (files.length) {
      e.preventDefault();
      attachFiles(files);
    }
  });
  $("#composer").addEventListener("submit", (e) => {
    e.preventDefault();
    submitComposer();
  });
  const ta = $("#compose-text");
  ta.addEventListener("keydown", (e) => {
    const popOpen = !$("#canned-pop").hidden;
    if (popOpen && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      cannedIdx = (cannedIdx + (e.key === "ArrowDown" ? 1 : cannedItems.length - 1)) % cannedItems.length;
      updateCanned();
    } else if (popOpen && (e.key === "Enter" || e.key === "Tab")) {
      e.preventDefault();
      pickCanned(cannedIdx);
    } else if (popOpen && e.key === "Escape") {
      hideCanned();
    } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submitComposer();
    }
  });
  ta.addEventListener("input", () => {
    updateCanned();
    if (state.mode !== "reply" || !state.current) return;
    if (!typingOn && ta.value) {
      typingOn = true;
      state.sock.send({ type: "typing", conversation_id: state.current, active: true });
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  });
  ta.addEventListener("blur", () => setTimeout(hideCanned, 150));
  $("#close-conv").addEventListener("click", async () => {
    const id = state.current;
    if (!id) return;
    const c = state.convs.get(id);
    if (await askConfirm(tr("Close the chat with {name}? The customer is asked to rate it.", { name: customerLabel(c.summary) }), tr("Close chat"))) {
      sendFrame({ type: "close", cid: uid(), conversation_id: id });
    }
  });
  $("#to-queue").addEventListener("click", () => {
    if (state.current) sendFrame({ type: "transfer", cid: uid(), conversation_id: state.current, to_agent_id: null });
  });
  $("#transfer-open").addEventListener("click", openTransfer);
  $("#details-toggle").addEventListener("click", () => toggleDetails());
  $("#details-close").addEventListener("click", () => toggleDetails(false));
  $("#details").addEventListener("keydown", (e) => e.key === "Escape" && $("#details").classList.contains("open") && toggleDetails(false));
  $("#back-to-list").addEventListener("click", backToList);
  $("#back-to-tickets").addEventListener("click", () => {
    $("#view-tickets").classList.remove("showing");
    $("#ticket-filter").focus();
  });
  $("#ticket-close").addEventListener("click", closeTicket);
  $("#tag-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const c = state.convs.get(state.current);
    const tag = $("#tag-input").value.trim();
    if (!c || !tag) return;
    const tags = [...new Set([...(c.summary.tags || []), tag])];
    setTags(tags);
    $("#tag-input").value = "";
  });
  $("#kb-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("#kb-query").value.trim();
    if (q) searchKb(q);
  });
  $("#ticket-filter").addEventListener("change", () => {
    state.ticketCurrent = null;
    $("#ticket-main").hidden = true;
    $("#ticket-empty-view").hidden = false;
    loadTickets();
  });
  $("#ticket-form").addEventListener("submit", (e) => {
    e.preventDefault();
    replyTicket();
  });
}

wire();
boot();
