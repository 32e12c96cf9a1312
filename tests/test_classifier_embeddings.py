"""An admin's own encoder as features of the routing model (issue 19, item 4).

The mechanism is shown with the small on-disk sentence-transformers model the tests build (random
weights: its vectors carry no meaning, so nothing here claims an accuracy gain).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cli import main
from cli.common import registry
from tests.drafting_fixtures import build_tiny_sentence_transformer
from triage.classifier import PetitionClassifier
from triage.retrieval.encoders import EncoderError


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_sentence_transformer(tmp_path_factory.mktemp("st"))


@pytest.fixture(scope="module")
def sample_texts() -> tuple[list[str], list[str]]:
    from datasets import load_sample
    from triage.text import petition_text

    rows = load_sample()
    return [petition_text(r["title"], r["body"]) for r in rows], [r["department"] for r in rows]


def test_the_sentence_vectors_join_the_features_and_survive_saving(tiny_model, sample_texts, tmp_path):
    texts, labels = sample_texts
    plain = PetitionClassifier().fit(texts, labels)
    dense = PetitionClassifier(embedding_model=str(tiny_model)).fit(texts, labels)
    assert dense.embedding_dim_ > 0
    assert dense.svc_.coef_.shape[1] == plain.svc_.coef_.shape[1] + dense.embedding_dim_
    assert np.abs(dense.svc_.coef_[:, -dense.embedding_dim_ :]).sum() > 0  # the block was learned from

    dense.save(tmp_path / "model.bin")
    loaded = PetitionClassifier.load(tmp_path / "model.bin")
    new = ["小区电梯坏了一个月没人修", "孩子学校收取高额资料费"]
    np.testing.assert_allclose(loaded.predict_proba(new), dense.predict_proba(new), rtol=1e-5)
    # one petition at a time gives the batch's numbers, and vector dimensions are never a reason
    one = [loaded.predict_top_k([t], k=2)[0] for t in new]
    both = loaded.predict_top_k(new, k=2)
    for single, batched in zip(one, both, strict=True):
        assert [e["label"] for e in single.top_k] == [e["label"] for e in batched.top_k]
        assert [e["probability"] for e in single.top_k] == pytest.approx(
            [e["probability"] for e in batched.top_k]
        )
    assert all(r.term for p in both for r in p.reasons)


def test_a_host_without_the_encoder_directory_gets_an_error_naming_it(tiny_model, sample_texts, tmp_path):
    texts, labels = sample_texts
    here = tmp_path / "encoder"
    shutil.copytree(tiny_model, here)
    model = PetitionClassifier(embedding_model=str(here)).fit(texts[:60], labels[:60])
    model.save(tmp_path / "model.bin")
    shutil.rmtree(here)
    moved = PetitionClassifier.load(tmp_path / "model.bin")
    with pytest.raises(EncoderError, match=str(here)):
        moved.predict_proba(["路灯不亮"])


def _sample_csv(path: Path) -> Path:
    from datasets import load_sample

    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "body", "department"])
        w.writerows([r["title"], r["body"], r["department"]] for r in load_sample())
    return path


def test_triage_train_embeddings_uses_the_configured_encoder(
    env_models, monkeypatch, capsys, tmp_path, tiny_model
):
    data = _sample_csv(tmp_path / "sample.csv")
    before = [b.version for b in registry().list()]
    code = main(["train", "--data", str(data), "--label-col", "department", "--embeddings"])
    _, err = capsys.readouterr()
    assert code == 2 and "--embeddings needs TRIAGE_EMBEDDING_MODEL" in err

    monkeypatch.setenv("TRIAGE_EMBEDDING_MODEL", str(tmp_path / "nowhere"))
    code = main(["train", "--data", str(data), "--label-col", "department", "--embeddings"])
    _, err = capsys.readouterr()
    assert code == 2 and "does not exist" in err and "nowhere" in err
    assert [b.version for b in registry().list()] == before  # refused before anything was trained

    monkeypatch.setenv("TRIAGE_EMBEDDING_MODEL", str(tiny_model))
    code = main(["train", "--data", str(data), "--label-col", "department", "--embeddings"])
    out, err = capsys.readouterr()
    assert code == 0, err
    version = json.loads(out)["version"]
    assert registry().metadata(version)["params"]["embedding_model"] == str(tiny_model.resolve())
    model = PetitionClassifier.load(registry().model_path(version))
    assert model.embedding_dim_ > 0
