// Attachments on the staff pages (/console, /ops): inline thumbnails, a full-size viewer, download,
// and upload with progress. Thumbnails use signed links (GET <url>/link): an <img> cannot send the
// Authorization header, and the pages' CSP allows images from 'self' only (no blob: URLs).
import { downloadAuthed, fill, h, humanSize } from "./common.js";
import { tr } from "./l10n.js";

export { humanSize }; // the console imports it from here

const links = new Map(); // attachment id -> {url, expires}

export const isImage = (att) => /^image\/(png|jpeg|gif|webp)/.test((att && att.content_type) || "");

async function signedUrl(token, att) {
  const hit = links.get(att.id);
  if (hit && hit.expires - 60 > Date.now() / 1000) return hit.url;
  const res = await fetch(`${att.url}/link`, { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const d = await res.json();
  links.set(att.id, { url: d.url, expires: d.expires_at });
  return d.url;
}

/** One attachment: a thumbnail that opens full size (images) or a file row, with its download. */
export function attachmentNode(token, att) {
  const name = att.name || tr("file");
  const meta = h("span", { class: "att-meta", text: `${name} · ${humanSize(att.size)}` });
  const dl = h("button", {
    class: "link att-dl",
    text: tr("Download"),
    "aria-label": tr("Download {name}", { name }),
    onclick: () => downloadAuthed(token, att.url, name),
  });
  if (!isImage(att)) {
    return h("div", { class: "att att-file" }, h("span", { class: "att-icon", "aria-hidden": "true", text: att.content_type === "application/pdf" ? "PDF" : "TXT" }), meta, dl);
  }
  const img = h("img", { class: "att-thumb", alt: name });
  signedUrl(token, att)
    .then((u) => (img.src = u))
    .catch(() => (img.alt = tr("{name} (could not load)", { name })));
  const open = h("button", { class: "att-open", "aria-label": tr("Open {name} full size", { name }), onclick: () => openViewer(token, att) }, img);
  return h("div", { class: "att att-image" }, open, h("div", { class: "att-row" }, meta, dl));
}

/** The full-size viewer: a modal dialog (Esc or Close shuts it, focus returns to the thumbnail). */
export async function openViewer(token, att) {
  let dlg = document.getElementById("att-viewer");
  if (!dlg) {
    dlg = h("dialog", { id: "att-viewer", class: "att-viewer", "aria-label": tr("Attachment") });
    dlg.addEventListener("click", (e) => e.target === dlg && dlg.close());
    document.body.append(dlg);
  }
  const img = h("img", { class: "att-full", alt: att.name || tr("Attachment") });
  fill(
    dlg,
    h(
      "div",
      { class: "att-viewer-bar" },
      h("span", { class: "att-meta", text: `${att.name} · ${humanSize(att.size)}` }),
      h("button", { class: "btn", text: tr("Download"), onclick: () => downloadAuthed(token, att.url, att.name) }),
      h("button", { class: "btn", text: tr("Close"), onclick: () => dlg.close() }),
    ),
    img,
  );
  dlg.showModal();
  img.src = await signedUrl(token, att);
}

/** POST a file (multipart, with a cid so a retry stores it once); onProgress(0..1). */
export function uploadFile(token, convId, file, cid, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/conversations/${encodeURIComponent(convId)}/attachments`);
    xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let d = null;
      try {
        d = JSON.parse(xhr.responseText);
      } catch {
        d = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && d) resolve(d.attachment);
      else reject(new Error((d && d.error && d.error.message) || `HTTP ${xhr.status}`));
    };
    xhr.onerror = () => reject(new Error(tr("network error")));
    const form = new FormData();
    form.append("cid", cid);
    form.append("file", file, file.name || "file");
    xhr.send(form);
  });
}
