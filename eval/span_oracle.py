"""The short-answer picker alone, on "oracle" sentences: how often it bolds the right words when the quote is right.

    .venv/bin/python eval/span_oracle.py                       # both SQuAD subsets in ../shared/benchmarks/squad
    .venv/bin/python eval/span_oracle.py FILE.json ... [--rows wrong] [--limit N] [--by-wh] [--dump PATH]
    .venv/bin/python eval/span_oracle.py eval/questions.jsonl [--corpus seeds]   # a seed-format question file

For every answerable SQuAD question the quote is the sentence of the gold paragraph (split with
`qa_service.text.phrases.sentence_spans`) that holds the first gold answer's start, so sentence selection plays no
part. Each picker chooses a span inside that quote; EM and F1 (SQuAD normalisation, max over the gold answers,
no span = 0) are printed for the typed-phrase picker (the ingest-time phrase that made the sentence a candidate,
`qa_service.answering.candidates.best_phrase`) and for the spaCy picker
(`qa_service.answering.short_answer.pick_short_answer`), with the share of questions each gave a span for and
the spaCy picker's cost per question (one question + one quote analysed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qa_service.evaluation import best_of, exact_match, token_f1
from qa_service.text.phrases import sentence_spans

ROOT = Path(__file__).resolve().parent.parent
SQUAD_DIR = ROOT.parent / "shared" / "benchmarks" / "squad"
DEFAULT_FILES = (SQUAD_DIR / "squad-v1.1-dev-super-bowl-50.json", SQUAD_DIR / "squad-v2.0-dev-normans.json")
WH_WORDS = ("how many", "how much", "how long", "how", "when", "where", "whom", "whose", "who", "which", "what")


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    quote: str
    golds: tuple[str, ...]

    @property
    def wh(self) -> str:
        lowered = self.question.lower()
        return next((w for w in WH_WORDS if w in lowered), "other")


def oracle_cases(path: Path) -> list[Case]:
    """One case per answerable question: the sentence holding the first gold answer's start as the quote."""
    data = json.loads(path.read_text(encoding="utf-8"))
    cases = []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            spans = sentence_spans(context)
            for qa in paragraph["qas"]:
                if qa.get("is_impossible") or not qa.get("answers"):
                    continue
                answer_start = qa["answers"][0]["answer_start"]
                start, end = next(((s, e) for s, e in spans if s <= answer_start < e), (0, len(context)))
                golds = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                cases.append(Case(str(qa["id"]), qa["question"].strip(), context[start:end], golds))
    return cases


def seed_oracle_cases(path: Path, corpus: Path) -> list[Case]:
    """A seed-format question file: the quote is the first sentence of a gold article holding an acceptable answer.

    Questions whose answers occur in no sentence of their articles (e.g. the answer spans two sentences) are left
    out; unanswerable ones have no quote.
    """
    from qa_service.evaluation import contains_answer, load_eval_set
    from qa_service.ingest.clean import iter_article_files, load_file

    texts = {doc.doc_id: doc.text for doc in (load_file(p) for p in iter_article_files([corpus]))}
    cases = []
    for item in load_eval_set(path, "seed", corpus).items:
        quotes = [
            texts[doc_id][s:e]
            for doc_id in item.doc_ids
            if doc_id in texts
            for s, e in sentence_spans(texts[doc_id])
            if contains_answer(texts[doc_id][s:e], item.answers)
        ]
        if item.answers and quotes:
            cases.append(Case(item.id, item.question, quotes[0], item.answers))
    return cases


def phrase_picker(question: str, quote: str) -> tuple[int, int] | None:
    """The typed phrase the answerer scores a sentence by: right type, new to the question, near its words."""
    from qa_service.answering.candidates import anchor_positions, best_phrase
    from qa_service.answering.question import analyse_question
    from qa_service.text.phrases import type_sentences

    analysis = analyse_question(question)
    _, phrase = best_phrase(analysis, quote, 0, type_sentences([quote])[0], anchor_positions(analysis, quote))
    return (phrase.start, phrase.end) if phrase is not None else None


def new_picker() -> Callable[[str, str], tuple[int, int] | None]:
    from qa_service.answering.question import analyse_question
    from qa_service.answering.short_answer import pick_short_answer
    from qa_service.text.nlp import load_pipeline

    nlp = load_pipeline()
    return lambda question, quote: pick_short_answer(analyse_question(question, nlp=nlp), quote, nlp=nlp)


@dataclass
class Score:
    em: float = 0.0
    f1: float = 0.0
    spans: int = 0
    n: int = 0

    def add(self, prediction: str | None, golds: tuple[str, ...]) -> tuple[float, float]:
        em, f1 = best_of(exact_match, prediction, golds), best_of(token_f1, prediction, golds)
        self.em += em
        self.f1 += f1
        self.spans += prediction is not None
        self.n += 1
        return em, f1

    def row(self) -> str:
        n = max(1, self.n)
        return f"EM {self.em / n:.3f}  F1 {self.f1 / n:.3f}  span given {self.spans / n:.0%}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, default=list(DEFAULT_FILES))
    parser.add_argument("--corpus", type=Path, default=ROOT / "seeds", help="articles for a .jsonl question file")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions of each file")
    parser.add_argument("--rows", choices=("none", "wrong", "all"), default="none", help="print per-question rows")
    parser.add_argument("--by-wh", action="store_true", help="also print the scores per question word")
    parser.add_argument("--dump", type=Path, help="write every prediction as JSON lines to this file")
    args = parser.parse_args(argv)
    pickers = {"phrase": phrase_picker, "spacy": new_picker()}
    dump = args.dump.open("w", encoding="utf-8") if args.dump else None
    for path in args.files:
        if not path.is_file():
            print(f"{path}: no such file", file=sys.stderr)
            return 1
        if path.suffix == ".jsonl":
            cases = seed_oracle_cases(path, args.corpus)[: args.limit or None]
        else:
            cases = oracle_cases(path)[: args.limit or None]
        scores = {name: Score() for name in pickers}
        by_wh: dict[tuple[str, str], Score] = defaultdict(Score)
        cost_ms: list[float] = []
        for case in cases:
            line = []
            row: dict[str, object] = {"id": case.id, "question": case.question, "golds": list(case.golds)}
            for name, pick in pickers.items():
                began = time.perf_counter()
                span = pick(case.question, case.quote)
                if name == "spacy":
                    cost_ms.append((time.perf_counter() - began) * 1000)
                prediction = case.quote[span[0] : span[1]] if span else None
                em, _ = scores[name].add(prediction, case.golds)
                by_wh[(case.wh, name)].add(prediction, case.golds)
                line.append(f"{name}={prediction!r}{'' if em else ' x'}")
                row[name] = prediction
            if dump:
                dump.write(json.dumps(row, ensure_ascii=False) + "\n")
            if args.rows == "all" or (args.rows == "wrong" and " x" in line[-1]):
                print(
                    f"  {case.question}\n    gold={list(case.golds)}  " + "  ".join(line) + f"\n    quote: {case.quote}"
                )
        print(f"{path.name}: {len(cases)} answerable questions with an oracle sentence")
        for name, score in scores.items():
            print(f"  {name:6s} {score.row()}")
        if cost_ms:
            print(
                f"  spacy cost per question: mean {statistics.fmean(cost_ms):.1f} ms, "
                f"p50 {statistics.median(cost_ms):.1f} ms (question + quote parsed, pipeline loaded once)"
            )
        if args.by_wh:
            for wh in WH_WORDS + ("other",):
                if (wh, "phrase") in by_wh:
                    cells = "   ".join(f"{name} {by_wh[(wh, name)].row()}" for name in pickers)
                    print(f"    {wh:9s} n={by_wh[(wh, 'phrase')].n:4d}  {cells}")
    if dump:
        dump.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
