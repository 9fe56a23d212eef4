/* qa-service chat page: the Articles view. What is indexed, searched, opened, deleted and added, for a person
 * who is not on the command line. Plain JavaScript; it uses the chat page's helpers (window.qaPage, app.js).
 *
 * The same safety rule as app.js: titles and article text are untrusted and only ever put on the page as text.
 */
"use strict";

(() => {
  const page = window.qaPage;
  if (!page) return;
  const { el, api, ApiError } = page;

  const PAGE_SIZE = 200; // GET /documents?limit=...: the list grows a page at a time ("Show more")
  const MAX_FILE_BYTES = 5_000_000; // the server's QA_MAX_DOCUMENT_BYTES default; it answers 413 above its own

  const $ = (id) => document.getElementById(id);
  const ui = {
    chat: $("chat"),
    composer: $("composer"),
    view: $("articles-view"),
    askLink: $("view-ask"),
    articlesLink: $("view-articles"),
    count: $("articles-count"),
    search: $("articles-search"),
    empty: $("articles-empty"),
    list: $("articles-list"),
    more: $("articles-more"),
    add: $("add-article"),
    form: $("add-form"),
    file: $("add-file"),
    text: $("add-text"),
    title: $("add-title"),
    date: $("add-date"),
    id: $("add-id"),
    submit: $("add-submit"),
    status: $("add-status"),
    keyForm: $("articles-key"),
    keyInput: $("articles-key-input"),
  };

  const state = {
    loaded: [], // summaries in the order added
    done: false, // every page fetched
    loading: null, // the page request in flight
    retry: null, // what to do once a key is given (the write that was refused)
  };

  /* ---------- which view is shown: #articles or the conversation ---------- */

  function showView() {
    const articles = location.hash === "#articles";
    ui.view.hidden = !articles;
    ui.chat.hidden = articles;
    ui.composer.hidden = articles;
    const [current, other] = articles ? [ui.articlesLink, ui.askLink] : [ui.askLink, ui.articlesLink];
    current.setAttribute("aria-current", "page");
    other.removeAttribute("aria-current");
    if (articles) reload();
  }

  /* ---------- the list ---------- */

  async function loadPage() {
    if (state.done) return;
    if (!state.loading) {
      state.loading = api(`/documents?offset=${state.loaded.length}&limit=${PAGE_SIZE}`)
        .then((docs) => {
          state.loaded.push(...docs);
          state.done = docs.length < PAGE_SIZE;
        })
        .finally(() => {
          state.loading = null;
        });
    }
    return state.loading;
  }

  async function reload() {
    state.loaded = [];
    state.done = false;
    ui.count.textContent = "Loading…";
    try {
      await loadPage();
      render();
    } catch (error) {
      ui.list.replaceChildren();
      ui.count.textContent = "";
      showEmpty(`Couldn't list the articles. ${error.message || ""}`.trim());
      if (error.status === 401) askForKey(reload);
    }
  }

  function matches(doc, words) {
    const haystack = [doc.label, doc.title, doc.doc_id, doc.date, page.formatDate(doc.date)]
      .filter(Boolean)
      .join(" ")
      .toLowerCase();
    return words.every((word) => haystack.includes(word));
  }

  function showEmpty(message) {
    ui.empty.hidden = !message;
    ui.empty.textContent = message || "";
  }

  function render() {
    const words = ui.search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = words.length ? state.loaded.filter((doc) => matches(doc, words)) : state.loaded;
    ui.list.replaceChildren(...shown.map(row));
    const total = state.loaded.length;
    const all = state.done ? "" : "+";
    ui.count.textContent = words.length
      ? `${shown.length.toLocaleString("en")} of ${total.toLocaleString("en")}${all} ${total === 1 ? "article" : "articles"} match`
      : `${total.toLocaleString("en")}${all} ${total === 1 ? "article" : "articles"}, in the order they were added`;
    ui.more.hidden = state.done;
    ui.more.textContent = words.length ? "Search more articles" : `Show ${PAGE_SIZE} more`;
    if (!total) showEmpty("No articles yet. Add one below, or with qa-service ingest.");
    else if (!shown.length) showEmpty(state.done ? "No article matches this search." : "No article loaded so far matches: search more below.");
    else showEmpty("");
    if (!total) ui.add.open = true;
  }

  function row(doc) {
    const open = el(
      "button",
      { type: "button", className: "article-open", "aria-label": `Open ${page.docLabel(doc).text} (${doc.doc_id})`, onClick: (event) => page.openArticle(doc, event.currentTarget) },
      page.labelNode(doc, "article-label"),
      el(
        "span",
        { className: "source-meta" },
        page.dateNode(doc.date),
        doc.date ? " · " : null,
        el("span", { className: "doc-id" }, doc.doc_id),
        doc.source ? el("span", { className: "article-outlet" }, ` · ${doc.source}`) : null,
        ` · ${doc.chunks} ${doc.chunks === 1 ? "passage" : "passages"}`,
      ),
    );
    const remove = el("button", { type: "button", className: "secondary small article-delete", "aria-label": `Delete ${page.docLabel(doc).text} (${doc.doc_id})` }, "Delete");
    const item = el("li", { className: "article-row" }, open, remove);
    remove.addEventListener("click", () => confirmDelete(item, doc, remove));
    return item;
  }

  /** An inline "Delete this article? Delete / Keep it" instead of a browser dialog. */
  function confirmDelete(item, doc, opener) {
    if (item.querySelector(".article-confirm")) return;
    const keep = el("button", { type: "button", className: "secondary small" }, "Keep it");
    const yes = el("button", { type: "button", className: "danger small" }, "Delete");
    const box = el(
      "div",
      { className: "article-confirm", role: "group", "aria-label": "Confirm the deletion" },
      el("span", {}, "Delete this article from the index? Answers will no longer quote it."),
      yes,
      keep,
    );
    keep.addEventListener("click", () => {
      box.remove();
      opener.focus();
    });
    yes.addEventListener("click", () => deleteArticle(item, doc, box));
    item.append(box);
    yes.focus();
  }

  async function deleteArticle(item, doc, box) {
    box.querySelectorAll("button").forEach((b) => (b.disabled = true));
    try {
      await api(`/documents/${encodeURIComponent(doc.doc_id)}`, { method: "DELETE" });
      state.loaded = state.loaded.filter((d) => d.doc_id !== doc.doc_id);
      render();
      ui.count.textContent = `Deleted “${page.docLabel(doc).text}”. ${ui.count.textContent}`;
      page.articlesChanged();
      ui.search.focus();
    } catch (error) {
      box.querySelectorAll("button").forEach((b) => (b.disabled = false));
      const message = el("span", { className: "error-text", role: "alert" }, error.message || "Couldn't delete it.");
      box.querySelector(".error-text")?.remove();
      box.append(message);
      if (error.status === 401) askForKey(() => deleteArticle(item, doc, box));
    }
  }

  /* ---------- the API key, when the server asks for one ---------- */

  function askForKey(then) {
    state.retry = then;
    ui.keyForm.hidden = false;
    ui.keyInput.value = "";
    ui.keyInput.focus();
  }

  ui.keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = ui.keyInput.value.trim();
    if (!key) return;
    page.saveKey(key);
    ui.keyForm.hidden = true;
    const retry = state.retry;
    state.retry = null;
    if (retry) retry();
  });

  /* ---------- adding an article: a file or pasted text ---------- */

  /** An id from a file name, as `qa-service ingest` makes one: "Café news (2).txt" -> "Cafe-news-2". */
  function idFromName(name) {
    const stem = name.replace(/\.[^.]*$/, "");
    const ascii = stem.normalize("NFKD").replace(/[^\x00-\x7F]/g, "");
    return ascii.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/\.{2,}/g, ".").replace(/^[-._]+|[-._]+$/g, "").slice(0, 128);
  }

  ui.file.addEventListener("change", async () => {
    const file = ui.file.files && ui.file.files[0];
    if (!file) return;
    ui.status.className = "add-status";
    if (file.size > MAX_FILE_BYTES) {
      ui.status.textContent = `${file.name} is ${(file.size / 1e6).toFixed(1)} MB; the server takes articles up to ${MAX_FILE_BYTES / 1e6} MB.`;
      ui.status.classList.add("error-text");
      return;
    }
    try {
      ui.text.value = new TextDecoder("utf-8", { fatal: true }).decode(await file.arrayBuffer());
      if (!ui.id.value.trim()) ui.id.value = idFromName(file.name);
      ui.status.textContent = `${file.name} read: ${[...ui.text.value].length.toLocaleString("en")} characters. Add it when ready.`;
    } catch {
      ui.status.textContent = `${file.name} is not UTF-8 text; save it as UTF-8 (.txt or .md) and choose it again.`;
      ui.status.classList.add("error-text");
    }
  });

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    addArticle();
  });

  async function addArticle() {
    const text = ui.text.value;
    ui.status.className = "add-status";
    if (!text.trim()) {
      ui.status.textContent = "Choose a file or paste the article's text first.";
      ui.status.classList.add("error-text");
      ui.text.focus();
      return;
    }
    const body = { text };
    for (const [field, input] of [["title", ui.title], ["date", ui.date], ["doc_id", ui.id]]) {
      if (input.value.trim()) body[field] = input.value.trim();
    }
    ui.submit.disabled = true;
    ui.status.textContent = "Adding it (the model reads it first)…";
    try {
      const added = await api("/documents", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), timeout: 120_000 });
      ui.form.reset();
      ui.status.textContent = `Added “${page.docLabel(added).text}” (${added.doc_id}, ${added.chunks} ${added.chunks === 1 ? "passage" : "passages"}). You can ask about it now.`;
      ui.status.classList.add("ok");
      page.articlesChanged();
      await reload();
    } catch (error) {
      ui.status.textContent = error.message || "Couldn't add it.";
      ui.status.classList.add("error-text");
      if (error.status === 401) askForKey(addArticle);
    } finally {
      ui.submit.disabled = false;
    }
  }

  /* ---------- go ---------- */

  let searchTimer = null;
  ui.search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(render, 120);
  });
  ui.more.addEventListener("click", async () => {
    ui.more.disabled = true;
    try {
      await loadPage();
      render();
    } catch (error) {
      showEmpty(error instanceof ApiError ? error.message : "Couldn't load more articles.");
    } finally {
      ui.more.disabled = false;
    }
  });
  window.addEventListener("hashchange", showView);
  showView();
})();
