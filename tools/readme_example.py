"""Write the README's opening example from a real run: its questions asked of the seed articles, as `POST /ask`
answers them (the same `QAService.ask`), shortened only where it says "...".

    python tools/readme_example.py          # rewrite the block between the README's example markers
    python tools/readme_example.py --check  # exit 1 if the README's block is not what a run gives now

A hand-edited example once showed `answer_span` 2250-2264, where the text says 'othy Shea, the'
(tests/tools/test_readme.py checks the offsets of whatever the block shows against the seed articles).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START = "<!-- example:start (tools/readme_example.py writes this block) -->"
END = "<!-- example:end -->"
QUESTION = "Who met Dorothy Shea?"
NEVER_MENTIONED = "Who did the delegation meet in Tokyo?"
ANSWER_CHARS = 100  # the answer and the quote are cut at a word about here, ending in " ..."
CURL = "curl -s localhost:8000/ask -H 'content-type: application/json' -d "


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: text.rfind(" ", 0, limit)].rstrip(" ,;:") + " ..."


def _j(value: Any) -> str:  # any JSON value
    return json.dumps(value, ensure_ascii=False)


def example_block(answered: dict[str, Any], abstained: dict[str, Any]) -> str:
    """The fenced example: the first citation in full offsets, long strings cut with " ..."."""
    span = answered["answer_span"]
    first = answered["citations"][0]
    span_text = "null"
    if span:
        span_text = (
            f'{{"start": {span["start"]}, "end": {span["end"]}, "text": {_j(span["text"])}, '
            f'"citation": {span["citation"]}}}'
        )
    more = ", ..." if len(answered["citations"]) > 1 else ""
    lines = [
        "```",
        f"$ {CURL}'{_j({'question': QUESTION})}'",
        f'{{"answer": {_j(_cut(answered["answer"], ANSWER_CHARS))},',
        f' "answerable": true, "confidence": {answered["confidence"]:.2f},',
        f' "answer_span": {span_text},',
        f' "citations": [{{"id": 1, "doc_id": {_j(first["doc_id"])}, "label": {_j(_cut(first["label"], 40))}, '
        f'"date": {_j(first["date"])},',
        f'                "start": {first["start"]}, "end": {first["end"]}, '
        f'"quote": {_j(_cut(first["quote"], 60))}, ...}}{more}],',
        f' "sources": {"[...]" if answered["sources"] else "[]"}, "not_found": [], '
        '"question_language": null, "passages": [...], "timings_ms": {...}}',
        f"$ {CURL}'{_j({'question': NEVER_MENTIONED})}'",
        f'{{"answer": null, "answerable": false, "not_found": {_j(abstained["not_found"])}, ...}}'
        "      # the articles never mention it",
        "```",
    ]
    return "\n".join(lines)


def run() -> str:
    """Ask the example's questions of a fresh index of the seed articles (real model); returns the block."""
    sys.path.insert(0, str(ROOT))
    from qa_service.config import Settings
    from qa_service.service import QAService

    with tempfile.TemporaryDirectory(prefix="readme-example-") as folder:
        settings = Settings(index_dir=Path(folder) / "index", seeds_dir=ROOT / "seeds", _env_file=None)
        service = QAService(settings).load()
        try:
            service.ingest_paths([settings.seeds_dir], progress=False)
            answered = service.ask(QUESTION).model_dump()
            abstained = service.ask(NEVER_MENTIONED).model_dump()
        finally:
            service.close()
    return example_block(answered, abstained)


def readme_block(readme: str) -> str:
    """The block between the markers, as the README has it now."""
    head, found, rest = readme.partition(START + "\n")
    if not found or END not in rest:
        raise SystemExit(f"{README.name} has no example markers ({START} ... {END})")
    return rest.split("\n" + END, 1)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README differs from a real run")
    args = parser.parse_args(argv)
    readme = README.read_text(encoding="utf-8")
    current, fresh = readme_block(readme), run()
    if args.check:
        if current != fresh:
            print(f"the README's example is not what a run gives now; run: python tools/{Path(__file__).name}")
            print(fresh)
            return 1
        print("the README's example is what a run gives")
        return 0
    README.write_text(readme.replace(START + "\n" + current + "\n" + END, START + "\n" + fresh + "\n" + END), "utf-8")
    print(fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
