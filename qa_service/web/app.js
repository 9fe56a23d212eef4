/* qa-service chat page: plain JavaScript, no build step, no network access beyond this server.
 *
 * Safety rule for this file: questions, answers and article text are untrusted. They are only ever
 * put on the page as text nodes (see `el` and `append`), never with innerHTML.
 */
"use strict";

(() => {
  const ASK_TIMEOUT_MS = 90_000;
  const MAX_QUESTION_CHARS = 1000; // the server's limit (POST /ask answers 422 above it)
  const COUNT_FROM_CHARS = 800; // show the character count once a question gets near the limit
  const KEY_STORAGE = "qa-service-api-key"; // sessionStorage only: gone when the tab closes
  const CONTEXT_CHARS = 320; // characters of article shown on each side of a quote
  const HEALTH_EVERY_MS = 15_000; // the header's article count follows the server; "unavailable" when it stops
  const RELATED_ARTICLES_SHOWN = 3; // an abstention lists this many articles, then "Show N more"

  const SUGGESTED = 3; // questions suggested on a first visit, from the newest articles indexed now

  const $ = (id) => document.getElementById(id);
  const ui = {
    chat: $("chat"),
    welcome: $("welcome"),
    examples: $("examples"),
    examplesBlock: $("examples-block"),
    emptyCorpus: $("empty-corpus"),
    messages: $("messages"),
    corpus: $("corpus-status"),
    form: $("composer"),
    input: $("question"),
    send: $("send"),
    count: $("char-count"),
    keyStatus: $("key-status"),
    filterFrom: $("filter-from"),
    filterTo: $("filter-to"),
    filterSource: $("filter-source"),
    panel: $("source-panel"),
    panelKicker: $("panel-kicker"),
    panelTitle: $("panel-title"),
    panelMeta: $("panel-meta"),
    panelBody: $("panel-body"),
    panelToggle: $("panel-toggle"),
    panelClose: $("panel-close"),
  };

  const state = {
    pending: false,
    apiKey: readKey(),
    summaries: new Map(), // doc_id -> {doc_id, title, date, source, chunks}
    lastHealth: null, // when /health last answered
    documents: new Map(), // doc_id -> Promise<document>
    panel: null, // {source, doc, full, opener, token}
    panelToken: 0,
  };

  /* ---------- safe DOM helpers ---------- */

  /** An element with attributes and children; strings become text nodes, never markup. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "onClick") node.addEventListener("click", value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  /** The article's readable name: {text, derived}. A derived one (its opening words) is shown as secondary. */
  function docLabel(source) {
    if (source && source.title && source.title.trim()) return { text: source.title.trim(), derived: false };
    if (source && source.label && source.label.trim()) return { text: source.label.trim(), derived: !source.label_is_title };
    return { text: "Untitled article", derived: true };
  }

  /** The label as a node: a derived one is styled apart and says it is not a title. */
  function labelNode(source, className) {
    const label = docLabel(source);
    if (!label.derived) return el("span", { className }, label.text);
    return el(
      "span",
      { className: `${className} derived`, title: "No title: the article's opening words" },
      el("span", { className: "visually-hidden" }, "Untitled, begins: "),
      label.text,
    );
  }

  /* ---------- API key (only when the server asks for one) ---------- */

  function readKey() {
    try {
      return sessionStorage.getItem(KEY_STORAGE) || "";
    } catch {
      return ""; // storage blocked: the key then lives in this page only
    }
  }

  function saveKey(key) {
    state.apiKey = key;
    try {
      if (key) sessionStorage.setItem(KEY_STORAGE, key);
      else sessionStorage.removeItem(KEY_STORAGE);
    } catch {
      /* storage blocked: keep it in memory */
    }
    showKeyStatus();
  }

  function showKeyStatus() {
    ui.keyStatus.hidden = !state.apiKey;
  }

  function formatDate(date) {
    if (!date) return null;
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
    if (!m) return date;
    const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    if (Number.isNaN(d.getTime())) return date;
    return d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
  }

  function dateNode(date) {
    const label = formatDate(date);
    return label ? el("time", { datetime: date }, label) : null;
  }

  function clip(value, limit) {
    const s = value.replace(/\s+/g, " ").trim();
    if (s.length <= limit) return s;
    const cut = s.slice(0, limit);
    const space = cut.lastIndexOf(" ");
    return (space > limit * 0.6 ? cut.slice(0, space) : cut) + "…";
  }

  /* ---------- API ---------- */

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  /** A readable sentence from a FastAPI error body: {"detail": str | [{msg, loc}, ...]}. */
  function describeDetail(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      const parts = detail
        .map((item) => {
          if (typeof item === "string") return item;
          if (!item || typeof item !== "object") return "";
          const msg = String(item.msg || "").replace(/^Value error, /, "");
          const field = Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body").join(".") : "";
          return field && msg ? `${field}: ${msg}` : msg;
        })
        .filter(Boolean);
      return parts.join("; ");
    }
    if (detail && typeof detail === "object") return JSON.stringify(detail);
    return "";
  }

  async function api(path, options = {}) {
    const { timeout = 30_000, ...init } = options;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeout);
    let response;
    try {
      const auth = state.apiKey ? { Authorization: `Bearer ${state.apiKey}` } : {};
      response = await fetch(path, { ...init, signal: controller.signal, headers: { Accept: "application/json", ...auth, ...(init.headers || {}) } });
    } catch (err) {
      if (err && err.name === "AbortError") {
        throw new ApiError("The server took too long to answer. Please try again in a moment.", 0);
      }
      throw new ApiError("Couldn't reach the server. Check your connection (or that qa-service is running) and try again.", 0);
    } finally {
      clearTimeout(timer);
    }
    if (response.status === 204) return null; // DELETE: done, nothing to read
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) {
      const detail = body && typeof body === "object" ? describeDetail(body.detail) : "";
      let message;
      if (response.status === 401) {
        throw new ApiError(
          state.apiKey
            ? "The server did not accept this API key. Check it and enter it again."
            : "This server asks for an API key before it answers. Enter the key you were given.",
          401,
        );
      }
      if (response.status === 429) message = "Too many questions at once. Please wait a moment and try again";
      else if (response.status === 503 && response.headers.get("Retry-After")) {
        message = `The server is busy answering other questions. Please try again in ${response.headers.get("Retry-After")} s`;
      }
      else if (response.status >= 500) message = `Something went wrong on the server (error ${response.status})`;
      else message = `The server couldn't take this request (error ${response.status})`;
      throw new ApiError(detail ? `${message}: ${detail}` : `${message}.`, response.status);
    }
    if (body === null) throw new ApiError("The server sent a reply this page can't read.", response.status);
    return body;
  }

  function loadDocument(docId) {
    if (!state.documents.has(docId)) {
      const promise = api(`/documents/${encodeURIComponent(docId)}`);
      promise.catch(() => state.documents.delete(docId));
      state.documents.set(docId, promise);
    }
    return state.documents.get(docId);
  }

  /* ---------- start-up: corpus size and examples ---------- */

  /** The header's corpus size, checked again every HEALTH_EVERY_MS, after each question and when the tab is shown
   * again: a server that stopped shows "Server unavailable", never the last count it gave. */
  async function loadHealth() {
    try {
      const health = await api("/health", { timeout: 5_000 });
      const docs = health.documents;
      const chunks = health.chunks;
      const count = (n, one, many) => `${n.toLocaleString("en")} ${n === 1 ? one : many}`;
      ui.corpus.textContent = `${count(docs, "article", "articles")} · ${count(chunks, "passage", "passages")}`;
      ui.corpus.title = `Embedding model: ${health.embedding_model}`;
      ui.corpus.classList.remove("offline");
      state.lastHealth = new Date();
    } catch {
      ui.corpus.textContent = "Server unavailable";
      ui.corpus.title = state.lastHealth
        ? `Last reached at ${state.lastHealth.toLocaleTimeString()}; checked again every ${HEALTH_EVERY_MS / 1000} s`
        : "The server did not answer; checked again shortly";
      ui.corpus.classList.add("offline");
    }
  }

  function watchHealth() {
    setInterval(() => {
      if (document.visibilityState === "visible") loadHealth();
    }, HEALTH_EVERY_MS);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") loadHealth();
    });
    window.addEventListener("online", loadHealth);
  }

  /** Suggestions from what is indexed now: a question about each of the newest titled articles. None when
   * nothing is indexed or the list cannot be read (fixed questions would ask about articles that may be gone). */
  async function loadExamples() {
    let docs;
    try {
      docs = await api("/documents");
    } catch {
      docs = null; // e.g. 401 until a key is entered
    }
    if (Array.isArray(docs)) {
      state.summaries.clear();
      for (const d of docs) state.summaries.set(d.doc_id, d);
    }
    const empty = Array.isArray(docs) && docs.length === 0;
    ui.emptyCorpus.hidden = !empty;
    const newest = (docs || [])
      .filter((d) => d.label_is_title && d.title && d.title.trim())
      .sort((a, b) => (b.date || "").localeCompare(a.date || ""));
    const questions = [...new Set(newest.map((d) => `What is “${clip(d.title.trim(), 60)}” about?`))].slice(0, SUGGESTED);
    ui.examplesBlock.hidden = questions.length === 0;
    ui.examples.replaceChildren(
      ...questions.map((q) => el("li", {}, el("button", { type: "button", className: "example", onClick: () => askExample(q) }, q))),
    );
  }

  /** The outlet picker: every outlet with its number of articles (GET /sources). */
  async function loadSources() {
    let outlets;
    try {
      outlets = await api("/sources");
    } catch {
      return; // e.g. 401 until a key is entered: "All outlets" still works
    }
    const chosen = ui.filterSource.value;
    ui.filterSource.replaceChildren(
      el("option", { value: "" }, "All outlets"),
      ...outlets.filter((o) => o.source).map((o) => el("option", { value: o.source, selected: o.source === chosen }, `${o.source} (${o.documents})`)),
    );
  }

  /** The filter row as POST /ask's `filters`, or null when nothing narrows the question. */
  function currentFilters() {
    const filters = {};
    if (ui.filterFrom.value) filters.date_from = ui.filterFrom.value;
    if (ui.filterTo.value) filters.date_to = ui.filterTo.value;
    if (ui.filterSource.value) filters.sources = [ui.filterSource.value];
    return Object.keys(filters).length ? filters : null;
  }

  /** One click to drop the filter row and ask again, when the filter removed every match (Answer.outside_filter). */
  function dropFilterButton(question) {
    const button = el(
      "button",
      {
        type: "button",
        className: "secondary small drop-filter",
        onClick: () => {
          ui.filterFrom.value = "";
          ui.filterTo.value = "";
          ui.filterSource.value = "";
          button.disabled = true;
          ask(question);
        },
      },
      "Ask again without the filter",
    );
    return button;
  }

  function askExample(question) {
    ui.input.value = question;
    autoGrow();
    ui.input.focus(); // the examples hide once the conversation starts; keep keyboard users in the box
    ask(question);
  }

  /* ---------- conversation ---------- */

  function scrollToBottom() {
    ui.chat.scrollTop = ui.chat.scrollHeight;
  }

  /** Show a new reply from the question that asked it (the browser stops at the bottom if all of it fits). */
  function reveal(node) {
    const anchor = node.previousElementSibling || node;
    ui.chat.scrollTop = Math.max(0, anchor.offsetTop - 16);
  }

  function addMessage(role, ...children) {
    const item = el("li", { className: `message ${role}` }, ...children);
    ui.messages.append(item);
    ui.welcome.hidden = true;
    return item;
  }

  function userMessage(question) {
    return addMessage("user", el("p", { className: "visually-hidden" }, "You asked:"), el("div", { className: "bubble" }, question));
  }

  function thinkingMessage() {
    return addMessage(
      "assistant thinking",
      el(
        "div",
        { className: "bubble", "aria-busy": "true" },
        el("span", { className: "dots", "aria-hidden": "true" }, el("span"), el("span"), el("span")),
        el("span", { className: "thinking-text" }, "Reading the articles…"),
      ),
    );
  }

  function citationLabel(c) {
    const date = formatDate(c.date);
    return `Source ${c.id}: ${docLabel(c).text}${date ? `, ${date}` : ""}`;
  }

  /** The answer text with the short answer (answer_span) in bold when it lies inside citation 1. */
  function answerText(data) {
    const answer = data.answer || "";
    const span = data.answer_span;
    const first = data.citations && data.citations[0];
    if (!span || !first || span.start < first.start || span.end > first.end || span.end <= span.start) {
      return [answer];
    }
    // The answer is a window of citation 1's quote: place the span in the quote, then in the answer.
    const spanFrom = utf16Index(first.quote, span.start - first.start);
    const spanTo = utf16Index(first.quote, span.end - first.start);
    const inQuote = first.quote.indexOf(answer);
    let shift;
    if (inQuote >= 0) shift = -inQuote;
    else if (answer.indexOf(first.quote) >= 0) shift = answer.indexOf(first.quote);
    else return [answer];
    const from = spanFrom + shift;
    const to = spanTo + shift;
    if (from < 0 || to > answer.length || answer.slice(from, to) !== span.text) return [answer];
    return [answer.slice(0, from), el("strong", { className: "short-answer" }, span.text), answer.slice(to)];
  }

  function sourceButton({ number, doc, date, docId, preview, onOpen, label }) {
    return el(
      "button",
      { type: "button", className: "source", onClick: (event) => onOpen(event.currentTarget), "aria-label": label },
      number ? el("span", { className: "source-num", "aria-hidden": "true" }, String(number)) : null,
      el(
        "span",
        { className: "source-main" },
        labelNode(doc, "source-title"),
        el("span", { className: "source-meta" }, dateNode(date), date ? el("span", { "aria-hidden": "true" }, " · ") : null, doc && doc.source ? el("span", { className: "outlet" }, doc.source) : null, doc && doc.source ? el("span", { "aria-hidden": "true" }, " · ") : null, el("span", { className: "doc-id" }, docId)),
        preview ? el("span", { className: "source-preview" }, clip(preview, 180)) : null,
      ),
    );
  }

  function renderAnswer(item, data) {
    const citations = Array.isArray(data.citations) ? data.citations : [];
    const open = (c) => (opener) =>
      openSource({ kind: `Source [${c.id}]`, docId: c.doc_id, start: c.start, end: c.end, doc: c, date: c.date }, opener);

    const markers = citations.map((c) =>
      el("button", { type: "button", className: "cite", onClick: (e) => open(c)(e.currentTarget), "aria-label": citationLabel(c), title: citationLabel(c) }, `[${c.id}]`),
    );
    const answer = el("p", { className: "answer" }, answerText(data), markers.length ? " " : null, ...markers.flatMap((m, i) => (i ? ["\u2009", m] : [m])));
    // The short answer may stand in another sentence of the article (the name behind "he" or "the treaty").
    const span = data.answer_span;
    const namedIn = span && span.citation > 1 ? citations.find((c) => c.id === span.citation) : null;
    const named = namedIn
      ? el("p", { className: "named-in" }, "Named in source ", el("button", { type: "button", className: "cite", onClick: (e) => open(namedIn)(e.currentTarget), "aria-label": citationLabel(namedIn) }, `[${namedIn.id}]`), ": ", el("strong", { className: "short-answer" }, span.text))
      : null;
    const agreement = sourcesNote(data, (c) => (opener) => openSource({ kind: "Other article", docId: c.doc_id, start: c.start, end: c.end, doc: c, date: c.date }, opener));

    const sources = citations.length
      ? el(
          "div",
          { className: "sources" },
          el(
            "div",
            { className: "sources-head" },
            el("h3", {}, citations.length === 1 ? "Source" : "Sources"),
            typeof data.confidence === "number" ? el("span", { className: "confidence", title: "How well the best sentence matches the question" }, `match ${Math.round(data.confidence * 100)}%`) : null,
          ),
          el(
            "ol",
            { className: "source-list" },
            citations.map((c) =>
              el(
                "li",
                {},
                sourceButton({ number: c.id, doc: c, date: c.date, docId: c.doc_id, preview: c.quote, onOpen: open(c), label: `Open ${citationLabel(c)}` }),
              ),
            ),
          ),
        )
      : null;

    item.className = "message assistant";
    item.replaceChildren(el("p", { className: "visually-hidden" }, "Answer:"), el("div", { className: "bubble" }, languageNotice(data), answer, named, agreement, sources));
  }

  /** Other articles on the same fact: those that state the same value, and those that give another (quoted). */
  function sourcesNote(data, open) {
    const all = Array.isArray(data.sources) ? data.sources : [];
    if (!all.length) return null;
    const row = (s) =>
      el(
        "li",
        { className: `agreement ${s.relation}` },
        s.relation === "agrees"
          ? el("span", {}, "Also stated by ")
          : el("span", {}, "Differs: ", el("strong", {}, `“${s.value}”`), ` instead of “${s.answer_value}” in `),
        // A link, not a button: it flows in the sentence and wraps like text (a button is a box of its own).
        el(
          "a",
          {
            className: "link",
            href: `/documents/${encodeURIComponent(s.citation.doc_id)}`,
            onClick: (e) => {
              e.preventDefault();
              open(s.citation)(e.currentTarget);
            },
          },
          labelNode(s.citation, "link-label"),
        ),
        s.citation.date ? el("span", { className: "muted" }, ` (${formatDate(s.citation.date)})`) : null,
      );
    const differs = all.filter((s) => s.relation === "differs");
    return el(
      "div",
      { className: "agreements" },
      el("h3", {}, differs.length ? "The articles differ" : "Other articles agree"),
      el("ul", {}, all.map(row)),
    );
  }

  /** "Only English ... looks like French." when the server found the question in another language, else null. */
  function languageNotice(data) {
    const code = typeof data.question_language === "string" ? data.question_language : "";
    if (!code) return null;
    let name = code;
    try {
      name = new Intl.DisplayNames(["en"], { type: "language" }).of(code) || code;
    } catch {
      /* an unknown code: say the code */
    }
    return el("p", { className: "language-notice" }, `Only English questions are understood; this one looks like ${name}. Please ask in English.`);
  }

  /** "A", "A and B", "A, B and C". */
  function listWords(words) {
    if (words.length <= 1) return words.join("");
    return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
  }

  /** What the related passages mention, for their heading: each name or word once, a word of a name another
   * passage mentions whole ("Shea" beside "Dorothy Shea") as that name; three at most (as `qa-service ask`). */
  function mentionedWords(passages) {
    const words = [];
    for (const p of passages) for (const w of p.mentions || []) if (!words.includes(w)) words.push(w);
    const whole = (w) => words.find((n) => n !== w && w.split(" ").every((part) => n.split(" ").includes(part))) || w;
    return [...new Set(words.map(whole))].slice(0, 3);
  }

  /** One list entry per article: its label, date and id once, then a button per passage of it. */
  function relatedArticle(docId, passages, hidden) {
    const summary = state.summaries.get(docId) || { doc_id: docId };
    const date = summary.date ?? null;
    const name = docLabel(summary).text;
    const open = (p) => (opener) => openSource({ kind: "Related passage", docId, start: p.start, end: p.end, doc: summary, date }, opener);
    const [first, ...rest] = passages;
    return el(
      "li",
      { hidden, className: "related-article" },
      sourceButton({ doc: summary, date, docId, preview: first.text, label: `Open passage from ${name} (${docId})`, onOpen: open(first) }),
      rest.length
        ? el(
            "ul",
            { className: "more-passages", "aria-label": `More passages of ${name}` },
            rest.map((p, index) =>
              el(
                "li",
                {},
                el(
                  "button",
                  { type: "button", className: "source passage-only", "aria-label": `Open passage ${index + 2} from ${name} (${docId})`, onClick: (event) => open(p)(event.currentTarget) },
                  el("span", { className: "source-preview" }, clip(p.text, 180)),
                ),
              ),
            ),
          )
        : null,
    );
  }

  function renderAbstention(item, data) {
    // Only passages the server marks related (they share the question's words and come close in meaning).
    const passages = (Array.isArray(data.passages) ? data.passages : []).filter((p) => p.related);
    const words = mentionedWords(passages);
    const byArticle = new Map();
    for (const p of passages) {
      if (!byArticle.has(p.doc_id)) byArticle.set(p.doc_id, []);
      byArticle.get(p.doc_id).push(p);
    }
    const articles = [...byArticle.entries()];
    const list = passages.length
      ? el(
          "div",
          { className: "sources" },
          el("div", { className: "sources-head" }, el("h3", {}, `Passages that mention ${listWords(words)}, though they do not answer it`)),
          el(
            "ol",
            { className: "source-list" },
            articles.map(([docId, found], index) => relatedArticle(docId, found, index >= RELATED_ARTICLES_SHOWN)),
          ),
        )
      : null;
    if (articles.length > RELATED_ARTICLES_SHOWN) {
      const more = articles.length - RELATED_ARTICLES_SHOWN;
      const button = el(
        "button",
        {
          type: "button",
          className: "secondary small more",
          onClick: () => {
            const hidden = [...list.querySelectorAll("li.related-article[hidden]")];
            for (const li of hidden) li.hidden = false;
            button.remove();
            const firstNew = hidden[0] && hidden[0].querySelector("button");
            if (firstNew) firstNew.focus();
          },
        },
        `Show ${more} more ${more === 1 ? "article" : "articles"}`,
      );
      list.append(button);
    }
    const language = languageNotice(data);
    const outsideFilter = Number.isInteger(data.outside_filter) && data.outside_filter > 0; // the reason says so

    item.className = "message assistant abstain";
    item.replaceChildren(
      el(
        "div",
        { className: "bubble" },
        el("p", { className: "abstain-title" }, "The articles don't answer this."),
        language, // it explains the abstention; "never mention “Qui”" would only confuse
        !language && Array.isArray(data.not_found) && data.not_found.length
          ? el("p", { className: "not-found" }, `The articles never mention ${listWords(data.not_found.map((n) => `“${n}”`))}.`)
          : !language && typeof data.reason === "string" && data.reason
            ? el("p", { className: "not-found" }, data.reason) // what the articles lack, or that the filter removed every match
            : null,
        outsideFilter ? dropFilterButton(data.question) : null,
        outsideFilter && !passages.length
          ? null
          : el(
              "p",
              { className: "muted" },
              passages.length
                ? "Nothing in the loaded articles says this for sure. These passages touch on it, if you want to check them yourself:"
                : "No passage in the loaded articles is close to this question. Try asking in another way, or about something the articles cover.",
            ),
        list,
      ),
    );
  }

  /** A small form in the conversation that takes the API key for this tab and asks the question again. */
  function keyForm(question) {
    const id = `api-key-${Date.now()}`;
    const input = el("input", { id, type: "password", className: "key-input", autocomplete: "off", spellcheck: "false", required: true });
    const form = el(
      "form",
      { className: "key-form" },
      el("label", { for: id }, "API key"),
      el("div", { className: "key-row" }, input, el("button", { type: "submit", className: "send small" }, "Use key and ask again")),
      el("p", { className: "muted small-print" }, "Kept in this browser tab only, until you close it; sent with each question."),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      saveKey(key);
      loadExamples(); // the article list needs the key too
      loadSources();
      ask(question);
    });
    setTimeout(() => input.focus(), 0);
    return form;
  }

  function renderError(item, error, question) {
    const needsKey = error.status === 401;
    const retry = needsKey ? null : el("button", { type: "button", className: "secondary small", onClick: () => ask(ui.input.value.trim() ? ui.input.value : question) }, "Try again");
    item.className = `message assistant error${needsKey ? " needs-key" : ""}`;
    item.setAttribute("role", "alert");
    item.replaceChildren(
      el(
        "div",
        { className: "bubble" },
        el("p", { className: "error-title" }, needsKey ? "An API key is needed." : "Sorry, that didn't work."),
        el("p", { className: "error-text" }, error.message || "Something went wrong."),
        needsKey ? keyForm(question) : el("p", { className: "muted" }, "Your question is still in the box below, so nothing is lost."),
        retry,
      ),
    );
  }

  async function ask(rawQuestion) {
    const question = (rawQuestion ?? ui.input.value).trim();
    if (!question || state.pending) return;
    if (charCount(question) > MAX_QUESTION_CHARS) {
      updateCount(true);
      ui.input.focus();
      return;
    }
    state.pending = true;
    ui.send.disabled = true;
    ui.form.setAttribute("aria-busy", "true");

    userMessage(question);
    const reply = thinkingMessage();
    scrollToBottom();

    try {
      const data = await api("/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(currentFilters() ? { question, filters: currentFilters() } : { question }), // top_k: QA_TOP_K
        timeout: ASK_TIMEOUT_MS,
      });
      if (data.answerable && data.answer) renderAnswer(reply, data);
      else renderAbstention(reply, data);
      // Success: the question is now in the conversation, so the box can be cleared (unless edited meanwhile).
      if (ui.input.value.trim() === question) {
        ui.input.value = "";
        autoGrow();
      }
    } catch (error) {
      renderError(reply, error instanceof ApiError ? error : new ApiError("Something unexpected went wrong while showing the answer.", 0), question);
      if (!ui.input.value.trim()) {
        ui.input.value = question;
        autoGrow();
      }
      console.error(error);
    } finally {
      state.pending = false;
      ui.send.disabled = false;
      ui.form.removeAttribute("aria-busy");
      reveal(reply);
      loadHealth(); // an answer or a failure says something about the server: keep the header true
    }
  }

  /* ---------- composer ---------- */

  function autoGrow() {
    ui.input.style.height = "auto";
    ui.input.style.height = `${Math.min(ui.input.scrollHeight, 200)}px`;
  }

  /** Characters as the server counts them (code points, not UTF-16 units). */
  function charCount(text) {
    return [...text].length;
  }

  /** Near the limit, show the count; over it, say so (nothing is cut off) and keep the question from being sent. */
  function updateCount(tried = false) {
    const n = charCount(ui.input.value.trim());
    const over = n > MAX_QUESTION_CHARS;
    ui.count.hidden = n < COUNT_FROM_CHARS;
    ui.count.classList.toggle("over", over);
    ui.count.textContent = over
      ? `${n.toLocaleString()} / ${MAX_QUESTION_CHARS.toLocaleString()} characters: ${(n - MAX_QUESTION_CHARS).toLocaleString()} too many. Please shorten the question to send it.`
      : `${n.toLocaleString()} / ${MAX_QUESTION_CHARS.toLocaleString()} characters`;
    ui.input.setAttribute("aria-invalid", over ? "true" : "false");
    if (over && tried) ui.count.setAttribute("role", "alert");
    else ui.count.removeAttribute("role");
  }

  ui.input.addEventListener("input", () => {
    autoGrow();
    updateCount();
  });
  ui.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      ask();
    }
  });
  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    ask();
  });

  /* ---------- source panel ---------- */

  /**
   * The server counts characters as Python does, in code points; JavaScript strings index UTF-16 units, and a
   * character outside the BMP (an emoji) is two. This turns a server offset into a string index of `text`
   * (past its end: its length), so a quote after emoji is highlighted where it is, not two units early per emoji.
   */
  function utf16Index(text, offset) {
    let index = 0;
    for (let n = 0; n < offset && index < text.length; n++) {
      const unit = text.charCodeAt(index);
      index += unit >= 0xd800 && unit <= 0xdbff && index + 1 < text.length ? 2 : 1;
    }
    return index;
  }

  function highlighted(text, start, end) {
    return [text.slice(0, start), el("mark", { className: "quote" }, text.slice(start, end)), text.slice(end)];
  }

  /** The quote with some article text around it, cut at word boundaries. */
  function excerpt(text, start, end) {
    let from = Math.max(0, start - CONTEXT_CHARS);
    let to = Math.min(text.length, end + CONTEXT_CHARS);
    if (from > 0) {
      // Start at a sentence (or paragraph) start if one is near, else at a word.
      const head = text.slice(from, start);
      const sentence = /[.!?]["”’)]?\s+|\n/.exec(head);
      const space = head.search(/\s/);
      if (sentence && sentence.index + sentence[0].length <= head.length) from += sentence.index + sentence[0].length;
      else if (space >= 0) from += space + 1;
    }
    if (to < text.length) {
      // End after the last whole sentence in the window, else at a word.
      const tail = text.slice(end, to);
      let cut = -1;
      for (const m of tail.matchAll(/[.!?]["”’)]?(?=\s)/g)) cut = m.index + m[0].length;
      if (cut < 0) cut = Math.max(tail.lastIndexOf(" "), tail.lastIndexOf("\n"));
      if (cut >= 0) to = end + cut;
    }
    const before = text.slice(from, start).replace(/^\s+/, "");
    const after = text.slice(end, to).replace(/\s+$/, "");
    const gap = (side) => el("span", { className: "gap" }, side === "start" ? "… " : " …");
    return [from > 0 ? gap("start") : null, before, el("mark", { className: "quote" }, text.slice(start, end)), after, to < text.length ? gap("end") : null];
  }

  /** Who wrote the article and where it was published: " · by Ann Lee", " · original page" (http(s) links only). */
  function provenance(doc) {
    const parts = [];
    if (typeof doc.author === "string" && doc.author.trim()) parts.push(el("span", { className: "panel-author" }, ` · by ${doc.author.trim()}`));
    if (typeof doc.url === "string" && /^https?:\/\//i.test(doc.url)) {
      parts.push(" · ", el("a", { className: "panel-url", href: doc.url, target: "_blank", rel: "noopener noreferrer" }, "original page"));
    }
    return parts;
  }

  function renderPanel() {
    const p = state.panel;
    if (!p || !p.doc) return;
    const { doc, source } = p;
    const start = utf16Index(doc.text, Math.max(0, source.start));
    const end = Math.max(start, utf16Index(doc.text, source.end));
    ui.panelTitle.replaceChildren(labelNode(doc.title ? doc : source.doc, "panel-label"));
    const date = doc.date ?? source.date;
    ui.panelMeta.replaceChildren(...[dateNode(date), date ? " · " : null, el("span", { className: "doc-id" }, doc.doc_id), doc.source && !doc.source.startsWith(doc.doc_id) ? ` · ${doc.source}` : null, ...provenance(doc)].filter(Boolean));
    const body = source.whole
      ? el("div", { className: "article full" }, doc.text)
      : p.full
        ? el("div", { className: "article full" }, highlighted(doc.text, start, end))
        : el("div", { className: "article excerpt" }, excerpt(doc.text, start, end));
    ui.panelBody.replaceChildren(body);
    ui.panelToggle.hidden = Boolean(source.whole);
    ui.panelToggle.textContent = p.full ? "Show just the passage" : "Read the whole article";
    ui.panelToggle.setAttribute("aria-expanded", p.full ? "true" : "false");
    const mark = body.querySelector("mark");
    if (p.full && mark) {
      mark.scrollIntoView({ block: "center" });
    } else {
      ui.panelBody.scrollTop = 0;
    }
  }

  async function openSource(source, opener) {
    const token = ++state.panelToken;
    state.panel = { source, doc: null, full: false, opener: opener || document.activeElement };
    ui.panelKicker.textContent = source.kind;
    ui.panelTitle.replaceChildren(labelNode(source.doc, "panel-label"));
    const outlet = source.doc && source.doc.source;
    ui.panelMeta.replaceChildren(...[dateNode(source.date), source.date ? " · " : null, outlet ? `${outlet} · ` : null, el("span", { className: "doc-id" }, source.docId)].filter(Boolean));
    ui.panelBody.replaceChildren(el("p", { className: "muted loading" }, "Loading the article…"));
    ui.panelToggle.hidden = true;
    if (!ui.panel.open) ui.panel.showModal();
    ui.panelClose.focus();
    try {
      const doc = await loadDocument(source.docId);
      if (token !== state.panelToken || !state.panel) return;
      state.panel.doc = doc;
      renderPanel();
    } catch (error) {
      if (token !== state.panelToken) return;
      ui.panelBody.replaceChildren(el("p", { className: "error-text", role: "alert" }, `Couldn't open this article. ${error.message || ""}`.trim()));
    }
  }

  ui.panelToggle.addEventListener("click", () => {
    if (!state.panel || !state.panel.doc) return;
    state.panel.full = !state.panel.full;
    renderPanel();
  });
  ui.panelClose.addEventListener("click", () => ui.panel.close());
  // A click on the backdrop (outside the panel's content) closes it too.
  ui.panel.addEventListener("click", (event) => {
    if (event.target === ui.panel) ui.panel.close();
  });
  ui.panel.addEventListener("close", () => {
    const opener = state.panel && state.panel.opener;
    state.panel = null;
    state.panelToken++;
    if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
    else ui.input.focus();
  });

  /* ---------- go ---------- */

  $("forget-key").addEventListener("click", () => {
    saveKey("");
    ui.input.focus();
  });

  autoGrow();
  updateCount();
  showKeyStatus();
  ui.input.focus();
  loadHealth();
  watchHealth();
  loadExamples();
  loadSources();


  /* ---------- what the Articles view (articles.js) uses of this page ---------- */

  window.qaPage = Object.freeze({
    el,
    api,
    ApiError,
    labelNode,
    docLabel,
    dateNode,
    formatDate,
    clip,
    saveKey,
    hasKey: () => Boolean(state.apiKey),
    /** The header's counts and the example questions follow a change to the articles. */
    articlesChanged: () => {
      state.documents.clear();
      loadHealth();
      loadExamples();
    },
    /** The whole article in the side panel, nothing highlighted. */
    openArticle: (summary, opener) =>
      openSource({ kind: "Article", docId: summary.doc_id, start: 0, end: 0, doc: summary, date: summary.date, whole: true }, opener),
  });
})();
