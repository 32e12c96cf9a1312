import csv
import json

import pytest

from training.bundles import BundleError, ModelRegistry, UnknownVersion
from training.data import LabelledData, load_labelled_csv
from training.train import train_bundle
from triage.csvio import DataError, read_csv


def write_rows(path, rows, encoding="utf-8", header=("title", "body", "label")):
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


ROWS = [("路灯不亮", "小区门口路灯坏了", "城管局"), ("拖欠工资", "老板欠薪三个月", "人社局")]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_reads_csv_in_every_supported_encoding(tmp_path, encoding):
    path = write_rows(tmp_path / "d.csv", ROWS, encoding=encoding)
    header, rows = read_csv(path)
    assert header == ["title", "body", "label"]
    assert rows[1]["body"] == "老板欠薪三个月"


def test_undecodable_file_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"title,body\n" + "噪音".encode("utf-16"))
    with pytest.raises(DataError, match="cannot decode"):
        read_csv(path)


def test_missing_column_names_the_file_and_the_column(tmp_path):
    path = write_rows(tmp_path / "d.csv", ROWS)
    with pytest.raises(DataError) as err:
        load_labelled_csv(path, "title,body", "department")
    assert "d.csv" in str(err.value) and "'department'" in str(err.value)


def test_empty_label_names_row_and_column(tmp_path):
    path = write_rows(tmp_path / "d.csv", [*ROWS, ("标题", "正文", "  ")])
    with pytest.raises(DataError) as err:
        load_labelled_csv(path, "title,body", "label")
    assert err.value.row == 4 and err.value.column == "label"
    assert "row 4" in str(err.value)


def test_empty_text_is_an_error(tmp_path):
    path = write_rows(tmp_path / "d.csv", [*ROWS, ("", " ", "城管局")])
    with pytest.raises(DataError, match=r"row 4.*empty text"):
        load_labelled_csv(path, "title,body", "label")


def test_label_with_a_single_example_is_refused_by_name(tmp_path):
    rows = [("路灯", f"路灯坏了{i}", "城管局") for i in range(5)] + [("工资", "欠薪", "人社局")]
    data = load_labelled_csv(write_rows(tmp_path / "d.csv", rows), "title,body", "label")
    with pytest.raises(DataError, match="'人社局' \\(1\\)"):
        data.validate()


def test_bundle_has_model_and_complete_metadata(registry):
    version = registry.live_version()
    meta = registry.metadata(version)
    for key in (
        "labels",
        "counts",
        "macro_f1",
        "per_label",
        "abstain",
        "data_hash",
        "libraries",
        "created_at",
    ):
        assert key in meta, key
    assert len(meta["labels"]) >= 10
    assert set(meta["per_label"]) == set(meta["labels"])
    assert {"precision", "recall"} <= set(next(iter(meta["per_label"].values())))
    assert 0 < meta["abstain"]["test"]["coverage"] <= 1
    assert meta["libraries"]["scikit-learn"]
    assert (registry.root / version / "model.joblib").is_file()


def _tiny(n_per=4) -> LabelledData:
    texts, labels = [], []
    for i in range(n_per):
        texts += [f"路灯不亮第{i}次", f"拖欠工资第{i}个月", f"垃圾没人清运{i}天"]
        labels += ["城管局", "人社局", "环卫"]
    return LabelledData(texts, labels, "tiny", list(range(len(texts))))


def test_promote_and_rollback_switch_the_pointer(registry):
    first = registry.live_version()
    second = train_bundle(_tiny(), registry).version
    assert registry.live_version() == first  # training alone does not promote
    registry.promote(second)
    assert registry.live_version() == second
    assert registry.rollback() == first
    assert registry.live_version() == first
    with pytest.raises(BundleError):
        registry.rollback()


def test_unknown_version_cannot_be_promoted_and_nothing_changes(registry):
    before = (registry.root / "live.json").read_text()
    for bad in ("nope", "../etc", ".tmp-x", ""):
        with pytest.raises(UnknownVersion):
            registry.promote(bad)
    assert (registry.root / "live.json").read_text() == before


def test_failed_training_leaves_live_model_and_disk_unchanged(registry):
    before = sorted(p.name for p in registry.root.iterdir())
    live = registry.live_version()
    bad = LabelledData(["a", "b", "c", "d"], ["x", "x", "x", "y"], "bad", [2, 3, 4, 5])
    with pytest.raises(DataError):
        train_bundle(bad, registry, promote=True)
    assert registry.live_version() == live
    assert sorted(p.name for p in registry.root.iterdir()) == before


def test_incomplete_bundle_is_invisible_and_cleaned(registry):
    (registry.root / ".tmp-crashed-abc").mkdir()
    half = registry.root / "20990101-000000-half"
    half.mkdir()
    (half / "model.joblib").write_bytes(b"partial")
    versions = [b.version for b in registry.list()]
    assert half.name not in versions and ".tmp-crashed-abc" not in versions
    with pytest.raises(UnknownVersion):
        registry.promote(half.name)
    assert registry.clean_temporary() == 1


def test_pointer_file_is_valid_json_naming_a_complete_bundle(registry):
    pointer = json.loads((registry.root / "live.json").read_text())
    assert registry.is_complete(pointer["live"])


def test_empty_registry(tmp_path):
    reg = ModelRegistry(tmp_path / "none")
    assert reg.list() == [] and reg.live_version() is None
