"""Training options an admin needs on a real export: rare labels, imbalance, evaluate's overlap."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest

from cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def by_department():
    from datasets import load_sample

    rows = defaultdict(list)
    for row in load_sample():
        rows[row["department"]].append(row)
    return rows


def write(path: Path, by_department, plan: dict[str, tuple[str, int, int]]) -> Path:
    """plan: label → (sample department, first row, how many rows)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "body", "label"])
        for label, (dept, start, n) in plan.items():
            for row in by_department[dept][start : start + n]:
                w.writerow([row["title"], row["body"], label])
    return path


BASE = {"住建局": ("住建局", 0, 8), "人社局": ("人社局", 0, 8), "教育局": ("教育局", 0, 8)}


def test_rare_labels_are_refused_with_the_way_out_then_dropped_with_a_report(
    env_models, capsys, tmp_path, by_department
):
    data = write(tmp_path / "t.csv", by_department, {**BASE, "民政局": ("民政局", 0, 2)})
    code, _, err = run(capsys, "train", "--data", str(data))
    assert code == 2 and "'民政局' (2)" in err and "--min-examples 3 --rare drop|merge" in err
    code, out, err = run(capsys, "train", "--data", str(data), "--min-examples", "3")
    assert code == 0, err
    assert "dropped 1 label(s) with fewer than 3 examples (2 rows): 民政局 (2)" in err
    result = json.loads(out)
    assert result["labels"] == ["人社局", "住建局", "教育局"]
    assert result["rare_labels"] == {"min_examples": 3, "dropped": {"民政局": 2}, "rows": 2}
    assert result["counts"]["total"] == 24


def test_rare_labels_merged_into_a_named_label(env_models, capsys, tmp_path, by_department):
    plan = {**BASE, "民政局": ("民政局", 0, 2), "卫健委": ("卫健委", 0, 2)}
    data = write(tmp_path / "t.csv", by_department, plan)
    code, out, err = run(
        capsys,
        "train",
        "--data",
        str(data),
        "--min-examples",
        "3",
        "--rare",
        "merge",
        "--merge-into",
        "其他事项",
    )
    assert code == 0, err
    assert (
        "merged 2 label(s) with fewer than 3 examples into '其他事项' (4 rows): 卫健委 (2), 民政局 (2)" in err
    )
    result = json.loads(out)
    assert "其他事项" in result["labels"] and result["counts"]["per_label"]["其他事项"] == 4
    assert result["rare_labels"]["merged"] == {"卫健委": 2, "民政局": 2}


def test_imbalance_is_warned_and_recorded(env_models, capsys, tmp_path, by_department):
    plan = {"住建局": ("住建局", 0, 20), "人社局": ("人社局", 0, 5), "教育局": ("教育局", 0, 5)}
    code, out, err = run(capsys, "train", "--data", str(write(tmp_path / "t.csv", by_department, plan)))
    assert code == 0, err
    assert "warning: 20 of 30 rows are 住建局 (67%)" in err
    assert json.loads(out)["warnings"][0].startswith("20 of 30 rows are 住建局")


def test_evaluate_says_how_many_rows_the_model_was_trained_on(env_models, capsys, tmp_path, by_department):
    train = write(tmp_path / "train.csv", by_department, BASE)
    code, out, err = run(capsys, "train", "--data", str(train))
    assert code == 0, err
    trained = json.loads(out)
    version, n_train = trained["version"], trained["counts"]["fitted"]
    assert n_train == 24  # the served model is refitted on every row
    code, out, err = run(capsys, "evaluate", "--data", str(train), "--version", version)
    assert code == 0
    assert f"{n_train} of 24 rows were in the training data of {version}: the figures are optimistic" in err
    assert json.loads(out)["seen_in_training"] == n_train
    unseen = write(
        tmp_path / "unseen.csv",
        by_department,
        {"住建局": ("住建局", 8, 4), "人社局": ("人社局", 8, 4), "教育局": ("教育局", 8, 4)},
    )
    code, out, err = run(capsys, "evaluate", "--data", str(unseen), "--version", version)
    assert code == 0 and "training data" not in err and json.loads(out)["seen_in_training"] == 0


def test_the_served_model_learns_every_row_and_the_figures_say_which_rows_they_come_from(
    env_models, capsys, tmp_path, by_department
):
    """An admin's labels all reach the model that serves; the quality shown is still measured on
    rows held out of a separate fit, and the output says so. --no-refit serves that fit."""
    train = write(tmp_path / "train.csv", by_department, BASE)
    code, out, err = run(capsys, "train", "--data", str(train))
    assert code == 0, err
    trained = json.loads(out)
    counts, evaluation = trained["counts"], trained["evaluation"]
    assert counts["fitted"] == counts["total"] == 24 and counts["train"] + counts["test"] == 24
    assert evaluation["served_model_fitted_on"] == "every row"
    assert f"{counts['test']} rows held out" in evaluation["description"]
    code, out, err = run(capsys, "evaluate", "--data", str(train), "--version", trained["version"])
    assert json.loads(out)["seen_in_training"] == 24

    code, out, err = run(capsys, "train", "--data", str(train), "--no-refit")
    assert code == 0, err
    held = json.loads(out)
    assert held["counts"]["fitted"] == held["counts"]["train"] < 24
    assert held["evaluation"]["served_model_fitted_on"] == "the other rows only"
    code, out, err = run(capsys, "evaluate", "--data", str(train), "--version", held["version"])
    assert json.loads(out)["seen_in_training"] == held["counts"]["train"]
