// Shared helpers of the agent console and the operator pages (ES module, no build step).
// User content is only ever inserted as text: h() sets attributes and appends text nodes.
import { N_, intlLocale, tr, trn } from "./l10n.js";

/** Create an element: h("div", {class: "x", onclick: fn, text: "..."}, child, "text", ...). */
export function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  if (tag === "button" && !e.getAttribute("type")) e.type = "button";
  for (const c of kids.flat()) if (c != null && c !== false) e.append(c);
  return e;
}

/** SVG element with attributes (presentation attributes, no style: the staff pages' CSP forbids inline styles). */
export function s(tag, attrs, ...kids) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) e.setAttribute(k, String(v));
  for (const c of kids.flat()) if (c != null) e.append(c);
  return e;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** Replace an element's children; null/false entries are skipped (replaceChildren would print "null"). */
export function fill(el, ...kids) {
  el.replaceChildren(...kids.flat().filter((k) => k != null && k !== false));
  return el;
}
export const uid = () =>
  crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2);

/** Seconds -> "45 s", "3 min", "1 h 05 min" (in the page's language). */
export function dur(sec) {
  if (sec == null || !Number.isFinite(Number(sec))) return "—";
  sec = Math.max(0, Math.round(Number(sec)));
  if (sec < 60) return tr("{s} s", { s: String(sec) });
  const m = Math.floor(sec / 60);
  if (m < 60) return tr("{m} min", { m: String(m) });
  return tr("{h} h {m} min", { h: String(Math.floor(m / 60)), m: String(m % 60).padStart(2, "0") });
}

/** Bytes -> "812 B", "4.2 KB", "1.5 MB" (numbers in the page's locale). */
export function humanSize(n) {
  const b = Number(n) || 0;
  const num = (x, digits) => new Intl.NumberFormat(intlLocale(), { maximumFractionDigits: digits }).format(x);
  if (b < 1024) return tr("{n} B", { n: num(b, 0) });
  if (b < 1024 * 1024) return tr("{n} KB", { n: num(b / 1024, b < 10240 ? 1 : 0) });
  return tr("{n} MB", { n: num(b / 1048576, 1) });
}

const asDate = (ts) => new Date(typeof ts === "number" ? (ts > 1e12 ? ts : ts * 1000) : ts);
export const epoch = (ts) => (ts == null ? null : asDate(ts).getTime() / 1000);
export function clock(ts) {
  if (ts == null) return "";
  const d = asDate(ts);
  return isNaN(d) ? "" : d.toLocaleTimeString(intlLocale(), { hour: "2-digit", minute: "2-digit" });
}
export function stamp(ts) {
  if (ts == null) return "";
  const d = asDate(ts);
  return isNaN(d) ? "" : d.toLocaleString(intlLocale(), { dateStyle: "medium", timeStyle: "short" });
}
/** A share (0..1) as a percentage in the page's locale ("94%", "%94", "94 %"). */
export const pct = (x, digits = 1) =>
  x == null ? "—" : new Intl.NumberFormat(intlLocale(), { style: "percent", maximumFractionDigits: digits }).format(Number(x));

/** Token kept for this browser tab only. */
export const tokenStore = {
  get: (k) => sessionStorage.getItem(k) || "",
  set: (k, v) => sessionStorage.setItem(k, v),
  clear: (k) => sessionStorage.removeItem(k),
};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

/** JSON API call with the bearer token; throws ApiError with the server's error code. */
export async function api(token, path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code, err.message);
  }
  return data;
}

/** Fetch a file with the Authorization header and hand it to the browser as a download. */
export async function downloadAuthed(token, path, fallbackName) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) {
    let err = {};
    try {
      err = (await res.json()).error || {};
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, err.code, err.message);
  }
  const cd = res.headers.get("Content-Disposition") || "";
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  const name = m ? decodeURIComponent(m[1]) : fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
  return name;
}

/**
 * A WebSocket to /ws/agent that says hello with the token, and reconnects with exponential
 * backoff + jitter when the server goes away (1001/1012/4008/network). Close 1008 = bad token.
 */
export class AgentSocket {
  constructor({ token, status = "online", onFrame, onState }) {
    Object.assign(this, { token, status, onFrame, onState });
    this.ws = null;
    this.ready = false;
    this.attempt = 0;
    this.stopped = false;
    this.timer = 0;
  }
  get url() {
    return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/agent`;
  }
  connect() {
    clearTimeout(this.timer);
    if (this.ws || this.stopped) return;
    const ws = new WebSocket(this.url, ["chatd.v1"]);
    this.ws = ws;
    this.onState?.("connecting");
    ws.onopen = () => ws.send(JSON.stringify({ type: "hello", token: this.token, status: this.status }));
    ws.onmessage = (m) => {
      let f;
      try {
        f = JSON.parse(m.data);
      } catch {
        return;
      }
      if (f.type === "welcome") {
        this.ready = true;
        this.attempt = 0;
        this.onState?.("online");
      }
      this.onFrame(f);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.ready = false;
      clearInterval(this.ping);
      if (this.stopped) return;
      if (e.code === 1008) {
        this.onState?.("refused", e.reason);
        return;
      }
      const base = Math.min(30000, 500 * 2 ** this.attempt++);
      const delay = base / 2 + (Math.random() * base) / 2;
      this.onState?.("reconnecting", delay);
      this.timer = setTimeout(() => this.connect(), delay);
    };
    clearInterval(this.ping);
    this.ping = setInterval(() => this.send({ type: "ping" }), 25000);
  }
  send(frame) {
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }
  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.ping);
    this.ws?.close(1000);
    this.ws = null;
  }
}

const ROLES = { agent: N_("agent"), operator: N_("operator") };

/** Login gate shared by /console and /ops: a token form, checked with GET /api/me. */
/** Sign-in: name and password (then the 6-digit code when the account has two-factor sign-in),
 *  or an access token (`chatd agents add` without a password; API tokens). */
export function loginForm({ storageKey, title, hint, onLogin, role }) {
  const field = (id, label, attrs) => [h("label", { for: id, text: label }), h("input", { id, ...attrs })];
  const [nameLabel, name] = field("login-name", tr("Name"), { autocomplete: "username", required: true, spellcheck: "false" });
  const [passLabel, pass] = field("login-password", tr("Password"), { type: "password", autocomplete: "current-password", required: true });
  const [codeLabel, code] = field("login-otp", tr("6-digit code from your authenticator app"), {
    inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: "6", spellcheck: "false",
  });
  const [tokenLabel, token] = field("token", tr("Access token"), { type: "password", autocomplete: "off", spellcheck: "false" });
  const err = h("p", { class: "login-err", role: "alert" });
  const byPassword = [nameLabel, name, passLabel, pass];
  const byCode = [codeLabel, code];
  const byToken = [tokenLabel, token];
  const toggle = h("button", { type: "button", class: "link", text: tr("Use an access token instead") });
  let mode = "password";
  const show = (els, on) => els.forEach((el) => { el.hidden = !on; if (el.tagName === "INPUT") el.required = on; });
  const setMode = (next) => {
    mode = next;
    show(byPassword, mode !== "token");
    show(byCode, mode === "code");
    show(byToken, mode === "token");
    toggle.textContent = mode === "token" ? tr("Use name and password instead") : tr("Use an access token instead");
    err.textContent = "";
    setTimeout(() => (mode === "token" ? token : mode === "code" ? code : name).focus(), 0);
  };
  toggle.addEventListener("click", () => setMode(mode === "token" ? "password" : "token"));
  const form = h(
    "form",
    { class: "login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title", text: title }),
    h("p", { class: "muted", text: hint }),
    ...byPassword, ...byCode, ...byToken,
    err,
    h("button", { type: "submit", class: "btn primary", text: tr("Sign in") }),
    toggle,
  );
  const accept = async (value) => {
    const me = await api(value, "/api/me");
    const agent = me.agent || me;
    if (role && agent.role !== role) {
      err.textContent = tr("This page is for the {role} role (this account is {actual}).", { role: tr(ROLES[role] || role), actual: tr(ROLES[agent.role] || agent.role) });
      if (value.startsWith("cs_")) {
        fetch("/api/logout", { method: "POST", headers: { Authorization: `Bearer ${value}` } }).catch(() => {});
      }
      return;
    }
    tokenStore.set(storageKey, value);
    onLogin(value, agent);
  };
  const WORDS = {
    bad_credentials: N_("Wrong name or password."),
    bad_otp: N_("That code is wrong or was used already; wait for the next one."),
    totp_required: N_("This server requires two-factor sign-in, and your account has none yet: ask an operator."),
    rate_limited: N_("Too many attempts. Wait a few minutes, then try again."),
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    try {
      if (mode === "token") {
        if (token.value.trim()) await accept(token.value.trim());
        return;
      }
      const body = { name: name.value.trim(), password: pass.value };
      if (mode === "code") body.otp = code.value.trim();
      const res = await fetch("/api/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const data = await res.json().catch(() => ({}));
      if (res.ok) return await accept(data.token);
      const why = (data.error || {}).code;
      if (why === "otp_required") return setMode("code");
      err.textContent = WORDS[why] ? tr(WORDS[why]) : tr("Sign-in failed ({status}).", { status: String(res.status) });
      if (why === "bad_otp") code.select();
    } catch (ex) {
      err.textContent = ex.status === 401 || ex.status === 403 ? tr("That token was not accepted.") : tr("Sign-in failed: {error}", { error: ex.message });
    }
  });
  setMode("password");
  return form;
}

/** Sign out: end a password session on the server (a static token stays valid), forget it. */
export async function signOut(storageKey) {
  const value = tokenStore.get(storageKey);
  tokenStore.clear(storageKey);
  if (value && value.startsWith("cs_")) {
    await fetch("/api/logout", { method: "POST", headers: { Authorization: `Bearer ${value}` } }).catch(() => {});
  }
}

/** A short beep through WebAudio (no audio file needed). */
let audioCtx = null;
export function beep() {
  try {
    audioCtx ??= new AudioContext();
    const o = audioCtx.createOscillator();
    const g = audioCtx.createGain();
    o.type = "sine";
    o.frequency.value = 880;
    g.gain.setValueAtTime(0.0001, audioCtx.currentTime);
    g.gain.exponentialRampToValueAtTime(0.2, audioCtx.currentTime + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, audioCtx.currentTime + 0.35);
    o.connect(g).connect(audioCtx.destination);
    o.start();
    o.stop(audioCtx.currentTime + 0.4);
  } catch {
    /* audio unavailable (autoplay policy): the title flash still shows */
  }
}

/** Flash the document title until the window gets focus. */
let flashTimer = 0;
export function flashTitle(text) {
  const base = document.title.replace(/^\(\S+\) /, "").replace(/^• .*? — /, "");
  clearInterval(flashTimer);
  let on = false;
  flashTimer = setInterval(() => {
    on = !on;
    document.title = on ? `• ${text} — ${base}` : base;
    if (document.hasFocus()) {
      clearInterval(flashTimer);
      document.title = base;
    }
  }, 900);
}

/** What each kind of masked secret is called (the server's placeholder is [redacted:kind]). */
export const SECRET_NAMES = {
  seed_phrase: N_("recovery phrase"),
  private_key: N_("private key"),
  wif_key: N_("private key"),
  extended_private_key: N_("private key"),
  api_secret: N_("API secret"),
  password: N_("password"),
  otp_code: N_("2FA code"),
  card_number: N_("card number"),
};
export const secretName = (kind) => tr(SECRET_NAMES[kind] || N_("secret"));
/** A list in the page's language ("a, b and c" / "a、b、c"). */
export const listWords = (items, type = "unit") => {
  try { return new Intl.ListFormat(intlLocale(), { style: "short", type }).format(items); } catch (e) { return items.join(", "); }
};

// http(s) links and [redacted:kind] placeholders in user text. Linear: no nested quantifiers.
const RICH = /\[redacted:([a-z_]+)\]|\bhttps?:\/\/[^\s<>"'\u3000-\u303f\uff00-\uffef]*[^\s<>"'.,;:!?)\]\u3000-\u303f\uff00-\uffef]/g;

/**
 * User text as DOM nodes: text nodes, a link for each http(s) URL (new tab, no referrer, no
 * follow) and a chip for each masked secret. Nothing of the text is ever parsed as HTML.
 */
export function richText(text) {
  const out = document.createDocumentFragment();
  const str = String(text ?? "");
  let at = 0;
  for (const m of str.matchAll(RICH)) {
    out.append(str.slice(at, m.index));
    out.append(
      m[1]
        ? h("span", { class: "secret", text: tr("{what} hidden", { what: secretName(m[1]) }), title: tr("Masked by chatd: nobody can see it") })
        : h("a", { href: m[0], target: "_blank", rel: "noopener noreferrer nofollow", text: m[0] }),
    );
    at = m.index + m[0].length;
  }
  out.append(str.slice(at));
  return out;
}

const LANGUAGES = { en: N_("English"), zh: N_("Chinese") };

/**
 * The router's reason ("language=zh (fallback: no speaker online) skills=kyc active=1/3
 * idle=42s") in words, for operators; unknown parts are kept as they are.
 */
export function routingWords(reason) {
  if (!reason) return "";
  const words = [];
  for (const m of String(reason).matchAll(/(\w+)=(\S+)(?: \(fallback: ([^)]*)\))?/g)) {
    const [, key, value, fallback] = m;
    const lang = LANGUAGES[value] ? tr(LANGUAGES[value]) : value;
    const skills = value.replaceAll(",", ", ");
    const [active, capacity] = value.split("/");
    if (key === "language") words.push(fallback ? tr("no {lang} speaker online", { lang }) : tr("speaks {lang}", { lang }));
    else if (key === "skills") words.push(value === "-" ? tr("no skill needed") : fallback ? tr("skills {skills} ({fallback})", { skills, fallback }) : tr("skills {skills}", { skills }));
    else if (key === "active" && capacity != null) words.push(tr("had {active} of {capacity} chats", { active, capacity }));
    else if (key === "idle") words.push(value === "never-assigned" ? tr("first chat of the shift") : tr("idle {time}", { time: dur(Number.parseFloat(value)) }));
    else words.push(`${key} ${value}`);
  }
  return listWords(words);
}

/** Why a chat went to the queue (conversation.handoff_reason, queued.data.reason). */
export const HANDOFF_REASONS = {
  requested: N_("asked for a person"),
  low_confidence: N_("the bot could not answer"),
  external: N_("the exchange's own bot handed it over"),
  intent_immediate: N_("a topic for a person"),
  always: N_("every chat goes to a person"),
};
/** A handoff reason in words ("" for none; an unknown one as the server wrote it). */
export const handoffWords = (reason) => (HANDOFF_REASONS[reason] ? tr(HANDOFF_REASONS[reason]) : reason ? String(reason).replaceAll("_", " ") : "");
const REQUEUE_REASONS = { agent_disconnected: N_("the agent disconnected"), transfer: N_("sent back by the agent") };
const PRIORITIES = { normal: N_("normal"), urgent: N_("urgent"), vip: N_("VIP") };
/** A conversation's priority in words. */
export const priorityWord = (p) => (PRIORITIES[p] ? tr(PRIORITIES[p]) : String(p || ""));

/** What the bot made of a customer message, in words: "matched withdrawal.pending (94%)". */
export function botWords(d) {
  if (!d || d.intent === undefined) return "";
  const sure = pct(Math.round((d.confidence || 0) * 100) / 100, 0);
  if (d.ambiguous) return tr("bot unsure: offered choices ({sure})", { sure });
  return d.intent ? tr("bot matched {intent} ({sure})", { intent: d.intent, sure }) : tr("bot did not recognise this");
}

/** Human labels for event kinds, used by the console and the transcript view. */
export function eventLabel(ev) {
  const d = ev.data || {};
  const agent = d.agent_name || ev.author_name;
  switch (ev.type) {
    case "queued": {
      const why = handoffWords(d.reason);
      const priority = d.priority && d.priority !== "normal" ? priorityWord(d.priority) : "";
      if (priority) return why ? tr("Entered the queue ({priority}): {why}", { priority, why }) : tr("Entered the queue ({priority})", { priority });
      return why ? tr("Entered the queue: {why}", { why }) : tr("Entered the queue");
    }
    case "assigned": {
      const name = agent || tr("Agent");
      return d.waited_s != null ? tr("{agent} joined · waited {time}", { agent: name, time: dur(d.waited_s) }) : tr("{agent} joined", { agent: name });
    }
    case "requeued":
      return tr("Back in the queue: {why}", { why: REQUEUE_REASONS[d.reason] ? tr(REQUEUE_REASONS[d.reason]) : d.reason || tr("requeued") });
    case "transferred": {
      const to = d.agent_name || tr("another agent");
      return ev.author_name ? tr("{agent} transferred the chat to {to}", { agent: ev.author_name, to }) : tr("Transferred to {to}", { to });
    }
    case "left_queue":
      return tr("Customer left the queue");
    case "ticket_offered":
      return d.reason === "long_wait" ? tr("Ticket form offered: the wait was long") : tr("Ticket form offered: nobody was online");
    case "ticket_created":
      return tr("Ticket #{id} created", { id: String(d.ticket_id) });
    case "closed":
      if (d.by === "customer") return tr("Ended by the customer");
      if (d.by === "system") return tr("Closed automatically");
      return tr("Closed by {agent}", { agent: agent || tr("an agent") });
    case "attachment": {
      const a = ev.attachment || {};
      return tr("Sent a file: {name} ({type}, {size})", { name: a.name || tr("file"), type: a.content_type || "?", size: a.size == null ? "?" : humanSize(a.size) });
    }
    case "csat": {
      const stars = `${"★".repeat(d.score || 0)}${"☆".repeat(5 - (d.score || 0))}`;
      return d.comment ? tr("CSAT {stars} “{comment}”", { stars, comment: d.comment }) : tr("CSAT {stars}", { stars });
    }
    case "tags":
      return (d.tags || []).length ? tr("Tags: {tags}", { tags: d.tags.join(", ") }) : tr("Tags: (none)");
    case "audit":
      if (d.action === "secret_masked") {
        const kinds = listWords([...new Set((d.kinds || []).map(secretName))]) || tr("a secret");
        return tr("Masked {kinds} in the customer's message; the customer was warned", { kinds });
      }
      if (d.action === "followup_email") {
        return d.to ? tr("The customer asked for replies by email to {email} while away", { email: d.to })
          : tr("The customer stopped replies by email");
      }
      if (d.action === "transcript_email") return tr("The customer asked for the transcript by email to {email}", { email: d.to || "?" });
      return tr("Audit: {action}", { action: String(d.action || "event").replaceAll("_", " ") });
    default:
      return String(ev.type || "event").replaceAll("_", " ");
  }
}
