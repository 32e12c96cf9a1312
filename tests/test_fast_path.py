"""The fast prediction path (triage/fastpath.py) against the sklearn pipeline it replaces.

Every petition's feature row must be bit-for-bit the pipeline's row, and probabilities, labels,
abstain decisions and reasons the same, on the bundled sample and (when present) on the public
test split's raw petitions.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from tests.conftest import requires_shared
from triage.classifier import FAST_PATH_MAX_DOCS, PetitionClassifier, word_analyzer

KEYWORDS = {
    "劳动": ["拖欠工资", "劳动合同", "社保缴纳"],
    "环境": ["油烟扰民", "噪音污染", "污水排放"],
    "交通": ["公交线路", "违章停车"],
}


def pipeline_only(model: PetitionClassifier) -> PetitionClassifier:
    """A copy that never takes the fast path, neither per petition nor in batch counting."""
    slow = pickle.loads(pickle.dumps(model))
    slow._fast = False
    return slow


def sklearn_rows(model: PetitionClassifier, texts: list[str]):
    """The pipeline's feature matrix, each row's columns sorted (scipy may leave them unsorted)."""
    slow = pipeline_only(model)
    features = slow._features(slow._prepare(texts))
    features.sort_indices()
    return features


def assert_batch_features_identical(model: PetitionClassifier, texts: list[str]) -> None:
    """The batch counting path's feature matrix is the pipeline's, bit for bit."""
    assert model._fast_path() is not None
    batch = model._features(model._prepare(texts))
    batch.sort_indices()
    expected = sklearn_rows(model, texts)
    np.testing.assert_array_equal(batch.indptr, expected.indptr)
    np.testing.assert_array_equal(batch.indices, expected.indices)
    assert batch.dtype == expected.dtype
    np.testing.assert_array_equal(batch.data, expected.data)


def assert_rows_identical(model: PetitionClassifier, texts: list[str]) -> None:
    fast = model._fast_path()
    assert fast is not None
    expected = sklearn_rows(model, texts)
    for i, (chars, words) in enumerate(model._prepare(texts)):
        row = fast.row(chars, words)
        np.testing.assert_array_equal(row.indices, expected[i].indices)
        assert row.data.dtype == expected.dtype
        np.testing.assert_array_equal(row.data, expected[i].data)  # bitwise, not approximately


def pipeline_proba(model: PetitionClassifier, texts: list[str]) -> np.ndarray:
    slow = pipeline_only(model)
    return slow._proba_from_features(slow._features(slow._prepare(texts)))


def assert_same_predictions(model: PetitionClassifier, texts: list[str], **kwargs) -> None:
    """Probabilities equal to 1e-9 and the same answers, one petition per call as /classify asks."""
    fast = np.vstack([model.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(fast, pipeline_proba(model, texts), rtol=0, atol=1e-9)
    slow = pipeline_only(model)
    for text in texts:
        [a] = model.predict_top_k([text], **kwargs)
        [b] = slow.predict_top_k([text], **kwargs)
        assert (a.label, a.abstain, [e["label"] for e in a.top_k]) == (
            b.label,
            b.abstain,
            [e["label"] for e in b.top_k],
        )
        assert np.allclose(
            [e["probability"] for e in a.top_k], [e["probability"] for e in b.top_k], atol=1e-9
        )
        assert [r.term for r in a.reasons] == [r.term for r in b.reasons]
        assert np.allclose([r.weight for r in a.reasons], [r.weight for r in b.reasons], atol=1e-4)


def test_rows_and_predictions_match_the_pipeline_on_the_sample(live_model, sample):
    texts = sample.texts
    assert_rows_identical(live_model, texts)
    assert_same_predictions(live_model, texts[:120])


def test_request_type_model_matches_the_pipeline(sample):
    from training.request_type import sample_request_types

    data = sample_request_types()
    model = PetitionClassifier().fit(data.texts, data.labels)
    assert len(model.classes_) > 2  # multinomial calibrator: softmax branch
    assert_rows_identical(model, sample.texts)
    assert_same_predictions(model, sample.texts[:80], k=1, n_reasons=0)


def test_binary_model_matches_the_pipeline(sample):
    """Two labels: LinearSVC gives one score column and the calibrator the logistic branch."""
    two = sorted(set(sample.labels))[:2]
    rows = [(t, y) for t, y in zip(sample.texts, sample.labels, strict=True) if y in two]
    model = PetitionClassifier(cv=2).fit([t for t, _ in rows], [y for _, y in rows])
    assert model.svc_.coef_.shape[0] == 1
    assert_rows_identical(model, sample.texts[:150])
    assert_same_predictions(model, sample.texts[:60])


def test_every_lever_matches_the_pipeline(sample):
    """Function words dropped, keyword blocks, temperature calibration, word weight."""
    model = PetitionClassifier(
        drop_function_words=True, keywords=KEYWORDS, calibration="temperature", word_weight=0.7, cv=2
    ).fit(sample.texts, sample.labels)
    texts = [*sample.texts, "公司拖欠工资，也没签劳动合同", "楼下油烟扰民，噪音污染严重", "今天天气很好"]
    assert_rows_identical(model, texts)
    assert_same_predictions(model, texts[-40:])


def test_a_bundle_that_tokenises_its_own_words_matches_the_pipeline(live_model, sample):
    """Bundles saved before words were prepared read the character view with word_analyzer."""
    old = pickle.loads(pickle.dumps(live_model))
    old.vectorizers_[1].analyzer = word_analyzer
    assert_rows_identical(old, sample.texts[:100])
    assert_same_predictions(old, sample.texts[:30])


def test_the_fast_path_is_never_saved_and_is_rebuilt_after_loading(live_model, sample, tmp_path):
    live_model.predict_top_k(sample.texts[:1])
    assert "_fast" in live_model.__dict__
    path = tmp_path / "m.joblib"
    live_model.save(path)
    loaded = PetitionClassifier.load(path)
    assert "_fast" not in loaded.__dict__
    np.testing.assert_allclose(
        loaded.predict_proba(sample.texts[:5]), live_model.predict_proba(sample.texts[:5]), atol=1e-12
    )
    assert loaded._fast_path() is not None


def test_refitting_rebuilds_the_fast_path(sample):
    model = PetitionClassifier(cv=2).fit(sample.texts[:200], sample.labels[:200])
    model.predict_proba(sample.texts[:2])
    first = model._fast_path()
    model.fit(sample.texts, sample.labels)
    assert model._fast_path() is not first
    assert_rows_identical(model, sample.texts[:50])


def test_large_batches_give_the_answers_of_single_petitions(live_model, sample):
    texts = sample.texts[: FAST_PATH_MAX_DOCS + 10]
    batch = live_model.predict_top_k(texts)
    singles = [live_model.predict_top_k([t])[0] for t in texts]
    assert [p.label for p in batch] == [p.label for p in singles]
    assert [p.abstain for p in batch] == [p.abstain for p in singles]
    assert [[e["label"] for e in p.top_k] for p in batch] == [[e["label"] for e in p.top_k] for p in singles]
    assert [[r.term for r in p.reasons] for p in batch] == [[r.term for r in p.reasons] for p in singles]
    # the same numbers to the last bit: a platform comparing a batch's answer with /classify's
    # sees no difference (they differed around the 16th digit while a petition alone was scored
    # with a BLAS dot product and a batch with scipy's sparse product)
    assert [p.confidence for p in batch] == [p.confidence for p in singles]
    assert [p.top_k for p in batch] == [p.top_k for p in singles]


def test_batch_counting_builds_the_pipelines_features_bit_for_bit(live_model, sample):
    assert_batch_features_identical(live_model, [*sample.texts, *AWKWARD_TEXTS])


@pytest.mark.parametrize("ngram_range", [(1, 3), (2, 3), (1, 2)])
def test_batch_counting_with_other_ngram_ranges(sample, ngram_range):
    model = PetitionClassifier(char_ngram_range=ngram_range).fit(sample.texts, sample.labels)
    assert_batch_features_identical(model, [*sample.texts[:80], *AWKWARD_TEXTS])


@pytest.mark.shared_data
@requires_shared
def test_public_raw_petitions_match_the_pipeline(live_model):
    """Long raw petitions (about 400 characters) of the public test split."""
    from datasets import load_category_test
    from triage.text import petition_text

    texts = [petition_text(r["title"], r["body"]) for r in load_category_test()[:400]]
    assert_rows_identical(live_model, texts)
    assert_batch_features_identical(live_model, texts)
    np.testing.assert_allclose(
        np.vstack([live_model.predict_proba([t]) for t in texts]),
        pipeline_proba(live_model, texts),
        rtol=0,
        atol=1e-9,
    )


# Texts the n-gram codes must count exactly as sklearn's analyzer: space runs, newlines, Latin
# and digits, characters outside the BMP (CJK extension B, emoji), a lone surrogate, shorter
# than the longest n-gram, empty.
AWKWARD_TEXTS = [
    "",
    "a",
    "路灯",
    "小区  路灯\n\n不亮   已经 3 天",
    "𠀀𠀁 用了扩展B区的字，还有表情😀😀",
    "编号ABC-123abc，电话12345",
    "孤立代理\ud800字符",
    "\t\r\n ",
]


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (1, 3), (2, 3), (3, 3)])
def test_coded_char_ngrams_count_what_sklearn_counts(ngram_range):
    from collections import Counter

    from triage.fastpath import char_ngrams, coded_char_ngrams, gram_code

    for text in AWKWARD_TEXTS:
        expected = Counter(gram_code(g) for g in char_ngrams(text, *ngram_range))
        codes, counts = coded_char_ngrams(text, *ngram_range)
        assert dict(zip(codes.tolist(), counts.tolist(), strict=True)) == expected, text
        assert list(codes) == sorted(codes)


def test_gram_codes_are_distinct_for_distinct_grams():
    """ "a" and "\\0a", and a trigram and the bigram it starts with, never share a code."""
    from triage.fastpath import gram_code

    grams = ["a", "\0a", "\0\0a", "ab", "abc", "𠀀", "𠀀𠀀", "\U0010ffff" * 3, "\0"]
    assert len({gram_code(g) for g in grams}) == len(grams)
    assert gram_code("\U0010ffff" * 3) < 2**63  # fits an int64


@pytest.mark.parametrize("ngram_range", [(1, 3), (2, 4)])
def test_rows_match_the_pipeline_with_coded_and_with_string_counting(sample, ngram_range):
    """(1, 3) is counted with n-gram codes, (2, 4) with strings (four characters do not fit)."""
    model = PetitionClassifier(char_ngram_range=ngram_range, cv=2).fit(sample.texts, sample.labels)
    block = model._fast_path().blocks[0]
    assert (block.char_counter is not None) == (ngram_range[1] <= 3)
    assert_rows_identical(model, [*sample.texts[:150], *AWKWARD_TEXTS])


def test_the_code_table_finds_exactly_what_a_sorted_search_finds():
    """`CodeTable.find` (a batch's vocabulary lookup) against searchsorted + equality, on random
    codes and on a run of regularly spaced ones, with misses that differ from a stored code by
    one."""
    from triage.fastpath import CodeTable

    rng = np.random.default_rng(0)
    codes = np.unique(rng.integers(0, 2**63 - 1, size=5_000, dtype=np.int64))
    codes = np.concatenate([codes, np.arange(3_000, dtype=np.int64) << 42])
    codes = np.unique(codes)
    ids = rng.permutation(len(codes)).astype(np.int32)
    table = CodeTable(codes, ids)
    queries = np.concatenate([codes[::3], codes[::7] + 1, rng.integers(0, 2**63 - 1, 2_000, dtype=np.int64)])
    queries = rng.permutation(queries)
    at = np.searchsorted(codes, queries)
    at[at == len(codes)] = 0
    expected = codes[at] == queries
    known, found = table.find(queries)
    assert expected.sum() > 1_000 and (~expected).sum() > 1_000
    assert (known == expected).all() and (found == ids[at[expected]]).all()
    assert table.find(np.zeros(0, dtype=np.int64))[0].size == 0
    empty = CodeTable(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32))
    assert not empty.find(codes[:10])[0].any()


def test_a_pickled_counter_leaves_its_lookup_table_behind():
    """A bundle's served form pickles the char counter: the table (12 MB for a public-data
    vocabulary) is rebuilt on first use, not stored, and the rebuilt one counts the same."""
    from triage.fastpath import CharGramCounter

    counter = CharGramCounter({"小区": 0, "停": 1, "停车": 2, "车": 3, "收费": 4}, 1, 3)
    before = counter.count_matrix(["小区停车乱收费", "车"], 5).toarray()
    assert "_table" in counter.__dict__
    copy = pickle.loads(pickle.dumps(counter))
    assert "_table" not in copy.__dict__
    assert (copy.count_matrix(["小区停车乱收费", "车"], 5).toarray() == before).all()
    assert before.tolist() == [[1, 1, 1, 1, 1], [0, 0, 0, 1, 0]]
