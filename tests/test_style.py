"""The package passes `ruff check` with the configuration in pyproject.toml (line length 100,
pycodestyle, pyflakes, import order, bugbear, pydocstyle's Google convention) and is formatted as
`ruff format` (black's style) writes it.
"""

import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _ruff():
    exe = shutil.which("ruff") or os.path.join(os.path.dirname(sys.executable), "ruff")
    return exe if os.path.isfile(exe) else None


@pytest.mark.skipif(_ruff() is None, reason="ruff not installed (pip install -e .[test] pins it)")
def test_ruff_check_passes_on_the_package():
    proc = subprocess.run(
        [_ruff(), "check", "--no-cache", "sketch_rnn_tf"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]


@pytest.mark.skipif(_ruff() is None, reason="ruff not installed (pip install -e .[test] pins it)")
def test_package_is_ruff_formatted():
    proc = subprocess.run(
        [_ruff(), "format", "--check", "--no-cache", "sketch_rnn_tf"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (
        proc.stdout[-5000:] + proc.stderr[-2000:] + "\nrun `ruff format sketch_rnn_tf`"
    )


def test_ruff_config_is_the_documented_one():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        pytest.skip("tomllib needs Python 3.11")
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        config = tomllib.load(f)["tool"]["ruff"]
    assert config["line-length"] == 100
    assert config["lint"]["pydocstyle"]["convention"] == "google"
    assert {"E", "F", "D", "I"} <= set(config["lint"]["select"])
