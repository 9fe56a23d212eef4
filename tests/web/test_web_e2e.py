"""The chat page in a real browser: headless Chromium (Playwright) against a real `qa-service serve`.

The server runs in a subprocess on a free port with a temporary index built from seeds/, so these tests
see exactly what a user sees. Screenshots go to a temporary folder; set QA_UPDATE_SCREENSHOTS=1 to write
them to docs/screenshots/ instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser import DESKTOP, PHONE, UI_TIMEOUT_MS, needs_chromium, page_server, screenshot_folder
from tests.conftest import SEED_QUESTION

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route, ViewportSize, expect

API_KEY = "page-test-key-0123456789"
INJECTED_TEXT = (
    "Lake Tana <script>window.__pwned=1</script> is the source of the Blue Nile. "
    '<img src=x onerror="window.__pwned=2"> It lies in Ethiopia.'
)

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`qa-service serve` on a free port; it builds its index from the seeds on first start."""
    with page_server(tmp_path_factory.mktemp("web-e2e")) as url:
        yield url


@pytest.fixture(scope="module")
def injected_doc(api: httpx.Client) -> str:
    """An article whose text is HTML that would run script if the page ever parsed it as markup."""
    response = api.post("/documents", json={"doc_id": "injected", "text": INJECTED_TEXT})
    assert response.status_code in (201, 409), response.text
    return "injected"


def _open(browser: Browser, server: str, viewport: ViewportSize) -> tuple[Page, list[str]]:
    context = browser.new_context(viewport=viewport, base_url=server)
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/")
    expect(page.locator("#corpus-status")).to_have_text(re.compile(r"\d+ articles? · \d+ passages?"))
    return page, errors


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    """A fresh desktop-sized tab on the chat page; fails the test if any script error was thrown."""
    tab, errors = _open(browser, server, DESKTOP)
    yield tab
    tab.context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


@pytest.fixture
def phone(browser: Browser, server: str) -> Iterator[Page]:
    tab, errors = _open(browser, server, PHONE)
    yield tab
    tab.context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def _ask(page: Page, question: str) -> None:
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")


def _last_reply(page: Page) -> Locator:
    reply = page.locator("#messages > li.assistant").last
    expect(reply).not_to_have_class(re.compile(r"\bthinking\b"))
    return reply


def _no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate(
        """() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,
                  document.getElementById('chat').scrollWidth, document.getElementById('chat').clientWidth]"""
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    assert widths[2] <= widths[3], f"the conversation scrolls sideways: {widths}"


@pytest.mark.slow
def test_first_visit_shows_product_corpus_size_and_examples(page: Page, api: httpx.Client) -> None:
    health = api.get("/health").json()
    expect(page.get_by_role("heading", level=1)).to_have_text("qa-service")
    expect(page.locator("#corpus-status")).to_contain_text(f"{health['documents']} articles")
    newest = max((d for d in api.get("/documents").json() if d["label_is_title"]), key=lambda d: d["date"] or "")
    expect(page.locator(".example").first).to_contain_text(f"What is “{newest['title'][:30]}")  # clipped at 60
    expect(page.locator("#empty-corpus")).to_be_hidden()
    log = page.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("button", name="Ask")).to_be_visible()


@pytest.mark.slow
def test_empty_corpus_shows_a_hint_instead_of_examples(page: Page) -> None:
    page.route("**/documents", lambda route: route.fulfill(status=200, content_type="application/json", body="[]"))
    page.reload()
    expect(page.locator("#empty-corpus")).to_be_visible()
    expect(page.locator("#empty-corpus")).to_contain_text("No articles are loaded yet")
    expect(page.locator(".example")).to_have_count(0)


@pytest.mark.slow
def test_answer_with_citation_opens_the_highlighted_quote(page: Page, api: httpx.Client) -> None:
    question = SEED_QUESTION
    expected = api.post("/ask", json={"question": question, "top_k": 5}).json()
    assert expected["answerable"], expected
    first = expected["citations"][0]

    _ask(page, question)
    expect(page.locator("#messages > li.user").last).to_have_text(re.compile(re.escape(question)))
    reply = _last_reply(page)
    expect(reply.locator(".answer")).to_contain_text("Dorothy Shea")
    markers = reply.locator("button.cite")
    expect(markers).to_have_count(len(expected["citations"]))
    expect(markers.first).to_have_text("[1]")
    expect(page.get_by_label("Your question")).to_have_value("")  # cleared only after a success

    span = expected.get("answer_span")
    if span and first["start"] <= span["start"] and span["end"] <= first["end"]:
        expect(reply.locator("strong.short-answer")).to_have_text(span["text"])
    else:  # nothing to mark inside the quoted answer: nothing is bold
        expect(reply.locator("strong.short-answer")).to_have_count(0)

    # The sources under the answer: title (or the opening words, styled apart), date and document id.
    source = reply.locator("button.source").first
    expect(source).to_contain_text(first["label"])
    expect(source.locator(".source-title.derived")).to_have_count(0 if first["label_is_title"] else 1)
    expect(source).to_contain_text(first["doc_id"])
    if first["date"]:
        expect(source.locator("time")).to_have_attribute("datetime", first["date"])
    else:
        expect(source.locator("time")).to_have_count(0)

    # The marker opens the passage with exactly text[start:end] of the document highlighted.
    markers.first.click()
    panel = page.get_by_role("dialog")
    expect(panel).to_be_visible()
    mark = panel.locator("mark")
    expect(mark).to_have_count(1)
    assert mark.text_content() == first["quote"]
    document = api.get(f"/documents/{first['doc_id']}").json()
    assert document["text"][first["start"] : first["end"]] == first["quote"]
    excerpt = panel.locator(".article").text_content() or ""
    assert len(excerpt) > len(first["quote"]), "the excerpt shows no context around the quote"

    # The whole article, with the quote highlighted and scrolled into view.
    panel.get_by_role("button", name="Read the whole article").click()
    expect(panel.locator(".article.full")).to_be_visible()
    assert panel.locator(".article.full").text_content() == document["text"]
    expect(panel.locator("mark")).to_have_text(first["quote"])
    expect(panel.locator("mark")).to_be_in_viewport()

    # Escape closes the panel and gives focus back to the marker that opened it.
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(markers.first).to_be_focused()

    # The source card opens the same passage.
    source.click()
    expect(panel.locator("mark")).to_have_text(first["quote"])
    panel.get_by_role("button", name="Close source").click()
    expect(panel).to_be_hidden()
    expect(source).to_be_focused()


@pytest.mark.slow
def test_abstention_offers_only_related_passages_and_says_what_they_are(page: Page, api: httpx.Client) -> None:
    off_topic = "Who won the 2022 FIFA World Cup?"
    assert not api.post("/ask", json={"question": off_topic}).json()["answerable"]
    _ask(page, off_topic)
    reply = _last_reply(page)
    expect(reply).to_have_class(re.compile(r"\babstain\b"))
    expect(reply).to_contain_text("The articles don't answer this.")
    expect(reply).to_contain_text("No passage in the loaded articles is close to this question")
    expect(reply.locator("button.source")).to_have_count(0)  # it used to offer three unrelated passages
    expect(reply.locator("button.cite")).to_have_count(0)

    question = "Which football club did Bilawal play for?"
    expected = api.post("/ask", json={"question": question}).json()
    assert not expected["answerable"], expected
    related = [p for p in expected["passages"] if p["related"]]
    assert related and len(related) < len(expected["passages"]), expected["passages"]
    _ask(page, question)
    reply = _last_reply(page)
    expect(reply.get_by_role("heading", level=3)).to_have_text(
        re.compile(r"Passages that mention .*Bilawal.*, though they do not answer it")
    )
    shown = reply.locator("button.source:visible")
    expect(shown).to_have_count(min(3, len(related)))
    more = reply.get_by_role("button", name=re.compile(r"Show \d+ more"))
    if len(related) > 3:
        more.click()
        expect(shown).to_have_count(len(related))
    else:
        expect(more).to_have_count(0)

    shown.first.click()
    panel = page.get_by_role("dialog")
    expect(panel).to_contain_text("Related passage")
    document = api.get(f"/documents/{related[0]['doc_id']}").json()
    expect(panel.locator("mark")).to_have_text(document["text"][related[0]["start"] : related[0]["end"]])
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()


@pytest.mark.slow
def test_differing_articles_and_names_never_mentioned_are_shown(page: Page, api: httpx.Client) -> None:
    question = "How many global capitals did the Indian delegations visit?"
    expected = api.post("/ask", json={"question": question}).json()
    differs = [s for s in expected["sources"] if s["relation"] == "differs"]
    assert differs, expected["sources"]
    _ask(page, question)
    reply = _last_reply(page)
    box = reply.locator(".agreements")
    expect(box.get_by_role("heading", level=3)).to_have_text("The articles differ")
    expect(box).to_contain_text(f"“{differs[0]['value']}” instead of “{differs[0]['answer_value']}”")
    box.get_by_role("link").first.click()
    panel = page.get_by_role("dialog")
    expect(panel.locator("mark")).to_have_text(differs[0]["citation"]["quote"])
    page.keyboard.press("Escape")

    _ask(page, "Who did the delegation meet in Tokyo?")
    reply = _last_reply(page)
    expect(reply).to_have_class(re.compile(r"\babstain\b"))
    expect(reply.locator(".not-found")).to_have_text("The articles never mention “Tokyo”.")


@pytest.mark.slow
def test_untitled_articles_are_labelled_by_their_opening_words(page: Page, api: httpx.Client) -> None:
    untitled = [d for d in api.get("/documents").json() if not d["title"] and d["doc_id"] != "injected"]
    assert untitled
    question = "Which news agency interviewed Bilawal?"
    answer = api.post("/ask", json={"question": question}).json()
    citation = next(c for c in answer["citations"] if not c["label_is_title"])
    _ask(page, question)
    reply = _last_reply(page)
    label = reply.locator("button.source", has_text=citation["doc_id"]).first.locator(".source-title")
    expect(label).to_have_class(re.compile(r"\bderived\b"))
    expect(label).to_contain_text(citation["label"])
    expect(reply).not_to_contain_text("Untitled article")
    assert label.evaluate("e => getComputedStyle(e).fontStyle") == "italic"  # set apart from a real title


@pytest.mark.slow
def test_question_box_is_focused_and_a_long_question_is_not_cut(page: Page) -> None:
    box = page.get_by_label("Your question")
    expect(box).to_be_focused()
    counter = page.locator("#char-count")
    expect(counter).to_be_hidden()
    long_question = "Who met Dorothy Shea? " + "x" * 1180
    box.fill(long_question)
    expect(box).to_have_value(long_question)  # nothing is cut off silently
    expect(counter).to_be_visible()
    expect(counter).to_contain_text(f"{len(long_question):,} / 1,000 characters")
    expect(counter).to_contain_text("too many")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/ask") else None)
    box.press("Enter")
    expect(counter).to_have_attribute("role", "alert")
    expect(page.locator("#messages > li")).to_have_count(0)
    assert asked == []
    box.fill(SEED_QUESTION)
    expect(counter).to_be_hidden()


def _offline(context: BrowserContext) -> list[str]:
    """Abort every request that leaves this machine, as with no internet; returns the URLs that tried."""
    blocked: list[str] = []

    def route(route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", route)
    return blocked


@pytest.mark.slow
def test_api_docs_render_without_internet(browser: Browser, server: str) -> None:
    context = browser.new_context(viewport=DESKTOP, base_url=server)
    blocked = _offline(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto("/docs")
        operations = page.locator(".opblock-summary-path")
        expect(operations.filter(has_text=re.compile(r"^/ask$"))).to_be_visible()
        paths = {text.replace("\u200b", "") for text in operations.all_text_contents()}
        assert {"/ask", "/search", "/documents", "/documents/{doc_id}", "/health"} <= paths, paths
        redoc = page.goto("/redoc")
        assert redoc is not None and redoc.status == 404  # off: ReDoc's page loads a logo from its CDN
    finally:
        context.close()
    assert blocked == [], f"the docs tried to load from outside: {blocked}"
    assert errors == [], errors


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second server that needs a key for every read (QA_REQUIRE_KEY_FOR_READS)."""
    with page_server(
        tmp_path_factory.mktemp("web-e2e-keyed"), QA_API_KEY=API_KEY, QA_REQUIRE_KEY_FOR_READS="true"
    ) as url:
        yield url


@pytest.mark.slow
def test_a_server_that_needs_a_key_gets_it_from_the_page(browser: Browser, keyed_server: str) -> None:
    context = browser.new_context(viewport=DESKTOP, base_url=keyed_server)
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    try:
        page.goto("/")
        box = page.get_by_label("Your question")
        _ask(page, SEED_QUESTION)
        error = page.locator("#messages > li.error").last
        expect(error).to_contain_text("API key")
        expect(error.get_by_role("button", name="Try again")).to_have_count(0)  # it could never succeed
        key_box = error.get_by_label("API key")
        expect(key_box).to_be_focused()
        expect(key_box).to_have_attribute("type", "password")

        key_box.fill("wrong-key")
        key_box.press("Enter")
        expect(page.locator("#messages > li.error").last).to_contain_text("did not accept this API key")

        with page.expect_request(lambda r: r.url.endswith("/ask")) as request:
            page.locator("#messages > li.error").last.get_by_label("API key").fill(API_KEY)
            page.locator("#messages > li.error").last.get_by_role("button", name="Use key and ask again").click()
        assert request.value.headers.get("authorization") == f"Bearer {API_KEY}"
        expect(_last_reply(page).locator(".answer")).to_contain_text("Dorothy Shea")
        expect(box).to_have_value("")
        expect(page.locator("#key-status")).to_be_visible()

        # Kept for this tab's session only: sessionStorage, never localStorage, and not in a new session.
        assert page.evaluate("sessionStorage.getItem('qa-service-api-key')") == API_KEY
        assert page.evaluate("localStorage.length") == 0
        page.reload()
        _ask(page, SEED_QUESTION)
        expect(_last_reply(page).locator(".answer")).to_contain_text("Dorothy Shea")
        other = browser.new_context(base_url=keyed_server).new_page()
        other.goto("/")
        assert other.evaluate("sessionStorage.getItem('qa-service-api-key')") is None
        other.context.close()

        page.get_by_role("button", name="Forget it").click()
        assert page.evaluate("sessionStorage.getItem('qa-service-api-key')") is None
        _ask(page, SEED_QUESTION)
        expect(page.locator("#messages > li.error").last.get_by_label("API key")).to_be_visible()
    finally:
        context.close()


@pytest.mark.slow
def test_article_html_is_shown_as_text_and_never_runs(page: Page, injected_doc: str) -> None:
    _ask(page, "What is the source of the Blue Nile?")
    reply = _last_reply(page)
    expect(reply.locator(".answer")).to_contain_text("Lake Tana <script>window.__pwned=1</script>")

    reply.locator("button.source", has_text=injected_doc).first.click()
    panel = page.get_by_role("dialog")
    panel.get_by_role("button", name="Read the whole article").click()
    expect(panel.locator(".article.full")).to_have_text(INJECTED_TEXT)

    # A question is untrusted too.
    hostile_question = 'Where does it lie? <img src=x onerror="window.__pwned=3">'
    page.keyboard.press("Escape")
    _ask(page, hostile_question)
    expect(page.locator("#messages > li.user").last).to_contain_text(hostile_question)
    _last_reply(page)

    page.wait_for_timeout(300)  # give any injected handler a chance to fire
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("img").count() == 0
    assert page.locator("#messages script, #source-panel script").count() == 0


EMOJI_TEXT = (
    "🌍" * 40 + " Bridges of the north 🚧\n\n"
    "The Zorvath Bridge over the Quellen River opened in 1987. 🚀🚀 It was designed by the engineer Ilse Marrow, "
    "who also built the Tarnby viaduct."
)


@pytest.mark.slow
def test_quotes_after_emoji_are_highlighted_where_they_are(page: Page, api: httpx.Client) -> None:
    """Offsets are code points (Python's); JavaScript slices UTF-16, where each emoji is two units: with 40 emoji
    before the quote the highlight began 40 characters early and split a surrogate pair."""
    response = api.post("/documents", json={"doc_id": "emoji-bridges", "text": EMOJI_TEXT})
    assert response.status_code in (201, 409), response.text
    question = "Who designed the Zorvath Bridge?"
    expected = api.post("/ask", json={"question": question}).json()
    first = expected["citations"][0]
    assert first["doc_id"] == "emoji-bridges" and first["start"] > 40, expected  # 40 emoji (80 UTF-16 units) before
    _ask(page, question)
    reply = _last_reply(page)
    span = expected["answer_span"]
    if span and first["start"] <= span["start"] and span["end"] <= first["end"]:
        expect(reply.locator("strong.short-answer")).to_have_text(span["text"])
    reply.locator("button.cite").first.click()
    panel = page.get_by_role("dialog")
    expect(panel.locator("mark")).to_have_text(first["quote"])
    panel.get_by_role("button", name="Read the whole article").click()
    expect(panel.locator(".article.full")).to_have_text(api.get("/documents/emoji-bridges").json()["text"])
    expect(panel.locator("mark")).to_have_text(first["quote"])
    page.keyboard.press("Escape")


@pytest.mark.slow
def test_server_errors_are_shown_and_the_question_is_kept(page: Page) -> None:
    question = SEED_QUESTION
    box = page.get_by_label("Your question")

    page.route(
        "**/ask",
        lambda route: route.fulfill(
            status=500, content_type="application/json", body=json.dumps({"detail": "the index is being rebuilt"})
        ),
    )
    _ask(page, question)
    error = page.locator("#messages > li.error").last
    expect(error).to_contain_text("the index is being rebuilt")
    expect(error).to_contain_text("500")
    expect(box).to_have_value(question)

    # A validation error: detail is a list of pydantic errors with `msg`.
    page.unroute("**/ask")
    detail = [{"type": "value_error", "loc": ["body", "question"], "msg": "Value error, must not be empty or blank"}]
    page.route(
        "**/ask",
        lambda route: route.fulfill(status=422, content_type="application/json", body=json.dumps({"detail": detail})),
    )
    box.press("Enter")
    expect(page.locator("#messages > li.error")).to_have_count(2)
    expect(page.locator("#messages > li.error").last).to_contain_text("must not be empty or blank")
    expect(box).to_have_value(question)

    # The network fails: the request never reaches a server.
    page.unroute("**/ask")

    def fail(route: Route) -> None:
        route.abort("connectionrefused")

    page.route("**/ask", fail)
    page.locator("#messages > li.error").last.get_by_role("button", name="Try again").click()
    expect(page.locator("#messages > li.error")).to_have_count(3)
    expect(page.locator("#messages > li.error").last).to_contain_text("Couldn't reach the server")
    expect(box).to_have_value(question)

    # Back online: the same question goes through and only now is the box cleared.
    page.unroute("**/ask")
    box.press("Enter")
    expect(_last_reply(page).locator(".answer")).to_contain_text("Dorothy Shea")
    expect(box).to_have_value("")


@pytest.mark.slow
def test_enter_sends_and_shift_enter_adds_a_line(page: Page) -> None:
    box = page.get_by_label("Your question")
    box.focus()
    box.press("Enter")  # nothing to send yet
    expect(page.locator("#messages > li")).to_have_count(0)

    page.keyboard.type("Who met")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("Dorothy Shea?")
    expect(box).to_have_value("Who met\nDorothy Shea?")
    expect(page.locator("#messages > li")).to_have_count(0)

    with page.expect_request(lambda r: r.url.endswith("/ask") and r.method == "POST") as request:
        page.keyboard.press("Enter")
    assert json.loads(request.value.post_data or "{}")["question"] == "Who met\nDorothy Shea?"
    expect(page.locator("#messages > li.user")).to_have_count(1)
    expect(page.locator("#messages > li.user")).to_contain_text("Dorothy Shea?")
    expect(_last_reply(page)).to_be_visible()
    expect(box).to_have_value("")


@pytest.mark.slow
def test_phone_width_has_no_horizontal_scroll(phone: Page) -> None:
    _no_horizontal_scroll(phone)
    _ask(phone, SEED_QUESTION)
    expect(_last_reply(phone).locator("button.cite").first).to_be_visible()
    _ask(phone, "Which football club did Bilawal play for?")
    expect(_last_reply(phone)).to_contain_text("The articles don't answer this.")
    _no_horizontal_scroll(phone)

    phone.locator("button.cite").first.click()
    panel = phone.get_by_role("dialog")
    expect(panel.locator("mark")).to_be_visible()
    panel.evaluate("el => Promise.all(el.getAnimations().map((a) => a.finished))")  # the panel slides in
    box = panel.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, box
    _no_horizontal_scroll(phone)


# True once the question that asked the newest reply is at the top of the conversation (16 px below its edge),
# or the conversation is scrolled to its end (all of the reply fits below the question); smooth scrolling settles.
_REPLY_SHOWN_FROM_ITS_QUESTION = """() => {
  const question = [...document.querySelectorAll('#messages > li.user')].pop();
  const chat = document.getElementById('chat');
  const offset = question.getBoundingClientRect().top - chat.getBoundingClientRect().top;
  const below = chat.scrollHeight - chat.clientHeight - chat.scrollTop;
  return (offset >= 0 && offset <= 40) || below <= 1;
}"""


def _reply_is_shown_from_its_question(page: Page) -> None:
    """A long reply is read from its start: the page scrolls the question that asked it to the top."""
    page.wait_for_function(_REPLY_SHOWN_FROM_ITS_QUESTION, timeout=10_000)
    expect(page.locator("#messages > li.user").last).to_be_in_viewport()


@pytest.mark.slow
def test_new_replies_are_read_from_their_question_and_screenshots(page: Page, phone: Page, tmp_path: Path) -> None:
    """Each new reply is scrolled into view from the question that asked it, at desktop and phone width, and an
    open citation shows its highlighted quote; the screenshots of those moments go to docs/screenshots/
    (QA_UPDATE_SCREENSHOTS=1) or a temporary folder."""
    folder = screenshot_folder(tmp_path)

    page.screenshot(path=folder / "welcome-desktop.png")
    _ask(page, SEED_QUESTION)
    expect(_last_reply(page).locator("button.cite").first).to_be_visible()
    _reply_is_shown_from_its_question(page)
    _ask(page, "Which football club did Bilawal play for?")
    expect(_last_reply(page)).to_contain_text("The articles don't answer this.")
    _reply_is_shown_from_its_question(page)
    page.screenshot(path=folder / "chat-desktop.png")

    page.locator("button.cite").first.click()
    expect(page.get_by_role("dialog").locator("mark")).to_be_in_viewport()
    page.wait_for_timeout(400)  # the panel slides in
    page.screenshot(path=folder / "citation-desktop.png")

    _ask(phone, SEED_QUESTION)
    expect(_last_reply(phone).locator("button.cite").first).to_be_visible()
    _reply_is_shown_from_its_question(phone)
    phone.screenshot(path=folder / "chat-phone.png")
    phone.locator("button.cite").first.click()
    expect(phone.get_by_role("dialog").locator("mark")).to_be_in_viewport()
    phone.wait_for_timeout(400)
    phone.screenshot(path=folder / "citation-phone.png")
