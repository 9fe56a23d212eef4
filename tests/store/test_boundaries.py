"""Stores only store: no store module imports text analysis, ingest or another store (issue 20)."""

from __future__ import annotations

import ast
from pathlib import Path

import qa_service.store as store_package

STORES = ("embedded", "milvus")
FORBIDDEN = ("qa_service.ingest", "qa_service.text", "qa_service.answering")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_store_imports_analysis_ingest_or_another_store() -> None:
    root = Path(store_package.__file__).parent
    modules = [root / "base.py", root / "typos.py"] + [p for s in STORES for p in (root / s).glob("*.py")]
    assert len(modules) > 10
    for path in modules:
        imported = _imports(path)
        own = path.parent.name if path.parent != root else None
        others = {f"qa_service.store.{s}" for s in STORES if s != own}
        bad = {m for m in imported if m.startswith(FORBIDDEN) or any(m.startswith(o) for o in others)}
        assert not bad, f"{path.relative_to(root)} imports {sorted(bad)}"
