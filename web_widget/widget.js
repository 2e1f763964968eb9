/* chatd customer widget: one script tag (README), everything in a shadow DOM. WebSocket /ws/customer,
 * chatd.v1: resume_token + last seq in localStorage, so a reload gets exactly what it missed.
 * All user content is rendered as text nodes, never as HTML. */
(() => {
"use strict";
if (window.__chatdWidget) return;
window.__chatdWidget = 1;
const me = document.currentScript || document.querySelector("script[src*='widget.js']");
const ds = (me && me.dataset) || {};
const SERVER = (ds.server || (me && me.src ? new URL(me.src, location.href).origin : location.origin)).replace(/\/+$/, "");
const WS_URL = SERVER.replace(/^http/i, "ws") + "/ws/customer";
// locale: data-locale, else the browser's languages; English is built in, the others are
// widget-l10n-<locale>.js, fetched from this server before the widget is drawn (then HTTP-cached)
const LOCALES = "en zh-CN zh-TW ja ko ru es pt-BR tr vi id ar".split(" ");
const pick = (tag) => {
  const l = String(tag || "").toLowerCase(), b = l.split(/[-_]/)[0];
  return /^zh[-_](tw|hk|mo|hant)/.test(l) ? "zh-TW" : b === "zh" ? "zh-CN" : b === "pt" ? "pt-BR" : LOCALES.includes(b) ? b : "";
};
const WANT = [ds.locale, ...(navigator.languages || [navigator.language])].filter(pick);
const LANG = pick(WANT[0]) || "en";
const COLOR = /^[#\w(),.%\s-]{1,40}$/.test(ds.color || "") ? ds.color : "#0b5fff";
const KEY = "chatd:" + SERVER;
const MAX_CACHED = 400;

const EN = {
    title: "Support", sub: "Ask us anything, day or night", open: "Open support chat", min: "Minimize chat",
    ph: "Write a message…", send: "Send", human: "Talk to a person", sending: "Sending…", sent: "Sent",
    failed: "Not sent", retry: "Retry", reconnecting: "Connection lost. Reconnecting…", retryNow: "Retry now",
    unavailable: "Chat is unavailable right now.", queued: "You're in line for a person",
    pos: "You are number {n} in line", wait: "Estimated wait: about {a}-{b} min", wait1: "Estimated wait: about {a} min",
    waitSoon: "Estimated wait: less than a minute", waitUnknown: "A person will be with you as soon as possible.",
    online: "Agents online: {n}", leaveTicket: "Leave a message instead", stop: "Stop waiting", away: "Email me the reply",
    joined: "{name} joined the chat", took: "{name} took over the chat",
    reqAgent: "Your agent was disconnected. You keep your place in line.", reqTransfer: "Transferring you to another person…",
    left: "You left the queue. The assistant can still help.", queuedSys: "You're in the queue for a person.",
    offNo: "No one is available right now. Leave a message and we'll answer here.",
    offLong: "The wait is long right now. You can leave a message instead.",
    offSelf: "Leave a message and we'll answer here.",
    contact: "Email or other contact", question: "Your question", ticketSend: "Send message", cancel: "Cancel",
    created: "Ticket #{id} created. We'll answer here, come back any time.", tReply: "Answer to your ticket",
    ended: "The chat has ended.", rate: "How was your chat?", comment: "Anything to add? (optional)",
    rateSend: "Send rating", thanks: "Thanks for your feedback!", star: "{n} of 5 stars", newChat: "Start a new chat",
    end: "End chat", transcript: "Download transcript", mail: "Email me this chat", typing: "{name} is typing…", you: "You", bot: "Assistant",
    agent: "Agent", masked: "We hid your {what} from this chat: our staff can't see it and will never ask for it.",
    leak: " If it may have leaked, {a}.", hidden: "secret hidden", tz: "Times are local ({z}).",
    limited: "Too many new chats from your network. Please try again in {n} min.",
    endQ: "End this chat?", endQ2: "End this chat? You will lose your place in line.", keep: "Keep chatting",
    nobody: "No one is online right now. We'll connect you when someone is back.", nmCue: "New message",
    tNext: "We'll answer here: come back any time, or add details below.",
    suggest: "Suggested questions", required: "Please fill in both fields.", fast: "You're sending too fast. Please wait a moment.",
    offline: "Not connected. We'll send it when we're back.", chatLog: "Conversation", rated: "You rated this chat {n}/5.",
    at: "Attach a file", kinds: { seed_phrase: "recovery phrase", private_key: "private key", api_secret: "API secret", password: "password", otp_code: "2FA code", card_number: "card number" },
    fix: { w: "move your funds to a new wallet", api_secret: "replace that API key", password: "change your password", otp_code: "change your password and 2FA", card_number: "ask your bank to block the card" },
    earlier: "Earlier conversations", back: "Back to current chat", nm: "New message in the current chat", st: { closed: "Ended", ticket: "Message left", open: "Open" },
    closedT: "We're closed now, back at {at}.", closedD: "We're closed now, back on {day} at {at}.", closedN: "We're closed now.",
    sep: ", ", sep2: "; ", sp: " ",
};
let L = EN, LOC = "en", NUM;
// {n}: numbers in the locale's digits (Intl); other values as given
const t = (k, v) => String(L[k] != null ? L[k] : EN[k] || k).replace(/\{(\w+)\}/g, (_, n) => (v && v[n] != null ? (typeof v[n] === "number" ? NUM.format(v[n]) : v[n]) : ""));
const start = () => {
// the rest draws the widget in L (not indented: one function since locales load first)

const CSS = `
:host{all:initial!important;display:block!important;position:fixed!important;right:0!important;bottom:0!important;width:0!important;height:0!important;z-index:2147483000!important;visibility:visible!important;opacity:1!important;transform:none!important;font-size:14px!important;contain:none!important}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
.w{--c:#0b5fff;--ci:#fff;--ct:#0b5fff;font:14px/1.45 system-ui,"Segoe UI",Roboto,sans-serif;color:#1f2430;text-align:start;letter-spacing:normal}
button,input,textarea{font:inherit;color:inherit;margin:0}
button{cursor:pointer;border:0;background:none}
svg{fill:currentColor}
:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.launch,.sendb,.ib{border-radius:50%;background:var(--c);color:var(--ci);display:flex;align-items:center;justify-content:center;flex:none}
.launch{position:fixed;inset-inline-end:20px;bottom:20px;width:60px;height:60px;box-shadow:0 6px 20px #0004}
.launch svg{width:28px;height:28px}
.badge{position:absolute;top:-2px;inset-inline-end:-2px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#d92d20;color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center}
.panel{position:fixed;inset-inline-end:20px;bottom:92px;width:380px;height:min(640px,calc(100vh - 112px));display:flex;flex-direction:column;background:#fff;border-radius:16px;overflow:hidden;box-shadow:0 12px 48px #0003}
.head{background:var(--c);color:var(--ci);padding:16px 12px;padding-inline-start:20px;display:flex;align-items:center;gap:8px}
.head .tt{flex:1;min-width:0}
.head h2{font-size:17px;font-weight:650;margin:0;line-height:1.3}
.head p{margin:2px 0 0;font-size:13px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.ib{width:36px;height:36px;border-radius:8px;background:none}
.ib:hover,.endb:hover{box-shadow:inset 0 0 0 2px currentColor}
.endb{border-radius:8px;padding:5px 10px;font-size:13px;font-weight:600;box-shadow:inset 0 0 0 1px;white-space:nowrap}
.ib svg,.sendb svg{width:20px;height:20px}
.ib svg{fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
.banner,.sys.warn,.sec{background:#fff4e5;color:#7a4100}
.sys.warn{border-radius:8px;padding:6px 10px}
.banner{font-size:13px;padding:6px 16px;display:flex;gap:8px;align-items:center;border-bottom:1px solid #ffe0b2}
.banner.err{background:#fdecea;color:#8a1c12;border-color:#f9c9c3}
.banner button{text-decoration:underline;padding:2px}
.log,.nmw{position:relative}
.nmw{height:0}
.nm{position:absolute;bottom:8px;inset-inline-start:40%;border-radius:16px;padding:5px 14px;background:#1f2430;color:#fff}
.log,.plog{flex:1;min-height:96px;overflow-y:auto;padding:16px 16px 8px;background:#f7f8fa}
.m{display:flex;flex-direction:column;align-items:flex-start;margin:2px 0 10px;max-width:100%}
.me{align-items:flex-end}
.who{font-size:12px;color:#5b6472;margin:0 0 3px;margin-inline-start:4px}
.b{max-width:85%;padding:9px 13px;border-radius:16px;border-end-start-radius:4px;background:#fff;box-shadow:0 1px 2px #0002;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}
.agent .b{background:#eef3ff}
.me .b{background:var(--c);color:var(--ci);border-radius:16px;border-end-end-radius:4px}
.me.fail .b{background:#fff;color:#8a1c12;box-shadow:0 0 0 1px #e5a29b}
.b a{color:inherit;text-decoration:underline}
.sec{padding:0 6px;border-radius:6px;font-size:12.5px}
.meta{font-size:11.5px;color:#5b6472;margin:3px 4px 0;display:flex;gap:6px;align-items:center}
.meta .rt{color:#b42318;font-weight:600;text-decoration:underline;padding:0 2px;font-size:12px}
.fail .meta{color:#b42318}
.sys{text-align:center;color:#5b6472;font-size:12.5px;margin:8px 16px 12px}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin:-4px 0 12px}
.chip{border:1px solid var(--ct);color:var(--ct);background:#fff;border-radius:16px;padding:5px 12px;font-size:13px;text-align:start}
.typing{font-size:12.5px;color:#5b6472;padding:2px 20px 6px;background:#f7f8fa;display:flex;align-items:center;gap:6px}
.dots i{display:inline-block;width:5px;height:5px;margin:0 1px;border-radius:50%;background:#8a93a3;animation:bl 1.2s infinite}
.dots i:nth-child(2){animation-delay:.2s}.dots i:nth-child(3){animation-delay:.4s}
@keyframes bl{0%,80%,100%{opacity:.3}40%{opacity:1}}
.dock{background:#f7f8fa;padding:0 12px;max-height:58%;overflow-y:auto;flex:none}
.card{background:#fff;border-radius:12px;padding:14px 16px;margin:0 0 10px;box-shadow:0 1px 3px #0002;display:flex;flex-direction:column;gap:8px}
.card h3{font-size:15px;margin:0;font-weight:650}
.card p{margin:0;color:#3d4452;font-size:13.5px}
.qpos{font-size:15px;font-weight:650}
.row{display:flex;gap:8px;flex-wrap:wrap}
.btn{border-radius:8px;padding:8px 14px;background:var(--c);color:var(--ci);font-weight:600}
.btn.sec{background:#fff;color:#1f2430;box-shadow:inset 0 0 0 1px #c9ced6}
.btn:disabled{opacity:.55;cursor:default}
label{display:flex;flex-direction:column;gap:4px;font-size:13px;color:#3d4452}
input,textarea{unicode-bidi:plaintext;border:1px solid #c9ced6;border-radius:8px;padding:8px 10px;background:#fff;width:100%}
textarea{resize:none}
.err{color:#b42318;font-size:12.5px}
.stars{display:flex;gap:2px;border:0;padding:0;margin:0}
.stars input{position:absolute;opacity:0;width:1px;height:1px}
.stars label{font-size:30px;line-height:1;color:#8a93a3;cursor:pointer;padding:0 2px;border-radius:6px}
.stars label.on{color:#b45309}
.stars input:focus-visible+label{outline:3px solid #ffbf47}
.acts{padding:8px 12px 0;border-top:1px solid #e6e8ec}
.hb{border:1px solid #c9ced6;background:#fff;border-radius:16px;padding:5px 12px;font-size:13px;color:#1f2430;display:inline-flex;align-items:center;gap:6px}
.hb svg{width:14px;height:14px}
.hb:hover{border-color:var(--ct);color:var(--ct)}
.ec,.ph{padding:2px 12px;border-bottom:1px solid #e6e8ec}
.eb{padding:6px 2px;font-size:13px;font-weight:600;color:var(--ct)}
.eb::after{content:" ▸"/""}.eb[aria-expanded=true]::after{content:" ▾"/""}
.el{list-style:none;margin:0 0 6px;padding:0;max-height:150px;overflow-y:auto}
.el button{width:100%;padding:6px 8px;border-radius:8px;text-align:start;font-size:13px}
.el button:hover{background:#f0f2f5}
.past{flex:1;min-height:0;display:flex;flex-direction:column}
.past:not([hidden])~*{display:none}
.ph{display:flex;align-items:center;gap:8px;padding:8px 12px}
.ph .btn{white-space:nowrap}
.ph h3{margin:0;font-size:13px;color:#5b6472}
.comp .ib{color:var(--ct);height:42px}
.comp{display:flex;align-items:flex-end;gap:8px;padding:10px 12px 12px}
.comp textarea:focus-visible{outline:2px solid var(--c);outline-offset:0}
.comp textarea{unicode-bidi:plaintext;flex:1;border-radius:12px;max-height:120px;min-height:42px;padding:10px 12px;line-height:1.4}
.sendb{width:42px;height:42px}
[dir=rtl] .sendb svg{transform:scaleX(-1)}
.sendb:disabled{opacity:.5}
@media (max-width:480px){.panel{inset:0;width:auto;height:auto;border-radius:0}.launch.open{display:none}}
@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}
`;

// ---- DOM helper: attributes, listeners, text children (never parsed as HTML); h("button.btn", {})
const h = (sel, attrs, ...kids) => {
  const [tag, ...cls] = sel.split("."), e = document.createElement(tag); if (cls.length) e.className = cls.join(" ");
  for (const k in attrs || {}) {
    const v = attrs[k]; if (v == null || v === false) continue; if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  if (tag === "button" && !e.getAttribute("type")) e.type = "button";
  for (const c of kids) if (c != null) e.append(c);
  return e;
};
const NS = "http://www.w3.org/2000/svg";
const svg = (d) => {
  const s = document.createElementNS(NS, "svg");
  const p = s.appendChild(document.createElementNS(NS, "path")); s.setAttribute("viewBox", "0 0 24 24");
  s.setAttribute("aria-hidden", "true"); p.setAttribute("d", d);
  return s;
};
const I = {
  chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
  x: "M6 6l12 12M18 6L6 18",
  dl: "M12 4v11M7 10l5 5 5-5M5 20h14",
  mail: "M3 6h18v12H3zM3 6l9 7 9-7",
  send: "M3 20.5l18-8.5L3 3.5v6.6l12.5 1.9L3 13.9z",
  clip: "M21 11.5 12.5 20a5 5 0 0 1-7-7L14 4.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4L15.5 7.6",
};
const uid = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2));
const fmtTime = (ts, o) => {
  const d = new Date(typeof ts === "number" ? (ts > 1e12 ? ts : ts * 1000) : ts || Date.now());
  return d.toLocaleString(LOC, o || { hour: "2-digit", minute: "2-digit" });
};
// text nodes, links (http/https only) and a chip for each secret the server masked: [redacted:kind]
const richText = (text) => {
  const f = document.createDocumentFragment();
  const re = /\[redacted:(\w+)\]|\bhttps?:\/\/[^\s<>"'\u3000-\u303f\uff00-\uffef]*[^\s<>"'.,;:!?)\]\u3000-\u303f\uff00-\uffef]/g;
  let i = 0, m;
  while ((m = re.exec(text))) {
    f.append(text.slice(i, m.index), m[1] ? h("span.sec", { text: t("hidden"), title: kind(m[1]) })
      : h("a", { href: m[0], target: "_blank", rel: "noopener noreferrer nofollow", text: m[0] }));
    i = m.index + m[0].length;
  }
  f.append(text.slice(i));
  return f;
};

// ---- persisted: {token, conv, seq, events, outbox:{cid:{text,intent,ts}}, dismissed}
let S = {};
try { S = JSON.parse(localStorage.getItem(KEY) || "{}") || {}; } catch (e) {}
// The link in a follow-up email (?chatd_resume=<token>) reopens that conversation here.
const Q = new URLSearchParams(location.search), LINK = Q.get("chatd_resume");
if (LINK && LINK !== S.token) S = { token: LINK };
if (LINK) { Q.delete("chatd_resume"); try { history.replaceState(null, "", location.pathname + (Q + "" ? "?" + Q : "") + location.hash); } catch (e) {} }
S.events = Array.isArray(S.events) ? S.events : [];
S.outbox = S.outbox && typeof S.outbox === "object" ? S.outbox : {};
const ordered = () => S.events.slice().sort((a, b) => a.seq - b.seq);
const save = () => {
  if (S.events.length > MAX_CACHED) S.events = S.events.slice(-MAX_CACHED);
  // storage full/blocked: the server replays from last_seq
  try { localStorage.setItem(KEY, JSON.stringify(S)); } catch (e) {}
};

// ---- DOM
const host = document.createElement("chatd-widget");
const root = host.attachShadow({ mode: "open" });
const $ = {};
const w = h("div.w", { lang: LOC, dir: L.dir || "ltr" });
// on the brand colour: white up to WCAG luminance 0.179, else black (>= 4.6:1); as text: to 4.5:1
const cx = document.createElement("canvas").getContext("2d"); cx.fillStyle = "#0b5fff"; cx.fillStyle = COLOR;
const lum = (c) => c.reduce((a, v, i) => a + [0.2126, 0.7152, 0.0722][i] * ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4), 0);
let ct = (cx.fillStyle.match(/^#(..)(..)(..)/) || [0, "0b", "5f", "ff"]).slice(1).map((v) => parseInt(v, 16));
w.style.cssText = `--c:${cx.fillStyle};--ci:${lum(ct) > 0.179 ? "#000" : "#fff"}`;
while (lum(ct) > 0.17) ct = ct.map((v) => v * 0.9);
w.style.setProperty("--ct", `rgb(${ct})`);
$.badge = h("span.badge", { hidden: true, "aria-hidden": "true" });
$.launch = h("button.launch", { "aria-label": t("open"), "aria-expanded": "false", "aria-controls": "chatd-panel", onclick: () => toggle() }, svg(I.chat), $.badge);
$.title = h("h2", { id: "chatd-title", text: t("title") });
$.sub = h("p", { text: t("sub") });
const ib = (k, icon, onclick) => h("button.ib", { "aria-label": t(k), title: t(k), onclick }, svg(icon));
$.dl = ib("transcript", I.dl, () => ext("transcript"));
$.mail = ib("mail", I.mail, () => ext("mail"));
$.end = h("button.endb", { text: t("end"), onclick: () => { confirming = true; refresh(); $.keep.focus(); } });
$.min = ib("min", I.x, () => toggle(false));
$.bannerText = h("span");
$.bannerBtn = h("button", { text: t("retryNow"), onclick: () => { attempt = 0; connect(); } });
$.banner = h("div.banner", { role: "status", hidden: true }, $.bannerText, $.bannerBtn);
// verified customers' earlier chats: a list, and a read-only view hiding the live chat (.past~*)
$.eList = h("ul.el", { id: "chatd-el", hidden: true });
$.eBtn = h("button.eb", { text: t("earlier"), "aria-expanded": "false", "aria-controls": "chatd-el", onclick: () => disclose() });
$.earlier = h("div.ec", { hidden: true }, $.eBtn, $.eList);
$.back = h("button.btn.sec", { text: t("back"), onclick: () => showPast() });
$.pastTitle = h("h3", { id: "chatd-pt" }); $.pastLog = h("div.plog", { tabindex: "0", "aria-labelledby": "chatd-pt" });
$.past = h("section.past", { "aria-labelledby": "chatd-pt", hidden: true }, h("div.ph", {}, $.back, $.pastTitle), $.pastLog);
$.log = h("div.log", { role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": t("chatLog"), tabindex: "0", onscroll: () => nearBottom() && ($.nm.hidden = true) });
$.nm = h("button.nm", { hidden: true, text: t("nmCue"), onclick: () => { $.nm.hidden = true; scrollDown(true); $.log.focus(); } });
$.typing = h("div.typing", { hidden: true, "aria-live": "polite" }, h("span.dots", { "aria-hidden": "true" }, h("i"), h("i"), h("i")), h("span"));
$.qpos = h("div.qpos", { "aria-live": "polite" }); $.qwait = h("p"); $.qon = h("p");
$.queue = h("div.card", { hidden: true },
  h("h3", { text: t("queued") }), $.qpos, $.qwait, $.qon,
  h("div.row", {},
    $.qleave = h("button.btn.sec", { text: t("leaveTicket"), onclick: () => { selfOffer = true; refresh(); $.tContact.focus(); } }),
    h("button.btn.sec", { text: t("stop"), onclick: () => act({ type: "leave_queue" }) }),
    h("button.btn.sec", { text: t("away"), onclick: () => ext("mail", 1) })));
$.tMsg = h("p");
$.tContact = h("input", { type: "text", autocomplete: "email", maxlength: "200", required: true });
$.tText = h("textarea", { rows: "3", maxlength: "4000", required: true });
$.tErr = h("div.err", { role: "alert" });
$.tBtn = h("button.btn", { type: "submit", text: t("ticketSend") });
$.ticket = h("form.card", { hidden: true, novalidate: true, onsubmit: (e) => { e.preventDefault(); submitTicket(); } },
  $.tMsg, h("label", {}, t("contact"), $.tContact), h("label", {}, t("question"), $.tText), $.tErr,
  h("div.row", {}, $.tBtn, h("button.btn.sec", { text: t("cancel"), onclick: () => { S.dismissed = offerSeq; selfOffer = false; save(); refresh(); } })));
$.stars = h("fieldset.stars", {}, h("legend.sr", { text: t("rate") }));
const starLabels = [];
for (let n = 1; n <= 5; n++) {
  const id = "chatd-s" + n;
  const inp = h("input", { type: "radio", name: "score", value: String(n), id, onchange: () => paintStars(n) });
  const lab = h("label", { for: id }, h("span", { "aria-hidden": "true", text: "★" }), h("span.sr", { text: t("star", { n }) }));
  starLabels.push(lab); $.stars.append(inp, lab);
}
const paintStars = (n) => starLabels.forEach((l, i) => l.classList.toggle("on", i < n));
$.cComment = h("textarea", { rows: "2", maxlength: "1000" });
$.cErr = h("div.err", { role: "alert" });
$.cBtn = h("button.btn", { type: "submit", text: t("rateSend") });
$.csat = h("form.card", { hidden: true, onsubmit: (e) => { e.preventDefault(); submitCsat(); } },
  h("h3", { text: t("rate") }), $.stars, h("label", {}, t("comment"), $.cComment), $.cErr, h("div.row", {}, $.cBtn));
$.endedMsg = h("p"); // ended or ticket: what now
$.ended = h("div.card", { hidden: true }, $.endedMsg, h("div.row", {}, h("button.btn.sec", { text: t("newChat"), onclick: () => newChat() })));
$.endMsg = h("p"); $.keep = h("button.btn.sec", { text: t("keep"), onclick: () => { confirming = false; refresh(); $.end.focus(); } });
$.confirm = h("div.card", { role: "alertdialog", "aria-label": t("end"), hidden: true }, $.endMsg,
  h("div.row", {}, h("button.btn", { text: t("end"), onclick: (e) => { confirming = false; act({ type: "close" }, e.target); } }), $.keep));
$.dock = h("div.dock", {}, $.confirm, $.queue, $.ticket, $.csat, $.ended);
$.human = h("button.hb", { onclick: () => act({ type: "request_human" }, $.human) }, svg(I.chat), t("human"));
$.acts = h("div.acts", {}, $.human);
$.input = h("textarea", { rows: "1", placeholder: t("ph"), "aria-label": t("ph"), maxlength: "4000", enterkeyhint: "send" });
$.send = h("button.sendb", { type: "submit", "aria-label": t("send"), title: t("send") }, svg(I.send));
$.input.onpaste = (e) => { const f = e.clipboardData.files; if (f.length) { e.preventDefault(); ext("add", f); } };
$.comp = h("form.comp", { onsubmit: (e) => { e.preventDefault(); sendText(); } }, ib("at", I.clip, () => ext("pick")), $.input, $.send);
$.panel = h("div.panel", { id: "chatd-panel", role: "dialog", "aria-labelledby": "chatd-title", hidden: true },
  h("div.head", {}, h("div.tt", {}, $.title, $.sub), $.mail, $.dl, $.end, $.min),
  $.banner, $.earlier, $.past, $.log, h("div.nmw", {}, $.nm), $.typing, $.dock, $.acts, $.comp);
$.panel.ondragover = (e) => e.dataTransfer.types.includes("Files") && e.preventDefault();
$.panel.ondrop = (e) => { const f = e.dataTransfer.files; if (f.length) { e.preventDefault(); ext("add", f); } };
w.append($.panel, $.launch); root.append(w);
// a constructed sheet is not an inline <style>, so a strict host CSP (no 'unsafe-inline') allows it
try { const sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); root.adoptedStyleSheets = [sheet]; }
catch (e) { root.prepend(h("style", { text: CSS })); }

// ---- view state
let status = "bot", agentName = "";
let offer = null; // the latest ticket_offered reason, if current
let offerSeq = 0, backAt = null, hours = null, selfOffer = false, rated = 0, queueInfo = null, unread = 0;
// handled: a person joined (only then is there a chat to rate)
let handled = false, confirming = false, focused = null, retryAfter = 60;
let lastAuthor = ""; const seen = new Set();
const bubbles = new Map(); // cid -> message element
const pendingActs = new Map(); // cid -> {frame, btn}

const isOpen = () => !$.panel.hidden;
function toggle(open = !isOpen()) {
  $.panel.hidden = !open; $.launch.setAttribute("aria-expanded", String(open));
  $.launch.classList.toggle("open", open); $.launch.setAttribute("aria-label", t(open ? "min" : "open"));
  try { sessionStorage.setItem(KEY + ":open", open ? "1" : ""); } catch (e) {}
  if (open) {
    unread = 0; paintBadge(); connect(); scrollDown(true);
    setTimeout(() => (!$.past.hidden ? $.back : $.comp.hidden ? $.min : $.input).focus(), 30);
  } else $.launch.focus();
}
const paintBadge = () => {
  $.badge.hidden = !unread; $.badge.textContent = unread > 9 ? "9+" : String(unread);
};
const nearBottom = () => $.log.scrollHeight - $.log.scrollTop - $.log.clientHeight < 120;
// el: show its top (a long message is read from the start)
const scrollDown = (force, el) => {
  if (force || nearBottom()) requestAnimationFrame(() => ($.log.scrollTop = el ? el.offsetTop - 8 : $.log.scrollHeight));
};
w.addEventListener("focusin", (e) => (focused = e.target));
// focus was on a control now hidden: move it to a sensible one
const shown = (e) => e.getClientRects().length;
function keepFocus() {
  if (!isOpen() || !focused || shown(focused) || (root.activeElement || focused) !== focused) return;
  for (const p of pendingActs.values()) if (p.btn === focused) return; // settle() calls again
  [$.tContact, $.stars.querySelector("input"), $.input, ...$.dock.querySelectorAll(".btn.sec"), $.min].find(shown).focus();
}

const sysNode = (text, cls) => ((lastAuthor = ""), h("div.sys" + (cls ? "." + cls : ""), { text }));
const sysLine = (text, cls) => $.log.append(sysNode(text, cls));
// a non-message event's line (chat, transcript, earlier chats)
const kind = (k) => L.kinds[/seed/.test(k) ? "seed_phrase" : /key/.test(k) ? "private_key" : k] || t("hidden");
// one notice per masked secret, in the widget's language
function maskText(kinds) {
  const fix = new Set(kinds.map((k) => L.fix[/key|seed/.test(k) ? "w" : k]).filter(Boolean));
  return t("masked", { what: [...new Set(kinds.map(kind))].join(t("sep")) }) + (fix.size ? t("leak", { a: [...fix].join(t("sep2")) }) : "");
}
function evLine(ev) {
  const d = ev.data || {}, name = d.agent_name || ev.author_name || t("agent");
  if (ev.author === "system" && d.warning === "secret_masked") return maskText(d.masked || []);
  return {
    queued: t("queuedSys"), assigned: t("joined", { name }), transferred: t("took", { name }), left_queue: t("left"),
    requeued: t(d.reason === "transfer" ? "reqTransfer" : "reqAgent"), ticket_created: t("created", { id: String(d.ticket_id) }),
    closed: t("ended"), csat: t("rated", { n: d.score || 1 }),
  }[ev.type];
}
function msgNode(ev, mine) {
  const who = ev.author;
  const name = mine ? t("you") : who === "bot" ? t("bot") : ev.author_name || t("agent");
  const key = who + ":" + name;
  const el = h("div", { class: "m " + (mine ? "me" : who) });
  if (ev.type === "ticket_reply") el.append(h("div.who", { text: t("tReply") + " · " + (ev.author_name || t("agent")) }));
  if (!mine && key !== lastAuthor) el.append(h("div.who", { text: name }));
  lastAuthor = key;
  const body = h("div.b", { dir: "auto" }); // an English answer in an Arabic widget reads left to right
  body.append(richText(String(ev.text || "")));
  el.append(body, h("div.meta", {}, h("time", { text: fmtTime(ev.ts) }), h("span.st")));
  return el;
}
function setState(el, st, cid) {
  el.classList.toggle("fail", st === "failed"); const meta = el.querySelector(".meta");
  meta.querySelector(".st").textContent = "· " + t(st);
  const old = meta.querySelector(".rt"); if (old) old.remove();
  if (st === "failed") meta.append(h("button.rt", { text: t("retry"), onclick: () => retry(cid) }));
}
const clearChips = () => $.log.querySelectorAll(".chips").forEach((c) => c.remove());

// apply a conversation event (live or cached), deduped by seq
function apply(ev, live) {
  if (typeof ev.seq !== "number" || seen.has(ev.seq)) return; seen.add(ev.seq);
  if (live) { S.events.push(ev); if (ev.seq > (S.seq || 0)) S.seq = ev.seq; }
  const d = ev.data || {}, atEnd = live && nearBottom(), last = $.log.lastChild; // before anything is added
  clearChips();
  switch (ev.type) {
    case "message":
    case "ticket_reply": {
      if (ev.author === "system") { sysLine(evLine(ev) || ev.text || "", d.warning ? "warn" : ""); break; }
      const mine = ev.author === "customer"; let el = mine && ev.cid ? bubbles.get(ev.cid) : null;
      if (el) {
        // our pending bubble, stored (text may be masked)
        el.querySelector(".b").replaceChildren(richText(ev.text || ""));
        el.querySelector("time").textContent = fmtTime(ev.ts); el.classList.remove("fail");
      } else {
        el = msgNode(ev, mine); $.log.append(el); if (mine && ev.cid) bubbles.set(ev.cid, el);
      }
      el.dataset.seq = ev.seq;
      if (mine) {
        if (ev.cid && S.outbox[ev.cid]) delete S.outbox[ev.cid]; setState(el, "sent", ev.cid);
      } else if (live && !isOpen()) {
        unread++; paintBadge();
      } else if (live && !$.past.hidden) notice(t("nm"));
      if (ev.author === "bot" && Array.isArray(d.suggestions) && d.suggestions.length) {
        const chips = h("div.chips", { role: "group", "aria-label": t("suggest") });
        for (const s of d.suggestions.slice(0, 6)) {
          if (!s || !s.title) continue;
          chips.append(h("button.chip", { dir: "auto", text: String(s.title), onclick: () => sendText(String(s.title), s.intent) }));
        }
        $.log.append(chips);
      }
      break;
    }
    case "queued": case "requeued": status = "queued"; break;
    case "assigned": offer = null; selfOffer = false; // falls through
    case "transferred": status = "assigned"; handled = true; agentName = d.agent_name || ev.author_name || t("agent"); break;
    case "left_queue": status = "bot"; queueInfo = null; break;
    case "ticket_offered": offer = d.reason || "no_agents"; offerSeq = ev.seq; backAt = d.back_at; break;
    case "ticket_created": status = "ticket"; offer = null; selfOffer = false; break;
    case "closed": status = "closed"; offer = null; selfOffer = false; break;
    case "csat": rated = d.score || 1; break;
    case "attachment":
      ext("show", [$.log.appendChild(msgNode(ev, ev.author === "customer")), ev]);
      if (live && !isOpen() && ev.author !== "customer") { unread++; paintBadge(); }
      break;
    default: if (ev.text) sysLine(ev.text);
  }
  const line = ev.type !== "message" && evLine(ev); if (line) sysLine(line);
  if (live) {
    save(); const first = last ? last.nextSibling : $.log.firstChild;
    if (atEnd || ev.author === "customer") scrollDown(true, first); else if (first) $.nm.hidden = false;
  }
}

// the dock shows one state: end-chat question, ticket form (alone if nobody is online), queue
function refresh() {
  const closed = status === "closed", ticket = status === "ticket", nobody = status === "queued" && (queueInfo || {}).agents_online === 0;
  $.sub.textContent = status === "assigned" && agentName ? agentName : hours && !hours.open ? closedLine(hours.back_at) : t("sub");
  $.confirm.hidden = !(confirming = confirming && !closed && !ticket && !!S.conv);
  $.endMsg.textContent = t(status === "queued" ? "endQ2" : "endQ");
  const showOffer = !confirming && !closed && !ticket && ((offer && offerSeq !== S.dismissed) || selfOffer);
  if (showOffer && $.ticket.hidden) {
    $.tMsg.textContent = offer === "closed" ? closedLine(backAt) + t("sp") + t("offSelf")
      : t(selfOffer && !offer && !nobody ? "offSelf" : offer === "long_wait" && !nobody ? "offLong" : "offNo");
    $.tErr.textContent = ""; $.tBtn.disabled = false;
  }
  $.queue.hidden = status !== "queued" || showOffer || confirming; if (!$.queue.hidden) paintQueue();
  $.ticket.hidden = !showOffer; $.csat.hidden = !closed || !!rated || !handled; $.ended.hidden = !closed && !ticket;
  $.endedMsg.textContent = t(ticket ? "tNext" : rated ? "thanks" : "ended"); $.acts.hidden = status !== "bot";
  $.comp.hidden = closed; $.end.hidden = closed || ticket || !S.conv;
  keepFocus();
}
// outside business hours: when people answer again, a time today, else the day and the time
function closedLine(at) {
  if (typeof at !== "number") return t("closedN");
  const soon = at * 1000 - Date.now() < 6 * 864e5, v = { at: fmtTime(at), day: fmtTime(at, soon ? { weekday: "long" } : { month: "long", day: "numeric" }) };
  return t(new Date(at * 1000).toDateString() === new Date().toDateString() ? "closedT" : "closedD", v);
}
function paintQueue() {
  const q = queueInfo;
  if (q && q.agents_online === 0) return ($.qpos.textContent = "", $.qon.textContent = "", $.qwait.textContent = t("nobody"));
  $.qpos.textContent = q && q.position ? t("pos", { n: q.position }) : "";
  let lo = q && (q.wait_low_s != null ? q.wait_low_s : q.estimated_wait_s);
  let hi = q && (q.wait_high_s != null ? q.wait_high_s : q.estimated_wait_s), txt = t("waitUnknown");
  if (lo != null && hi != null) {
    if (hi < 60) txt = t("waitSoon");
    else {
      lo = Math.max(1, Math.floor(lo / 60)); hi = Math.max(lo, Math.ceil(hi / 60));
      txt = lo === hi ? t("wait1", { a: lo }) : t("wait", { a: lo, b: hi });
    }
  }
  $.qwait.textContent = txt;
  $.qon.textContent = q && q.agents_online != null ? t("online", { n: q.agents_online }) : "";
}

// ---- earlier conversations (welcome.earlier: verified customers only)
function paintEarlier(list) {
  $.eList.textContent = ""; $.earlier.hidden = !list.length;
  for (const c of list) {
    const label = [fmtTime(c.created_at, { dateStyle: "medium", timeStyle: "short" }), L.st[c.status] || L.st.open];
    if (c.subject) label.unshift(c.subject); // the customer's own first message
    else if (c.intent && L === EN) label.push(String(c.intent).replace(/[._]/g, " ")); // ids are English
    const b = h("button", { text: label.join(" · "), onclick: () => act({ type: "history", conversation_id: c.conversation_id }, b) });
    $.eList.append(h("li", {}, b));
  }
}
function disclose(open = $.eList.hidden) {
  $.eList.hidden = !open; $.eBtn.setAttribute("aria-expanded", open);
}
// events: show them read-only; none: back to the live chat
function showPast(events, title) {
  const keep = lastAuthor; lastAuthor = ""; $.pastLog.textContent = ""; $.pastTitle.textContent = title;
  for (const ev of events || []) {
    const msg = /^(message|ticket_reply)$/.test(ev.type) && ev.author !== "system", line = evLine(ev) || ev.text;
    if (msg || line) $.pastLog.append(msg ? msgNode(ev, ev.author === "customer") : sysNode(line));
  }
  lastAuthor = keep; $.past.hidden = !events; disclose(false); (events ? $.back : $.eBtn).focus();
}

// ---- sending
function pendingBubble(cid, item) {
  let el = bubbles.get(cid);
  if (!el) {
    el = msgNode({ author: "customer", text: item.text, ts: item.ts }, true);
    bubbles.set(cid, el); clearChips(); $.log.append(el);
  }
  setState(el, item.failed ? "failed" : "sending", cid);
  return el;
}
const ackTimers = new Map();
function transmit(cid) {
  const item = S.outbox[cid]; if (!item) return;
  const f = { type: "message", cid, text: item.text };
  if (item.intent) f.intent = item.intent;
  if (send(f)) { clearTimeout(ackTimers.get(cid)); ackTimers.set(cid, setTimeout(() => fail(cid), 12000)); }
}
// failed: no ack in time, or an error; retry re-sends the same cid (stored once)
function mark(cid, failed) {
  const item = S.outbox[cid]; if (!item) return; item.failed = failed; save(); pendingBubble(cid, item);
  if (!failed) ready ? transmit(cid) : connect();
}
const fail = (cid) => mark(cid, true); const retry = (cid) => mark(cid, false);
function sendText(text, intent) {
  const body = text != null ? text : $.input.value.trim(); if (!body) return; const cid = uid();
  const item = { text: body, ts: Date.now() / 1000 };
  if (intent) item.intent = String(intent); S.outbox[cid] = item; save();
  if (text == null) { $.input.value = ""; grow(); }
  stopTyping(); pendingBubble(cid, item); scrollDown(true); if (ready) transmit(cid); else connect();
}
function act(frame, btn) {
  const cid = uid(); frame.cid = cid;
  if (!send(frame)) { notice(t("offline")); connect(); return null; }
  if (btn) btn.disabled = true; pendingActs.set(cid, { frame, btn }); return cid;
}
// an act()'s answer: forget it, re-enable its button
function settle(cid) {
  const p = pendingActs.get(cid); if (p) { pendingActs.delete(cid); if (p.btn) p.btn.disabled = false; keepFocus(); }
  return p;
}
function submitTicket() {
  const contact = $.tContact.value.trim(), text = $.tText.value.trim(), ok = contact && text;
  $.tErr.textContent = ok ? "" : t("required"); if (ok) act({ type: "create_ticket", contact, text }, $.tBtn);
}
function submitCsat() {
  const sel = $.stars.querySelector("input:checked"); $.cErr.textContent = sel ? "" : t("rate"); if (!sel) return;
  const f = { type: "csat", score: Number(sel.value) };
  const c = $.cComment.value.trim(); if (c) f.comment = c; act(f, $.cBtn);
}
function restart(outbox) {
  S = { events: [], outbox }; save(); reset(); drop(true); attempt = 0; connect();
}
const newChat = () => { restart({}); $.input.focus(); };
function reset() {
  seen.clear(); bubbles.clear(); $.log.textContent = ""; status = "bot"; agentName = ""; offer = null;
  selfOffer = false; rated = 0; queueInfo = null; lastAuthor = ""; handled = confirming = false;
  $.stars.querySelectorAll("input").forEach((i) => (i.checked = false)); paintStars(0); $.cComment.value = "";
  $.tText.value = ""; refresh();
}

// typing: only useful once a person is involved
let typingOn = false, typingTimer = 0;
function stopTyping() {
  clearTimeout(typingTimer); if (typingOn) { typingOn = false; send({ type: "typing", active: false }); }
}
const grow = () => {
  $.input.style.height = "auto"; $.input.style.height = Math.min($.input.scrollHeight + 2, 120) + "px";
};
$.input.addEventListener("input", () => {
  grow(); if (status !== "assigned" && status !== "queued") return;
  if (!typingOn && $.input.value) { typingOn = true; send({ type: "typing", active: true }); }
  clearTimeout(typingTimer); typingTimer = setTimeout(stopTyping, 3000);
});
$.input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); sendText(); }
});
w.addEventListener("keydown", (e) => e.key === "Escape" && isOpen() && toggle(false));

let typingHide = 0;
function showTyping(f) {
  clearTimeout(typingHide); $.typing.hidden = !f.active;
  $.typing.lastChild.textContent = t("typing", { name: f.author_name || agentName || t("agent") });
  if (f.active) typingHide = setTimeout(() => ($.typing.hidden = true), 8000), scrollDown();
}

let noticeTimer = 0;
function notice(text) {
  if (!ready) return; // the reconnecting banner says it
  showBanner(text); $.bannerBtn.hidden = true; clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => ready && ($.banner.hidden = true), 5000);
}

// ---- files (uploads, previews, the transcript): widget-files.js, fetched at first use (size budget)
let X;
const ext = (f, a) => (X = X || new Promise((r) => { window.__chatdFiles = r; document.head.append(h("script", { src: SERVER + "/static/widget-files.js" })); })
  .then((m) => m({ h, t, fs: L.files, st: () => S, $, w, root, SERVER, fmtTime, scrollDown, ordered, evLine, richText }))).then((x) => x[f](a));

// ---- connection: backoff with jitter, resume with token + last seq
let ws = null, ready = false, givenUp = false;
let attempt = 0, retryTimer = 0, bannerTimer = 0, pingTimer = 0, lastFrame = 0;
function send(f) {
  if (!ready || !ws || ws.readyState !== 1) return false;
  try { ws.send(JSON.stringify(f)); return true; } catch (e) { return false; }
}
function connect() {
  clearTimeout(retryTimer); if (ws || givenUp) return; let sock;
  try { sock = new WebSocket(WS_URL, ["chatd.v1"]); } catch (e) { return schedule(); }
  ws = sock; ready = false;
  sock.onopen = () => {
    const hello = { type: "hello", locale: LANG };
    if (S.token) { hello.resume_token = S.token; hello.last_seq = S.seq || 0; }
    if (ds.userId) { hello.user_id = ds.userId; if (ds.userHash) hello.user_hash = ds.userHash; }
    sock.send(JSON.stringify(hello));
  };
  sock.onmessage = (m) => {
    lastFrame = Date.now(); let f;
    try { f = JSON.parse(m.data); } catch (e) { return; }
    if (f && typeof f === "object") onFrame(f);
  };
  sock.onclose = (e) => closed(sock, e.code);
  sock.onerror = () => {};
}
function drop(intentional) {
  const sock = ws; if (!sock) return; sock.onclose = null;
  try { sock.close(intentional ? 1000 : 4000); } catch (e) {}
  closed(sock, intentional ? 1000 : 1006, intentional);
}
function closed(sock, code, intentional) {
  if (ws !== sock) return; ws = null; ready = false; clearInterval(pingTimer);
  for (const tm of ackTimers.values()) clearTimeout(tm); ackTimers.clear();
  for (const p of pendingActs.values()) if (p.btn) p.btn.disabled = false; pendingActs.clear();
  if (intentional || givenUp) return;
  if (code === 1008) { givenUp = true; return showBanner(t("unavailable"), true); }
  if (code === 1000) return; // ended on purpose; reconnect on the next action
  schedule(code === 4029 ? retryAfter * 1000 : 0); // 4029: too fast: as the server said
}
// a new chat refused: say why and when; no retries till then
function limited() {
  givenUp = true; clearTimeout(bannerTimer); showBanner(t("limited", { n: Math.ceil(retryAfter / 60) }), true);
  setTimeout(() => { givenUp = false; $.bannerBtn.hidden = false; }, retryAfter * 1000);
}
function schedule(min = 0) {
  clearTimeout(retryTimer);
  // full jitter on an exponential base: 0.5 s, 1 s, 2 s ... capped at 30 s
  const base = Math.min(30000, 500 * 2 ** attempt);
  const delay = Math.max(min, base / 2 + Math.random() * base / 2); attempt++;
  retryTimer = setTimeout(connect, delay); clearTimeout(bannerTimer);
  bannerTimer = setTimeout(() => !ready && showBanner(t("reconnecting")), attempt > 1 ? 0 : 1200);
}
function showBanner(text, err) {
  $.bannerText.textContent = text; $.bannerBtn.hidden = !!err;
  $.banner.className = "banner" + (err ? " err" : ""); $.banner.hidden = false;
}
function onFrame(f) {
  if (typeof f.seq === "number" && f.conversation_id && f.type !== "welcome") {
    if (S.conv && f.conversation_id !== S.conv) return; apply(f, true); refresh();
    return;
  }
  switch (f.type) {
    case "welcome": {
      ready = true; attempt = 0; givenUp = false; clearTimeout(bannerTimer); $.banner.hidden = true;
      if (f.conversation_id !== S.conv || (S.token && f.resumed === false)) {
        // another (new) conversation: start clean, keep unsent messages
        S = { events: [], outbox: S.outbox }; reset();
      }
      S.conv = f.conversation_id; S.token = f.resume_token || S.token; status = f.status || status;
      if (f.agent_name) agentName = f.agent_name; hours = f.hours || null; save(); refresh();
      paintEarlier(Array.isArray(f.earlier) ? f.earlier : []);
      for (const cid in S.outbox) if (!S.outbox[cid].failed) transmit(cid); clearInterval(pingTimer);
      pingTimer = setInterval(() => (Date.now() - lastFrame > 60000 ? drop(false) : send({ type: "ping" })), 25000);
      break;
    }
    case "ack": {
      const cid = f.ref; clearTimeout(ackTimers.get(cid)); ackTimers.delete(cid);
      if (S.outbox[cid]) {
        // stored; its message event follows or came
        const el = bubbles.get(cid); delete S.outbox[cid]; save(); if (el) setState(el, "sent", cid);
      }
      settle(cid);
      break;
    }
    case "error": {
      const cid = f.ref;
      if (f.code === "bad_token") return restart(S.outbox);
      if (f.code === "rate_limited") { retryAfter = Math.max(1, Number(f.retry_after_s) || 60); if (!ready) return limited(); }
      if (cid && S.outbox[cid]) { clearTimeout(ackTimers.get(cid)); fail(cid); }
      const p = cid && settle(cid);
      if (p) {
        const box = p.frame.type === "create_ticket" ? $.tErr : p.frame.type === "csat" ? $.cErr : null;
        if (box) box.textContent = f.message || f.code; else notice(f.message || f.code);
      } else if (f.code === "rate_limited") notice(t("fast"));
      break;
    }
    case "history": {
      // a click in the earlier list; act() kept the button
      const p = settle(f.ref); if (p && Array.isArray(f.events)) showPast(f.events, p.btn.textContent);
      break;
    }
    case "queue":
      queueInfo = f; if (status === "queued") refresh(); break;
    case "typing":
      showTyping(f); break;
    case "followup":
      S.fu = f.email; save(); break;
    default:
  }
}

// ---- boot: render the cache at once, then resume from the last seq
if (S.conv) {
  $.log.setAttribute("aria-busy", "true");
  for (const ev of ordered()) apply(ev, false);
  for (const cid in S.outbox) if (bubbles.has(cid)) delete S.outbox[cid];
  for (const cid in S.outbox) pendingBubble(cid, S.outbox[cid]); $.log.removeAttribute("aria-busy");
  S.seq = Math.max(S.seq || 0, ...S.events.map((e) => e.seq));
} else if (S.events.length) S.events = [];
refresh();
addEventListener("online", () => {
  if (!ws) { attempt = 0; connect(); }
});
const mount = () => {
  document.body.append(host); let open = "";
  try { open = sessionStorage.getItem(KEY + ":open"); } catch (e) {}
  if (open || LINK) toggle(true); else if (S.token) connect();
};
if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
window.chatdWidget = { open: () => toggle(true), close: () => toggle(false) };
};
// Intl in the customer's own variant of the language (en-US, es-MX) where the browser names one
const intl = (tags) => { try { return Intl.NumberFormat.supportedLocalesOf(tags)[0]; } catch (e) { return ""; } };
const go = (s) => {
  if (go.done) return; go.done = 1; if (s) L = Object.assign({}, EN, s);
  LOC = L === EN ? "en" : LANG; LOC = intl(WANT.filter((l) => pick(l) === pick(LOC))) || LOC; NUM = new Intl.NumberFormat(LOC, { useGrouping: false });
  start();
};
if (LANG === "en") go();
else {
  window.__chatdL10n = go; setTimeout(go, 6000); // unreachable: English rather than nothing
  document.head.append(Object.assign(document.createElement("script"), { src: SERVER + "/static/widget-l10n-" + LANG + ".js", onerror: () => go() }));
}
})();
