"""`train --strategy multi_worker`: two worker processes on 127.0.0.1 train one model.

Both run the same CLI command with their own TF_CONFIG. The chief's checkpoints must equal a
one-device run on the same global batches (float32 all-reduce sums: a tight tolerance, not bit
equality); only the chief writes --log_root; the log lines name the workers; restarting both
resumes from the chief's last checkpoint. Bad TF_CONFIGs give clear errors without starting
TensorFlow's cluster.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from sketch_rnn_tf.cli import main
from sketch_rnn_tf.hparams import HParams
from sketch_rnn_tf.training.distribute import DistributeError, WorkerInfo, read_tf_config
from sketch_rnn_tf.training.run import build_trainer
from sketch_rnn_tf.training.trainer import read_metrics

from _paths import SHEEP_NPZ, write_tiny_npz

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
needs_data = pytest.mark.skipif(not os.path.isfile(SHEEP_NPZ), reason="real data not available")

# Tiny model; recurrent dropout on (each replica must draw its rows of the global masks); batch 8
# = 2 replicas x 4 rows. Checkpoints (and validation) every 2 steps.
HPARAMS = (
    "enc_rnn_size=8,dec_rnn_size=16,z_size=4,num_mixture=3,batch_size=8,max_seq_len=50,"
    "save_every=2,use_recurrent_dropout=1,kl_tolerance=1e-5,data_set=[tiny.npz]"
)
WORKER_TIMEOUT = 240  # seconds for one run of both workers; killed (and the test fails) past it


# ------------------------------------------------------------------ TF_CONFIG checks (no TF)
def _cfg(**config):
    return {"TF_CONFIG": json.dumps(config)}


CLUSTER = {"worker": ["127.0.0.1:20001", "127.0.0.1:20002"]}


def test_tf_config_gives_rank_count_and_chief():
    assert read_tf_config(_cfg(cluster=CLUSTER, task={"type": "worker", "index": 1})) == WorkerInfo(
        rank=1, count=2, task_type="worker", task_index=1
    )
    w0 = read_tf_config(_cfg(cluster=CLUSTER, task={"type": "worker", "index": 0}))
    assert w0.is_chief and w0.tag == "[worker 0/2 chief]"
    # With a 'chief' task, it is rank 0 and the workers follow it.
    cluster = dict(CLUSTER, chief=["127.0.0.1:20000"])
    w = read_tf_config(_cfg(cluster=cluster, task={"type": "worker", "index": 0}))
    assert (w.rank, w.count, w.is_chief, w.tag) == (1, 3, False, "[worker 1/3]")
    assert read_tf_config(_cfg(cluster=cluster, task={"type": "chief", "index": 0})).is_chief


@pytest.mark.parametrize(
    "environ, message",
    [
        ({}, "needs the TF_CONFIG environment variable"),
        ({"TF_CONFIG": "{'cluster': 1"}, "TF_CONFIG is not valid JSON"),
        (_cfg(task={"type": "worker", "index": 0}), 'no "cluster" object'),
        (
            _cfg(cluster={"worker": "127.0.0.1:1"}, task={"type": "worker", "index": 0}),
            "not a list",
        ),
        (
            _cfg(cluster={"worker": ["localhost"]}, task={"type": "worker", "index": 0}),
            "'localhost', not a 'host:port'",
        ),
        (_cfg(cluster={"worker": ["h:99999"]}, task={"type": "worker", "index": 0}), "1..65535"),
        (
            _cfg(cluster={"worker": ["h:1", "h:1"]}, task={"type": "worker", "index": 0}),
            "h:1 is given to both worker 0 and worker 1",
        ),
        (
            _cfg(cluster=dict(CLUSTER, ps=["h:3"]), task={"type": "worker", "index": 0}),
            "['ps'] are not supported",
        ),
        (
            _cfg(cluster=dict(CLUSTER, chief=["h:3", "h:4"]), task={"type": "chief", "index": 0}),
            "at most one 'chief'",
        ),
        (_cfg(cluster={"worker": []}, task={"type": "worker", "index": 0}), "lists no worker"),
        (_cfg(cluster=CLUSTER), 'no "task" object'),
        (_cfg(cluster=CLUSTER, task={"type": "chief", "index": 0}), "task type 'chief' is not one"),
        (_cfg(cluster=CLUSTER, task={"type": "worker", "index": 2}), "task index 2 is not in 0..1"),
        (_cfg(cluster=CLUSTER, task={"type": "worker", "index": "0"}), "task index '0'"),
    ],
)
def test_bad_tf_config_is_named(environ, message):
    with pytest.raises(DistributeError, match=re.escape(message)):
        read_tf_config(environ)


def test_cli_multi_worker_without_tf_config(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    code = main(
        [
            "train",
            "--data_dir",
            str(tmp_path),
            "--log_root",
            str(tmp_path / "log"),
            "--strategy",
            "multi_worker",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: --strategy multi_worker needs the TF_CONFIG environment variable")
    assert "Traceback" not in err and not (tmp_path / "log").exists()


def test_cli_xla_only_on_one_device(tmp_path, capsys):
    if not os.path.isfile(SHEEP_NPZ):
        pytest.skip("real data not available")
    write_tiny_npz(tmp_path / "tiny.npz")
    code = main(
        [
            "train",
            "--data_dir",
            str(tmp_path),
            "--hparams",
            HPARAMS,
            "--log_root",
            str(tmp_path / "log"),
            "--strategy",
            "mirrored",
            "--xla",
        ]
    )
    assert code == 2
    assert "jit_compile (--xla) works only on one device" in capsys.readouterr().err


@needs_data
def test_cli_mirrored_trains(tmp_path, capsys):
    write_tiny_npz(tmp_path / "tiny.npz")
    log_root = tmp_path / "log"
    assert (
        main(
            [
                "train",
                "--data_dir",
                str(tmp_path),
                "--hparams",
                HPARAMS,
                "--log_root",
                str(log_root),
                "--strategy",
                "mirrored",
                "--no_progress",
                "--num_steps",
                "2",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("stopped at step 2; best model in ")  # no worker tag on one machine
    assert tf.train.latest_checkpoint(str(log_root / "train")).endswith("ckpt-2")
    assert [r["step"] for r in read_metrics(str(log_root)) if r["split"] == "train"] == [2]


# ------------------------------------------------------------------ two workers on 127.0.0.1
def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class _Workers:
    """Worker 0 and 1 running the same `train --strategy multi_worker` command."""

    def __init__(self, tmp, log_root, num_steps, run_name):
        ports = _free_ports(2)
        cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
        self.scratch = tmp / f"tmpdir_{run_name}"
        self.scratch.mkdir()
        self.num_steps = num_steps
        cmd = [
            sys.executable,
            "-m",
            "sketch_rnn_tf",
            "train",
            "--data_dir",
            str(tmp),
            "--hparams",
            HPARAMS,
            "--log_root",
            str(log_root),
            "--num_steps",
            str(num_steps),
            "--strategy",
            "multi_worker",
            "--no_progress",
        ]
        self.procs, self.paths = [], []
        try:
            for index in range(2):
                env = dict(
                    os.environ,
                    TF_CPP_MIN_LOG_LEVEL="2",
                    CUDA_VISIBLE_DEVICES="",
                    PYTHONUNBUFFERED="1",
                    TMPDIR=str(self.scratch),
                    PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
                    TF_CONFIG=json.dumps(
                        {"cluster": cluster, "task": {"type": "worker", "index": index}}
                    ),
                )
                self.paths.append(tmp / f"{run_name}_w{index}.log")
                with open(self.paths[-1], "w", encoding="utf-8") as out:
                    self.procs.append(
                        subprocess.Popen(
                            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=str(tmp)
                        )
                    )
        except BaseException:
            self.kill()
            raise

    def logs(self):
        return [p.read_text(encoding="utf-8") for p in self.paths]

    def kill(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()

    def _fail(self, why):
        self.kill()
        pytest.fail(f"{why}\n" + "\n----\n".join(log[-3000:] for log in self.logs()))

    def wait_stopped(self):
        """Waits until both workers printed their final line; returns their logs.

        TensorFlow's cluster shutdown then still takes seconds (`wait_exit`). Kills both on a
        failure or past WORKER_TIMEOUT.
        """
        deadline = time.monotonic() + WORKER_TIMEOUT
        while True:
            # Exit codes before reading: an exited worker's log is whole.
            codes = [p.poll() for p in self.procs]
            done = [f"stopped at step {self.num_steps};" in log for log in self.logs()]
            if all(done):
                return self.logs()
            if any(c not in (None, 0) or (c == 0 and not d) for c, d in zip(codes, done)):
                self._fail(f"a worker failed: exit codes {codes}")
            if time.monotonic() > deadline:
                self._fail(f"timed out after {WORKER_TIMEOUT} s")
            time.sleep(0.2)

    def wait_exit(self):
        """Both workers exit with code 0; their scratch directory (TMPDIR) is empty."""
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._fail("a worker did not exit within 60 s of its last line")
        codes = [p.returncode for p in self.procs]
        if codes != [0, 0]:
            self._fail(f"exit codes {codes}")
        assert os.listdir(self.scratch) == []


@pytest.fixture
def start_workers():
    started = []

    def start(*args):
        started.append(_Workers(*args))
        return started[-1]

    yield start
    for workers in started:  # never leave a worker running, whatever failed
        workers.kill()


def _ours(log):
    """The package's log lines (absl's INFO:absl:..., and the CLI's final line)."""
    return [line for line in log.splitlines() if "INFO:absl:" in line or "stopped at step" in line]


def _checkpoint_trainer(data_dir, checkpoint):
    trainer, _ = build_trainer(data_dir, HParams().parse(HPARAMS), progress=False)
    trainer.restore(checkpoint)
    return trainer


def _assert_same_state(a, b):
    """Weights and Adam state of two trainers agree to float32 all-reduce rounding."""
    assert int(a.step.numpy()) == int(b.step.numpy())
    for x, y in zip(a.model.trainable_variables, b.model.trainable_variables):
        np.testing.assert_allclose(
            np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6, err_msg=x.name
        )
    for x, y in zip(a.optimizer.variables, b.optimizer.variables):
        np.testing.assert_allclose(
            np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-7, err_msg=x.name
        )


@needs_data
def test_two_workers_train_one_model_and_resume(tmp_path, start_workers):
    write_tiny_npz(tmp_path / "tiny.npz")
    data_dir, log_root = str(tmp_path), tmp_path / "log"
    train_dir = log_root / "train"

    # Run 1: steps 1-4; checkpoints at 2 and 4.
    run1 = start_workers(tmp_path, log_root, 4, "run1")
    logs = run1.wait_stopped()
    chief, other = (_ours(log) for log in logs)
    assert chief and all(line.startswith("[worker 0/2 chief] ") for line in chief), chief
    assert other and all(line.startswith("[worker 1/2] ") for line in other), other
    assert chief[-1].endswith(
        f"stopped at step 4; best model in {log_root / 'best'}, "
        f"TensorBoard logs in {log_root / 'tensorboard'}"
    )
    assert other[-1] == f"[worker 1/2] stopped at step 4; the chief writes {log_root}"
    scratch = re.search(r"this worker's checkpoints go to (\S+) ", "\n".join(other)).group(1)
    assert scratch.startswith(str(tmp_path / "tmpdir_run1")) and not os.path.exists(scratch)
    assert sorted(os.listdir(train_dir)) == [
        "checkpoint",
        "ckpt-2.data-00000-of-00001",
        "ckpt-2.index",
        "ckpt-4.data-00000-of-00001",
        "ckpt-4.index",
    ]

    # One device, from the chief's step-2 checkpoint over the same global batches (seed 0).
    one, _ = build_trainer(
        data_dir, HParams().parse(HPARAMS), log_root=str(tmp_path / "one"), progress=False
    )
    one.restore(str(train_dir / "ckpt-2"))
    one.train(4)
    _assert_same_state(_checkpoint_trainer(data_dir, str(train_dir / "ckpt-4")), one)
    # The weights moved between the checkpoints: the comparison is not of two untouched models.
    before = _checkpoint_trainer(data_dir, str(train_dir / "ckpt-2"))
    assert (
        max(
            float(np.abs(np.asarray(x) - np.asarray(y)).max())
            for x, y in zip(before.model.trainable_variables, one.model.trainable_variables)
        )
        > 1e-4
    )

    # Run 2: the same command to step 6 resumes both workers from the chief's ckpt-4. (It starts
    # while run 1's processes may still be in TensorFlow's cluster shutdown, on other ports.)
    run1.wait_exit()
    run2 = start_workers(tmp_path, log_root, 6, "run2")
    logs = run2.wait_stopped()
    resumed = f"resumed from {train_dir / 'ckpt-4'} at step 4"
    for log, tag in zip(logs, ("[worker 0/2 chief]", "[worker 1/2]")):
        assert f"{tag} INFO:absl:{resumed}" in log, log[-3000:]
        assert f"{tag} stopped at step 6" in log
    one.train(6)
    _assert_same_state(_checkpoint_trainer(data_dir, str(train_dir / "ckpt-6")), one)

    # Only the chief wrote log_root: each step's records once, and the same as one device's.
    keys = [
        (r["split"], r["step"])
        for r in map(json.loads, (log_root / "metrics.jsonl").read_text().splitlines())
    ]
    assert len(keys) == len(set(keys)), keys  # a second writer would repeat every record
    assert [s for split, s in keys if split == "train"] == [4, 6]
    assert [s for split, s in keys if split == "valid"] == [2, 4, 6]
    ours = {(r["split"], r["step"]): r for r in read_metrics(str(log_root))}
    theirs = {(r["split"], r["step"]): r for r in read_metrics(str(tmp_path / "one"))}
    for key in (("train", 6), ("valid", 6)):
        for term in ("cost", "r_cost", "kl"):
            np.testing.assert_allclose(
                ours[key][term], theirs[key][term], rtol=1e-5, err_msg=f"{key} {term}"
            )
    assert sorted(os.listdir(log_root)) == [
        "best",
        "metrics.jsonl",
        "model_config.json",
        "tensorboard",
        "train",
    ]
    assert tf.train.latest_checkpoint(str(train_dir)).endswith("ckpt-6")
    run2.wait_exit()
