"""Models by name: bundled models, Magenta's catalogue through the cache, and the `models` command.

Downloads come only from a local HTTP server on 127.0.0.1 that serves the real magenta-js files in
../shared/data/magenta_js under the catalogue's layout (`<base>/<category>.<gen|vae>.json`), plus
broken copies; no test reaches the internet.
"""

import glob
import json
import os

import numpy as np
import pytest

from sketch_rnn_tf import HParams, ModelLoadError, SketchRNN, cli, load_model
from sketch_rnn_tf.fetch import DownloadError
from sketch_rnn_tf.formats import names as presets
from sketch_rnn_tf.formats.magenta_js import read_js, write_js

from _http import LocalServer, Truncated, closed_port_url
from _paths import DATA, REPO

JS_DIR = os.path.join(DATA, "magenta_js")
pytestmark = pytest.mark.skipif(not os.path.isdir(JS_DIR), reason="shared real data not available")


def _read(name):
    with open(os.path.join(JS_DIR, name), "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """{url path: bytes}: real .gen files, a small real-format .vae file, and broken files."""
    sheep = _read("sheep.gen.json")
    info, shapes, weights = json.loads(sheep)
    assert shapes[2] == [5, 2048]  # the decoder's W_xh; 6 inputs do not fit a stroke-5 decoder
    bad_shapes = json.dumps([info, shapes[:2] + [[6, 2048]] + shapes[3:], weights]).encode()
    hp = HParams(
        enc_rnn_size=8,
        dec_rnn_size=16,
        z_size=4,
        num_mixture=3,
        max_seq_len=60,
        conditional=True,
        use_recurrent_dropout=False,
    )
    vae = SketchRNN(hp, scale_factor=12.5)
    rng = np.random.default_rng(0)
    for v in vae.magenta_variables().values():
        v.assign(rng.normal(0.0, 0.3, v.shape).astype(np.float32))
    vae_path = write_js(vae, tmp_path_factory.mktemp("vae") / "cat.vae.json", name="cat")
    with open(vae_path, "rb") as f:
        vae_bytes = f.read()
    return {
        "/m/sheep.gen.json": sheep,
        "/m/bird.gen.json": _read("bird.gen.json"),
        "/m/cat.vae.json": vae_bytes,
        "/m/dog.gen.json": sheep[: len(sheep) // 2],  # a half file, sent whole: not JSON
        "/m/owl.gen.json": bad_shapes,  # parses, tensor shapes inconsistent
        "/m/pig.gen.json": Truncated(sheep, len(sheep) // 3),  # transfer cut off
        "/m/ant.vae.json": _read("ant.gen.json"),  # a .gen model under a .vae name
    }


@pytest.fixture
def server(catalogue):
    with LocalServer(catalogue) as s:
        yield s


@pytest.fixture
def home(tmp_path, monkeypatch, server):
    """An empty cache, and the catalogue URL pointing at the local server."""
    monkeypatch.setenv("SKETCH_RNN_TF_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SKETCH_RNN_TF_MAGENTA_URL", server.url + "/m")
    return tmp_path / "cache"


def _cache_files(home):
    return sorted(os.listdir(home / "magenta")) if (home / "magenta").is_dir() else []


# --------------------------------------------------------------------------- bundled models
def _repo_models():
    root = os.path.join(REPO, "checkpoints")
    return sorted(
        d
        for d in os.listdir(root)
        if os.path.isfile(os.path.join(root, d, "sketch_rnn_config.json"))
    )


def test_bundled_names_come_from_the_folder():
    assert presets.bundled_models() == _repo_models()
    assert len(_repo_models()) >= 1


def test_load_bundled_model_by_name_from_another_directory(tmp_path, monkeypatch):
    name = _repo_models()[0]
    by_path = load_model(os.path.join(REPO, "checkpoints", name))
    monkeypatch.chdir(tmp_path)
    by_name = load_model(name)
    assert by_name.hparams == by_path.hparams and by_name.scale_factor == by_path.scale_factor
    for a, b in zip(by_name.trainable_variables, by_path.trainable_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_an_existing_path_wins_over_a_name(tmp_path, monkeypatch):
    name = _repo_models()[0]
    monkeypatch.chdir(tmp_path)
    os.mkdir(name)  # a folder in the cwd named like a bundled model, but not a model
    with pytest.raises(ModelLoadError, match="not a model directory"):
        load_model(name)


def test_sample_command_takes_a_bundled_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    name = _repo_models()[0]
    assert (
        cli.main(["sample", "--checkpoint", name, "--num", "2", "--seed", "1", "--out", "s.svg"])
        == 0
    )
    assert "wrote 2 sketches" in capsys.readouterr().out
    svg = open("s.svg").read()
    assert svg.startswith("<svg") and svg.count("<path") + svg.count("<polyline") >= 2


def test_unknown_names_say_what_is_accepted():
    with pytest.raises(ModelLoadError) as e:
        load_model("no_such_model_here")
    message = str(e.value)
    assert "no such file" in message and "magenta/<category>.gen|vae" in message
    for name in _repo_models():
        assert name in message
    with pytest.raises(ModelLoadError, match="did you mean cat"):
        load_model("magenta/cta.gen")
    with pytest.raises(ModelLoadError, match="only as a decoder-only"):
        load_model("magenta/everything.vae")
    with pytest.raises(ModelLoadError, match="magenta/<category>.gen"):
        load_model("magenta/cat")
    with pytest.raises(ModelLoadError, match="magenta/<category>.gen"):
        load_model("magenta/../cat.gen")


# --------------------------------------------------------------------------- the catalogue
def test_catalogue_lists_magentas_models():
    names = presets.magenta_models()
    assert len(presets.MAGENTA_CATEGORIES) == 114 == len(set(presets.MAGENTA_CATEGORIES))
    assert len(names) == 2 * 114 - 1 == len(set(names))
    assert {
        "magenta/cat.gen",
        "magenta/cat.vae",
        "magenta/the_mona_lisa.vae",
        "magenta/everything.gen",
    } <= set(names)
    assert "magenta/everything.vae" not in names


def test_download_once_with_progress_then_offline(home, server, capsys):
    model = load_model("magenta/sheep.gen")
    err = capsys.readouterr().err
    assert "sheep.gen.json" in err and "100%" in err  # the tqdm bar
    assert server.hits["/m/sheep.gen.json"] == 1
    assert _cache_files(home) == ["sheep.gen.json"]
    hparams, scale, tensors = read_js(os.path.join(JS_DIR, "sheep.gen.json"))
    assert model.hparams == hparams and model.scale_factor == np.float32(scale)
    for name, v in model.magenta_variables().items():
        np.testing.assert_array_equal(v.numpy(), tensors[name])
    with open(home / "magenta" / "sheep.gen.json", "rb") as f:
        assert f.read() == _read("sheep.gen.json")

    server.stop()  # offline from now on
    again = load_model("magenta/sheep.gen")
    assert again.hparams == hparams
    assert server.hits["/m/sheep.gen.json"] == 1
    assert presets.list_models()["cached"] == ["magenta/sheep.gen"]


def test_vae_from_the_catalogue(home, server, catalogue):
    model = load_model("magenta/cat.vae")
    assert model.hparams.conditional and model.hparams.z_size == 4
    assert model.scale_factor == 12.5
    assert _cache_files(home) == ["cat.vae.json"]


@pytest.mark.parametrize(
    "name, why",
    [
        ("magenta/dog.gen", "not valid JSON"),
        ("magenta/owl.gen", "do not form a consistent"),
        ("magenta/pig.gen", "cut off"),
        ("magenta/ant.vae", "not the .vae model"),
    ],
)
def test_broken_downloads_are_refused_and_never_cached(home, server, name, why):
    with pytest.raises(ModelLoadError, match=why) as e:
        load_model(name)
    assert "place it at" in str(e.value)
    assert _cache_files(home) == []  # neither the file nor a temporary part of it
    assert presets.list_models()["cached"] == []


def test_a_good_cached_file_is_never_lost(home, server):
    good = _read("bird.gen.json")
    os.makedirs(home / "magenta")
    (home / "magenta" / "owl.gen.json").write_bytes(good)
    # Cached: used as it is, no request.
    path = presets.fetch_magenta("magenta/owl.gen", progress=False)
    assert path == str(home / "magenta" / "owl.gen.json")
    assert server.hits["/m/owl.gen.json"] == 0
    # A forced refresh that brings a corrupt file leaves the good one in place.
    with pytest.raises(DownloadError, match="not valid"):
        presets.fetch_magenta("magenta/owl.gen", progress=False, force=True)
    assert server.hits["/m/owl.gen.json"] == 1
    assert (home / "magenta" / "owl.gen.json").read_bytes() == good
    assert _cache_files(home) == ["owl.gen.json"]


def test_no_network_says_where_to_place_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SKETCH_RNN_TF_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SKETCH_RNN_TF_MAGENTA_URL", closed_port_url() + "/m")
    with pytest.raises(ModelLoadError) as e:
        load_model("magenta/sheep.gen")
    message = str(e.value)
    assert "cannot download" in message and "sheep.gen.json" in message
    assert str(tmp_path / "cache" / "magenta" / "sheep.gen.json") in message
    assert not (tmp_path / "cache" / "magenta").exists() or not os.listdir(
        tmp_path / "cache" / "magenta"
    )
    # Placing the file there by hand, as the message says, makes it load offline.
    os.makedirs(tmp_path / "cache" / "magenta", exist_ok=True)
    (tmp_path / "cache" / "magenta" / "sheep.gen.json").write_bytes(_read("sheep.gen.json"))
    assert load_model("magenta/sheep.gen").hparams.max_seq_len == 156


def test_http_errors_are_clear(home, server):
    # 'bee' is in the catalogue but not on this server.
    with pytest.raises(ModelLoadError, match="HTTP 404"):
        load_model("magenta/bee.gen")
    assert _cache_files(home) == []


def test_environment_variables_and_defaults(tmp_path, monkeypatch, server):
    monkeypatch.delenv("SKETCH_RNN_TF_HOME", raising=False)
    monkeypatch.delenv("SKETCH_RNN_TF_MAGENTA_URL", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert (
        presets.magenta_base_url()
        == "https://storage.googleapis.com/quickdraw-models/sketchRNN/large_models"
    )
    assert presets.magenta_cache_dir() == str(tmp_path / ".cache" / "sketch_rnn_tf" / "magenta")
    monkeypatch.setenv("SKETCH_RNN_TF_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("SKETCH_RNN_TF_MAGENTA_URL", server.url + "/m/")  # trailing slash is fine
    path = presets.fetch_magenta("magenta/bird.gen", progress=False)
    assert path == str(tmp_path / "elsewhere" / "magenta" / "bird.gen.json")
    assert server.hits["/m/bird.gen.json"] == 1
    assert not (tmp_path / ".cache").exists()


def test_models_command(home, server, capsys):
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    for name in _repo_models():
        assert name in out
    assert "(none yet)" in out and "114 categories" in out and "the_mona_lisa" in out
    presets.fetch_magenta("magenta/bird.gen", progress=False)
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    assert "magenta/bird.gen" in out and "(none yet)" not in out


def test_no_temporary_files_left_behind(home, server):
    for name in ("magenta/dog.gen", "magenta/pig.gen"):
        with pytest.raises(ModelLoadError):
            load_model(name)
    presets.fetch_magenta("magenta/bird.gen")
    assert glob.glob(str(home / "magenta" / ".*")) == []


def test_a_local_folder_can_serve_as_the_catalogue(tmp_path, monkeypatch):
    """$SKETCH_RNN_TF_MAGENTA_URL may be a file:// folder.

    For example files copied from another machine.
    """
    monkeypatch.setenv("SKETCH_RNN_TF_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SKETCH_RNN_TF_MAGENTA_URL", "file://" + JS_DIR)
    presets.fetch_magenta("magenta/ant.gen", progress=False)
    assert (tmp_path / "cache" / "magenta" / "ant.gen.json").read_bytes() == _read("ant.gen.json")
    with pytest.raises(ModelLoadError, match="cannot download"):
        load_model("magenta/cat.gen")  # not in that folder
