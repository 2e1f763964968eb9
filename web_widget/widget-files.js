/* chatd widget, fetched at first use by widget.js (whose size every host page pays): files the
 * customer sends (paperclip, paste, drag and drop; a progress bar; retry with the same cid, stored
 * once), previews of files in the chat (thumbnails that open full size; other files download), and
 * the transcript download. Before the first upload, a one-line reminder: staff never need a seed
 * phrase or private key, not even in a screenshot (chatd masks secrets in text, not in images).
 * Everything user-provided is rendered as text or as an <img> of a signed same-server url. */
(() => {
"use strict";
const init = (C) => {
  const { h, t, st, $, w, root, SERVER, fmtTime, scrollDown } = C;
  // the customer's language: its widget-l10n-<locale>.js carries these as "files"; English here
  const STR = Object.assign({
    remind: "Reminder: our staff never need your seed phrase or private key, not even in a screenshot.",
    go: "Continue", cancel: "Cancel", up: "Uploading {name}", failed: "Not sent", retry: "Retry",
    open: "Open {name} full size", dl: "Download {name}", too_large: "The file is too large.",
    unsupported_type: "This type of file can't be sent (images, PDF or text can).",
    quota_exceeded: "This chat holds as many files as it can.", rate_limited: "Too many uploads. Please wait a moment.",
    offline: "Not connected. Please try again in a moment.", close: "Close", file: "File",
    mailTo: "Your email address", mailSend: "Send", mailSent: "Sent to {to}. It can take a few minutes.",
    mailOff: "Email is not available here.", mailBad: "Please check the address.",
    mailLimit: "Too many requests. Please try again later.",
    mailNow: "Email me this chat now", mailAway: "Email me new replies if I leave",
    awaySet: "If you leave, new replies go to {to}.", awayOff: "No more replies by email.",
    mailPick: "Choose what to email you.",
  }, C.fs);
  const s = (k, v) => STR[k].replace(/\{(\w+)\}/g, (_, n) => v[n]);
  const IMG = /^image\/(png|jpeg|gif|webp)/;
  // sizes in the customer's language and digits (Intl units)
  const unit = (u, d) => new Intl.NumberFormat(w.lang, { style: "unit", unit: u, unitDisplay: "short", maximumFractionDigits: d });
  const size = (n) => (n < 1024 ? unit("byte", 0).format(n) : n < 1048576 ? unit("kilobyte", 0).format(n / 1024) : unit("megabyte", 1).format(n / 1048576));

  const sheet = `
.fb{display:flex;flex-direction:column;gap:6px;white-space:normal}
.fo{padding:0;border-radius:10px;background:none;cursor:zoom-in;line-height:0}
.fo img{max-width:220px;max-height:180px;border-radius:10px;display:block;background:#fff}
.fn{font-size:12.5px;overflow-wrap:anywhere}
.fd{text-decoration:underline;font-weight:600;color:inherit;text-align:start;padding:0}
.fb progress{width:100%;height:6px;accent-color:var(--c)}
.fr{display:flex;flex-direction:column;gap:8px;margin:8px 12px;padding:10px 12px;border-radius:10px;background:#fff4e5;color:#7a4100;font-size:13px}
.fv{border:0;padding:8px;border-radius:12px;max-width:94%;max-height:94%;background:#fff}
.fv::backdrop{background:#000a}
.fv img{display:block;max-width:100%;max-height:calc(90vh - 60px);margin:0 auto}
.fv .row{justify-content:flex-end;margin-bottom:6px}
.mc .ck{flex-direction:row;align-items:center;gap:8px}
.mc .ck input{width:auto;margin:0;accent-color:var(--c)}`;
  try {
    const css = new CSSStyleSheet(); css.replaceSync(sheet); root.adoptedStyleSheets = [...root.adoptedStyleSheets, css];
  } catch (e) { root.append(h("style", { text: sheet })); }

  const links = new Map(); // attachment id -> {url, exp}: signed links for <img src> and downloads
  async function signed(att) {
    const hit = links.get(att.id);
    if (hit && hit.exp - 60 > Date.now() / 1000) return hit.url;
    const r = await fetch(SERVER + att.url + "/link", { headers: { Authorization: "Bearer " + st().token } });
    if (!r.ok) throw new Error(r.status);
    const d = await r.json(); links.set(att.id, { url: SERVER + d.url, exp: d.expires_at });
    return SERVER + d.url;
  }
  let viewer = null;
  async function openFull(att, from) {
    if (!viewer) {
      viewer = h("dialog.fv", { "aria-label": att.name });
      viewer.addEventListener("click", (e) => e.target === viewer && viewer.close());
      viewer.addEventListener("close", () => viewer.from && viewer.from.focus());
      // Esc closes the picture, not the whole chat (widget.js minimizes on Esc)
      viewer.addEventListener("keydown", (e) => e.key === "Escape" && e.stopPropagation());
      w.append(viewer);
    }
    const img = h("img", { alt: att.name });
    viewer.replaceChildren(h("div.row", {}, h("a.btn.sec", { href: "#", text: s("dl", { name: "" }).trim(), onclick: (e) => { e.preventDefault(); save(att); } }),
      h("button.btn.sec", { text: STR.close, onclick: () => viewer.close() })), img);
    viewer.from = from; viewer.setAttribute("aria-label", att.name); viewer.showModal();
    img.src = await signed(att);
  }
  async function save(att) {
    // Content-Disposition names the file; a cross-origin page cannot force the name itself
    const a = h("a", { href: await signed(att), download: att.name, target: "_blank", rel: "noopener", hidden: true });
    w.append(a); a.click(); a.remove();
  }
  // a stored attachment, in the bubble widget.js made for its event
  function show([el, ev]) {
    const att = ev.attachment || {}, b = el.querySelector(".b"), mine = pending.get(ev.cid);
    if (mine) { mine.el.remove(); pending.delete(ev.cid); }
    if (ev.author === "customer") el.querySelector(".st").textContent = "· " + t("sent");
    b.className = "b fb";
    if (IMG.test(att.content_type || "")) {
      const img = h("img", { alt: att.name || STR.file });
      const btn = h("button.fo", { "aria-label": s("open", { name: att.name }), onclick: () => openFull(att, btn) }, img);
      b.replaceChildren(btn);
      signed(att).then((u) => { img.src = u; img.onload = () => scrollDown(); }, () => (img.alt = att.name + " (" + STR.failed + ")"));
    } else {
      b.replaceChildren(h("button.fd", { text: att.name || STR.file, "aria-label": s("dl", { name: att.name }), onclick: () => save(att) }));
    }
    b.append(h("span.fn", { text: (att.name || "") + " · " + size(att.size || 0) }));
  }

  // ---- sending
  const pending = new Map(); // cid -> {file, el, bar}
  let input = null, reminded = false, gate = null;
  try { reminded = !!localStorage.getItem("chatd:reminded"); } catch (e) {}
  // the first upload waits for the reminder to be read: Continue goes on, Cancel drops it
  function remind(go) {
    if (reminded) return go();
    if (gate) gate.remove();
    const ok = h("button.btn", { text: STR.go, onclick: () => { reminded = true; try { localStorage.setItem("chatd:reminded", "1"); } catch (e) {} gate.remove(); gate = null; go(); } });
    gate = h("div.fr", { role: "alert" }, h("span", { text: STR.remind }),
      h("div.row", {}, ok, h("button.btn.sec", { text: STR.cancel, onclick: () => { gate.remove(); gate = null; $.input.focus(); } })));
    $.log.append(gate); scrollDown(true); ok.focus();
  }
  function pick() {
    remind(() => {
      if (!input) {
        input = h("input", { type: "file", multiple: true, hidden: true, accept: "image/png,image/jpeg,image/webp,image/gif,application/pdf,text/plain" });
        input.onchange = () => { send(input.files); input.value = ""; };
        w.append(input);
      }
      input.click();
    });
  }
  const add = (files) => files && files.length && remind(() => send(files));
  function send(files) {
    for (const file of [...files]) {
      const cid = (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2));
      const bar = h("progress", { max: "1", value: "0", "aria-label": s("up", { name: file.name }) });
      const meta = h("div.meta", {}, h("time", { text: fmtTime() }), h("span.st", { text: "· " + t("sending") }));
      const el = h("div.m.me", {}, h("div.b.fb", {}, h("span.fn", { text: file.name + " · " + size(file.size) }), bar), meta);
      $.log.append(el); pending.set(cid, { file, el, bar, meta }); scrollDown(true); upload(cid);
    }
  }
  // POST the file; a retry sends the same cid, so the server stores it once
  function upload(cid) {
    const p = pending.get(cid), S = st(); if (!p) return;
    p.el.classList.remove("fail"); p.bar.hidden = false; p.bar.value = 0;
    p.meta.replaceChildren(h("time", { text: fmtTime() }), h("span.st", { text: "· " + t("sending") }));
    const failed = (msg) => {
      p.el.classList.add("fail"); p.bar.hidden = true;
      p.meta.replaceChildren(h("span.st", { text: STR.failed + (msg ? ": " + msg : "") }), h("button.rt", { text: STR.retry, onclick: () => upload(cid) }));
    };
    if (!S.token || !S.conv) return failed(STR.offline);
    const x = new XMLHttpRequest();
    x.open("POST", SERVER + "/api/conversations/" + encodeURIComponent(S.conv) + "/attachments");
    x.setRequestHeader("Authorization", "Bearer " + S.token);
    x.upload.onprogress = (e) => e.lengthComputable && (p.bar.value = e.loaded / e.total);
    x.onload = () => {
      if (x.status < 300) { p.bar.value = 1; return; } // its attachment event replaces this bubble
      let code = ""; try { code = JSON.parse(x.responseText).error.code; } catch (e) {}
      failed(/^(too_large|unsupported_type|quota_exceeded|rate_limited)$/.test(code) ? STR[code] : "");
    };
    x.onerror = () => failed(STR.offline);
    const form = new FormData(); form.append("cid", cid); form.append("file", p.file, p.file.name || STR.file);
    x.send(form);
  }

  // transcript: a text file of the events we hold (files as their name and size)
  function transcript() {
    const S = st(), { ordered, evLine, richText } = C;
    // local time as in the chat ("sv": 2026-12-02 23:51:07)
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone + ", " + new Date().toLocaleString("sv", { timeZoneName: "shortOffset" }).split(" ")[2];
    const lines = [t("title") + " · " + (S.conv || ""), t("tz", { z: zone }), ""];
    for (const ev of ordered()) {
      const at = `[${new Date((ev.ts || 0) * 1000).toLocaleString("sv")}]`, who = ev.author, line = evLine(ev);
      const a = ev.type === "attachment" && ev.attachment;
      const text = a ? `[${STR.file}] ${a.name} (${size(a.size || 0)})` : richText(String(ev.text || "")).textContent;
      if (line) lines.push(`${at} — ${line}`);
      if (text && /^(message|ticket_reply|ticket_created|attachment)$/.test(ev.type) && who !== "system") lines.push(`${at} ${who === "customer" ? t("you") : who === "bot" ? t("bot") : ev.author_name || t("agent")}: ${text}`);
    }
    for (const cid in S.outbox) lines.push(`[…] ${t("you")}: ${S.outbox[cid].text} (${t("failed")})`);
    const url = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], { type: "text/plain;charset=utf-8" }));
    const a = h("a", { href: url, download: "chat-transcript-" + (S.conv || "new").slice(0, 24) + ".txt", hidden: true });
    w.append(a); a.click(); a.remove(); setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
  // email: the transcript now (POST .../transcript) and/or new replies while away (PUT .../followup;
  // DELETE stops them); both with the resume token. later: opened from the queue card (replies).
  let mailCard = null;
  function mail(later) {
    const S = st();
    if (mailCard) { mailCard.remove(); mailCard = null; if (!later) return; }
    const to = h("input", { type: "email", required: true, autocomplete: "email", value: S.fu || "" });
    const now = h("input", { type: "checkbox", checked: !later });
    const away = h("input", { type: "checkbox", checked: !!(later || S.fu) });
    const say = h("p", { role: "status" });
    const go = h("button.btn", { type: "submit", text: STR.mailSend });
    const call = (path, method, email) => fetch(`${SERVER}/api/conversations/${encodeURIComponent(S.conv)}/${path}`, {
      method, headers: { "Content-Type": "application/json", Authorization: "Bearer " + S.token },
      body: email ? JSON.stringify({ email }) : undefined,
    });
    mailCard = h("form.card.mc", {
      onsubmit: (e) => {
        e.preventDefault(); if (!S.conv || !S.token) { say.textContent = STR.offline; return; }
        const email = to.value.trim(), jobs = [], done = [];
        if (now.checked) { jobs.push(call("transcript", "POST", email)); done.push(s("mailSent", { to: email })); }
        if (away.checked) { jobs.push(call("followup", "PUT", email)); done.push(s("awaySet", { to: email })); }
        else if (S.fu) { jobs.push(call("followup", "DELETE")); done.push(STR.awayOff); }
        if (!jobs.length) { say.textContent = STR.mailPick; return; }
        go.disabled = true;
        Promise.all(jobs).then((rs) => {
          const bad = rs.find((r) => !r.ok);
          say.textContent = bad ? STR[{ 400: "mailBad", 409: "mailOff", 429: "mailLimit" }[bad.status] || "offline"] : done.join(" ");
        }, () => (say.textContent = STR.offline)).finally(() => (go.disabled = false));
      },
    }, h("label", {}, STR.mailTo, to), h("label.ck", {}, now, STR.mailNow), h("label.ck", {}, away, STR.mailAway),
    h("div.row", {}, go, h("button.btn.sec", { type: "button", text: STR.close, onclick: () => mail() })), say);
    $.dock.prepend(mailCard); to.focus();
  }
  return { show, pick, add, transcript, mail };
};
if (window.__chatdFiles) window.__chatdFiles(init);
})();
