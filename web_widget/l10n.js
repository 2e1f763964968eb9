// The staff pages (console, /ops) in the staff member's language (ES module, imports nothing).
// ui-l10n-<locale>.js maps English texts to translations; loaded on demand, it translates the
// page's text and labels (aria-label, title, placeholder) as they appear, and tr() the texts the
// scripts build. What a locale file lacks stays English. Customer content is never translated:
// message bubbles and anything marked translate="no". Locale: the header picker's choice, else
// the browser's languages; Arabic right to left; dates and numbers through Intl in that locale.
//
// Texts the scripts assemble are templates with named placeholders, never concatenations (word
// order differs between languages):
//   tr("New chat assigned: {name}", { name })
// The dictionary key is the English template, placeholders included; a translation carries the
// same placeholders in its own order (tests/unit/test_web_locales.py checks both). Values are
// inserted as text (numbers through Intl in the page's locale), never looked up themselves.
// Counts: trn(n, "{n} rating", "{n} ratings", vars) — English picks the singular for one. A locale
// file translates the plural (other) form as the key "{n} ratings"; a language with more forms adds
// the Intl.PluralRules categories it needs as "{n} ratings|one", "|few", "|many", "|two", "|zero"
// (Russian: one/few/many; Arabic: zero/one/two/few/many); a missing category falls back to the key.
// N_(text) marks a fixed text kept in a table (translated later with tr(table[key])), so the
// test finds every key the code uses: it scans the scripts for tr, trn and N_ calls on string literals.

/** The shipped locales, named in their own language (for the picker). */
export const LOCALES = {
  en: "English", "zh-CN": "简体中文", "zh-TW": "繁體中文", ja: "日本語", ko: "한국어", ru: "Русский",
  es: "Español", "pt-BR": "Português (Brasil)", tr: "Türkçe", vi: "Tiếng Việt", id: "Bahasa Indonesia", ar: "العربية",
};
const KEY = "chatd:ui-locale";
const ATTRS = ["aria-label", "title", "placeholder"];
// what customers and staff wrote: message bubbles (console), transcript lines and subjects (/ops),
// chat-list previews and names
const SKIP = '[translate="no"], .bubble, .e-text, .subject, .ci-last, .ci-name';

/** A language tag -> a shipped locale, or "" (zh-TW/HK/MO/Hant -> zh-TW, zh -> zh-CN, pt -> pt-BR). */
export function pickLocale(tag) {
  const l = String(tag || "").toLowerCase(), b = l.split(/[-_]/)[0];
  if (/^zh[-_](tw|hk|mo|hant)/.test(l)) return "zh-TW";
  if (b === "zh") return "zh-CN";
  if (b === "pt") return "pt-BR";
  return b in LOCALES ? b : "";
}

let dict = {};
let intl = "en";

/** {name} placeholders -> values (numbers formatted for the page's locale); unknown ones stay. */
function fillIn(template, vars) {
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (all, k) => {
    if (!(k in vars) || vars[k] == null) return all;
    const v = vars[k];
    return typeof v === "number" ? new Intl.NumberFormat(intl).format(v) : String(v);
  });
}

/** The English text (or template, filled with vars) in the page's language; English when untranslated. */
export const tr = (text, vars) => fillIn(dict[text] || text, vars);

/** A count in words: trn(3, "{n} rating", "{n} ratings") (see the top of this file for the keys). */
export function trn(n, one, other, vars) {
  const all = { ...vars, n };
  if (!Object.keys(dict).length) return fillIn(n === 1 ? one : other, all);
  let cat = "other";
  try { cat = new Intl.PluralRules(intl).select(n); } catch (e) { /* old browser: the plain form */ }
  return fillIn(dict[`${other}|${cat}`] || dict[other] || (n === 1 ? one : other), all);
}

/** Marks a fixed text for the key scan; translate it where it is shown, with tr(). */
export const N_ = (text) => text;

/** The Intl locale for dates and numbers: the browser's own variant of the page's language. */
export const intlLocale = () => intl;

function wanted() {
  let saved = "";
  try { saved = localStorage.getItem(KEY) || ""; } catch (e) { /* storage blocked */ }
  return [saved, ...(navigator.languages || [navigator.language])].filter(pickLocale);
}

function translateAttrs(el) {
  for (const a of ATTRS) {
    const v = el.getAttribute(a), t = v && dict[v.trim()];
    if (t && t !== v) el.setAttribute(a, t);
  }
}

function translateText(node) {
  const p = node.parentElement, s = node.data.trim(), t = s && dict[s];
  // a textarea's text is what someone typed; its placeholder is translated (translateAttrs)
  // a text its own translation ("VIP") is left alone: writing it again would notify the observer forever
  if (t && t !== s && p && p.tagName !== "TEXTAREA" && !p.closest(SKIP)) node.data = node.data.replace(s, t);
}

function translateTree(root) {
  if (root.nodeType === Node.TEXT_NODE) return translateText(root);
  if (root.nodeType !== Node.ELEMENT_NODE || root.closest(SKIP)) return;
  translateAttrs(root);
  const walk = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (n.nodeType === Node.ELEMENT_NODE && n.matches(SKIP) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  for (let n = walk.nextNode(); n; n = walk.nextNode()) n.nodeType === Node.TEXT_NODE ? translateText(n) : translateAttrs(n);
}

/** Choose the locale, load its file (English: nothing to load), translate the page as it is and as it changes. */
export async function startL10n() {
  const want = wanted();
  let locale = pickLocale(want[0]) || "en", dir = "ltr";
  if (locale !== "en") {
    try {
      const mod = await import(`./ui-l10n-${locale}.js`);
      dict = mod.default; dir = mod.dir || "ltr";
    } catch (e) {
      locale = "en"; // unreachable: English rather than nothing
    }
  }
  try { intl = Intl.NumberFormat.supportedLocalesOf(want.filter((l) => pickLocale(l) === locale))[0] || locale; } catch (e) { intl = locale; }
  const html = document.documentElement;
  html.lang = intl; html.dir = dir;
  if (locale === "en") return locale;
  document.title = document.title.split(" · ").map(tr).join(" · ");
  translateTree(document.body);
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "childList") r.addedNodes.forEach(translateTree);
      else if (r.type === "attributes") { if (!r.target.closest(SKIP)) translateAttrs(r.target); }
      else translateText(r.target);
    }
  }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ATTRS });
  return locale;
}

/** The language picker for a page's header: the choice is kept in this browser, the page reloads in it. */
export function localePicker() {
  const sel = document.createElement("select");
  sel.className = "locale-pick"; sel.setAttribute("aria-label", tr("Language")); sel.setAttribute("translate", "no");
  const current = pickLocale(wanted()[0]) || "en";
  for (const [code, name] of Object.entries(LOCALES)) {
    const o = document.createElement("option");
    o.value = code; o.textContent = name; o.lang = code; o.selected = code === current; sel.append(o);
  }
  sel.addEventListener("change", () => {
    try { localStorage.setItem(KEY, sel.value); } catch (e) { /* storage blocked: this page only */ }
    location.reload();
  });
  return sel;
}
