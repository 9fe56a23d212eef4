"""Choose the reader's policy (candidates read, first-pass prior, minimum probability) on a tuning set.

    python -m devtools.tune_reader ../shared/benchmarks/news/news-dev.jsonl --corpus ../shared/benchmarks/news/articles

Each question is asked once with the reader reading the first pass's best `--pool` sentences and no threshold.
A logistic combiner (`answering.reading.FEATURES`: the reader's logit and the first pass's signals) is fitted on
"this sentence holds a gold answer"; each policy (sentences read, minimum probability) is scored offline with
5-fold held-out combiners: a question is right when the chosen sentence holds a gold answer (answerable) or the
policy abstains (unanswerable). `--write` saves the combiner fitted on all of it. Tune on news-dev and the seed
set only, never on news-test or SQuAD (their rows are for measuring).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("questions", type=Path, nargs="+")
    parser.add_argument(
        "--corpus", type=Path, default=None, help="the articles (default: articles/ beside a set, else the seeds)"
    )
    parser.add_argument("--pool", type=int, default=8)
    parser.add_argument("--index", type=Path, default=None, help="keep the index here between runs")
    parser.add_argument("--precision", choices=("fp32", "int8"), default="int8")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation of the combiner")
    parser.add_argument("--write", type=Path, default=None, help="write the fitted combiner here (combiner.json)")
    args = parser.parse_args(argv)

    from qa_service.answering.reading import FEATURES
    from qa_service.config import Settings
    from qa_service.evaluation.data import load_eval_set
    from qa_service.evaluation.matching import contains_answer
    from qa_service.evaluation.runner import build_eval_index
    from qa_service.service import QAService

    # per question: (answerable, [(features in FEATURES order, holds a gold answer)]) for its first --pool candidates
    rows: list[tuple[bool, list[tuple[list[float], bool]]]] = []
    for path in args.questions:
        beside = path.parent / "articles"
        corpus = args.corpus or (beside if beside.is_dir() else Settings(_env_file=None).seeds_dir)
        eval_set = load_eval_set(path, "auto", corpus)
        index = (args.index or Path(tempfile.mkdtemp(prefix="qa-tune-"))) / eval_set.name
        settings = Settings(
            _env_file=None,
            index_dir=index,
            answerer="reader",
            reader_candidates=args.pool,
            reader_min_probability=0.0,
            reader_precision=args.precision,
        )
        service = QAService(settings).load()
        if service.stats()["documents"] == 0:
            build_eval_index(service, eval_set, progress=False)
        for item in eval_set.items:
            answer = service.ask(item.question, explain=True)
            read = []
            for rank, c in enumerate(answer.explanation.candidates if answer.explanation else []):
                if c.reader is None:
                    break
                p = min(max(c.reader, 1e-6), 1 - 1e-6)
                f = c.features
                values = [
                    math.log(p / (1 - p)),
                    c.score,
                    f["dense"],
                    f["overlap"],
                    f["context"],
                    f["chunk"],
                    f["typed"],
                ]
                read.append((values + [float(rank)], contains_answer(c.sentence, item.answers)))
            rows.append((item.answerable, read))
        service.close()
    answerable = sum(a for a, _ in rows)
    print(f"{len(rows)} questions, {answerable} answerable; reader pool {args.pool}; features {FEATURES}")

    def fit(train: list[int]) -> tuple[np.ndarray, float]:
        from sklearn.linear_model import LogisticRegression

        x = [v for i in train for v, _ in rows[i][1]]
        y = [int(h) for i in train for _, h in rows[i][1]]
        model = LogisticRegression(C=args.c, max_iter=2000).fit(np.array(x), np.array(y))
        return model.coef_[0], float(model.intercept_[0])

    def decide(i: int, n: int, w: np.ndarray, b: float) -> tuple[float, bool]:
        pool = rows[i][1][:n]
        if not pool:
            return 0.0, False
        scores = [float(np.dot(w, v) + b) for v, _ in pool]
        best = int(np.argmax(scores))
        return 1 / (1 + math.exp(-scores[best])), pool[best][1]

    def tally(decisions: list[tuple[float, bool]], floor: float) -> tuple[int, int, int, int]:
        right = hits = abstain_ok = false_abstain = 0
        for (answerable, _), (prob, holds) in zip(rows, decisions, strict=True):
            abstains = prob < floor
            if answerable:
                hits += int(not abstains and holds)
                false_abstain += int(abstains)
            else:
                abstain_ok += int(abstains)
        right = hits + abstain_ok
        return right, hits, abstain_ok, false_abstain

    reader_only = (np.array([1.0] + [0.0] * (len(FEATURES) - 1)), 0.0)
    folds = [list(range(k, len(rows), 5)) for k in range(5)]
    print(" n  combiner        min_p  right  answered_right  abstained_unans  false_abst")
    best = None
    for n in range(2, args.pool + 1):
        held_out: list[tuple[float, bool]] = [(0.0, False)] * len(rows)  # 5-fold: each question decided unseen
        for fold in folds:
            w, b = fit([i for i in range(len(rows)) if i not in fold])
            for i in fold:
                held_out[i] = decide(i, n, w, b)
        alone = [decide(i, n, *reader_only) for i in range(len(rows))]
        for name, decisions in (("reader alone", alone), ("fitted (5-fold)", held_out)):
            for floor in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5):
                right, hits, ok, false = tally(decisions, floor)
                print(f"{n:2d}  {name:15s} {floor:4.2f}  {right:5d}  {hits:14d}  {ok:15d}  {false:10d}")
                key = (right, -false, -n)  # most right; then fewest false abstentions; then fewest read
                if name.startswith("fitted") and (best is None or key > best[3]):
                    best = (right, n, floor, key)
    print("best held-out (right, n, min_p):", best and best[:3])
    if args.write and best is not None:
        w, b = fit(list(range(len(rows))))
        out = {
            "features": list(FEATURES),
            "weights": [round(float(v), 5) for v in w],
            "bias": round(b, 5),
            "min_probability": best[2],
            "candidates": best[1],
            "fitted_on": [p.name for p in args.questions],
            "held_out_right": best[0],
            "questions": len(rows),
        }
        args.write.write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.write}: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
