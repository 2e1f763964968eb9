// chatd /ops: emails and webhook calls that keep failing (GET /api/deliveries?state=failing),
// each still retried with backoff; an operator can try one again now.
import { $, api, fill, h, stamp } from "./common.js";

const CHANNELS = { email: "Email", webhook: "Webhook" };

export async function loadDeliveries(token) {
  const msg = $("#deliveries-msg");
  msg.textContent = "Loading…";
  let items;
  try {
    items = (await api(token, "/api/deliveries?state=failing&limit=200")).deliveries || [];
  } catch (e) {
    msg.textContent = `Could not load deliveries: ${e.message}`;
    return;
  }
  msg.textContent = items.length
    ? `${items.length} ${items.length === 1 ? "delivery keeps" : "deliveries keep"} failing; each is retried with backoff until accepted.`
    : "Nothing is failing: every email and webhook call was accepted.";
  fill(
    $("#deliveries-table tbody"),
    ...items.map((d) => {
      const retry = h("button", { type: "button", class: "btn", text: "Retry now" });
      retry.addEventListener("click", async () => {
        retry.disabled = true;
        try {
          await api(token, `/api/deliveries/${d.id}/retry`, { method: "POST" });
          retry.textContent = "Queued";
        } catch (e) {
          retry.textContent = e.status === 404 ? "Delivered already" : "Failed";
        }
      });
      return h(
        "tr",
        {},
        h("td", { text: stamp(d.created_at) }),
        h("td", { text: CHANNELS[d.channel] || d.channel }),
        h("td", { class: "mono", text: d.receiver }),
        h("td", { text: d.type }),
        h("td", { text: String(d.attempts) }),
        h("td", { class: "mono", text: d.last_error || "—" }),
        h("td", { text: d.next_attempt_at ? stamp(d.next_attempt_at) : "—" }),
        h("td", {}, retry),
      );
    }),
  );
}

export function wireDeliveries(getToken) {
  $("#deliveries-refresh").addEventListener("click", () => loadDeliveries(getToken()));
}
