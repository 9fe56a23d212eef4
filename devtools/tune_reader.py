"""Choose the reader's policy (candidates read, first-pass prior, minimum probability) on a tuning set.

    python -m devtools.tune_reader ../shared/benchmarks/news/news-dev.jsonl --corpus ../shared/benchmarks/news/articles

Each question is asked once with the reader reading the first pass's best `--pool` sentences and no threshold;
every policy is then scored offline from those readings: a question is right when the chosen sentence holds a
gold answer (answerable) or the policy abstains (unanswerable). Tune on news-dev and the seed set only, never
on news-test or SQuAD (their rows are for measuring).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("questions", type=Path, nargs="+")
    parser.add_argument("--corpus", type=Path, default=None, help="the articles of a seed-format set")
    parser.add_argument("--pool", type=int, default=8)
    parser.add_argument("--index", type=Path, default=None, help="keep the index here between runs")
    args = parser.parse_args(argv)

    from qa_service.config import Settings
    from qa_service.evaluation.data import load_eval_set
    from qa_service.evaluation.matching import contains_answer
    from qa_service.evaluation.runner import build_eval_index
    from qa_service.service import QAService

    rows: list[tuple[bool, list[tuple[float, float, bool]]]] = []  # (answerable, [(logit, score, holds)])
    for path in args.questions:
        eval_set = load_eval_set(path, "auto", args.corpus)
        index = args.index or Path(tempfile.mkdtemp(prefix="qa-tune-"))
        index = index / eval_set.name
        settings = Settings(
            _env_file=None, index_dir=index, answerer="reader", reader_candidates=args.pool, reader_min_probability=0.0
        )
        service = QAService(settings).load()
        if service.stats()["documents"] == 0:
            build_eval_index(service, eval_set, progress=False)
        for item in eval_set.items:
            answer = service.ask(item.question, explain=True)
            read = []
            if answer.explanation is not None:
                for c in answer.explanation.candidates:
                    if c.reader is None:
                        break
                    p = min(max(c.reader, 1e-6), 1 - 1e-6)
                    read.append((math.log(p / (1 - p)), c.score, contains_answer(c.sentence, item.answers)))
            rows.append((item.answerable, read))
        service.close()
    answerable = sum(a for a, _ in rows)
    print(f"{len(rows)} questions, {answerable} answerable; reader pool {args.pool}")
    print(" n  prior  min_p  right  answered_right  abstained_unans  false_abst")
    best = None
    for n, prior, floor in itertools.product(range(1, args.pool + 1), (0, 0.5, 1, 2, 4, 8), (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)):
        right = hits = abstain_ok = false_abstain = 0
        cut = math.log(floor / (1 - floor))
        for is_answerable, read in rows:
            pool = read[:n]
            if not pool:
                chosen = None
            else:
                chosen = max(pool, key=lambda r: r[0] + prior * r[1])
            abstains = chosen is None or chosen[0] < cut
            if is_answerable:
                ok = not abstains and chosen is not None and chosen[2]
                hits += ok
                false_abstain += abstains
            else:
                ok = abstains
                abstain_ok += ok
            right += ok
        line = (right, n, prior, floor, hits, abstain_ok, false_abstain)
        if best is None or right > best[0]:
            best = line
        if floor in (0.3, 0.5) or line == best:
            print(f"{n:2d}  {prior:5.1f}  {floor:4.1f}  {right:5d}  {hits:14d}  {abstain_ok:15d}  {false_abstain:10d}")
    print("best:", best)
    return 0


if __name__ == "__main__":
    sys.exit(main())
