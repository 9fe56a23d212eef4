"""The reader as one ONNX file: adapters merged into the installed base, exported once, checksummed, cached.

`qa-service prepare` (run by `make setup`) builds it; serving only loads it. The cache entry is keyed by the
base model's files, the adapter and head files in `weights/` and the library versions, like the embedder's
(`embedding.onnx_export`), so new weights or a new torch make a new entry and an old one is never reused.
Building runs in a child process: export needs torch and peft, which a serving process should not hold.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa_service.embedding.onnx_export import atomic_write, file_lock, library_versions, sha256_file
from qa_service.embedding.protocol import resolve_model_path

logger = logging.getLogger(__name__)

MODEL_FILE = "reader.onnx"
INT8_FILE = "reader-int8.onnx"  # dynamic int8 weights: ~40% less CPU a question (see README); checked against fp32
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"
OUTPUTS = ("start_logits", "end_logits", "answerable_logit")
RECIPE_VERSION = 2  # bump when the export recipe changes: old entries are then not reused
MAX_PROBE_DIFFERENCE = 1e-3  # largest |ONNX - torch| logit on the probe pairs for a fresh file to be kept
MAX_INT8_DIFFERENCE = 1.0  # largest |int8 - fp32| answerable logit on the probes (measured: ~0.15)
PROBE_ROWS = [  # (question, sentence, the sentence before it)
    (
        "Who met Dorothy Shea?",
        "At a separate engagement with the acting U.S. envoy, Dorothy Shea, the delegation spoke.",
        "A delegation from Kazakhstan visited New York on Monday.",
    ),
    ("How many people died?", "The toll rose to 133 on Monday, officials said.", ""),
    ("When was it founded?", "x", "It is old."),
]
WEIGHT_FILES = ("adapter_config.json", "adapter_model.safetensors", "heads.safetensors")
_LIBRARIES = ("torch", "transformers", "peft", "onnx", "onnxruntime", "tokenizers")


class ReaderUnavailableError(RuntimeError):
    """The reader's ONNX file cannot be built or read; the message says what to do."""


@dataclass(frozen=True)
class ReaderFiles:
    model: Path
    int8: Path
    tokenizer: Path
    context: int  # word pieces of the previous sentence the reader was trained to read (`encoding.encode`)


def weights_dir() -> Path:
    return Path(__file__).parent / "weights"


def cache_entry(base_model: str, cache_dir: Path, weights: Path | None = None) -> Path:
    weights = weights or weights_dir()
    digest = hashlib.sha256(json.dumps({"recipe": RECIPE_VERSION, "base": base_model}).encode())
    root = Path(resolve_model_path(base_model))
    model_files = [p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in (".safetensors", ".json", ".txt")]
    for path in [*model_files, *(weights / name for name in WEIGHT_FILES)]:  # not the combiner: no part of the graph
        if path.is_file():
            digest.update(f"{path.name}:{sha256_file(path)}".encode())
    for library, version in library_versions(_LIBRARIES).items():
        digest.update(f"{library}={version}".encode())
    return cache_dir / f"reader-{digest.hexdigest()[:16]}"


def context_pieces(weights: Path | None = None) -> int:
    """How much of the previous sentence these weights read (their `reader.json`; 0 for the first reader)."""
    path = (weights or weights_dir()) / "reader.json"
    info = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return int(info.get("context_pieces", 0))


def is_trained(weights: Path | None = None) -> bool:
    folder = weights or weights_dir()
    return (folder / "adapter_model.safetensors").is_file() and (folder / "heads.safetensors").is_file()


def is_built(base_model: str, cache_dir: Path) -> bool:
    """Whether the verified files are in the cache already (nothing to build)."""
    return _verified(cache_entry(base_model, cache_dir), 0) is not None


def ensure_reader(base_model: str, cache_dir: Path, weights: Path | None = None) -> ReaderFiles:
    """The verified ONNX reader, built under a file lock when missing or damaged."""
    weights = weights or weights_dir()
    if not is_trained(weights):
        raise ReaderUnavailableError(
            f"no trained reader in {weights}: train one (python -m devtools.train_reader) or set QA_ANSWERER=rules"
        )
    entry = cache_entry(base_model, cache_dir, weights)
    context = context_pieces(weights)
    found = _verified(entry, context)
    if found is not None:
        return found
    try:
        entry.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReaderUnavailableError(f"cannot write the reader cache {entry}: {exc}; set QA_ONNX_CACHE_DIR") from exc
    with file_lock(cache_dir / f"{entry.name}.lock"):
        found = _verified(entry, context)
        if found is not None:
            return found
        started = time.perf_counter()
        logger.warning("reader: building its ONNX file in %s (once; later starts reuse it)", entry)
        call = (
            "from qa_service.reader.package import build; from pathlib import Path; "
            f"build({base_model!r}, Path({str(entry)!r}), Path({str(weights)!r}))"
        )
        result = subprocess.run([sys.executable, "-c", call], capture_output=True, text=True)
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
            raise ReaderUnavailableError(f"building the reader's ONNX file in {entry} failed:\n{tail}")
        logger.warning("reader: ONNX file ready in %.1f s", time.perf_counter() - started)
        found = _verified(entry, context)
        if found is None:
            raise ReaderUnavailableError(f"the reader file just built in {entry} does not match its checksum")
        return found


def _verified(entry: Path, context: int) -> ReaderFiles | None:
    try:
        manifest = json.loads((entry / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for name in (MODEL_FILE, INT8_FILE, TOKENIZER_FILE):
        path = entry / name
        if not path.is_file() or sha256_file(path) != manifest.get("files", {}).get(name):
            return None
    return ReaderFiles(entry / MODEL_FILE, entry / INT8_FILE, entry / TOKENIZER_FILE, context)


def build(base_model: str, entry: Path, weights: Path) -> None:
    """Merge, export and check against torch, in this process (torch and peft needed)."""
    import shutil
    import warnings

    import torch

    from qa_service.reader.encoding import encode, load_tokenizer
    from qa_service.reader.model import load_merged

    base = resolve_model_path(base_model)
    net = load_merged(base, weights)
    tokenizer_path = Path(base) / TOKENIZER_FILE
    tokenizer = load_tokenizer(tokenizer_path)
    batch = encode(tokenizer, PROBE_ROWS, context_pieces(weights))
    feed = batch.feed()
    tmp = entry / f".{MODEL_FILE}.tmp"
    dynamic = {name: {0: "batch", 1: "sequence"} for name in feed}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            tuple(torch.from_numpy(a) for a in feed.values()),
            str(tmp),
            input_names=list(feed),
            output_names=list(OUTPUTS),
            dynamic_axes={
                **dynamic,
                "start_logits": {0: "batch", 1: "sequence"},
                "end_logits": {0: "batch", 1: "sequence"},
                "answerable_logit": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
        reference = [t.numpy() for t in net(*(torch.from_numpy(a) for a in feed.values()))]
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    got = session.run(list(OUTPUTS), feed)
    worst = max(float(np.max(np.abs(g - r))) for g, r in zip(got, reference, strict=True))
    if worst > MAX_PROBE_DIFFERENCE:
        raise ReaderUnavailableError(f"the reader's ONNX export disagrees with torch by {worst:.2g}")
    tmp.replace(entry / MODEL_FILE)
    int8_difference = _quantize(entry, feed, got[2])
    shutil.copyfile(tokenizer_path, entry / TOKENIZER_FILE)
    manifest = {
        "files": {name: sha256_file(entry / name) for name in (MODEL_FILE, INT8_FILE, TOKENIZER_FILE)},
        "int8_difference": int8_difference,
        "base": base_model,
        "weights": str(weights),
        "probe_difference": worst,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic_write(entry / MANIFEST_FILE, json.dumps(manifest, indent=2, sort_keys=True).encode())


def _quantize(entry: Path, feed: dict[str, np.ndarray], reference: np.ndarray) -> float:
    """Dynamic int8 weights (per channel, symmetric), as the embedder's int8 file; checked on the probes."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = entry / f".{INT8_FILE}.tmp"
    quantize_dynamic(
        entry / MODEL_FILE,
        tmp,
        per_channel=True,
        reduce_range=False,
        weight_type=QuantType.QInt8,
        extra_options={"WeightSymmetric": True, "ActivationSymmetric": False},
    )
    session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    worst = float(np.max(np.abs(session.run([OUTPUTS[2]], feed)[0] - reference)))
    if worst > MAX_INT8_DIFFERENCE:
        raise ReaderUnavailableError(f"the reader's int8 file disagrees with fp32 by {worst:.2g}")
    tmp.replace(entry / INT8_FILE)
    return worst
