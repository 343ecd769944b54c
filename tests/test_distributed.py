"""Training under tf.distribute.MirroredStrategy equals one-device training on the same batches.

The batches are the same global batches. The strategy needs 2 logical CPU devices, which must be
configured before TensorFlow initialises, so the comparison runs in a subprocess (it cannot share a
process with the other tests).
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from _paths import SHEEP_NPZ, write_tiny_npz

SHEEP = SHEEP_NPZ
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(not os.path.isfile(SHEEP), reason="real data not available")

STEPS = 5
# Recurrent, input and output dropout on (the replicas must draw their rows of the global masks);
# kl_tolerance 1e-5 lies between the KL of the first steps and that of the later ones, so both sides
# of the KL floor (taken on the global-batch mean) are exercised.
HPARAMS = (
    "enc_rnn_size=8,dec_rnn_size=16,z_size=4,num_mixture=3,batch_size=8,max_seq_len=50,"
    "save_every=1000,use_recurrent_dropout=1,use_input_dropout=1,use_output_dropout=1,"
    "kl_weight_start=0.5,kl_tolerance=1e-5,data_set=[tiny.npz]"
)

SCRIPT = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    from sketch_rnn_tf.hparams import HParams
    from sketch_rnn_tf.training.run import build_trainer
    from sketch_rnn_tf.training.trainer import TrainingError

    data_dir, steps, overrides = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    hp = HParams().parse(overrides)
    one, _ = build_trainer(data_dir, hp, log_root=data_dir + "/one", progress=False)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    dist, _ = build_trainer(data_dir, hp, log_root=data_dir + "/dist", progress=False,
                            strategy=strategy)
    for a, b in zip(dist.model.variables, one.model.variables):
        a.assign(b.numpy())
    out = {"replicas": strategy.num_replicas_in_sync, "mirrored": type(dist.step).__name__}
    # The whole loop (data pipeline, schedules, validation, checkpoints), logging every step.
    one.train(steps, log_every=1)
    dist.train(steps, log_every=1)
    for name in ("one", "dist"):
        with open(f"{data_dir}/{name}/metrics.jsonl") as f:
            out[name] = [r for r in map(json.loads, f) if r["split"] == "train"]
    out["checkpoints"] = [
        tf.train.latest_checkpoint(f"{data_dir}/{n}/train") for n in ("one", "dist")
    ]
    out["weights_one"] = [v.numpy().tolist() for v in one.model.trainable_variables]
    out["weights_dist"] = [v.numpy().tolist() for v in dist.model.trainable_variables]
    out["adam_one"] = [np.asarray(v).tolist() for v in one.optimizer.variables]
    out["adam_dist"] = [np.asarray(v).tolist() for v in dist.optimizer.variables]
    out["steps"] = [int(one.step.numpy()), int(dist.step.numpy())]
    try:
        build_trainer(data_dir, hp.replace(batch_size=7), progress=False, strategy=strategy)
        out["odd_batch"] = "no error"
    except TrainingError as e:
        out["odd_batch"] = str(e)
    print("RESULT " + json.dumps(out))
""")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dist")
    write_tiny_npz(tmp / "tiny.npz")
    script = tmp / "dist.py"
    script.write_text(SCRIPT)
    env = dict(
        os.environ,
        PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp), str(STEPS), HPARAMS],
        capture_output=True,
        text=True,
        env=env,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [s for s in proc.stdout.splitlines() if s.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def test_runs_on_two_replicas(result):
    assert result["replicas"] == 2
    assert "Mirrored" in result["mirrored"]
    assert result["steps"] == [STEPS, STEPS]
    assert all(c and c.endswith(f"ckpt-{STEPS}") for c in result["checkpoints"]), result[
        "checkpoints"
    ]


def test_per_step_losses_match_one_device(result):
    kls = [r["kl_raw"] for r in result["one"]]
    assert min(kls) < 1e-5 < max(kls), kls  # both sides of the KL floor were exercised
    for one, dist in zip(result["one"], result["dist"]):
        assert dist["step"] == one["step"]
        for key in ("cost", "r_cost", "offset", "pen", "kl", "kl_raw", "lr", "kl_weight"):
            np.testing.assert_allclose(dist[key], one[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_weights_and_adam_state_match_one_device(result):
    for a, b in zip(result["weights_one"], result["weights_dist"]):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-5)
    for a, b in zip(result["adam_one"], result["adam_dist"]):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-6)
    # The weights did move: the comparison is not between two untouched models.
    assert result["one"][0]["cost"] != result["one"][-1]["cost"]


def test_batch_not_divisible_by_replicas_is_refused(result):
    assert result["one"][-1]["step"] == STEPS
    assert "batch_size 7" in result["odd_batch"] and "2 replicas" in result["odd_batch"]
