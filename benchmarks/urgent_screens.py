"""Screenshots of the urgent states of the staff page (issue 16) for docs/screenshots/.

    python -m benchmarks.urgent_screens [--out docs/screenshots] [--port N] [--serve]

A throwaway store prepared as `make run` prepares it (see benchmarks/screenshots.py), a few
ordinary petitions (one of them overdue, one about a blocked fire lane) and two emergencies (a gas
smell, and a fire written in Traditional Chinese) through `POST /cases`; then the queue (紧急 at
the top) and the gas case's banner (请立即转 燃气抢修 96777) in Debian's chromium. `--serve` keeps
the server running afterwards, for a look or a curl by hand.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from benchmarks.screenshots import (
    ROOT,
    beijing_now,
    chromium_missing_reason,
    cli_key,
    free_port,
    iso,
    launch_chromium,
    prepare,
    serve_until_interrupted,
    sign_in,
    submit,
)

PETITIONS = [
    ("公司拖欠工资", "我们公司拖欠农民工工资三个月了，老板不接电话，希望劳动部门帮我们讨薪。", 40),
    ("消防通道被占", "幸福里小区3号楼后消防通道被私家车占用，万一着火消防车进不来。", 1),
    ("路灯不亮", "城南区锦绣花园门口的路灯坏了一个多月，晚上很黑。", 2),
    ("楼道煤气味", "楼道里闻到很浓的煤气味，好几户都闻到了，怕出事，请尽快派人来看看！", 0),
    ("對面樓冒煙", "對面樓三層窗戶在冒黑煙，好像屋裡著火了，快派消防車", 0),
]


def seed(base: str, platform_key: str) -> dict[str, dict]:
    now = beijing_now()
    created = {}
    for i, (title, body, days_ago) in enumerate(PETITIONS):
        received = now - timedelta(days=days_ago, minutes=5 * (len(PETITIONS) - i))
        created[title] = submit(
            base, platform_key, external_id=f"URG-DEMO-{i}", title=title, body=body, received_at=iso(received)
        )
    return created


def shoot(base: str, staff_key: str, case_id: int, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots = [out / "urgent_queue.png", out / "urgent_case.png"]
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        sign_in(page, base, staff_key)
        page.wait_for_selector("#queue tbody tr .badge.urgent")
        page.screenshot(path=str(shots[0]), full_page=True)
        page.goto(f"{base}/case/{case_id}")
        page.wait_for_selector("#urgent-banner:not([hidden])")
        page.screenshot(path=str(shots[1]), full_page=False)
        browser.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--serve", action="store_true", help="keep serving afterwards (Ctrl-C stops)")
    args = parser.parse_args(argv)
    if reason := chromium_missing_reason():
        print(reason, file=sys.stderr)
        return 2
    from benchmarks.server import running_server

    work = Path(tempfile.mkdtemp(prefix="triage-urgent-"))
    env, staff_key = prepare(work)
    platform_key = cli_key(env, "platform")
    port = args.port or free_port()
    with running_server(Path(env["TRIAGE_MODELS_DIR"]), port, database_url=env["TRIAGE_DATABASE_URL"]) as (
        base,
        _,
    ):
        created = seed(base, platform_key)
        for shot in shoot(base, staff_key, created["楼道煤气味"]["id"], args.out):
            print(f"wrote {shot} ({shot.stat().st_size:,} bytes)")
        if args.serve:
            serve_until_interrupted(f"serving {base}  staff key: {staff_key}  platform key: {platform_key}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
