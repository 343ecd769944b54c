"""The bundled models ship in the sdist and the wheel, and load by name from an installed package.

Builds an sdist from a copy of the sources, a wheel from that sdist (so both must carry the
models), installs the wheel with `pip install --no-deps --target` outside the repository and, from
yet another directory, loads a bundled model by name and draws from it in a fresh interpreter that
imports the installed copy (TensorFlow and the other dependencies come from the running
environment). Offline: `--no-build-isolation` uses the environment's setuptools (pinned in the test
extras).
"""

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

from _paths import REPO

SOURCES = ("setup.py", "MANIFEST.in", "README.md", "LICENSE", "sketch_rnn_tf", "checkpoints")


def _bundled():
    root = os.path.join(REPO, "checkpoints")
    return sorted(
        d
        for d in os.listdir(root)
        if os.path.isfile(os.path.join(root, d, "sketch_rnn_config.json"))
    )


def _run(args, cwd, env=None):
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        path = os.path.join(REPO, name)
        if os.path.isdir(path):
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif os.path.exists(path):
            shutil.copy2(path, src / name)
    _run([sys.executable, "setup.py", "-q", "sdist", "-d", str(tmp / "dist")], cwd=src)
    (sdist,) = (tmp / "dist").glob("*.tar.gz")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp / "wheels"),
            str(sdist),
        ],
        cwd=tmp,
    )
    (wheel,) = (tmp / "wheels").glob("*.whl")
    target = tmp / "site"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        cwd=tmp,
    )
    return {"sdist": sdist, "wheel": wheel, "target": target, "tmp": tmp}


def test_sdist_and_wheel_carry_every_bundled_model(installed):
    with tarfile.open(installed["sdist"]) as tar:
        sdist = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    with zipfile.ZipFile(installed["wheel"]) as whl:
        wheel = set(whl.namelist())
    for name in _bundled():
        for f in os.listdir(os.path.join(REPO, "checkpoints", name)):
            assert f"checkpoints/{name}/{f}" in sdist
            assert f"sketch_rnn_tf/checkpoints/{name}/{f}" in wheel


def test_installed_wheel_loads_a_model_by_name_elsewhere(installed):
    elsewhere = installed["tmp"] / "elsewhere"
    elsewhere.mkdir()
    env = dict(
        os.environ,
        PYTHONPATH=str(installed["target"]),
        SKETCH_RNN_TF_HOME=str(installed["tmp"] / "cache"),
    )
    name = _bundled()[0]
    code = (
        "import sketch_rnn_tf as srt\n"
        "from sketch_rnn_tf import cli\n"
        "print('FILE', srt.__file__)\n"
        "print('BUNDLED', ','.join(srt.list_models()['bundled']))\n"
        f"m = srt.load_model({name!r})\n"
        "print('MAX_SEQ_LEN', m.hparams.max_seq_len)\n"
        f"assert cli.main(['sample', '--checkpoint', {name!r}, '--num', '1', '--seed', '0',"
        " '--out', 'one.svg']) == 0\n"
    )
    out = _run([sys.executable, "-c", code], cwd=elsewhere, env=env)
    lines = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    assert lines["FILE"].startswith(str(installed["target"]))  # the installed copy, not the repo
    assert lines["BUNDLED"].split(",") == _bundled()
    with open(os.path.join(REPO, "checkpoints", name, "sketch_rnn_config.json")) as f:
        import json

        assert int(lines["MAX_SEQ_LEN"]) == json.load(f)["hparams"]["max_seq_len"]
    assert (elsewhere / "one.svg").read_text().startswith("<svg")
    assert not os.path.exists(os.path.join(str(elsewhere), "checkpoints"))
