"""Synthetic in-domain training questions for the reader, made from news text with the service's own spaCy typing.

    python -m devtools.synth_questions --out build/synth-news.jsonl

For each sentence, each typed phrase that can be asked for (a person, an organisation, a place, a date, a
count, an amount, a percentage) becomes an answer: its clause is rewritten into a wh-question (the phrase
replaced by "who", "when", "how many <noun>", ... and moved to the front when it is the subject). The sentence
is the positive; two other sentences of the same article that do not hold the answer are negatives.

Articles: the news benchmark's, except every article a news-test question cites and every article of the same
story (the file names' story slug), so no test fact is trained on; the seeds are left out too (the check set
is asked of them). Deterministic.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

NEWS = Path(__file__).resolve().parents[1].parent / "shared/benchmarks/news"
_WH = {
    "PERSON": "who",
    "ORG": "which organisation",
    "GPE": "where",
    "LOC": "where",
    "FAC": "where",
    "DATE": "when",
    "MONEY": "how much money",
    "PERCENT": "what percentage",
    "QUANTITY": "how much",
}
_BREAK = re.compile(r",\s|[;:()\u2014\"“”]")  # a comma inside "1,000" is no clause break
_CALENDAR = re.compile(r"\d|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)", re.I)
_DANGLING = frozenset("the a an as of in on at to for by with and or but his her its their this that".split())
_NOUN_AFTER = re.compile(r"\s+([a-z][a-z-]+)")


def story(doc_id: str) -> str:
    """`031_nepal_quake_pardafas` -> `nepal`: the story slug's first word (an outlet's article of one story)."""
    parts = doc_id.split("_")
    return parts[1] if len(parts) > 1 else doc_id


def allowed_articles() -> list[Path]:
    cited: set[str] = set()
    for line in (NEWS / "news-test.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            cited |= set(json.loads(line)["doc_ids"])
    stories = {story(d) for d in cited}
    return [
        p for p in sorted((NEWS / "articles").glob("*.txt")) if p.stem not in cited and story(p.stem) not in stories
    ]


def question_for(sentence: str, start: int, end: int, label: str) -> str | None:
    """The clause around [start, end) as a question asking for that phrase, or None if it makes no question."""
    if label == "DATE" and not _CALENDAR.search(sentence[start:end]):
        return None  # "46-year-old" is an age, not a date
    cuts = [0, *(m.end() for m in _BREAK.finditer(sentence)), len(sentence) + 1]
    clause_start = max(c for c in cuts if c <= start)
    clause_end = min((m.start() for m in _BREAK.finditer(sentence, end)), default=len(sentence))
    before = sentence[clause_start:start].strip()
    after = sentence[end:clause_end].strip().rstrip(".!?")
    words = before.lower().split()
    if words and words[-1] in _DANGLING and words[-1] not in ("in", "on", "at", "to", "by", "with", "of", "for"):
        return None  # "as the when was prone": the phrase was part of a larger noun phrase
    if label == "CARDINAL":
        noun = _NOUN_AFTER.match(sentence, end)
        if noun is None:
            return None
        wh = f"how many {noun.group(1)}"
        after = sentence[noun.end() : clause_end].strip().rstrip(".!?")
    else:
        wh = _WH.get(label, "")
        if not wh:
            return None
    if len((before + " " + after).split()) < 4 or (before and before[0].islower() and clause_start > 0):
        return None
    # the subject moves to the front ("who sentenced him to 25 years?"), else it is asked in place
    # ("the toll rose to how many people on Monday?")
    subject = not before or before.lower() in ("the", "a", "an")
    text = f"{wh} {after}" if subject else f"{before} {wh} {after}"
    text = re.sub(r"\s+", " ", text).strip()
    return text[0].upper() + text[1:] + "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/synth-news.jsonl"))
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)

    from qa_service.text.phrases import NOUN_PHRASE, sentence_spans, type_sentences

    rng = random.Random(args.seed)
    rows: list[dict[str, object]] = []  # one JSON line each; `answer` is [start, end] or None
    articles = allowed_articles()
    for path in articles:
        text = path.read_text(encoding="utf-8")
        every = sentence_spans(text)
        kept = [i for i, (s, e) in enumerate(every) if e - s >= 40]
        sentences = [text[slice(*every[i])] for i in kept]
        prior = [text[slice(*every[i - 1])] if i else "" for i in kept]  # the sentence before, short ones too
        for index, (sentence, phrases) in enumerate(zip(sentences, type_sentences(sentences), strict=True)):
            for phrase in phrases:
                if phrase.label == NOUN_PHRASE:
                    continue
                question = question_for(sentence, phrase.start, phrase.end, phrase.label)
                if question is None:
                    continue
                answer = sentence[phrase.start : phrase.end]
                rows.append(
                    {
                        "question": question,
                        "sentence": sentence,
                        "answer": [phrase.start, phrase.end],
                        "before": prior[index],
                    }
                )
                others = [i for i, s in enumerate(sentences) if i != index and answer.lower() not in s.lower()]
                for other in rng.sample(others, min(2, len(others))):
                    rows.append(
                        {"question": question, "sentence": sentences[other], "answer": None, "before": prior[other]}
                    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    positives = sum(r["answer"] is not None for r in rows)
    print(f"{len(articles)} articles -> {positives} questions, {len(rows) - positives} negatives: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
