"""The command line: a quiet stderr on CPU-only machines, and a docstring naming every command."""

import os
import re
import subprocess
import sys

import pytest

from sketch_rnn_tf import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHEEP = os.path.join(REPO, "checkpoints", "sheep")
NOISE = (
    "cuInit",
    "UNKNOWN ERROR (303)",
    "Sharding callback duration",
    "absl::InitializeLog",
    "I0000",
    "oneDNN custom operations",
    "Could not find cuda drivers",
)


def _run(*argv):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "-m", "sketch_rnn_tf", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )


@pytest.mark.skipif(not os.path.isdir(SHEEP), reason="bundled checkpoint missing")
def test_info_is_quiet():
    proc = _run("info", "--checkpoint", SHEEP)
    assert proc.returncode == 0, proc.stderr
    assert "trainable parameters: 1123963" in proc.stdout
    for noise in NOISE:
        assert noise not in proc.stderr, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr


def test_error_is_one_line_even_when_quiet(tmp_path):
    proc = _run("info", "--checkpoint", str(tmp_path / "nowhere"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    where = tmp_path / "nowhere"
    assert lines[0].startswith(f"error: argument --checkpoint {where}: {where}: no such file"), (
        lines
    )


@pytest.mark.parametrize(
    "line, noise",
    [
        (
            b"WARNING: All log messages before absl::InitializeLog() is called "
            b"are written to STDERR\n",
            True,
        ),
        (
            b"I0000 00:00:1795643812.594896   28224 port.cc:153] "
            b"oneDNN custom operations are on.\n",
            True,
        ),
        (
            b"I0000 00:00:1795643812.595446   28224 cudart_stub.cc:31] "
            b"Could not find cuda drivers\n",
            True,
        ),
        (
            b"E0000 00:00:1795643822.472129   28224 cuda_platform.cc:52] "
            b"failed call to cuInit: INTERNAL: "
            b"CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n",
            True,
        ),
        # TensorFlow 2.20 writes the cuInit line in its own format, not absl's
        (
            b"2026-12-03 09:07:19.419642: E external/local_xla/xla/stream_executor/cuda/"
            b"cuda_platform.cc:51] failed call to cuInit: INTERNAL: CUDA error: "
            b"Failed call to cuInit: UNKNOWN ERROR (303)\n",
            True,
        ),
        (
            b"I0000 00:00:1764104040.123456   1234 sharding_util.cc:61] "
            b"Sharding callback duration: 12\n",
            True,
        ),
        (
            b"E0000 00:00:1795650116.220010    5171 util.cc:131] "
            b"oneDNN supports DT_INT32 only on platforms "
            b"with AVX-512. Falling back to the default Eigen-based implementation if present.\n",
            True,
        ),
        # kept: Python's absl logs (training progress), real native errors, and everything else
        (b"I1125 21:58:00.123456 140000 trainer.py:301] step 100: cost 1.2\n", False),
        (
            b"E0000 00:00:1795643822.472129   28224 bfc_allocator.cc:12] "
            b"Allocator ran out of memory\n",
            False,
        ),
        (b"F0000 00:00:1795643822.472129   28224 check.cc:12] Check failed\n", False),
        (
            b"2026-12-03 09:07:19.419642: E tensorflow/core/common_runtime/bfc_allocator.cc:12] "
            b"Allocator ran out of memory\n",
            False,
        ),
        (b"error: bad input\n", False),
    ],
)
def test_noise_filter(line, noise):
    assert bool(cli._NATIVE_NOISE.match(line)) == noise


def test_docstring_and_parser_name_every_command():
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    commands = set(sub.choices)
    assert {
        "sample",
        "train",
        "export",
        "evaluate",
        "convert",
        "info",
        "models",
        "prepare",
        "serve",
    } <= commands
    first = cli.__doc__.splitlines()[0]
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    for c in commands:
        assert re.search(rf"\b{c}\b", first), (c, first)
        assert re.search(rf"^\| `{c}[ `]", readme, re.M), c  # a row of the README's command table
