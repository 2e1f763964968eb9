// chatd /ops: the audit trail (GET /api/audit): who signed in, read a transcript, exported,
// created or removed an account, erased data. Filter by who, what and when; export as CSV.
import { $, api, fill, h, stamp } from "./common.js";
import { N_, tr, trn } from "./l10n.js";

export const ACTIONS = {
  login: N_("Signed in"),
  login_failed: N_("Failed sign-in"),
  logout: N_("Signed out"),
  "transcript.read": N_("Read a transcript"),
  export: N_("Exported"),
  "account.created": N_("Account created"),
  "account.removed": N_("Account removed"),
  "password.set": N_("Password set"),
  "totp.enrolled": N_("Two-factor enrolled"),
  "token.created": N_("Integration token created"),
  "token.revoked": N_("Integration token revoked"),
  "message.posted": N_("Integration posted a message"),
  "attachment.read": N_("Opened an attachment"),
  erasure: N_("Erased data"),
  "delivery.retried": N_("Retried a delivery"),
  "delivery.dropped": N_("Gave up on a delivery"),
};

/** Why a sign-in failed, in words (the target of a login_failed entry). */
const FAILURES = { bad_credentials: N_("wrong password or unknown name"), bad_otp: N_("wrong or reused code") };

let entries = [];

function dayStart(value, plusDays = 0) {
  if (!value) return null;
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays).getTime() / 1000; // local midnight, as the picker shows
}

export async function loadAudit(token) {
  const form = $("#audit-filters");
  const q = new URLSearchParams({ limit: "1000" });
  const actor = form.actor.value.trim();
  if (actor) q.set("actor", actor);
  if (form.action.value) q.set("action", form.action.value);
  const since = dayStart(form.since.value);
  const until = dayStart(form.until.value, 1);
  if (since != null) q.set("since", String(since));
  if (until != null) q.set("until", String(until));
  const msg = $("#audit-msg");
  msg.textContent = tr("Loading…");
  try {
    entries = (await api(token, `/api/audit?${q}`)).entries || [];
  } catch (e) {
    msg.textContent = tr("Could not load the audit trail: {error}", { error: e.message });
    return;
  }
  msg.textContent = !entries.length
    ? tr("Nothing matches.")
    : entries.length === 1000
      ? tr("The newest {n} entries (there are more), newest first.", { n: 1000 })
      : trn(entries.length, "{n} entry.", "{n} entries, newest first.");
  fill(
    $("#audit-table tbody"),
    ...entries.map((e) =>
      h(
        "tr",
        { class: e.action === "login_failed" ? "warn" : "" },
        h("td", { text: stamp(e.ts) }),
        h("td", { text: e.actor }),
        h("td", { text: ACTIONS[e.action] ? tr(ACTIONS[e.action]) : e.action }),
        e.action === "login_failed"
          ? h("td", { text: FAILURES[e.target] ? tr(FAILURES[e.target]) : e.target || "—" })
          : h("td", { class: "mono", text: e.target || "—" }),
        h("td", { class: "mono", text: e.ip || "—" }),
      ),
    ),
  );
}

function csvCell(value) {
  let v = String(value ?? "");
  if (/^[=+\-@\t\r]/.test(v)) v = `'${v}`; // a spreadsheet must not run it as a formula
  return /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

export function exportAudit() {
  const rows = [["time", "actor", "action", "target", "ip"]];
  for (const e of entries) rows.push([new Date(e.ts * 1000).toISOString(), e.actor, e.action, e.target, e.ip]);
  const text = "\ufeff" + rows.map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const a = h("a", { href: url, download: `chatd-audit-${new Date().toISOString().slice(0, 10)}.csv` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function wireAudit(getToken) {
  const select = $("#audit-filters").action;
  for (const [value, label] of Object.entries(ACTIONS)) select.append(h("option", { value, text: tr(label) }));
  $("#audit-filters").addEventListener("submit", (e) => {
    e.preventDefault();
    loadAudit(getToken());
  });
  $("#audit-filters").addEventListener("reset", () => setTimeout(() => loadAudit(getToken()), 0));
  $("#audit-export").addEventListener("click", exportAudit);
}
