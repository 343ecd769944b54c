"""The sources pass `ruff check` and are formatted as `ruff format` (black's style) writes them.

The sources are the package, the tests, the benchmarks, docs/'s scripts and setup.py (`SOURCES`;
notebooks/ is excluded in pyproject.toml). The configuration in pyproject.toml: line length 100,
pycodestyle, pyflakes, import order, bugbear, pydocstyle's Google convention.
"""

import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = ["sketch_rnn_tf", "tests", "benchmarks", "docs", "tools", "setup.py"]


def _ruff():
    exe = shutil.which("ruff") or os.path.join(os.path.dirname(sys.executable), "ruff")
    return exe if os.path.isfile(exe) else None


@pytest.mark.skipif(_ruff() is None, reason="ruff not installed (pip install -e .[test] pins it)")
def test_ruff_check_passes_on_the_sources():
    proc = subprocess.run(
        [_ruff(), "check", "--no-cache", *SOURCES],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]


@pytest.mark.skipif(_ruff() is None, reason="ruff not installed (pip install -e .[test] pins it)")
def test_sources_are_ruff_formatted():
    proc = subprocess.run(
        [_ruff(), "format", "--check", "--no-cache", *SOURCES],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (
        proc.stdout[-5000:] + proc.stderr[-2000:] + f"\nrun `ruff format {' '.join(SOURCES)}`"
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
    assert "notebooks" in config["extend-exclude"]
    assert all(os.path.exists(os.path.join(REPO, d)) for d in SOURCES)
