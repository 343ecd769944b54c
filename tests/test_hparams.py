"""HParams: Magenta's defaults, model_config.json in both boolean styles, overrides, errors."""

import json
import os

import pytest

from sketch_rnn_tf.hparams import HParams, HParamsError

from _paths import DATA


def test_defaults_are_magentas():
    hp = HParams()
    assert (hp.enc_rnn_size, hp.dec_rnn_size, hp.z_size, hp.num_mixture) == (256, 512, 128, 20)
    assert (hp.kl_weight, hp.kl_weight_start, hp.kl_tolerance) == (0.5, 0.01, 0.2)
    assert (hp.decay_rate, hp.kl_decay_rate, hp.min_learning_rate) == (0.9999, 0.99995, 1e-5)
    assert hp.use_recurrent_dropout is True and hp.recurrent_dropout_prob == 0.9
    assert hp.conditional is True and hp.num_outputs == 123


@pytest.mark.parametrize("name", ["user_face", "user_uncond_dec1024"])
def test_reads_real_user_configs_with_mixed_booleans(name):
    hp = HParams.from_json(os.path.join(DATA, "magenta_ckpt_index", name, "model_config.json"))
    assert isinstance(hp.conditional, bool) and isinstance(hp.use_recurrent_dropout, bool)


def test_reads_magenta_graph_config_with_0_1_booleans():
    path = os.path.join(DATA, "magenta_graph", "uncond_lstm_hyper", "model_config.json")
    assert "is_training" in json.load(open(path))  # Magenta writes it ...
    hp = HParams.from_json(path)
    assert hp.conditional is False and hp.dec_model == "hyper" and hp.max_seq_len == 100
    assert not hasattr(hp, "is_training")  # ... and nothing here reads it


@pytest.mark.parametrize("value", [0, 1, True, False, "1"])
def test_magenta_is_training_is_accepted_and_dropped(tmp_path, value):
    values = dict(HParams(z_size=7).to_dict(), is_training=value)
    path = tmp_path / "model_config.json"
    path.write_text(json.dumps(values))
    assert HParams.from_json(str(path)) == HParams(z_size=7)
    assert HParams.from_dict(values) == HParams(z_size=7)
    assert HParams().parse("is_training=0,z_size=7") == HParams(z_size=7)
    assert "is_training" not in HParams().to_json()


def test_json_round_trip(tmp_path):
    hp = HParams(dec_model="hyper", z_size=32, data_set=["a.npz", "b.npz"], conditional=False)
    path = str(tmp_path / "model_config.json")
    hp.to_json(path)
    assert HParams.from_json(path) == hp
    assert isinstance(json.load(open(path)), dict)


def test_overrides():
    hp = HParams().parse("dec_model=layer_norm,z_size=64,conditional=0,data_set=[a.npz,b.npz]")
    assert hp.dec_model == "layer_norm" and hp.z_size == 64 and hp.conditional is False
    assert hp.data_set == ["a.npz", "b.npz"]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ("no_such=1", "unknown hparam 'no_such'"),
        ("z_size=abc", "z_size"),
        ("dec_model=gru", "dec_model='gru' is not a cell type"),
        ("conditional=maybe", "boolean"),
        ("recurrent_dropout_prob=1.5", "keep probability"),
        ("z_size", "not of the form name=value"),
    ],
)
def test_bad_overrides_name_the_problem(overrides, message):
    with pytest.raises(HParamsError, match=message):
        HParams().parse(overrides)


def test_broken_and_list_configs(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(HParamsError, match="not valid JSON"):
        HParams.from_json(str(broken))
    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps(["data_set", "num_steps"]))
    with pytest.raises(HParamsError, match="list, not a dict"):
        HParams.from_json(str(as_list))
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"z_size": 8, "bogus": 1}))
    with pytest.raises(HParamsError, match="bogus"):
        HParams.from_json(str(unknown))


def test_package_exposes_submodules_lazily():
    import subprocess
    import sys

    code = (
        "import sys, sketch_rnn_tf as srt; assert 'tensorflow' not in sys.modules; "
        "srt.rendering.render_svg; srt.data.load_npz; assert 'tensorflow' not in sys.modules; "
        "srt.sampling.latent.slerp; srt.HParams; print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert out.stdout.strip() == "ok", out.stderr[-2000:]
