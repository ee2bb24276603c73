"""``make test`` brings a browser (.ci/ensure-browser) and the browser tests find it the same
way (tests/e2e/browser.py). No real install happens here: apt-get, id and Playwright's
installer are stand-ins on PATH."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e import browser

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "ensure-browser"


def _executable(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def fake(tmp_path):
    """A bin folder first on PATH, a Python whose ``-m playwright`` fails (no internet here),
    no system Chromium where the script looks, and no Playwright download."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = _executable(
        tmp_path / "python",
        'if [ "$1" = "-m" ] && [ "$2" = "playwright" ]; then echo "offline" >&2; exit 1; fi\n'
        f'exec {sys.executable} "$@"',
    )
    env = {k: v for k, v in os.environ.items() if k != "SCRM_CHROMIUM"}
    env.update(
        PATH=f"{bin_dir}:{env['PATH']}",
        PYTHON=str(python),
        SCRM_CHROMIUM_SEARCH=str(tmp_path / "chromium"),
        PLAYWRIGHT_BROWSERS_PATH=str(tmp_path / "no-playwright-browsers"),
    )
    return tmp_path, bin_dir, env


def _run(env):
    return subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_machine_with_chromium_needs_nothing(fake):
    tmp, bin_dir, env = fake
    # Given a Chromium where the rule looks, and a user who is not root
    chromium = _executable(tmp / "chromium", "exit 0")
    _executable(bin_dir / "id", "echo 1000")
    # When the script runs: it names that browser and succeeds
    result = _run(env)
    assert result.returncode == 0, result.stderr
    assert str(chromium) in result.stdout


def test_root_with_apt_installs_debians_chromium(fake):
    tmp, bin_dir, env = fake
    # Given root, apt-get, and no Chromium yet (this apt-get "installs" one)
    log = tmp / "apt.log"
    _executable(bin_dir / "id", "echo 0")
    _executable(
        bin_dir / "apt-get",
        f'echo "$@" >> {log}\n'
        f'case "$*" in *install*chromium*) printf "#!/bin/sh\\n" > {tmp}/chromium; '
        f"chmod +x {tmp}/chromium;; esac",
    )
    # When the script runs
    result = _run(env)
    # Then it installed chromium and the CJK font with apt-get, and uses it
    assert result.returncode == 0, result.stderr
    assert "install -y -qq -o DPkg::Lock::Timeout=300 chromium fonts-wqy-microhei" in (
        log.read_text()
    )
    assert f"{tmp}/chromium" in result.stdout


def test_no_browser_and_no_way_to_install_one_says_what_to_run(fake):
    _, bin_dir, env = fake
    # Given no Chromium, not root (so no apt-get), and no internet for Playwright's download
    _executable(bin_dir / "id", "echo 1000")
    # When the script runs
    result = _run(env)
    # Then it fails, naming the commands that bring a browser
    assert result.returncode == 1
    assert "NO CHROMIUM" in result.stderr
    assert "apt-get install chromium fonts-wqy-microhei" in result.stderr
    assert "python -m playwright install chromium" in result.stderr
    assert "SCRM_CHROMIUM" in result.stderr


def test_the_tests_find_the_browser_by_the_same_rule(tmp_path, monkeypatch):
    debian = _executable(tmp_path / "chromium", "exit 0")
    other = _executable(tmp_path / "chromium-browser", "exit 0")
    monkeypatch.delenv("SCRM_CHROMIUM", raising=False)
    # Debian's first, then the next candidate
    monkeypatch.setenv("SCRM_CHROMIUM_SEARCH", f"{debian} {other}")
    assert browser.system_chromium() == str(debian)
    debian.unlink()
    assert browser.system_chromium() == str(other)
    # a file that is not executable is not a browser
    other.chmod(0o644)
    assert browser.system_chromium() is None
    # SCRM_CHROMIUM, when given, always wins
    monkeypatch.setenv("SCRM_CHROMIUM", "/opt/chrome/chrome")
    assert browser.system_chromium() == "/opt/chrome/chrome"


def test_the_default_rule_looks_at_debians_path_first(monkeypatch):
    monkeypatch.delenv("SCRM_CHROMIUM", raising=False)
    monkeypatch.delenv("SCRM_CHROMIUM_SEARCH", raising=False)
    assert browser.SYSTEM_CHROMIUM[0] == "/usr/bin/chromium"
    if os.access("/usr/bin/chromium", os.X_OK):
        assert browser.find_chromium() == "/usr/bin/chromium"
