"""A deployment's own words for its departments become features of the model it trains (issue 19).

The routing table may say what each department handles (`keywords`, `responsibilities`) and what a
label covers (label_sets' `keywords`); `triage train` learns them, and an admin may add a file of
groups for one training (`--keywords`, e.g. the public 3-level taxonomy).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cli import main
from cli.common import registry
from training.deployment_keywords import from_file, from_table, responsibility_terms
from triage.classifier import PetitionClassifier
from triage.csvio import DataError
from triage.routing.table import RoutingTableError, load_table, parse_table

SHIPPED = Path(__file__).resolve().parents[1] / "config" / "routing.yaml"

# 民政局's own statement, as a city would write it in its 权责清单
MINZHENG = """\
  民政局:
    full_name: 临江市民政局
    keywords: [婚姻登记, 殡葬, 低保, 养老机构]
    responsibilities: 负责城乡最低生活保障、特困人员救助供养工作；负责婚姻登记管理、殡葬管理和殡葬服务；负责养老服务体系建设、养老机构的监督管理。
"""


def table_text(extra_department: str = MINZHENG) -> str:
    """The shipped table with 民政局's entry replaced by `extra_department`."""
    text = SHIPPED.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines(keepends=True) if x.startswith("  民政局:"))
    return text.replace(line, extra_department)


def test_the_table_reads_a_departments_keywords_and_responsibilities():
    table = parse_table(table_text())
    dept = table.departments["民政局"]
    assert dept.keywords == ("婚姻登记", "殡葬", "低保", "养老机构")
    assert dept.responsibilities is not None and dept.responsibilities.startswith("负责城乡最低生活保障")
    assert table.departments["住建局"].keywords == () and table.departments["住建局"].responsibilities is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("  民政局: {keywords: {婚姻: 1}}\n", "departments.民政局.keywords must be a list of words"),
        ("  民政局: {responsibilities: [婚姻登记]}\n", "departments.民政局.responsibilities must be text"),
    ],
)
def test_a_malformed_entry_is_refused_with_its_line(entry, message):
    with pytest.raises(RoutingTableError, match=message) as caught:
        parse_table(table_text(entry))
    assert caught.value.line is not None


def test_a_labels_group_is_its_own_terms_and_its_lead_departments_words():
    text = table_text().replace(
        "    民政局: {lead: 民政局}", "    民政局: {lead: 民政局, keywords: [退役军人优待]}"
    )
    table = parse_table(text)
    groups = from_table(table, ["民政局", "住建局"])
    terms = groups.groups["民政局"]
    assert terms[:5] == ["退役军人优待", "婚姻登记", "殡葬", "低保", "养老机构"]
    assert {"最低生活保障", "特困", "殡葬服务"} & set(terms), terms  # words of the responsibilities
    assert not {"负责", "管理", "工作"} & set(terms)  # how departments work, not what they handle
    assert "住建局" not in groups.groups  # it said nothing: no group
    assert groups.describe()["groups"] == 1


def test_words_most_departments_write_are_left_out():
    terms = responsibility_terms(
        {
            "甲": "负责城市道路维护，受理投诉",
            "乙": "负责学校招生管理，受理投诉",
            "丙": "负责医院医疗纠纷调解，受理投诉",
        }
    )
    assert all("投诉" not in words and "受理" not in words for words in terms.values())
    assert "城市道路" in terms["甲"] and "招生" in terms["乙"]


def test_a_keywords_file_adds_groups_and_a_wrong_name_is_refused_with_row_and_column(tmp_path):
    table = load_table(SHIPPED)
    good = tmp_path / "taxonomy.csv"
    good.write_text(
        "一级分类,二级分类,三级分类\n城乡建设,物业管理,物业服务和收费\n人社局,劳动关系和劳动争议,欠薪\n"
        "城乡建设,电梯维修；加装电梯;违章搭建,\n",  # terms as an admin lists them in one cell
        encoding="utf-8",
    )
    groups = from_file(good, ["城乡建设", "劳动和社会保障"], table)
    assert {"物业管理", "物业服务", "收费", "电梯维修", "加装电梯", "违章搭建"} <= set(
        groups.groups["城乡建设"]
    )
    # 人社局 leads 劳动和社会保障 in the shipped table: its row goes to that label
    assert {"劳动关系", "劳动争议", "欠薪"} <= set(groups.groups["劳动和社会保障"])
    bad = tmp_path / "bad.csv"
    bad.write_text("一级分类,二级分类\n城乡建设,物业\n火星事务,登月\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"row 3, column '一级分类': '火星事务' is neither a label"):
        from_file(bad, ["城乡建设"], table)


def sample_csv(tmp_path: Path) -> Path:
    """The bundled sample as one labelled export (title, body, department)."""
    from datasets import load_sample

    path = tmp_path / "sample.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "body", "department"])
        w.writerows([r["title"], r["body"], r["department"]] for r in load_sample())
    return path


def _train(capsys, tmp_path: Path, *extra: str) -> dict:
    code = main(["train", "--data", str(sample_csv(tmp_path)), "--label-col", "department", *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    return {**json.loads(out), "stderr": err}


def test_triage_train_learns_the_tables_keywords_and_routing_follows_them(
    env_models, monkeypatch, capsys, tmp_path
):
    """A petition about a matter only 民政局's own statement names (殡葬, 婚姻登记) leans to 民政局
    once the table says so; the output and the bundle say where the keywords came from."""
    table = tmp_path / "routing.yaml"
    table.write_text(table_text(), encoding="utf-8")
    monkeypatch.setenv("TRIAGE_ROUTING_TABLE", str(table))
    with_keywords = _train(capsys, tmp_path)
    assert with_keywords["keywords"]["groups"] == 1 and with_keywords["keywords"]["terms"] >= 4
    assert with_keywords["keywords"]["sources"] == [
        "routing table version 1"
    ]  # the store's, seeded from the file
    assert "keyword features: 1 of 10 labels" in with_keywords["stderr"]
    without = _train(capsys, tmp_path, "--no-keywords")
    assert without["keywords"]["groups"] == 0

    petition = "老人去世后殡葬服务收费太高，公墓价格也不透明，希望有关部门管一管"
    models = {
        name: PetitionClassifier.load(registry().model_path(result["version"]))
        for name, result in (("with", with_keywords), ("without", without))
    }
    share = {
        name: float(m.predict_proba([petition])[0][list(m.classes_).index("民政局")])
        for name, m in models.items()
    }
    assert share["with"] > share["without"] + 0.05, share


def test_contradicting_flags_are_refused(env_models, capsys, tmp_path):
    code = main(["train", "--data", str(sample_csv(tmp_path)), "--keywords", "x.csv", "--no-keywords"])
    _, err = capsys.readouterr()
    assert code == 2 and "--keywords and --no-keywords contradict each other" in err
