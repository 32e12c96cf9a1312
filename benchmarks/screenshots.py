"""Screenshots of the staff page for docs/screenshots/: a demo store behind a real server, in chromium.

    python -m benchmarks.screenshots [--out docs/screenshots] [--serve]

It prepares a throwaway models directory and SQLite database the way `make run` does (`triage
bootstrap`: the sample's model, the request-type model, the answer library and the reply history),
adds a few authored petitions to the hot-topic state, submits sample petitions through
`POST /cases` with a platform key, works some of them to the end with a staff key so the
statistics have something to show, then signs in to the page in Debian's chromium and saves PNGs
of the queue, a case and the supervisor view. `--serve` keeps the server running afterwards and
prints the URL and the staff key, for a look by hand.

The helpers here (chromium launch options, the bootstrap, keys through the CLI, the topic demo)
are shared with tests/test_browser.py, so the screenshots show exactly what the tests drive.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
# Headless, sandbox off (containers), and nothing that phones home: the page must work offline.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BEIJING = "+08:00"

# Authored petitions that form two hot topics (four about one estate's charging points, three about
# night-time piling at one metro site): the sample corpus has no repeated matter in one place.
TOPIC_PETITIONS = [
    (
        "锦绣花园地下车库电动车充电桩不够",
        "城南区锦绣花园小区地下车库只有两个充电桩，晚上大家把电动车推到楼道里充电，很危险。",
    ),
    (
        "锦绣花园楼道电动车充电隐患",
        "城南区锦绣花园小区12幢楼道里天天有人拉电线给电动车充电，希望物业增加充电桩。",
    ),
    (
        "锦绣花园小区充电桩太少",
        "城南区锦绣花园小区充电桩太少，电动车只能在楼道充电，存在火灾隐患，请相关部门督促物业。",
    ),
    ("锦绣花园电动车飞线充电", "城南区锦绣花园小区多户居民从窗户飞线给电动车充电，物业不管，请处理。"),
    ("丰乐路夜间施工噪音扰民", "城南区丰乐路地铁施工工地每天晚上十一点后还在打桩，噪音很大，居民无法休息。"),
    ("丰乐路地铁工地夜间打桩", "城南区丰乐路地铁站工地深夜打桩施工，噪音扰民，希望查处。"),
    ("丰乐路工地半夜施工", "城南区丰乐路地铁工地半夜施工噪音太大，孩子没法睡觉。"),
]


def chromium_missing_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: `make browser` (apt-get install chromium) installs it"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


def cjk_font_missing() -> bool:
    """True when fontconfig knows no Chinese font: chromium would draw every character as a box."""
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return True
    return not out.strip()


def launch_chromium(playwright: Any):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def triage_cli(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """Run `triage ARGS` as a user would; returns stdout, raises with stderr on failure."""
    cmd = [sys.executable, "-c", "import sys; from cli import main; sys.exit(main(sys.argv[1:]))", *args]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"triage {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def prepare(workdir: Path, trained_models: Path | None = None) -> tuple[dict[str, str], str]:
    """A models directory and database ready to serve, as `make run` leaves them.

    Runs `triage bootstrap` and returns the environment and the staff key it printed (the key a
    new user signs in with). `trained_models` (a directory with a live bundle) is copied first,
    which skips training the classifier.
    """
    models = workdir / "models"
    if trained_models is not None and not models.exists():
        shutil.copytree(trained_models, models)
    env = {
        **os.environ,
        "TRIAGE_MODELS_DIR": str(models),
        "TRIAGE_DATABASE_URL": f"sqlite:///{workdir / 'triage.db'}",
        "OMP_NUM_THREADS": "1",
    }
    out = triage_cli(env, "bootstrap")
    printed = re.findall(r"^\s*(tk_\S+)\s*$", out, re.MULTILINE)
    if not printed:
        raise RuntimeError(f"triage bootstrap printed no staff key:\n{out[-1500:]}")
    return env, printed[-1]


def cli_key(env: dict[str, str], role: str) -> str:
    """A new key through `triage keys create`, which prints it alone on the last line."""
    out = triage_cli(env, "keys", "create", "--role", role, "--name", f"demo {role}")
    return out.rstrip("\n").splitlines()[-1].strip()


def store_key(database_url: str, role: str, name: str | None = None) -> str:
    """A new key straight through the store (what the CLI does, without starting a process)."""
    from triage.store.engine import Store
    from triage.store.keys import create_key

    store = Store(database_url)
    try:
        store.ensure_schema()
        with store.session(write=True) as s:
            key, _ = create_key(s, role, name)
    finally:
        store.dispose()
    return key


def seed_topics(models_dir: Path, start: datetime) -> None:
    """Index the authored topic petitions, one a day from `start`, in the server's topic state."""
    from triage.topics import TopicState

    state = TopicState.open(Path(models_dir) / "topics")
    state.add(
        {
            "id": f"TOPIC-{i}",
            "title": t,
            "body": b,
            "received_at": (start + timedelta(days=i)).strftime("%Y-%m-%d %H:%M"),
        }
        for i, (t, b) in enumerate(TOPIC_PETITIONS)
    )
    state.save()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def submit(base: str, key: str, **case: Any) -> dict[str, Any]:
    r = httpx.post(f"{base}/cases", json=case, headers=bearer(key), timeout=30)
    if r.status_code not in (200, 201):
        raise RuntimeError(f"POST /cases answered {r.status_code}: {r.text}")
    return r.json()


def sign_in(page: Any, base: str, key: str, path: str = "/") -> None:
    page.goto(base + path)
    page.fill("#signin-key", key)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#main:not([hidden])")


# -- the demo -----------------------------------------------------------------------------------


def beijing_now() -> datetime:
    """Now as a naive Beijing wall-clock time (what the platform sends as received_at)."""
    return datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=8)


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + BEIJING


def seed_demo(base: str, platform_key: str, staff_key: str) -> list[dict[str, Any]]:
    """Sample petitions received over the last two weeks; a few worked to the end."""
    from datasets import load_sample

    rows = load_sample()
    by_dept: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_dept.setdefault(row["department"], []).append(row)
    picked = [r for dept in sorted(by_dept) for r in by_dept[dept][:2]][:16]
    now = beijing_now()
    created = [
        _submit_row(base, platform_key, row, i, now - timedelta(hours=6 + i * 17))
        for i, row in enumerate(picked)
    ]
    created.append(
        submit(
            base,
            platform_key,
            external_id="DEMO-VAGUE",
            title="咨询一下",
            body="请问这个事情应该找谁？",
            received_at=iso(now - timedelta(hours=2)),
        )
        | {"_row": None}
    )
    # work a few to the end (the most overdue stay open, as in real life): accept (one override), then send the sample's own reply
    for n, case in enumerate(sorted(created[:-1], key=lambda c: c["deadline"])[3:9]):
        cid, row = case["id"], case["_row"]
        if n == 1:
            other = "市场监管局" if row["department"] != "市场监管局" else "城管局"
            _post(
                base,
                staff_key,
                f"/cases/{cid}/routing",
                {"action": "override", "department": other, "reason": "涉及经营者，由市场监管部门牵头"},
            )
        elif case["routing"]["department"]:
            _post(base, staff_key, f"/cases/{cid}/routing", {"action": "accept"})
        else:
            _post(
                base,
                staff_key,
                f"/cases/{cid}/routing",
                {"action": "override", "department": row["department"], "reason": "人工分派"},
            )
        r = httpx.post(
            f"{base}/cases/{cid}/reply",
            json={"text": row["reply"], "send": True},
            headers=bearer(staff_key),
            timeout=30,
        )
        if r.status_code == 422:
            _post(
                base,
                staff_key,
                f"/cases/{cid}/reply",
                {"text": row["reply"], "send": True, "confirm_reason": "已电话沟通，群众认可"},
            )
        elif r.status_code != 200:
            raise RuntimeError(f"reply to case {cid}: {r.status_code} {r.text}")
    return created


def _submit_row(base: str, key: str, row: dict[str, str], i: int, received: datetime) -> dict[str, Any]:
    case = submit(
        base,
        key,
        external_id=f"DEMO-{row['id']}",
        title=row["title"],
        body=row["body"],
        channel="12345热线" if i % 3 else "网站留言",
        received_at=iso(received),
        request_type=row.get("request_type") or None,
    )
    return case | {"_row": row}


def _post(base: str, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(base + path, json=body, headers=bearer(key), timeout=30)
    if r.status_code != 200:
        raise RuntimeError(f"POST {path} answered {r.status_code}: {r.text}")
    return r.json()


def take_screenshots(base: str, staff_key: str, case_id: int, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        sign_in(page, base, staff_key)
        page.wait_for_selector("#queue tbody tr")
        shots.append(out / "queue.png")
        page.screenshot(path=str(shots[-1]), full_page=True)

        page.goto(f"{base}/case/{case_id}")
        page.wait_for_selector("#case:not([hidden])")
        page.fill("#reply-text", "您好，您的留言已收悉，我们高度重视，已转相关部门处理。")
        page.wait_for_selector("#qc[data-state=done] #qc-flags li")
        shots.append(out / "case.png")
        page.screenshot(path=str(shots[-1]), full_page=True)

        page.goto(f"{base}/supervisor")
        page.wait_for_selector("#stats tbody tr[data-department]")
        page.wait_for_selector("#topics li, #topics-note")
        shots.append(out / "supervisor.png")
        page.screenshot(path=str(shots[-1]), full_page=True)

        page.goto(f"{base}/library")
        page.wait_for_selector("#library tbody tr[data-id]")
        with page.expect_response(lambda r: "/answers?department=" in r.url):
            page.select_option("#filter-department", index=1)
        page.wait_for_timeout(200)  # the table is redrawn right after the response
        page.locator("#library tbody tr[data-id] button.edit").first.click()
        shots.append(out / "library.png")
        page.screenshot(path=str(shots[-1]), full_page=True)
        browser.close()
    return shots


def serve_until_interrupted(message: str) -> None:
    """`--serve`: keep the server of the enclosing block up for a look by hand until Ctrl-C."""
    print(f"{message}  (Ctrl-C stops)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--serve", action="store_true", help="keep serving afterwards (Ctrl-C stops)")
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    if reason := chromium_missing_reason():
        print(reason, file=sys.stderr)
        return 2
    if cjk_font_missing():
        print(
            "warning: no Chinese font installed; the screenshots will show boxes "
            "(apt-get install fonts-wqy-microhei)",
            file=sys.stderr,
        )
    from benchmarks.server import running_server

    work = Path(tempfile.mkdtemp(prefix="triage-screens-"))
    t0 = time.perf_counter()
    env, staff_key = prepare(work)
    platform_key = cli_key(env, "platform")
    seed_topics(Path(env["TRIAGE_MODELS_DIR"]), beijing_now() - timedelta(days=len(TOPIC_PETITIONS) + 1))
    port = args.port or free_port()
    print(f"prepared {work} in {time.perf_counter() - t0:.1f} s")
    with running_server(Path(env["TRIAGE_MODELS_DIR"]), port, database_url=env["TRIAGE_DATABASE_URL"]) as (
        base,
        _,
    ):
        created = seed_demo(base, platform_key, staff_key)
        # the case view shows best with both kinds of source: a curated answer and past replies
        still_open = [
            c
            for c in created
            if httpx.get(f"{base}/cases/{c['id']}", headers=bearer(staff_key)).json()["status"] != "closed"
        ]
        open_case = max(
            still_open,
            key=lambda c: (len({s["kind"] for s in c["draft"]["sources"]}), len(c["draft"]["sources"])),
        )
        for shot in take_screenshots(base, staff_key, open_case["id"], args.out):
            print(
                f"wrote {shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot} ({shot.stat().st_size:,} bytes)"
            )
        if args.serve:
            serve_until_interrupted(f"serving {base}  staff key: {staff_key}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
