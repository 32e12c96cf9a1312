"""`triage index --department-col` maps an export's department names onto the routing table's."""

from __future__ import annotations

import csv
import json

import pytest

from cli import main
from triage.routing.table import RoutingTableError, parse_table
from triage.settings import Settings

HEADER = ["编号", "标题", "内容", "承办单位", "答复"]
ELEVATOR = (
    "H-1",
    "金港花园电梯天天坏",
    "顺义区金港花园7号楼电梯这个月坏了五次，上周还困过人，物业只说在等配件，一直修不好。",
    "顺义区分中心",
    "网友您好：经核实，金港花园7号楼电梯主板老化，区特检所已于3月5日责令物业停梯检修，3月12日更换主板并通过检验。联系电话010-69443322。",
)
ROWS = [
    ELEVATOR,
    (
        "H-2",
        "医院挂号难",
        "区医院专家号一放出来就没了，黄牛倒号严重。",
        "卫计委",
        "网友您好：经核实，区卫计委已于3月2日会同公安分局开展打击号贩子专项行动，专家号改为实名预约。咨询电话010-69441234。",
    ),
    (
        "H-3",
        "路口红绿灯坏了",
        "顺平路口红绿灯坏了两天没人修。",
        "某某办",
        "网友您好：经核实，顺平路口信号灯因线路老化故障，交通设施维护单位已于5月6日更换线路，信号灯恢复正常。",
    ),
    (
        "H-4",
        "路口红绿灯又坏",
        "顺平路口红绿灯又坏了，早高峰很堵。",
        "某某办",
        "网友您好：经核实，顺平路口信号机主板损坏，维护单位已于5月9日更换新信号机，早高峰时段增派交警疏导。",
    ),
]
NEAR = "顺义区金港花园7号楼电梯本月坏了五次，上周有人被困，物业说等配件，一直没修好"


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TRIAGE_ANSWERS_ENCODER", "none")  # BM25 only: keeps CLI tests fast
    monkeypatch.setenv("TRIAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'triage.db'}")  # the table in force
    history = tmp_path / "export.csv"
    with history.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([HEADER, *ROWS])
    return tmp_path


def index(capsys, cli_env, *extra):
    code = main(
        ["index", "--history", str(cli_env / "export.csv"), "--text-col", "标题,内容", "--reply-col", "答复",
         "--department-col", "承办单位", "--id-col", "编号", *extra]
    )  # fmt: skip
    out, err = capsys.readouterr()
    return code, out, err


def draft(capsys, department: str) -> dict:
    assert main(["draft", "--text", NEAR, "--department", department]) == 0
    return json.loads(capsys.readouterr().out)


def test_without_a_mapping_the_imported_case_is_never_a_source(cli_env, capsys):
    code, _out, err = index(capsys, cli_env)
    assert code == 0
    assert "unmatched department names" in err and "顺义区分中心 (1)" in err and "某某办 (2)" in err
    result = draft(capsys, "住建局")
    assert result["tier"] == "escalate" and "H-1" not in [s["id"] for s in result["sources"]]


def test_a_mapping_file_files_the_history_under_the_table_department_and_drafts_use_it(cli_env, capsys):
    mapping = cli_env / "map.csv"
    mapping.write_text("承办单位,部门\n顺义区分中心,住建局\n", encoding="utf-8")
    code, out, err = index(capsys, cli_env, "--department-map", str(mapping))
    assert code == 0, err
    report = json.loads(out)["departments"]
    # 顺义区分中心 by the map, 卫计委 by the table's forward_to (→ 卫健委); 某某办 kept as written
    assert report["rows_mapped"] == 2 and report["mapped_by"] == {"map file": 1, "forward_to": 1}
    assert report["unmatched_names"] == {"某某办": 2} and report["rows_unmatched"] == 2
    assert "2 row(s) mapped onto the routing table's names" in err and "某某办 (2)" in err
    result = draft(capsys, "住建局")
    sources = [s for s in result["sources"] if s["kind"] == "history"]
    assert result["tier"] != "escalate" and sources[0]["id"] == "H-1" and sources[0]["department"] == "住建局"


def test_routing_table_aliases_map_names_too(cli_env, capsys, monkeypatch):
    table = Settings().routing_table.read_text(encoding="utf-8")
    aliased = table.replace(
        "住建局: {full_name: 临江市住房和城乡建设局, contact: 0571-86523000}",
        "住建局: {full_name: 临江市住房和城乡建设局, contact: 0571-86523000, aliases: [顺义区分中心]}",
    )
    assert aliased != table
    (cli_env / "routing.yaml").write_text(aliased, encoding="utf-8")
    monkeypatch.setenv("TRIAGE_ROUTING_TABLE", str(cli_env / "routing.yaml"))
    code, out, _err = index(capsys, cli_env, "--dry-run")
    assert code == 0 and json.loads(out)["departments"]["mapped_by"] == {"alias": 1, "forward_to": 1}
    assert draft(capsys, "住建局")["tier"] == "escalate"  # a dry run imports nothing
    code, out, _err = index(capsys, cli_env)
    assert code == 0 and json.loads(out)["indexed"] == 4
    assert draft(capsys, "住建局")["sources"][0]["id"] == "H-1"


def test_a_map_naming_an_unknown_department_is_refused_before_anything_is_imported(cli_env, capsys):
    mapping = cli_env / "map.yaml"
    mapping.write_text("顺义区分中心: 住建委\n", encoding="utf-8")
    code, _out, err = index(capsys, cli_env, "--department-map", str(mapping))
    assert code == 2 and "'住建委' (for '顺义区分中心') is not a department of the routing table" in err
    assert not (cli_env / "models" / "retrieval").exists()


def test_an_alias_that_clashes_is_refused_with_its_line():
    table = Settings().routing_table.read_text(encoding="utf-8")
    clash = table.replace(
        "住建局: {full_name: 临江市住房和城乡建设局, contact: 0571-86523000}",
        "住建局: {full_name: 临江市住房和城乡建设局, contact: 0571-86523000, aliases: [交通运输局]}",
    )
    with pytest.raises(RoutingTableError, match="alias '交通运输局' of '住建局' is already a department"):
        parse_table(clash)
