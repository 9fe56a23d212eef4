"""The rules answerer's (`QA_ANSWERER=rules`) answer-type discipline on a small invented news corpus, with the real
model and spaCy: a "who" question is answered by a sentence that names a person, a detail no article gives is
abstained on with what is missing, a figure must count what "how many X" asks about, reports that give other figures
are flagged, and the name behind "she said" is found in the sentence before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qa_service.embedding import Embedder
from qa_service.ingest.clean import make_document
from qa_service.service import QAService

from ..conftest import make_settings
from .conftest import assert_citations_exact

ARTICLES = {
    "flood-gazette": (
        "River Ostra floods Brenmark\n\n"
        "The River Ostra burst its banks in Brenmark on Saturday after days of heavy rain. "
        "Police arrested a man after a dam gate upstream was found open. "
        "At least 41 people died in the flooding, officials said."
    ),
    "flood-courier": (
        "Brenmark flood toll rises\n\n"
        "The number of people who died in the Brenmark flood rose to 57 on Sunday, the regional council said. "
        "Police arrested Tomas Vell, a 34-year-old engineer from Kessing, after the dam gate was found open. "
        "District official Marta Kiel toured the shelters on Sunday evening. "
        "She said the cold night was slowing the rescue teams in the valley."
    ),
    "market": (
        "Harbor Market reopens\n\n"
        "The Harbor Market in Kessing reopened on Monday after repairs costing $2 million. "
        "The market's manager, Ilse Brandt, welcomed the traders back."
    ),
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[QAService]:
    index = Path(tmp_path_factory.mktemp("typed")) / "index"
    service = QAService(make_settings(index, answerer="rules"), embedder=embedder).load()
    service.write([make_document(text, doc_id) for doc_id, text in ARTICLES.items()])
    yield service
    service.close()


def test_who_is_answered_by_the_sentence_that_names_a_person(service: QAService) -> None:
    answer = service.ask("Who was arrested after the dam gate was found open?")
    assert_citations_exact(service, answer)
    assert answer.answerable and "Tomas Vell" in (answer.answer or "")  # not "Police arrested a man ..."
    assert answer.answer_span is not None and answer.answer_span.text == "Tomas Vell"


def test_a_detail_no_article_gives_is_abstained_on_saying_what_is_missing(service: QAService) -> None:
    answer = service.ask("What percentage of Brenmark was under water?")
    assert not answer.answerable and answer.citations == []
    assert answer.reason == "The articles give no percentage."
    assert answer.passages  # the closest passages are still offered


def test_a_figure_must_count_what_how_many_asks_about(service: QAService) -> None:
    answer = service.ask("How many bridges collapsed in the Brenmark flood?")
    assert not answer.answerable
    assert answer.reason == "The articles give no figure for the bridge."
    counted = service.ask("How many people died in the Brenmark flood?")
    assert counted.answerable and counted.answer_span is not None
    assert counted.answer_span.text in ("At least 41", "41", "57")


def test_reports_that_give_another_figure_are_flagged_with_both_values(service: QAService) -> None:
    answer = service.ask("How many people died in the Brenmark flood?")
    assert_citations_exact(service, answer)
    differs = [s for s in answer.sources if s.relation == "differs"]
    assert differs, answer.sources
    source = differs[0]
    assert source.citation.doc_id != answer.citations[0].doc_id
    assert {source.value.removeprefix("At least ").removeprefix("at least "), source.answer_value.split()[-1]} == {
        "41",
        "57",
    }
    assert source.value in source.citation.quote


def test_the_name_behind_she_said_comes_from_the_sentence_before(service: QAService) -> None:
    answer = service.ask("Which district official said the cold night was slowing the rescue teams?")
    assert_citations_exact(service, answer)
    assert answer.answer_span is not None and answer.answer_span.text == "Marta Kiel"


def test_a_question_reads_the_phrases_stored_at_ingest(service: QAService, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sentences are typed once when indexed: answering never parses a candidate sentence again."""
    import qa_service.answering.context as context

    def no_parsing(text: str) -> None:
        raise AssertionError(f"a stored sentence was parsed again: {text!r}")

    monkeypatch.setattr(context, "_typed", no_parsing)
    answer = service.ask("Who manages the Harbor Market?")
    assert answer.answer_span is not None and answer.answer_span.text == "Ilse Brandt"
