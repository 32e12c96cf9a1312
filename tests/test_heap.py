"""api/heap.py: a serving process freezes its long-lived heap and still frees a replaced model.

These build apps with `gc_freeze=True` (the suite otherwise turns it off, see conftest) and
unfreeze the heap afterwards so later tests see a normal collector.
"""

from __future__ import annotations

import gc
import weakref

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import auth
from tests.test_training import _tiny
from training.train import train_bundle
from triage.settings import Settings

PETITION = {"title": "公司拖欠工资", "body": "我们公司拖欠农民工工资三个月了，老板不接电话"}


@pytest.fixture
def freezing_client(tmp_path, models_dir):
    settings = Settings(
        models_dir=models_dir,
        database_url=f"sqlite:///{tmp_path / 'triage.db'}",
        model_check_seconds=0.0,
        gc_freeze=True,
    )
    try:
        with TestClient(create_app(settings)) as c:
            c.headers.update(auth(c.app))
            yield c
    finally:
        gc.unfreeze()


def _tracked(obj: object) -> bool:
    """Whether the collector's generations hold `obj` (frozen objects are in none of them)."""
    return any(o is obj for o in gc.get_objects())


def test_the_served_model_is_frozen_out_of_full_collections(freezing_client):
    assert freezing_client.post("/classify", json=PETITION).status_code == 200
    served = freezing_client.app.state.live_model.peek()
    assert served is not None
    assert gc.get_freeze_count() > 0
    assert not _tracked(served.model)
    assert not _tracked(served.model.vectorizers_[0])


def test_a_replaced_model_is_freed_after_a_promotion(freezing_client, registry):
    first = freezing_client.post("/classify", json=PETITION).json()["model_version"]
    old = weakref.ref(freezing_client.app.state.live_model.peek().model)
    new = train_bundle(_tiny(), registry).version
    registry.promote(new)
    served = freezing_client.post("/classify", json={"body": "路灯不亮"}).json()["model_version"]
    assert served == new != first
    assert old() is None  # not pinned in the permanent generation
    assert not _tracked(freezing_client.app.state.live_model.peek().model)


def test_off_leaves_the_collector_alone(client):
    gc.unfreeze()
    assert client.post("/classify", json=PETITION).status_code == 200
    assert gc.get_freeze_count() == 0
    assert _tracked(client.app.state.live_model.peek().model)
