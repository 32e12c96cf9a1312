"""The case store on a real database (SQLite, and PostgreSQL when TRIAGE_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm.exc import StaleDataError

from tests.cases_fixtures import hours_ago, seed_cases
from triage.store.clock import now
from triage.store.engine import Store, StoreUnavailable
from triage.store.models import Case, Event, Routing
from triage.store.repository import (
    CaseFilter,
    CaseNotFound,
    Conflict,
    StoreError,
    Suggestion,
    create_case,
    decide_routing,
    department_stats,
    get_case,
    list_cases,
    parse_status,
    return_case,
    save_reply,
)

ROWS = [
    {"title": "路灯不亮", "body": "小区门口路灯坏了一个月", "department": "城管局"},
    {"title": "拖欠工资", "body": "公司拖欠三个月工资 100% 未发", "department": "人社局"},
    {"title": "噪音扰民", "body": "工地夜间施工噪音", "department": "生态环境局"},
]


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    s.ensure_schema()
    yield s
    s.dispose()


def _suggestion(department="城管局", abstain=False, due=None):
    return Suggestion(
        label=department,
        department=department,
        confidence=0.8,
        abstain=abstain,
        manual_queue=abstain,
        model_version="v1",
        due_at=due or now() + timedelta(days=3),
    )


def test_migrations_create_every_table_and_run_twice_safely(store, db_url):
    tables = set(inspect(store.engine).get_table_names())
    assert {"cases", "routings", "replies", "events", "api_keys", "jobs", "alembic_version"} <= tables
    indexes = {i["name"] for i in inspect(store.engine).get_indexes("cases")}
    assert {"ix_cases_due", "ix_cases_department_status_due"} <= indexes
    again = Store(db_url)
    again.ensure_schema()  # already at head: a no-op, not an error
    again.dispose()


def test_the_schema_head_the_code_knows_is_alembics_head(store):
    """A database at SCHEMA_HEAD is not migrated (so read-only commands skip alembic's import):
    the constant must name the newest migration, or new migrations would never run."""
    from alembic.script import ScriptDirectory

    from triage.store.engine import SCHEMA_HEAD, alembic_config, schema_version

    head = ScriptDirectory.from_config(alembic_config(store.url)).get_current_head()
    assert SCHEMA_HEAD == head, "update SCHEMA_HEAD in triage/store/engine.py to the newest migration"
    assert schema_version(store.engine) == head


def test_an_unreachable_database_is_reported_not_crashed():
    store = Store("postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    with pytest.raises(StoreUnavailable, match="database unavailable"):
        store.ensure_schema()


def test_sqlite_default_creates_its_folder(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'new' / 'folder' / 'triage.db'}")
    store.ensure_schema()
    assert (tmp_path / "new" / "folder" / "triage.db").is_file()
    store.dispose()


def test_a_new_case_records_the_suggestion_and_events(store):
    with store.session(write=True) as s:
        case = create_case(
            s,
            external_id="E1",
            title="t",
            body="b",
            received_at=now(),
            suggestion=_suggestion(),
            draft=None,
            actor="platform:x",
        )
        case_id = case.id
    with store.session() as s:
        case = get_case(s, case_id, full=True)
        assert case.status == "new" and case.department == "城管局" and case.version == 1
        assert [r.kind for r in case.routings] == ["suggestion"]
        assert [e.kind for e in case.events] == ["created", "routing_suggested"]
        assert all(e.model_version == "v1" and e.actor == "platform:x" for e in case.events)


def test_unknown_case_is_not_found(store):
    with store.session() as s, pytest.raises(CaseNotFound):
        get_case(s, 12345)


def test_override_needs_department_and_reason_and_changes_the_department(store):
    (case_id,) = seed_cases(store, ROWS[:1], decide=None)
    with store.session(write=True) as s:
        case = get_case(s, case_id)
        with pytest.raises(StoreError, match="reason"):
            decide_routing(s, case, action="override", department="住建局", reason=" ", actor="staff:a")
        with pytest.raises(StoreError, match="department"):
            decide_routing(s, case, action="override", department=None, reason="x", actor="staff:a")
        decide_routing(s, case, action="override", department="住建局", reason="路灯归住建", actor="staff:a")
    with store.session() as s:
        case = get_case(s, case_id, full=True)
        assert (case.department, case.suggested_department, case.routing_state, case.status) == (
            "住建局",
            "城管局",
            "overridden",
            "assigned",
        )
        assert case.routings[-1].reason == "路灯归住建" and case.events[-1].kind == "routing_overridden"


def test_a_stale_write_is_refused_not_lost(store):
    """Two clerks read version 1; the second to write gets a conflict instead of overwriting."""
    (case_id,) = seed_cases(store, ROWS[:1], decide=None)
    with store.session() as s:
        stale = get_case(s, case_id)
    with store.session(write=True) as s:
        decide_routing(
            s, get_case(s, case_id), action="override", department="住建局", reason="r", actor="staff:a"
        )
    with pytest.raises(StaleDataError), store.session(write=True) as s:
        stale = s.merge(stale, load=False)
        stale.department = "民政局"
        s.flush()
    with store.session(write=True) as s:
        with pytest.raises(Conflict, match="changed since you read it"):
            decide_routing(
                s,
                get_case(s, case_id),
                action="accept",
                department=None,
                reason=None,
                actor="staff:b",
                expected_version=1,
            )
    with store.session() as s:
        assert get_case(s, case_id).department == "住建局"


def test_return_is_a_hard_negative_and_needs_a_new_routing(store):
    (case_id,) = seed_cases(store, ROWS[:1])
    with store.session(write=True) as s:
        case = get_case(s, case_id)
        with pytest.raises(StoreError, match="reason"):
            return_case(s, case, reason="", department=None, actor="staff:a")
        return_case(s, case, reason="不属于我局职责", department=None, actor="staff:a")
    with store.session(write=True) as s:
        case = get_case(s, case_id)
        assert (
            case.status == "returned" and case.department is None and case.manual_queue and case.returns == 1
        )
        ret = s.scalar(select(Routing).where(Routing.case_id == case_id, Routing.kind == "return"))
        assert ret.department == "城管局" and ret.reason == "不属于我局职责"
        with pytest.raises(StoreError, match="override"):
            decide_routing(s, case, action="accept", department=None, reason=None, actor="staff:a")
        with pytest.raises(Conflict, match="returned"):
            save_reply(
                s,
                case,
                text="答复",
                send=True,
                qc=None,
                flagged=False,
                confirm_reason=None,
                actor="staff:a",
                model_version="v1",
            )


def test_sending_closes_and_a_closed_case_refuses_changes(store):
    (case_id,) = seed_cases(store, ROWS[:1])
    with store.session(write=True) as s:
        case = get_case(s, case_id)
        reply = save_reply(
            s,
            case,
            text="您好，已处理。",
            send=True,
            qc={"verdict": "ok", "flags": []},
            flagged=False,
            confirm_reason=None,
            actor="staff:a",
            model_version="v2",
        )
        assert reply.kind == "final" and case.status == "closed" and case.closed_at is not None
    with store.session(write=True) as s:
        case = get_case(s, case_id)
        for change in (
            lambda: save_reply(
                s,
                case,
                text="again",
                send=False,
                qc=None,
                flagged=False,
                confirm_reason=None,
                actor="a",
                model_version=None,
            ),
            lambda: decide_routing(s, case, action="accept", department=None, reason=None, actor="a"),
            lambda: return_case(s, case, reason="r", department=None, actor="a"),
        ):
            with pytest.raises(Conflict, match="closed"):
                change()


def test_a_flagged_send_without_a_reason_is_recorded_as_refused(store):
    (case_id,) = seed_cases(store, ROWS[:1])
    qc = {
        "verdict": "revise",
        "score": 40,
        "flags": [{"code": "vague", "message": "m", "evidence": "已收悉"}],
    }
    with store.session(write=True) as s:
        reply = save_reply(
            s,
            get_case(s, case_id),
            text="已收悉",
            send=True,
            qc=qc,
            flagged=True,
            confirm_reason=None,
            actor="a",
            model_version="v1",
        )
        assert reply.kind == "refused"
    with store.session(write=True) as s:
        case = get_case(s, case_id)
        assert case.status == "assigned"
        reply = save_reply(
            s,
            case,
            text="已收悉",
            send=True,
            qc=qc,
            flagged=True,
            confirm_reason="领导要求先答复",
            actor="a",
            model_version="v1",
        )
        assert reply.kind == "final" and case.status == "closed"
        kinds = [e.kind for e in s.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id))]
        assert "reply_refused" in kinds and kinds[-1] == "reply_sent"


def test_queue_filters_order_and_pagination(store):
    ids = seed_cases(store, ROWS, decide=None)
    with store.session(write=True) as s:
        create_case(
            s,
            external_id="OLD",
            title="过期",
            body="很久以前",
            received_at=hours_ago(500),
            suggestion=_suggestion("城管局", abstain=True, due=hours_ago(100)),
            draft=None,
        )
    with store.session() as s:
        rows, total = list_cases(s, CaseFilter(), limit=2)
        assert total == 4 and len(rows) == 2 and rows[0].external_id == "OLD"  # overdue first
        assert [c.id for c in list_cases(s, CaseFilter(), limit=2, offset=2)[0]] == sorted(ids)[1:]
        assert {c.external_id for c in list_cases(s, CaseFilter(department="城管局"))[0]} == {"S0", "OLD"}
        assert [c.external_id for c in list_cases(s, CaseFilter(overdue=True))[0]] == ["OLD"]
        assert [c.external_id for c in list_cases(s, CaseFilter(abstained=True))[0]] == ["OLD"]
        assert [c.external_id for c in list_cases(s, CaseFilter(q="100%"))[0]] == ["S1"]  # % is literal
        assert list_cases(s, CaseFilter(q="10_"))[1] == 0
        assert list_cases(s, CaseFilter(status=parse_status("closed")))[1] == 0
        assert list_cases(s, CaseFilter(status=parse_status("open")))[1] == 4
    with pytest.raises(StoreError, match="unknown status 'done'"):
        parse_status("open,done")


def test_text_search_is_indexed_and_finds_what_a_substring_scan_finds(store):
    """The trigram index (migration 0002) must answer exactly what `LIKE '%q%'` answered."""
    seed_cases(store, ROWS, decide=None)
    if store.is_sqlite:
        with store.session() as s:
            assert s.execute(text("SELECT name FROM sqlite_master WHERE name = 'cases_text'")).first()
    else:
        indexes = {i["name"] for i in inspect(store.engine).get_indexes("cases")}
        assert {"ix_cases_title_trgm", "ix_cases_body_trgm"} <= indexes
    with store.session() as s:
        stored = {c.external_id: c.title + "\n" + c.body for c in s.scalars(select(Case))}
        for q in [
            "路灯",
            "门口路灯坏",
            "拖欠三个月工资",
            "100% 未发",
            "噪音",
            "夜间施工噪音扰民",
            "灯不",
            "x",
        ]:
            found = {c.external_id for c in list_cases(s, CaseFilter(q=q))[0]}
            assert found == {k for k, v in stored.items() if any(q in part for part in v.split("\n"))}, q
    with store.session(write=True) as s:  # an edited text is found by its new words, not its old ones
        case = s.scalars(select(Case).where(Case.external_id == "S2")).one()
        case.title = "建筑垃圾偷倒"
    with store.session() as s:
        assert [c.external_id for c in list_cases(s, CaseFilter(q="建筑垃圾偷倒"))[0]] == ["S2"]
        assert list_cases(s, CaseFilter(q="噪音扰民"))[1] == 0


def test_stats_per_department(store):
    ids = seed_cases(store, ROWS[:2] * 2, decide=None)  # 城管局, 人社局, 城管局, 人社局
    with store.session(write=True) as s:
        for case_id, hours in zip(ids, (10, 20, 30, 40), strict=True):
            get_case(s, case_id).received_at = hours_ago(hours)
    with store.session(write=True) as s:
        # 城管局: one accepted and sent (10 h), one overridden to 城管局's neighbour and sent flagged
        save_reply(
            s,
            get_case(s, ids[0]),
            text="答复",
            send=True,
            qc=None,
            flagged=False,
            confirm_reason=None,
            actor="a",
            model_version="v",
        )
        decide_routing(s, get_case(s, ids[1]), action="override", department="城管局", reason="r", actor="a")
        save_reply(
            s,
            get_case(s, ids[1]),
            text="答复",
            send=True,
            qc={"verdict": "revise", "flags": []},
            flagged=True,
            confirm_reason="ok",
            actor="a",
            model_version="v",
        )
        get_case(s, ids[3]).due_at = hours_ago(1)
    with store.session() as s:
        stats = {row["department"]: row for row in department_stats(s)}
    cg = stats["城管局"]
    assert cg["volume"] == 3 and cg["closed"] == 2 and cg["overdue"] == 0
    assert cg["median_hours_to_reply"] == pytest.approx(15.0, abs=0.1)
    assert cg["unchanged_share"] == 0.5 and cg["revise_share"] == 0.5
    rs = stats["人社局"]
    assert rs["volume"] == 1 and rs["overdue"] == 1 and rs["median_hours_to_reply"] is None


def test_one_transaction_per_block_rolls_back_everything(store):
    with pytest.raises(RuntimeError), store.session(write=True) as s:
        create_case(
            s,
            external_id="HALF",
            title="t",
            body="b",
            received_at=now(),
            suggestion=_suggestion(),
            draft=None,
        )
        raise RuntimeError("crash after the writes")
    with store.session() as s:
        assert s.scalar(select(Case).where(Case.external_id == "HALF")) is None
        assert s.scalars(select(Event)).first() is None
