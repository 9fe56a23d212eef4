"""ONNX files made from the model's own weights, once, and kept in a checksummed cache.

sentence-transformers stays the model's home: it loads the weights, and the exported graph is its whole
pipeline (transformer, pooling as the model's config says, normalisation) traced by torch. The int8 file is
that graph quantised for AVX512-VNNI as sentence-transformers' `export_dynamic_quantized_onnx_model(model,
"avx512_vnni")` does through optimum (dynamic, per-channel symmetric int8 weights, uint8 activations, every
operator ONNX Runtime can quantise); optimum itself is not used because it pins transformers below 4.58.

Why a cache folder under the user's cache dir (`$XDG_CACHE_HOME/qa-service/onnx`, `QA_ONNX_CACHE_DIR`) and not
the index folder: the files depend only on the installed model and libraries, not on the articles, so one copy
serves every index, worker and checkout; the index folder stays data only (copies and backups do not carry
110 MB of derived model); deleting the cache costs one rebuild of a few seconds, never data.

Each entry is keyed by the model's files (path, size, mtime) and the versions of the libraries that shape the
export; `manifest.json` holds the SHA-256 of every file, checked at each load, so a damaged file is rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np

from qa_service.embedding.onnx_session import OUTPUT_NAME, TOKEN_OUTPUT, OnnxSession, configure_tokenizer
from qa_service.embedding.protocol import resolve_model_path

logger = logging.getLogger(__name__)

Precision = Literal["fp32", "int8"]
RECIPE_VERSION = 2  # bump when the export or quantisation recipe changes: old entries are then not reused
# (2: the token vectors are a second output, for span vectors)
BACKENDS: dict[str, str] = {"fp32": "onnx-fp32", "int8": "onnx-int8-avx512_vnni"}
MODEL_FILES: dict[str, str] = {"fp32": "model-fp32.onnx", "int8": "model-int8-avx512_vnni.onnx"}
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
# Lowest cosine to the reference on the probe texts for a freshly built file to be kept (a broken export or
# quantisation fails loudly here instead of quietly degrading retrieval). Measured: fp32 1.0000, int8 >= 0.99.
MIN_PROBE_COSINE: dict[str, float] = {"fp32": 0.9999, "int8": 0.97}
PROBE_TEXTS = [
    "Who met the ambassador in Islamabad on Tuesday?",
    "The committee approved the budget after a four-day debate.",
    "India suspended the Indus Waters Treaty, a 1960 water-sharing agreement brokered by the World Bank.",
    "x",
    " ".join(["The delegation visited Washington to brief lawmakers on the ceasefire and trade."] * 30),
]
_LIBRARIES = ("torch", "transformers", "sentence-transformers", "onnx", "onnxruntime", "tokenizers")


class OnnxCacheError(RuntimeError):
    """The ONNX file cannot be built or stored; the message says what to do."""


@dataclass(frozen=True)
class OnnxModelFiles:
    """A verified cache entry: the graph for one precision plus what the runtime needs to feed it."""

    backend: str
    model: Path
    tokenizer: Path
    dimension: int
    max_seq_length: int
    do_lower_case: bool
    input_names: tuple[str, ...]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_entry(model_name: str, cache_dir: Path) -> Path:
    """The folder for this model as installed now: a new weights file or library version gets a new one."""
    path = resolve_model_path(model_name)
    source: dict[str, Any] = {"recipe": RECIPE_VERSION, "model": model_name, "path": path}
    root = Path(path)
    if root.is_dir():
        root = root.resolve()
        source["path"] = str(root)
        source["files"] = sorted(
            (str(f.relative_to(root)), f.stat().st_size, f.stat().st_mtime_ns) for f in root.rglob("*") if f.is_file()
        )
    source["versions"] = library_versions(_LIBRARIES)
    key = hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(model_name).name or model_name).strip("-") or "model"
    return cache_dir / f"{slug}-{key}"


def library_versions(names: tuple[str, ...]) -> dict[str, str]:
    """The installed versions of these libraries (those missing left out): part of a cache key."""
    versions = {}
    for library in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[library] = metadata.version(library)
    return versions


def ensure_onnx_model(model_name: str, precision: Precision, cache_dir: Path) -> OnnxModelFiles:
    """The verified ONNX files for `model_name` at `precision`, built (under a file lock) when missing or damaged."""
    if precision not in MODEL_FILES:
        raise ValueError(f"precision must be one of {sorted(MODEL_FILES)}, got {precision!r}")
    entry = cache_entry(model_name, cache_dir)
    found = _verified(entry, precision)
    if found is not None:
        return found
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        lock_path = cache_dir / f"{entry.name}.lock"
        lock_path.touch(exist_ok=True)
    except OSError as exc:
        raise OnnxCacheError(
            f"cannot write the ONNX model cache {cache_dir}: {exc}. Set QA_ONNX_CACHE_DIR to a writable folder "
            "(or QA_EMBEDDING_BACKEND=torch)."
        ) from exc
    with file_lock(lock_path):
        found = _verified(entry, precision)  # another process may have built it while we waited
        if found is not None:
            return found
        entry.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        logger.warning(
            "embedding model %s: building the %s ONNX file in %s (once; later starts reuse it)",
            model_name,
            precision,
            entry,
        )
        _build_in_child(model_name, precision, entry)
        logger.warning(
            "embedding model %s: %s ONNX file ready in %.1f s", model_name, precision, time.perf_counter() - started
        )
        found = _verified(entry, precision)
        if found is None:
            raise OnnxCacheError(f"the ONNX file just built in {entry} does not match its checksum: is the disk full?")
        return found


def is_built(model_name: str, precision: Precision, cache_dir: Path) -> bool:
    """Whether the verified files for `model_name` at `precision` are in the cache already (nothing to build)."""
    return _verified(cache_entry(model_name, cache_dir), precision) is not None


def _build_in_child(model_name: str, precision: str, entry: Path) -> None:
    """Build in a child process: exporting needs torch (~400 MB), which a serving process should not keep."""
    import subprocess
    import sys

    arguments = [model_name, precision, str(entry)]
    call = f"from qa_service.embedding.onnx_export import main; raise SystemExit(main({arguments!r}))"
    command = [sys.executable, "-c", call]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise OnnxCacheError(f"building the {precision} ONNX file for {model_name!r} in {entry} failed:\n{tail}")


def build(model_name: str, precision: str, entry: Path) -> None:
    """Export (if the fp32 file is not already there and intact) and quantise, in this process."""
    if precision == "fp32" or _verified(entry, "fp32") is None:
        _export_fp32(model_name, entry)
    if precision == "int8":
        _quantize_int8(entry)


# ---- verification -------------------------------------------------------------------------------------------


def _read_manifest(entry: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((entry / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _verified(entry: Path, precision: str) -> OnnxModelFiles | None:
    """The entry's files for `precision` if each matches the checksum in the manifest, else None (rebuild)."""
    manifest = _read_manifest(entry)
    files, info = manifest.get("files", {}), manifest.get("model", {})
    model_file = MODEL_FILES[precision]
    for name in (model_file, TOKENIZER_FILE):
        expected = files.get(name)
        path = entry / name
        if not expected or not path.is_file():
            return None
        if sha256_file(path) != expected:
            logger.warning("ONNX model cache: %s does not match its checksum; rebuilding it", path)
            return None
    try:
        return OnnxModelFiles(
            backend=BACKENDS[precision],
            model=entry / model_file,
            tokenizer=entry / TOKENIZER_FILE,
            dimension=int(info["dimension"]),
            max_seq_length=int(info["max_seq_length"]),
            do_lower_case=bool(info["do_lower_case"]),
            input_names=tuple(info["input_names"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _record(entry: Path, names: list[str], **fields: Any) -> None:
    """Add the checksums of `names` (and `fields`) to the manifest, atomically; `builds` logs when each was made."""
    manifest = _read_manifest(entry)
    manifest.setdefault("files", {}).update({name: sha256_file(entry / name) for name in names})
    built_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    manifest.setdefault("builds", []).extend({"file": name, "at": built_at, "pid": os.getpid()} for name in names)
    for key, value in fields.items():
        manifest[key] = value if not isinstance(value, dict) else {**manifest.get(key, {}), **value}
    atomic_write(entry / MANIFEST_FILE, json.dumps(manifest, indent=2, sort_keys=True).encode())


def atomic_write(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(data)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.chmod(tmp.name, 0o644)  # readable like the model files beside it (a cache built by root, served by a user)
    os.replace(tmp.name, path)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Exclusive lock across processes (two workers starting together build the file once)."""
    import fcntl

    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def _temporary(entry: Path, name: str) -> Iterator[Path]:
    """A temporary path beside `entry/name`, removed if the build fails before it is moved into place."""
    tmp = entry / f".{name}.tmp-{os.getpid()}"
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


# ---- building ----------------------------------------------------------------------------------------------


def _export_fp32(model_name: str, entry: Path) -> None:
    """Trace the sentence-transformers pipeline to ONNX, save its fast tokenizer, check it against torch."""
    import warnings

    import torch
    from tokenizers import Tokenizer

    from qa_service.embedding.sentence_transformer import load_sentence_transformer, model_limits

    # Eager attention traces to plain MatMul/Softmax, which ONNX Runtime fuses and quantises well (SDPA
    # traces to extra masking ops and a slower int8 graph).
    model = load_sentence_transformer(model_name, attn_implementation="eager")
    model.eval()
    backend_tokenizer = getattr(model.tokenizer, "backend_tokenizer", None)
    if backend_tokenizer is None:
        raise OnnxCacheError(
            f"{model_name!r} has no fast tokenizer, which the ONNX back-end needs: use QA_EMBEDDING_BACKEND=torch"
        )
    features = model.preprocess(PROBE_TEXTS[:2])
    input_names = tuple(name for name in INPUT_NAMES if name in features)
    dimension, max_seq_length = model_limits(model, model_name)
    do_lower_case = bool(getattr(model[0], "do_lower_case", False))

    class Pipeline(torch.nn.Module):
        """The whole SentenceTransformer (transformer, pooling, normalise) as one traceable forward."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            output = self.model(dict(zip(input_names, tensors, strict=True)))
            return output[OUTPUT_NAME], output[TOKEN_OUTPUT]

    dynamic = {name: {0: "batch", 1: "sequence"} for name in input_names}
    with _temporary(entry, MODEL_FILES["fp32"]) as tmp, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes about Python control flow the traced shapes do not hit
        torch.onnx.export(
            Pipeline(),
            tuple(features[name] for name in input_names),
            str(tmp),
            input_names=list(input_names),
            output_names=[OUTPUT_NAME, TOKEN_OUTPUT],
            dynamic_axes={**dynamic, OUTPUT_NAME: {0: "batch"}, TOKEN_OUTPUT: {0: "batch", 1: "sequence"}},
            opset_version=17,
            dynamo=False,  # the TorchScript exporter needs no onnxscript and handles this graph as it is
        )
        tokenizer = Tokenizer.from_str(backend_tokenizer.to_str())
        configure_tokenizer(tokenizer, max_seq_length)
        tokenizer.save(str(entry / TOKENIZER_FILE))
        info = {
            "dimension": dimension,
            "max_seq_length": max_seq_length,
            "do_lower_case": do_lower_case,
            "input_names": list(input_names),
        }
        reference = model.encode(PROBE_TEXTS, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        _check_probe(tmp, entry / TOKENIZER_FILE, info, reference, "fp32")
        os.replace(tmp, entry / MODEL_FILES["fp32"])
    _record(entry, [MODEL_FILES["fp32"], TOKENIZER_FILE], model=info, source=model_name)


def _quantize_int8(entry: Path) -> None:
    """Dynamic int8 quantisation with optimum's `avx512_vnni` settings; checked against the fp32 graph."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    info = _read_manifest(entry)["model"]
    fp32 = entry / MODEL_FILES["fp32"]
    with _temporary(entry, MODEL_FILES["int8"]) as tmp, _quiet_quantizer():
        quantize_dynamic(
            fp32,
            tmp,
            per_channel=True,  # per output channel: plain per-tensor int8 measured cosine 0.95 to torch
            reduce_range=False,  # VNNI's u8*s8 dot products do not saturate, so the full 8 bits are usable
            weight_type=QuantType.QInt8,
            extra_options={"WeightSymmetric": True, "ActivationSymmetric": False},
        )
        reference = _run_probe(fp32, entry / TOKENIZER_FILE, info)
        _check_probe(tmp, entry / TOKENIZER_FILE, info, reference, "int8")
        os.replace(tmp, entry / MODEL_FILES["int8"])
    _record(entry, [MODEL_FILES["int8"]])


@contextlib.contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """onnxruntime's quantiser logs per-tensor notes (and a pre-processing hint) on the root logger: not news."""

    def keep(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or "onnxruntime" not in record.pathname

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def _run_probe(model: Path, tokenizer_path: Path, info: dict[str, Any]) -> np.ndarray:
    session = OnnxSession(model, tokenizer_path, info, threads=1)
    return session.embed(PROBE_TEXTS)


def _check_probe(
    model: Path, tokenizer_path: Path, info: dict[str, Any], reference: np.ndarray, precision: str
) -> None:
    got = _run_probe(model, tokenizer_path, info)
    cosine = float(np.min(np.sum(got * np.asarray(reference, dtype=np.float32), axis=1)))
    if cosine < MIN_PROBE_COSINE[precision]:
        raise OnnxCacheError(
            f"the {precision} ONNX export disagrees with its reference (lowest cosine {cosine:.4f} < "
            f"{MIN_PROBE_COSINE[precision]}); use QA_EMBEDDING_BACKEND=torch and report this"
        )


def main(argv: list[str] | None = None) -> int:
    """`python -m qa_service.embedding.onnx_export MODEL PRECISION ENTRY`: what `ensure_onnx_model`'s child runs."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[1] not in MODEL_FILES:
        print("usage: python -m qa_service.embedding.onnx_export MODEL fp32|int8 ENTRY_DIR", file=sys.stderr)
        return 2
    try:
        build(args[0], args[1], Path(args[2]))
    except (OnnxCacheError, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
