// chatd /ops: emails and webhook calls that keep failing (GET /api/deliveries?state=failing),
// each still retried with backoff; an operator can try one again now, or give up on it (a
// receiver removed from the configuration).
import { $, api, fill, h, stamp } from "./common.js";
import { N_, tr, trn } from "./l10n.js";

const CHANNELS = { email: N_("Email"), webhook: N_("Webhook") };

export async function loadDeliveries(token) {
  const msg = $("#deliveries-msg");
  msg.textContent = tr("Loading…");
  let items;
  try {
    items = (await api(token, "/api/deliveries?state=failing&limit=200")).deliveries || [];
  } catch (e) {
    msg.textContent = tr("Could not load deliveries: {error}", { error: e.message });
    return;
  }
  msg.textContent = items.length
    ? trn(items.length, "{n} delivery keeps failing; it is retried with backoff until accepted.", "{n} deliveries keep failing; each is retried with backoff until accepted.")
    : tr("Nothing is failing: every email and webhook call was accepted.");
  fill(
    $("#deliveries-table tbody"),
    ...items.map((d) => {
      const retry = h("button", { type: "button", class: "btn", text: tr("Retry now") });
      retry.addEventListener("click", async () => {
        retry.disabled = true;
        try {
          await api(token, `/api/deliveries/${d.id}/retry`, { method: "POST" });
          retry.textContent = tr("Queued for a retry");
        } catch (e) {
          retry.textContent = e.status === 404 ? tr("Delivered already") : tr("Failed");
        }
      });
      const drop = h("button", { type: "button", class: "btn sec", text: tr("Give up") });
      drop.addEventListener("click", async () => {
        if (!confirm(tr("Give up on this delivery to {receiver}? It will not be sent again.", { receiver: d.receiver }))) return;
        drop.disabled = retry.disabled = true;
        try {
          await api(token, `/api/deliveries/${d.id}`, { method: "DELETE" });
          drop.textContent = tr("Given up");
        } catch (e) {
          drop.textContent = e.status === 404 ? tr("Delivered already") : tr("Failed");
        }
      });
      return h(
        "tr",
        {},
        h("td", { text: stamp(d.created_at) }),
        h("td", { text: CHANNELS[d.channel] ? tr(CHANNELS[d.channel]) : d.channel }),
        h("td", { class: "mono", text: d.receiver }),
        h("td", { text: d.type }),
        h("td", { text: String(d.attempts) }),
        h("td", { class: "mono", text: d.last_error || "—" }),
        h("td", { text: d.next_attempt_at ? stamp(d.next_attempt_at) : "—" }),
        h("td", { class: "acts" }, retry, drop),
      );
    }),
  );
}

export function wireDeliveries(getToken) {
  $("#deliveries-refresh").addEventListener("click", () => loadDeliveries(getToken()));
}
