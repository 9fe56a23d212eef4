"""Cleaning: each kind of web boilerplate goes, the article's own words stay exactly as written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qa_service.errors import InvalidDocumentError
from qa_service.ingest.clean import (
    _drop_repeated_paragraphs,
    clean_text,
    doc_id_from_name,
    document_label,
    iter_article_files,
    load_file,
    make_document,
    validate_doc_id,
)
from qa_service.text import phrases

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

BODY = "The delegation met officials in London on Monday. It asked for talks."


def test_date_header_becomes_metadata() -> None:
    cleaned = clean_text(f" date 2025-06-03 {BODY}")
    assert cleaned.date == "2025-06-03"
    assert cleaned.text == BODY


@pytest.mark.parametrize(
    "raw",
    [
        f"Delegation Visits London\n\ndate 2025-06-03\n\n{BODY}",
        f"Delegation Visits London\ndate: 2025-06-03\n{BODY}",
        f"Delegation Visits London\n\nDate 2025-06-03 {BODY}",
        f"Delegation Visits London\nA subtitle without a full stop\ndate 2025-06-03\n{BODY}",
    ],
)
def test_date_line_after_a_title_is_the_date_too(raw: str) -> None:
    cleaned = clean_text(raw)
    assert cleaned.date == "2025-06-03"
    assert cleaned.title == "Delegation Visits London"
    assert "2025-06-03" not in cleaned.text and cleaned.text.endswith(BODY)


def test_date_line_deep_in_the_text_or_impossible_stays_text() -> None:
    deep = clean_text(f"Title Line\n\nFirst paragraph here.\n\nSecond one.\n\ndate 2025-06-03\n\n{BODY}")
    assert deep.date is None and "date 2025-06-03" in deep.text
    impossible = clean_text(f"date 2025-02-30 {BODY}")
    assert impossible.date is None and impossible.text == f"date 2025-02-30 {BODY}"


def _label(text: str, title: str | None) -> str:
    return document_label(text, title, phrases.sentence_spans(text))


def test_document_label_is_the_title_or_the_opening_words() -> None:
    assert _label(BODY, "  Delegation   in London ") == "Delegation in London"
    assert _label(BODY, None) == "The delegation met officials in London on Monday"
    assert _label("U.S. envoy Dorothy Shea met them on Monday. More.", "") == (
        "U.S. envoy Dorothy Shea met them on Monday"
    )
    long = "In a sweeping diplomatic push, a high-level Pakistani delegation led by Pakistan Peoples Party leaders met."
    label = _label(long, None)
    assert label == "In a sweeping diplomatic push, a high-level Pakistani delegation led by Pakistan…"
    assert len(label) <= 81 and long.startswith(label.removesuffix("…"))
    assert _label("x" * 300, None) == "x" * 80 + "…"  # no space to cut at


def test_document_label_takes_the_sentence_ingest_found_and_parses_nothing() -> None:
    text = "Alpha beta gamma delta epsilon\n\nSecond paragraph."
    assert document_label(text, None, [(0, 10)]) == "Alpha beta"  # the bounds given, not a parse of its own
    assert document_label(text, None, [(6, 10)]) == "Alpha beta gamma delta epsilon"  # not the opening: the line
    assert document_label(text, None, [(0, 50)]) == "Alpha beta gamma delta epsilon"  # past the line: the line
    assert document_label("  ", None, []) == "Untitled article"


@pytest.mark.parametrize(
    "noise",
    [
        "Advertisement",
        "Tags",
        "No comments:",
        "Post a Comment",
        "READ MORE: Operation Bunyan-un-Marsoos: Pakistan counters India’s Operation Sindoor",
        "Also read: South Asia at brink over Kashmir",
        "Read more: India laying ground for ‘first nuclear water war’, says Bilawal",
        "Delegation meets envoys pic.twitter.com/PlpNxZj75U — Sidhant Sibal (@sidhant) June 3, 2025",
        "— BilawalBhuttoZardari (@BBhuttoZardari) June 7, 2025",
    ],
)
def test_boilerplate_lines_are_removed(noise: str) -> None:
    cleaned = clean_text(f"{BODY}\n\n{noise}\n\nA second paragraph follows here.")
    assert cleaned.text == f"{BODY}\n\nA second paragraph follows here."


def test_repeated_lead_paragraph_is_kept_once() -> None:
    lead = "In a sweeping diplomatic push, a delegation held meetings at the United Nations."
    cleaned = clean_text(f"{lead}\n\n{lead} The visit comes after a flare-up.\n\nMore text.")
    assert cleaned.text.count(lead) == 1
    assert cleaned.text.startswith(f"{lead} The visit comes")


class _CountedStr(str):
    """A paragraph that counts how often it is compared for equality (the cost of a duplicate check)."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        _CountedStr.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_repeated_paragraph_check_is_linear() -> None:
    """40,000 short lines took 24 s when each was looked up in a list of the kept ones (20,000 in 5.6 s)."""
    paragraphs: list[str] = [_CountedStr(f"line {i} of a feed") for i in range(4000)]
    paragraphs.append(_CountedStr("line 7 of a feed"))
    _CountedStr.comparisons = 0
    kept = _drop_repeated_paragraphs(paragraphs)
    assert len(kept) == 4000 and kept[7] == "line 7 of a feed"
    assert _CountedStr.comparisons < 3 * len(paragraphs)  # a list lookup made about 8 million


def test_a_huge_paragraph_is_parsed_in_windows_cut_where_a_sentence_ends() -> None:
    """One line of 23,000 characters goes to the parser a window at a time, and the cuts fall between sentences."""
    sentences = [f"Sentence number {i} says the delegation met officials in London on Monday." for i in range(300)]
    text = " ".join(sentences)
    windows = list(phrases._windows(text, 0, len(text)))
    assert len(windows) > 2 and max(end - start for start, end in windows) <= phrases.WINDOW
    spans = phrases.sentence_spans(text)
    assert [text[s:e] for s, e in spans] == sentences


def test_a_window_never_cuts_after_an_abbreviation() -> None:
    sentence = "The U.S. Army and the U.K. Navy met in Washington, D.C. Officials from the U.N. General Assembly came."
    text = " ".join([sentence] * 120)
    assert len(text) > phrases.WINDOW
    pieces = {text[s:e] for s, e in phrases.sentence_spans(text)}
    assert all(not piece.endswith(("U.S.", "U.K.", "U.N.")) for piece in pieces), pieces


def test_title_from_first_line_only_when_it_looks_like_one() -> None:
    assert (
        clean_text("Pakistan Urges Global Intervention\n\nBody text here.").title
        == "Pakistan Urges Global Intervention"
    )
    assert clean_text("The group held talks with officials.\nMore.").title is None


def test_words_inside_sentences_are_not_touched() -> None:
    text = "He said the Advertisement board and pic of the day were fine. Tags were in 1.7 billion U.S. homes."
    assert clean_text(text).text == text


def test_seed_files_are_cleaned(tmp_path: Path) -> None:
    documents = [load_file(p) for p in iter_article_files([SEEDS])]
    assert [d.doc_id for d in documents] == sorted(p.stem for p in SEEDS.glob("*.txt"))
    for document in documents:
        for marker in ("pic.twitter.com", "Post a Comment", "Advertisement", "READ MORE:", "(@", "date 2025"):
            assert marker not in document.text, (document.doc_id, marker)
    first = documents[0]
    assert first.date == "2025-06-03"
    assert first.text.count("In a sweeping diplomatic push") == 1
    assert documents[2].title and documents[2].title.startswith("Pakistan Launches Global Diplomatic Outreach")


def test_non_utf8_file_is_reported_by_name(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Caf\xe9 society".encode("latin-1"))
    with pytest.raises(InvalidDocumentError, match="not valid UTF-8 text"):
        load_file(bad)


def test_a_fifo_or_a_device_is_refused_at_once_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # no writer: reading it would wait for ever
    with pytest.raises(InvalidDocumentError, match=r"not a regular file but a FIFO \(named pipe\)"):
        load_file(fifo)
    with pytest.raises(InvalidDocumentError, match="not a regular file but a character device"):
        load_file(Path("/dev/zero"))


def test_links_in_a_folder_are_followed_and_noted_when_they_leave_it_or_left_out(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("A.", encoding="utf-8")
    (folder / "sub" / "inside.txt").symlink_to(folder / "a.txt")
    (tmp_path / "secret.txt").write_text("S.", encoding="utf-8")
    (folder / "z.txt").symlink_to(tmp_path / "secret.txt")
    notes: dict[str, str] = {}
    assert list(iter_article_files([folder], notes=notes)) == [
        folder / "a.txt",
        folder / "z.txt",
        folder / "sub" / "inside.txt",
    ]
    assert notes == {
        str(
            folder / "z.txt"
        ): f"a symbolic link to {tmp_path / 'secret.txt'}, outside {folder}; read (--no-follow skips it)"
    }
    notes.clear()
    assert list(iter_article_files([folder], follow_links=False, notes=notes)) == [folder / "a.txt"]
    assert set(notes) == {str(folder / "z.txt"), str(folder / "sub" / "inside.txt")}


def test_control_characters_and_terminal_escapes_are_cleaned_out() -> None:
    """Stored, they reached a terminal through `qa-service ask` (colours, cursor moves, the window title)."""
    raw = "Red \x1b[31malert\x1b[0m here.\x07 \x1b]0;pwned\x07Title set.\x00 Done\x9b2J.\tA tab is a space."
    assert clean_text(raw).text == "Red alert here. Title set. Done. A tab is a space."
    assert make_document(BODY, "t", title="Head\x1b[2Jline").title == "Headline"


@pytest.mark.parametrize("raw", ["\x00\x00\x00", "\u200b\u200c\u200d\ufeff\u2060", "... !!! --"])
def test_text_without_a_letter_or_digit_is_refused(raw: str) -> None:
    with pytest.raises(InvalidDocumentError, match=r"no article text|no words"):
        make_document(raw, "empty")


def test_empty_document_is_rejected() -> None:
    with pytest.raises(InvalidDocumentError, match="no article text"):
        make_document("Advertisement\n\nPost a Comment", "empty")


@pytest.mark.parametrize("bad", ["../etc/passwd", "a/b", "..", "", "x" * 129, "-lead", "a..b"])
def test_unsafe_document_ids_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidDocumentError):
        validate_doc_id(bad)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("news", "news"),
        ("My News (2)", "My-News-2"),
        ("Café société", "Cafe-societe"),
        ("..hidden..name", "hidden.name"),
        ("-- dashes --", "dashes"),
    ],
)
def test_file_names_become_valid_ids(name: str, expected: str) -> None:
    assert doc_id_from_name(name) == expected
    assert validate_doc_id(doc_id_from_name(name))


def test_names_with_nothing_usable_or_too_long_still_get_distinct_valid_ids() -> None:
    ids = {doc_id_from_name(n) for n in ("北京新闻", "東京ニュース", "x" * 300, "x" * 301)}
    assert len(ids) == 4
    assert all(validate_doc_id(i) and len(i) <= 128 for i in ids)


def test_an_id_from_a_page_address_even_when_it_is_not_a_url() -> None:
    from qa_service.ingest.clean import DOC_ID_PATTERN, doc_id_from_url

    assert doc_id_from_url("https://www.example.com/news/a-b?id=7") == "example.com-news-a-b-id-7"
    # the host and the last path segment, as a file's id is its name; the whole path when that says nothing
    assert doc_id_from_url("https://www.ledger.example/2005/03/council-budget.html") == "ledger.example-council-budget"
    assert doc_id_from_url("https://ledger.example/2005/03/index.html") == "ledger.example-2005-03-index.html"
    assert doc_id_from_url("https://ledger.example/story/1234/?utm_source=rss&id=7") == "ledger.example-1234-id-7"
    assert DOC_ID_PATTERN.fullmatch(doc_id_from_url("HTTP://["))  # an unclosed IPv6 bracket: urlsplit raises
