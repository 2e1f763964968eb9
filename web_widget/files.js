// Attachments on the staff pages (/console, /ops): inline thumbnails, a full-size viewer, download,
// and upload with progress. Thumbnails use signed links (GET <url>/link): an <img> cannot send the
// Authorization header, and the pages' CSP allows images from 'self' only (no blob: URLs).
import { downloadAuthed, fill, h } from "./common.js";

const links = new Map(); // attachment id -> {url, expires}

export function humanSize(n) {
  const b = Number(n) || 0;
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(b < 10240 ? 1 : 0)} KB`;
  return `${(b / 1048576).toFixed(1)} MB`;
}

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
  const name = att.name || "file";
  const meta = h("span", { class: "att-meta", text: `${name} · ${humanSize(att.size)}` });
  const dl = h("button", {
    class: "link att-dl",
    text: "Download",
    "aria-label": `Download ${name}`,
    onclick: () => downloadAuthed(token, att.url, name),
  });
  if (!isImage(att)) {
    return h("div", { class: "att att-file" }, h("span", { class: "att-icon", "aria-hidden": "true", text: att.content_type === "application/pdf" ? "PDF" : "TXT" }), meta, dl);
  }
  const img = h("img", { class: "att-thumb", alt: name });
  signedUrl(token, att)
    .then((u) => (img.src = u))
    .catch(() => (img.alt = `${name} (could not load)`));
  const open = h("button", { class: "att-open", "aria-label": `Open ${name} full size`, onclick: () => openViewer(token, att) }, img);
  return h("div", { class: "att att-image" }, open, h("div", { class: "att-row" }, meta, dl));
}

/** The full-size viewer: a modal dialog (Esc or Close shuts it, focus returns to the thumbnail). */
export async function openViewer(token, att) {
  let dlg = document.getElementById("att-viewer");
  if (!dlg) {
    dlg = h("dialog", { id: "att-viewer", class: "att-viewer", "aria-label": "Attachment" });
    dlg.addEventListener("click", (e) => e.target === dlg && dlg.close());
    document.body.append(dlg);
  }
  const img = h("img", { class: "att-full", alt: att.name || "attachment" });
  fill(
    dlg,
    h(
      "div",
      { class: "att-viewer-bar" },
      h("span", { class: "att-meta", text: `${att.name} · ${humanSize(att.size)}` }),
      h("button", { class: "btn", text: "Download", onclick: () => downloadAuthed(token, att.url, att.name) }),
      h("button", { class: "btn", text: "Close", onclick: () => dlg.close() }),
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
    xhr.onerror = () => reject(new Error("network error"));
    const form = new FormData();
    form.append("cid", cid);
    form.append("file", file, file.name || "file");
    xhr.send(form);
  });
}
