"""What the reader costs a question: numbers, not a test (`python -m devtools.readerbench`).

One process, one seed index, both answerers side by side: `/ask`'s answering path in process (p50 of every
seed question asked once, wall and CPU), the model floor timed bare in the same run (a query embedding, and the
reader's one batched call on the very sentences it read for each question; a fixed pair of short sentences is
timed too, for comparison with earlier figures), then the real server at 1 and 8 clients with each answerer
(`--http`: 1 and 8 clients, `--workers` per server, each seed question asked in turn).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _p50(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--http", action="store_true", help="also drive the real server with each answerer")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    from devtools.loadgen import seed_questions
    from qa_service.config import Settings
    from qa_service.reader.runtime import Reading
    from qa_service.service import QAService

    questions = seed_questions()
    root = Path(tempfile.mkdtemp(prefix="qa-readerbench-"))
    base = Settings(_env_file=None, index_dir=root / "index", torch_threads=1)
    services = {name: QAService(base.model_copy(update={"answerer": name})).load() for name in ("rules", "reader")}
    services["rules"].ingest_paths([base.seeds_dir], progress=False)
    for service in services.values():
        service.ask(questions[0])  # warm-up: first calls pay one-off costs
    session = services["reader"].answerer.session  # type: ignore[attr-defined]
    read_inputs: list[tuple[str, list[tuple[str, str]]]] = []  # what the reader read for each question
    read = session.read

    def recording(question: str, sentences: list[tuple[str, str]]) -> list[Reading]:
        read_inputs.append((question, sentences))
        readings: list[Reading] = read(question, sentences)
        return readings

    session.read = recording
    for name, service in services.items():
        walls, cpus = [], []
        for question in questions:
            wall, cpu = time.perf_counter(), time.process_time()
            service.ask(question)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        print(
            f"ask in process, {name:6s}  p50 {_p50(walls):6.1f} ms wall, {_p50(cpus):6.1f} ms CPU ({len(questions)} q)"
        )
    session.read = read
    reader = services["reader"].answerer
    embedder = services["reader"].embedder
    sentences = [
        (
            "The delegation met the acting U.S. Permanent Representative to the U.N., Dorothy Shea, in New York.",
            "A delegation of the Kazakh parliament visited the United Nations headquarters on Monday.",
        )
    ] * reader.policy.candidates  # type: ignore[attr-defined]
    embeds, reads = [], []
    for question in questions:
        started = time.perf_counter()
        embedder.embed([question])
        embeds.append(time.perf_counter() - started)
        started = time.perf_counter()
        reader.session.read(question, sentences)  # type: ignore[attr-defined]
        reads.append(time.perf_counter() - started)
    real = []  # the reader's call again on the very sentences it read in `ask`: their lengths, not a fixed pair's
    for question, read_sentences in read_inputs:
        started = time.perf_counter()
        reader.session.read(question, read_sentences)  # type: ignore[attr-defined]
        real.append(time.perf_counter() - started)
    print(f"bare query embedding      p50 {_p50(embeds):6.1f} ms")
    print(f"bare reader call          p50 {_p50(reads):6.1f} ms ({len(sentences)} copies of a fixed pair, one batch)")
    print(f"bare reader call          p50 {_p50(real):6.1f} ms (the sentences each question read, {len(real)} q)")
    print(f"model floor               p50 {_p50(embeds) + _p50(real):6.1f} ms (embedding + the reader's real call)")
    for service in services.values():
        service.close()
    if args.http:
        from devtools import loadgen
        from devtools.devserver import local_server, measured_env

        for name in ("rules", "reader"):
            env = measured_env(base.index_dir, QA_ANSWERER=name, QA_LOG_LEVEL="warning")
            with local_server(env, args=["--workers", str(args.workers)]) as server:
                loadgen.drive(server.url, clients=1, duration_s=30, max_requests=10, questions=questions)
                for clients in (1, 8):
                    result = loadgen.drive(
                        server.url,
                        clients=clients,
                        duration_s=60,
                        max_requests=args.requests,
                        questions=questions,
                        warm_up=0,
                    )
                    lat = sorted(result.latencies_ms)
                    p50 = lat[len(lat) // 2] if lat else float("nan")
                    errors = sum(result.errors.values())
                    print(
                        f"HTTP /ask {name:6s} {clients} clients, {args.workers} workers: "
                        f"{result.ok / result.elapsed_s:5.1f} req/s, p50 {p50:5.1f} ms, errors {errors}"
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
