"""Settings that were renamed keep working under their earlier names."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_service.config import Settings
from qa_service.store import IndexConfig, build_store
from qa_service.store.embedded import EmbeddedStore
from qa_service.text.terms import ANALYZER


@pytest.mark.parametrize("name", ["embedded", "faiss", "FAISS"])
def test_qa_store_embedded_and_its_earlier_name_faiss(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_STORE", name)
    settings = Settings(_env_file=None, index_dir=tmp_path)
    assert settings.store == "embedded"
    config = IndexConfig("m", "hashing", 8, 160, 20, ANALYZER)
    assert isinstance(build_store(settings, config), EmbeddedStore)


def test_an_unknown_store_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_STORE", "elastic")
    with pytest.raises(ValueError, match="embedded"):
        Settings(_env_file=None)
