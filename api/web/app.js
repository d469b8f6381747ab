// archivist's web page: ask the archive, read the cited page, list the documents.
// Plain JavaScript, no build step. The API key lives in sessionStorage only (gone when the tab
// closes); the interface language is remembered in localStorage.
"use strict";

const TEXT = {
  en: {
    "nav.ask": "Ask", "nav.documents": "Documents", "nav.api": "API",
    "lang.label": "Language", "key.label": "API key", "key.placeholder": "not needed on localhost",
    "key.save": "Use", "key.forget": "Forget", "key.set": "key set for this tab",
    "key.none": "no key", "key.needed": "This server wants an API key: enter it above.",
    "ask.placeholder": "Ask a question about the archive…", "ask.submit": "Ask",
    "ask.asking": "Searching the archive…", "ask.writing": "Writing the answer…",
    "ask.done": "Answered by {backend}.", "backend.offline": "the built-in extractive answerer (offline)", "ask.notFound": "The archive holds no evidence for this.",
    "filter.from": "From", "filter.to": "To", "filter.language": "Language",
    "filter.collection": "Collection", "filter.any": "any",
    "cite.page": "p. {page}", "cite.show": "Show the cited page",
    "viewer.loading": "loading the page…", "viewer.failed": "The page image could not be loaded: {why}",
    "docs.status": "Status", "docs.prev": "Previous", "docs.next": "Next", "docs.title": "Title",
    "docs.date": "Date", "docs.pages": "Pages", "docs.statusCol": "Status",
    "docs.reason": "Failure reason", "docs.range": "{from}–{to} of {total}", "docs.empty": "No documents.",
    "error": "Error: {why}",
  },
  fr: {
    "nav.ask": "Question", "nav.documents": "Documents", "nav.api": "API",
    "lang.label": "Langue", "key.label": "Clé d’API", "key.placeholder": "inutile en local",
    "key.save": "Utiliser", "key.forget": "Oublier", "key.set": "clé active pour cet onglet",
    "key.none": "pas de clé", "key.needed": "Ce serveur demande une clé d’API : saisissez-la en haut.",
    "ask.placeholder": "Posez une question sur les archives…", "ask.submit": "Demander",
    "ask.asking": "Recherche dans les archives…", "ask.writing": "Rédaction de la réponse…",
    "ask.done": "Réponse : {backend}.", "backend.offline": "extraits des documents (hors ligne)", "ask.notFound": "Les archives ne contiennent rien à ce sujet.",
    "filter.from": "Du", "filter.to": "Au", "filter.language": "Langue",
    "filter.collection": "Collection", "filter.any": "toutes",
    "cite.page": "p. {page}", "cite.show": "Afficher la page citée",
    "viewer.loading": "chargement de la page…", "viewer.failed": "L’image de la page n’a pas pu être chargée : {why}",
    "docs.status": "État", "docs.prev": "Précédents", "docs.next": "Suivants", "docs.title": "Titre",
    "docs.date": "Date", "docs.pages": "Pages", "docs.statusCol": "État",
    "docs.reason": "Cause de l’échec", "docs.range": "{from}–{to} sur {total}", "docs.empty": "Aucun document.",
    "error": "Erreur : {why}",
  },
};

const $ = (id) => document.getElementById(id);
const state = { lang: "en", citations: [], shown: null, docOffset: 0, docTotal: 0, imageUrl: null };
const DOC_PAGE = 20;

function t(key, vars = {}) {
  const text = (TEXT[state.lang] || TEXT.en)[key] || TEXT.en[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

function setLanguage(lang) {
  state.lang = TEXT[lang] ? lang : "en";
  localStorage.setItem("archivist.lang", state.lang);
  document.documentElement.lang = state.lang;
  $("ui-lang").value = state.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  showKeyState();
}

// --- the API key: sessionStorage only ---

function apiKey() { return sessionStorage.getItem("archivist.key") || ""; }

function headers(extra = {}) {
  const key = apiKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

function showKeyState() { $("key-state").textContent = apiKey() ? t("key.set") : t("key.none"); }

async function failure(response) {
  if (response.status === 401) return t("key.needed");
  try {
    const body = await response.json();
    return (body.error && body.error.message) || response.statusText;
  } catch (_) {
    return `${response.status} ${response.statusText}`;
  }
}

// --- asking: a streamed answer (server-sent events over fetch) ---

function filters() {
  const out = {};
  const pairs = [["date_from", "date-from"], ["date_to", "date-to"], ["language", "language"], ["collection", "collection"]];
  for (const [name, id] of pairs) {
    const value = $(id).value.trim();
    if (value) out[name] = value;
  }
  return Object.keys(out).length ? out : undefined;
}

async function ask(event) {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  $("ask-button").disabled = true;
  $("answer").textContent = "";
  $("citations").textContent = "";
  $("flagged").textContent = "";
  $("viewer").hidden = true;
  state.citations = [];
  setStatus(t("ask.asking"));
  try {
    const response = await fetch("v1/ask", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
      body: JSON.stringify({ question, stream: true, filters: filters() }),
    });
    if (!response.ok) throw new Error(await failure(response));
    await readEvents(response, onEvent);
  } catch (e) {
    setStatus(t("error", { why: e.message }), true);
  } finally {
    $("ask-button").disabled = false;
  }
}

async function readEvents(response, handle) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) handle(name, JSON.parse(data.join("\n")));
    }
  }
}

function onEvent(name, data) {
  if (name === "delta") {
    setStatus(t("ask.writing"));
    $("answer").append(data.text);
  } else if (name === "done") {
    showAnswer(data);
  } else if (name === "error") {
    setStatus(t("error", { why: data.error }), true);
  }
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function citeButton(n) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "cite";
  button.dataset.n = String(n);
  button.textContent = `[${n}]`;
  button.title = t("cite.show");
  button.addEventListener("click", () => showCitation(n));
  return button;
}

function showAnswer(body) {
  state.citations = (body.citations || []).slice().sort((a, b) => a.n - b.n);
  const known = new Set(state.citations.map((c) => c.n));
  const answer = $("answer");
  answer.textContent = "";
  let last = 0;
  for (const m of body.answer.matchAll(/\[(\d+)\]/g)) {
    const n = Number(m[1]);
    if (!known.has(n)) continue;
    answer.append(body.answer.slice(last, m.index), citeButton(n));
    last = m.index + m[0].length;
  }
  answer.append(body.answer.slice(last));
  $("flagged").textContent = (body.flagged || []).join(" ");
  const backend = TEXT.en[`backend.${body.backend}`] ? t(`backend.${body.backend}`) : body.backend;
  setStatus(body.found ? t("ask.done", { backend }) : t("ask.notFound"));
  const list = $("citations");
  for (const c of state.citations) {
    const item = document.createElement("li");
    item.dataset.n = String(c.n);
    const title = document.createElement("span");
    title.dir = "auto";
    title.textContent = c.title || c.source.split("/").pop();
    const where = document.createElement("span");
    where.className = "muted";
    where.textContent = ` ${t("cite.page", { page: pageOf(c) })}`;
    const quote = document.createElement("span");
    quote.className = "quote";
    quote.dir = "auto";
    quote.textContent = c.quote;
    item.append(citeButton(c.n), " ", title, where, quote);
    list.append(item);
  }
  if (state.citations.length) showCitation(state.citations[0].n);
}

function pageOf(c) {
  if (c.page_start != null) return c.page_start;
  return c.regions && c.regions.length ? c.regions[0].page : 1;
}

// --- the cited page, with the quoted lines highlighted ---

async function showCitation(n) {
  const c = state.citations.find((x) => x.n === n);
  if (!c) return;
  state.shown = n;
  for (const el of document.querySelectorAll(".cite, #citations li")) {
    el.classList.toggle("active", el.dataset.n === String(n));
  }
  const page = pageOf(c);
  $("viewer").hidden = false;
  $("viewer-title").textContent = c.title || c.source.split("/").pop();
  $("viewer-page").textContent = t("cite.page", { page });
  $("viewer-quote").textContent = c.quote;
  $("highlights").textContent = "";
  const img = $("page-image");
  img.alt = t("viewer.loading");
  if (!c.page_image) return;
  try {
    const response = await fetch(c.page_image, { headers: headers() });
    if (!response.ok) throw new Error(await failure(response));
    const blob = await response.blob();
    if (state.shown !== n) return; // another citation was clicked meanwhile
    const size = [Number(response.headers.get("X-Page-Width")), Number(response.headers.get("X-Page-Height"))];
    if (state.imageUrl) URL.revokeObjectURL(state.imageUrl);
    state.imageUrl = URL.createObjectURL(blob);
    img.onload = () => highlight(c, page, size);
    img.alt = `${$("viewer-title").textContent}, ${t("cite.page", { page })}`;
    img.src = state.imageUrl;
  } catch (e) {
    img.removeAttribute("src");
    img.alt = t("viewer.failed", { why: e.message });
  }
}

function highlight(c, page, [width, height]) {
  const layer = $("highlights");
  layer.textContent = "";
  if (!width || !height) return;
  for (const region of c.regions || []) {
    if (region.page !== page) continue;
    const box = region.box;
    const mark = document.createElement("div");
    mark.className = "highlight";
    const pad = 1.5; // points around the line, so the mark covers ascenders and descenders
    mark.style.left = `${((box.x0 - pad) / width) * 100}%`;
    mark.style.top = `${((box.y0 - pad) / height) * 100}%`;
    mark.style.width = `${((box.x1 - box.x0 + 2 * pad) / width) * 100}%`;
    mark.style.height = `${((box.y1 - box.y0 + 2 * pad) / height) * 100}%`;
    layer.append(mark);
  }
  const first = layer.firstElementChild;
  if (first && first.scrollIntoView) first.scrollIntoView({ block: "nearest" });
}

// --- the documents view, a page at a time ---

async function loadDocuments() {
  const params = new URLSearchParams({ limit: String(DOC_PAGE), offset: String(state.docOffset) });
  if ($("doc-status").value) params.set("status", $("doc-status").value);
  const body = $("documents").tBodies[0];
  try {
    const response = await fetch(`v1/documents?${params}`, { headers: headers() });
    if (!response.ok) throw new Error(await failure(response));
    const page = await response.json();
    state.docTotal = page.total;
    body.textContent = "";
    for (const d of page.items) body.append(documentRow(d));
    if (!page.items.length) body.append(row([t("docs.empty")]));
    const to = page.offset + page.items.length;
    $("doc-range").textContent = page.total ? t("docs.range", { from: page.offset + 1, to, total: page.total }) : "";
    $("doc-prev").disabled = page.offset === 0;
    $("doc-next").disabled = page.next_offset == null;
    const names = new Set(page.items.map((d) => d.collection));
    $("collections").replaceChildren(...[...names].map((name) => new Option(name, name)));
  } catch (e) {
    body.textContent = "";
    body.append(row([t("error", { why: e.message })]));
  }
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const text of cells) {
    const td = document.createElement("td");
    td.dir = "auto";
    td.textContent = text;
    tr.append(td);
  }
  return tr;
}

function documentRow(d) {
  const reason = (d.errors || []).map((e) => (e.page ? `${e.stage}, p. ${e.page}: ${e.message}` : `${e.stage}: ${e.message}`));
  const tr = row([d.title || d.uri.split("/").pop(), d.date || "", String(d.pages), d.status, reason.join("; ")]);
  tr.cells[3].className = `status-${d.status}`;
  return tr;
}

// --- wiring ---

function showView(name) {
  for (const view of ["ask", "documents"]) $(`view-${view}`).hidden = view !== name;
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.view === name);
  if (name === "documents") loadDocuments();
}

document.addEventListener("DOMContentLoaded", () => {
  const saved = localStorage.getItem("archivist.lang");
  setLanguage(saved || ((navigator.language || "en").startsWith("fr") ? "fr" : "en"));
  $("ui-lang").addEventListener("change", (e) => setLanguage(e.target.value));
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const key = $("key").value.trim();
    if (key) sessionStorage.setItem("archivist.key", key);
    $("key").value = "";
    showKeyState();
  });
  $("key-forget").addEventListener("click", () => { sessionStorage.removeItem("archivist.key"); showKeyState(); });
  $("ask-form").addEventListener("submit", ask);
  $("question").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("ask-form").requestSubmit(); }
  });
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showView(tab.dataset.view));
  $("doc-status").addEventListener("change", () => { state.docOffset = 0; loadDocuments(); });
  $("doc-prev").addEventListener("click", () => { state.docOffset = Math.max(0, state.docOffset - DOC_PAGE); loadDocuments(); });
  $("doc-next").addEventListener("click", () => { state.docOffset += DOC_PAGE; loadDocuments(); });
  showView("ask");
});
