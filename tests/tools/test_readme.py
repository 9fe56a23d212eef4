"""The README says what a fresh clone does: its example is a real run whose offsets hold, each section once, every
command and every evaluation figure explained."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest
from typer.models import CommandInfo

from qa_service.cli.commands import app
from qa_service.evaluation.measures import MEASURES
from qa_service.ingest.clean import load_file
from qa_service.service import QAService

from ..conftest import ROOT, SEEDS

README = (ROOT / "README.md").read_text(encoding="utf-8")
_spec = importlib.util.spec_from_file_location("readme_example", ROOT / "tools" / "readme_example.py")
assert _spec is not None and _spec.loader is not None
readme_example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme_example)


_CONFIDENCE = re.compile(r'(?<="confidence": )\d+\.\d+')


def _cut_prefix(shown: str) -> str:
    """What a shortened string shows of the real one ("At a separate ... ..." -> "At a separate ...")."""
    return shown.removesuffix(" ...")


def test_the_examples_offsets_hold_in_the_seed_articles() -> None:
    block = readme_example.readme_block(README)
    span = re.search(r'"answer_span": \{"start": (\d+), "end": (\d+), "text": ("(?:[^"\\]|\\.)*")', block)
    citation = re.search(
        r'"doc_id": ("[^"]+"), "label": "(?:[^"\\]|\\.)*", "date": ("[^"]*"|null),\s+"start": (\d+), "end": (\d+), '
        r'"quote": ("(?:[^"\\]|\\.)*")',
        block,
    )
    answer = re.search(r'\{"answer": ("(?:[^"\\]|\\.)*")', block)
    assert span and citation and answer, block
    doc_id, date, start, end, quote = citation.groups()
    document = load_file(SEEDS / f"{json.loads(doc_id)}.txt")
    text = document.text
    start, end = int(start), int(end)
    assert document.date == json.loads(date)
    assert text[start:end].startswith(_cut_prefix(json.loads(quote)))
    assert _cut_prefix(json.loads(answer.group(1))) in text[start:end]
    span_start, span_end = int(span.group(1)), int(span.group(2))
    assert text[span_start:span_end] == json.loads(span.group(3)), "the README's answer_span is not the text's"
    assert start <= span_start < span_end <= end


def test_the_example_is_what_a_run_gives(seed_service: QAService, store_kind: str) -> None:
    if store_kind != "embedded":
        pytest.skip("the example is the default store's")
    answered = seed_service.ask(readme_example.QUESTION).model_dump()
    abstained = seed_service.ask(readme_example.NEVER_MENTIONED).model_dump()
    fresh = readme_example.example_block(answered, abstained)
    shown = readme_example.readme_block(README)
    # The confidence is the reader's int8 probability, whose second decimal differs between CPUs (0.24 on AVX2, 0.23
    # on AVX-512 VNNI: ONNX Runtime's int8 kernels): within 0.02, and everything else exactly.
    pairs = zip(_CONFIDENCE.findall(shown), _CONFIDENCE.findall(fresh), strict=True)
    assert all(abs(float(a) - float(b)) <= 0.02 for a, b in pairs), "run: python tools/readme_example.py"
    assert _CONFIDENCE.sub("", shown) == _CONFIDENCE.sub("", fresh), "run: python tools/readme_example.py"


def test_each_section_is_there_once() -> None:
    headings = re.findall(r"^#{2,3} .+$", README, re.M)
    assert len(headings) == len(set(headings)), [h for h in headings if headings.count(h) > 1]


def _command_name(command: CommandInfo) -> str:
    if command.name:
        return command.name
    assert command.callback is not None
    return command.callback.__name__


def test_every_command_is_in_the_command_line_section() -> None:
    section = README.split("### Command line", 1)[1].split("```", 2)[1]
    commands = {_command_name(c) for c in app.registered_commands}
    assert {"ingest", "ask", "serve", "prepare", "eval", "migrate", "list", "delete"} <= commands
    for command in commands:
        assert f"qa-service {command} " in section or f"qa-service {command}\n" in section, command


def test_every_evaluation_figure_is_explained() -> None:
    for name, meaning in MEASURES:
        assert f"| {name} | {meaning} |" in README, name
