"""The drawing page's server (`python -m sketch_rnn_tf serve`).

Its JSON API on tiny random models of every cell type (conditional and decoder-only), every bad
request, concurrency, path traversal, the 1 MiB body cap, the model list and the command line. The
page itself runs in a real browser in tests/test_serve_browser.py.
"""

import http.client
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from _tiny import tiny_model

from sketch_rnn_tf import save_model
from sketch_rnn_tf.formats.names import list_models
from sketch_rnn_tf.sampling import completion
from sketch_rnn_tf.serve import api, make_server, start_in_thread
from sketch_rnn_tf.serve.models import ModelCache, available_models
from sketch_rnn_tf.serve.server import STATIC_DIR, ServeError, resolve_models

from _paths import REPO

MAX_LEN = 30
# name: (conditional, enc_model, dec_model): every cell type as decoder, and as encoder.
TINY = {
    "vae_lstm": (True, "lstm", "lstm"),
    "vae_layer_norm_hyper": (True, "layer_norm", "hyper"),
    "vae_hyper_layer_norm": (True, "hyper", "layer_norm"),
    "gen_hyper": (False, "lstm", "hyper"),
}
STROKES = [[0, 0, 0], [12, 3, 0], [8, -6, 0], [-3, 10, 1], [20, 0, 0], [5, 5, 1]]


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(4321)  # the same weights whichever test comes first
    root = tmp_path_factory.mktemp("serve_models")
    dirs = {}
    for name, (conditional, enc, dec) in TINY.items():
        model = tiny_model(
            conditional,
            scale_factor=15.0,
            max_seq_len=MAX_LEN,
            enc_model=enc,
            dec_model=dec,
            hyper_num_units=8,
            hyper_embedding_size=4,
            use_recurrent_dropout=False,
        )
        dirs[name] = save_model(model, str(root / name))
    return dirs


@pytest.fixture(scope="module")
def server(model_dirs):
    srv = make_server("vae_lstm", port=0, models=model_dirs)
    thread = start_in_thread(srv)
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(10)


def _request(server, method, path, body=None, headers=None, raw=None):
    """(status, parsed JSON or raw bytes, headers) of one request; the path is sent unchanged."""
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=120)
    try:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        hdrs.update(headers or {})
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        if resp.getheader("Content-Type", "").startswith("application/json"):
            payload = json.loads(payload)
        return resp.status, payload, dict(resp.getheaders())
    finally:
        conn.close()


def _post(server, path, body, **kw):
    return _request(server, "POST", path, body, **kw)


# --------------------------------------------------------------------------- the page's files
def test_page_and_its_files_are_served(server):
    status, html, headers = _request(server, "GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    html = html.decode()
    for needle in (
        'id="pad"',
        'id="results"',
        'id="temperature"',
        'id="count"',
        'id="model"',
        'id="undo"',
        'id="clear"',
        'id="download"',
        'id="reconstruct"',
        'src="app.js"',
        'href="style.css"',
    ):
        assert needle in html
    assert sorted(re.findall(r'(?:src|href)="([^"]*)"', html)) == ["app.js", "data:,", "style.css"]
    assert _request(server, "GET", "/index.html")[1].decode() == html
    status, js, headers = _request(server, "GET", "/app.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert "EPSILON = 2.0" in js.decode() and "pad_size" in js.decode()
    status, css, headers = _request(server, "GET", "/style.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")
    assert headers["X-Content-Type-Options"] == "nosniff"
    for name in ("index.html", "app.js", "style.css"):  # nothing fetched from elsewhere
        text = open(os.path.join(STATIC_DIR, name), encoding="utf-8").read()
        assert "https://" not in text and "http://" not in text.replace("http://www.w3.org", "")


@pytest.mark.parametrize(
    "path",
    [
        "/../setup.py",
        "/../../setup.py",
        "/..%2f..%2fsetup.py",
        "/..%2F..%2Fsetup.py",
        "/%2e%2e/%2e%2e/setup.py",
        "/%2e%2e%2f%2e%2e%2fsetup.py",
        "/static/../../../setup.py",
        "/app.js/../../server.py",
        "/server.py",
        "/api.py",
        "/__init__.py",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/etc/passwd",
        "/....//....//setup.py",
        "/static/app.js",
        "/.%2e/server.py",
        "/%5c..%5cserver.py",
        "/app.js%00.html",
        "/index.html/",
    ],
)
def test_no_file_outside_the_page_is_served(server, path):
    status, body, _ = _request(server, "GET", path)
    assert status == 404, path
    assert body == {"error": "not found"}


def test_api_lists_models(server, model_dirs):
    status, body, _ = _request(server, "GET", "/api/models")
    assert status == 200
    assert sorted(body["models"]) == sorted(model_dirs) and body["default"] == "vae_lstm"


@pytest.mark.parametrize("name", sorted(TINY))
def test_api_model_info(server, name):
    status, info, _ = _post(server, "/api/model", {"model": name})
    conditional, enc, dec = TINY[name]
    assert status == 200
    assert info["name"] == name and info["conditional"] is conditional
    assert info["max_seq_len"] == MAX_LEN and info["scale_factor"] == 15.0
    assert info["pad_size"] == 14 * 15.0  # the pad's side in the model's pixels
    assert info["dec_model"] == dec and info["enc_model"] == (enc if conditional else None)
    assert _post(server, "/api/model", {})[1]["name"] == "vae_lstm"  # the default


# --------------------------------------------------------------------------- completion
@pytest.mark.parametrize("name", sorted(TINY))
def test_complete_returns_the_drawing_then_the_models_continuation(server, name):
    body = {"strokes": STROKES, "n": 3, "temperature": 0.4, "seed": 7, "model": name}
    status, out, _ = _post(server, "/api/complete", body)
    assert status == 200, out
    assert out["model"] == name and len(out["sketches"]) == 3
    for s in out["sketches"]:
        assert s[: len(STROKES)] == STROKES  # exactly what was sent
        assert len(STROKES) <= len(s) <= MAX_LEN  # a random tiny model may end at once
        assert all(len(r) == 3 and r[2] in (0, 1) for r in s)
    assert max(len(s) for s in out["sketches"]) > len(STROKES)
    assert len({json.dumps(s) for s in out["sketches"]}) >= 2  # the endings differ
    # The same as the library's own completion with that seed (for a conditional model z = mu of
    # the partial drawing, completion.complete's default).
    model = server.cache.get(name).model
    direct = completion.complete(
        model, np.asarray(STROKES, np.float32), n=3, temperature=0.4, seed=7
    )
    for got, want in zip(out["sketches"], direct):
        assert len(got) == len(want)
        np.testing.assert_allclose(np.asarray(got)[len(STROKES) :], want[len(STROKES) :], atol=1e-3)
    # Seeded: the same answer again; another seed, other endings.
    assert _post(server, "/api/complete", body)[1] == out
    other = _post(server, "/api/complete", {**body, "seed": 8})[1]
    assert other["sketches"] != out["sketches"]


def test_complete_defaults_and_unseeded_draws(server):
    status, out, _ = _post(server, "/api/complete", {"strokes": STROKES})
    assert status == 200 and len(out["sketches"]) == api.DEFAULTS["n"] == 4
    assert out["model"] == "vae_lstm"


def test_complete_accepts_the_longest_drawing_the_model_can_continue(server):
    strokes = [[1, 1, 0]] * (MAX_LEN - 2) + [[1, 1, 1]]  # MAX_LEN - 1 rows: one row left to draw
    status, out, _ = _post(
        server, "/api/complete", {"strokes": strokes, "n": 2, "seed": 0, "model": "gen_hyper"}
    )
    assert status == 200, out
    for s in out["sketches"]:  # one more row, or none when the model ends the sketch there
        assert s[: MAX_LEN - 1] == strokes and len(s) in (MAX_LEN - 1, MAX_LEN)


# --------------------------------------------------------------------------- reconstruction
@pytest.mark.parametrize("name", ["vae_lstm", "vae_layer_norm_hyper", "vae_hyper_layer_norm"])
def test_reconstruct_decodes_the_drawings_mu(server, name):
    body = {"strokes": STROKES, "n": 3, "temperature": 0.5, "seed": 3, "model": name}
    status, out, _ = _post(server, "/api/reconstruct", body)
    assert status == 200, out
    model = server.cache.get(name).model
    mu = model.encode([np.asarray(STROKES, np.float32)])
    direct = model.sample(3, temperature=0.5, z=np.repeat(mu, 3, axis=0), seed=3)
    assert len(out["sketches"]) == 3
    for got, want in zip(out["sketches"], direct):
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-3)
        assert 1 <= len(got) <= MAX_LEN


def test_reconstruct_refuses_a_decoder_only_model(server):
    status, out, _ = _post(server, "/api/reconstruct", {"strokes": STROKES, "model": "gen_hyper"})
    assert status == 400
    assert "decoder-only" in out["error"] and "gen_hyper" in out["error"]


# --------------------------------------------------------------------------- bad requests
GOOD = {"strokes": STROKES, "n": 2, "temperature": 0.3, "seed": 1}
BAD = [  # (description, body (dict, or bytes sent as they are), status, words in the error)
    ("not JSON", b"{", 400, "not valid JSON"),
    ("NaN literal", b'{"strokes": [[NaN, 0, 0]]}', 400, "NaN"),
    ("Infinity literal", b'{"strokes": [[0, 0, 0]], "temperature": Infinity}', 400, "Infinity"),
    ("-Infinity literal", b'{"strokes": [[-Infinity, 0, 0]]}', 400, "Infinity"),
    ("number overflowing to inf", b'{"strokes": [[1e999, 0, 0]]}', 400, "non-finite"),
    ("not UTF-8", b'{"strokes": "\xff\xfe"}', 400, "UTF-8"),
    ("deep nesting", b"[" * 100000 + b"]" * 100000, 400, "JSON"),
    ("a list, not an object", [STROKES], 400, "JSON object"),
    ("a string", "strokes", 400, "JSON object"),
    ("no strokes", {"n": 2}, 400, "missing 'strokes'"),
    ("unknown field", {**GOOD, "steps": 5}, 400, "unknown field"),
    ("strokes not a list", {**GOOD, "strokes": "0,0,0"}, 400, "'strokes' must be a list"),
    ("strokes empty", {**GOOD, "strokes": []}, 400, "empty"),
    ("flat strokes", {**GOOD, "strokes": [0, 0, 0]}, 400, "strokes[0]"),
    ("row of two", {**GOOD, "strokes": [[0, 0, 0], [1, 2]]}, 400, "strokes[1]"),
    ("row of four", {**GOOD, "strokes": [[0, 0, 0, 0]]}, 400, "strokes[0]"),
    ("string in a row", {**GOOD, "strokes": [[0, "1", 0]]}, 400, "strokes[0][1] must be a number"),
    ("null in a row", {**GOOD, "strokes": [[0, None, 0]]}, 400, "must be a number"),
    ("bool in a row", {**GOOD, "strokes": [[True, 0, 0]]}, 400, "must be a number"),
    ("pen state 2", {**GOOD, "strokes": [[0, 0, 2]]}, 400, "pen_lifted"),
    ("pen state 0.5", {**GOOD, "strokes": [[0, 0, 0.5]]}, 400, "pen_lifted"),
    ("huge offset", {**GOOD, "strokes": [[0, 0, 0], [1e6, 0, 1]]}, 400, "offsets"),
    (
        "more rows than any model",
        {**GOOD, "strokes": [[1, 0, 0]] * (api.MAX_POINTS + 1)},
        400,
        "at most",
    ),
    (
        "more rows than this model continues",
        {**GOOD, "strokes": [[1, 0, 0]] * MAX_LEN},
        400,
        "max_seq_len",
    ),
    ("n zero", {**GOOD, "n": 0}, 400, "'n'"),
    ("n too large", {**GOOD, "n": api.MAX_N + 1}, 400, "'n'"),
    ("n huge", {**GOOD, "n": 10**12}, 400, "'n'"),
    ("n fractional", {**GOOD, "n": 2.5}, 400, "'n'"),
    ("n a string", {**GOOD, "n": "4"}, 400, "'n'"),
    ("n a bool", {**GOOD, "n": True}, 400, "'n'"),
    ("temperature zero", {**GOOD, "temperature": 0}, 400, "'temperature'"),
    ("temperature negative", {**GOOD, "temperature": -0.5}, 400, "'temperature'"),
    ("temperature too high", {**GOOD, "temperature": 50}, 400, "'temperature'"),
    ("temperature a string", {**GOOD, "temperature": "hot"}, 400, "'temperature'"),
    ("temperature null", {**GOOD, "temperature": None}, 400, "'temperature'"),
    ("seed negative", {**GOOD, "seed": -1}, 400, "'seed'"),
    ("seed too large", {**GOOD, "seed": 2**64}, 400, "'seed'"),
    ("seed fractional", {**GOOD, "seed": 1.5}, 400, "'seed'"),
    ("model not a string", {**GOOD, "model": 3}, 400, "'model'"),
    ("unknown model", {**GOOD, "model": "../../etc"}, 404, "no model called"),
]


@pytest.mark.parametrize("path", ["/api/complete", "/api/reconstruct"])
def test_bad_requests_get_a_4xx_and_the_server_keeps_serving(server, path):
    for what, body, want_status, words in BAD:
        if path == "/api/reconstruct" and what == "more rows than this model continues":
            continue  # reconstruct encodes up to max_seq_len rows; checked below
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        status, out, headers = _post(server, path, None, raw=raw)
        assert status == want_status, (what, out)
        assert headers["Content-Type"].startswith("application/json")
        assert set(out) == {"error"} and words in out["error"], (what, out["error"])
    status, out, _ = _post(server, path, GOOD)  # still serving
    assert status == 200 and len(out["sketches"]) == 2


def test_reconstruct_length_limit(server):
    ok = _post(server, "/api/reconstruct", {**GOOD, "strokes": [[1, 0, 0]] * MAX_LEN})
    assert ok[0] == 200
    status, out, _ = _post(
        server, "/api/reconstruct", {**GOOD, "strokes": [[1, 0, 0]] * (MAX_LEN + 1)}
    )
    assert status == 400 and "max_seq_len" in out["error"]


def test_bad_model_requests(server):
    assert _post(server, "/api/model", {"model": "nope"})[0] == 404
    assert _post(server, "/api/model", {"model": 1})[0] == 400
    assert _post(server, "/api/model", {"name": "vae_lstm"})[0] == 400
    assert _post(server, "/api/model", [1])[0] == 400


def test_wrong_methods_paths_and_headers(server):
    assert _request(server, "GET", "/api/complete")[0] == 405
    assert _request(server, "GET", "/api/nothing")[0] == 404
    assert _post(server, "/api/nothing", GOOD)[0] == 404
    assert _post(server, "/", GOOD)[0] == 404
    status, out, _ = _request(server, "PUT", "/api/complete", GOOD)
    assert status == 405 and "error" in out
    assert _request(server, "DELETE", "/")[0] == 405
    status, out, _ = _post(server, "/api/complete", GOOD, headers={"Content-Type": "text/plain"})
    assert status == 415 and "application/json" in out["error"]
    # No Content-Length (and no chunking): http.client sends none for a body of None.
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.putrequest("POST", "/api/complete")
    conn.putheader("Content-Type", "application/json")
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 411 and "Content-Length" in json.loads(resp.read())["error"]
    conn.close()
    status, out, _ = _post(server, "/api/complete", GOOD, headers={"Content-Length": "abc"})
    assert status == 400 and "Content-Length" in out["error"]
    assert _post(server, "/api/complete", GOOD)[0] == 200


# --------------------------------------------------------------------------- the 1 MiB cap
def test_body_cap(server):
    good = json.dumps(GOOD).encode()
    exactly = good + b" " * (api.MAX_BODY_BYTES - len(good))  # valid JSON of exactly the cap
    status, out, _ = _post(server, "/api/complete", None, raw=exactly)
    assert status == 200 and len(out["sketches"]) == 2
    status, out, headers = _post(server, "/api/complete", None, raw=exactly + b" ")
    assert status == 413 and "larger than" in out["error"]
    assert headers.get("Connection") == "close"
    big = json.dumps({**GOOD, "strokes": [[1, 1, 0]] * 200000}).encode()  # a real 2+ MB body
    assert len(big) > 2 * api.MAX_BODY_BYTES
    status, out, _ = _post(server, "/api/complete", None, raw=big)
    assert status == 413
    # A client that announces a huge body and sends none gets its 413 at once.
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.putrequest("POST", "/api/complete")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(10**12))
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 413
    conn.close()
    assert _post(server, "/api/complete", GOOD)[0] == 200  # still serving


# --------------------------------------------------------------------------- concurrency
def test_concurrent_requests_are_safe(server):
    """Eight requests at once on two models, plus page loads.

    Each answer equals the one the same request gets alone (the models' locks keep the calls apart;
    the seeds make them repeatable).
    """
    jobs = [
        ("/api/complete", {**GOOD, "seed": i, "model": ["vae_lstm", "gen_hyper"][i % 2]})
        for i in range(6)
    ]
    jobs += [
        ("/api/reconstruct", {**GOOD, "seed": 10 + i, "model": "vae_hyper_layer_norm"})
        for i in range(2)
    ]
    alone = [_post(server, path, body)[1] for path, body in jobs]
    results = [None] * len(jobs)
    pages = []
    barrier = threading.Barrier(len(jobs) + 1)

    def work(i):
        barrier.wait()
        results[i] = _post(server, *jobs[i])

    def browse():
        barrier.wait()
        pages.extend(_request(server, "GET", "/")[0] for _ in range(5))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    threads.append(threading.Thread(target=browse))
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert pages == [200] * 5
    for (status, out, _), want in zip(results, alone):
        assert status == 200 and out == want


def test_model_cache_loads_each_model_once_under_concurrent_requests():
    calls = []

    def slow_loader(path):
        calls.append(path)
        time.sleep(0.2)
        return f"model from {path}"

    cache = ModelCache({"a": "/x/a", "b": "/x/b"}, loader=slow_loader)
    got = []
    threads = [
        threading.Thread(target=lambda n=n: got.append(cache.get(n))) for n in ["a", "b"] * 4
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(calls) == ["/x/a", "/x/b"]
    assert {id(e) for e in got if e.name == "a"} == {id(cache.get("a"))}
    assert cache.get("b").model == "model from /x/b"


# --------------------------------------------------------------------------- the model list
def test_available_models_lists_bundled_and_cached(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "magenta").mkdir(parents=True)
    (home / "magenta" / "cat.gen.json").write_text("{}")
    (home / "magenta" / "cat.vae.json").write_text("{}")
    (home / "magenta" / "notes.json").write_text("{}")  # not a catalogue file name
    (home / "magenta" / ".dog.gen.json.part").write_text("{}")  # a download in progress
    monkeypatch.setenv("SKETCH_RNN_TF_HOME", str(home))
    models = available_models()
    listed = list_models()
    assert list(models) == listed["bundled"] + listed["cached"]
    for name in ("sheep", "bird", "ant"):  # bundled in checkpoints/
        assert os.path.samefile(models[name], os.path.join(REPO, "checkpoints", name))
    assert models["magenta/cat.gen"] == str(home / "magenta" / "cat.gen.json")
    assert models["magenta/cat.vae"] == str(home / "magenta" / "cat.vae.json")
    assert not any("notes" in n or "dog" in n for n in models)
    monkeypatch.setenv("SKETCH_RNN_TF_HOME", str(tmp_path / "missing"))
    assert "magenta/cat.gen" not in available_models() and "sheep" in available_models()


def test_resolve_models_by_name_or_path(tmp_path, monkeypatch, model_dirs):
    monkeypatch.setenv("SKETCH_RNN_TF_HOME", str(tmp_path))
    models, name = resolve_models("sheep")
    assert name == "sheep" and "bird" in models
    models, name = resolve_models(os.path.join(REPO, "checkpoints", "bird"))
    assert name == "bird"
    models, name = resolve_models(model_dirs["gen_hyper"])
    assert name == "gen_hyper" and models[name] == model_dirs["gen_hyper"] and "sheep" in models
    with pytest.raises(ServeError, match="neither a model path nor a known model name.*sheep"):
        resolve_models("no_such_model")


def test_bundled_model_through_the_api(tmp_path, monkeypatch):
    """The real bundled sheep (decoder-only LSTM 512, max_seq_len 156).

    A completion keeps the drawing and stays within the model's length.
    """
    monkeypatch.setenv("SKETCH_RNN_TF_HOME", str(tmp_path))
    srv = make_server("sheep", port=0)
    thread = start_in_thread(srv)
    try:
        assert "aaron_sheep_vae" in _request(srv, "GET", "/api/models")[1]["models"]
        status, out, _ = _post(srv, "/api/complete", {**GOOD, "n": 2})
        assert status == 200 and out["model"] == "sheep"
        for s in out["sketches"]:
            assert s[: len(STROKES)] == STROKES and len(STROKES) < len(s) <= 156
            assert np.abs(np.asarray(s)[:, :2]).max() < 1000  # pixels, not model units
        status, out, _ = _post(srv, "/api/reconstruct", {**GOOD, "model": "aaron_sheep_vae"})
        assert status == 200 and len(out["sketches"]) == 2
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(10)


# --------------------------------------------------------------------------- command line
def test_cli_unknown_model_is_one_line_error(capsys, tmp_path, monkeypatch):
    from sketch_rnn_tf.cli import main

    monkeypatch.setenv("SKETCH_RNN_TF_HOME", str(tmp_path))
    assert main(["serve", "--checkpoint", "no_such_model", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no_such_model: neither a model path nor a known model name")


def test_cli_serve_binds_localhost_prints_the_url_and_stops_on_ctrl_c(model_dirs, tmp_path):
    # Started as a non-interactive shell starts a background job (and as a CI runner may): with
    # SIGINT inherited as ignored, which Python keeps. Ctrl-C must stop the server all the same.
    env = {**os.environ, "SKETCH_RNN_TF_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "sketch_rnn_tf", "serve"]
    command += ["--checkpoint", model_dirs["gen_hyper"], "--port", "0"]
    proc = subprocess.Popen(
        ["sh", "-c", "trap '' INT; exec " + shlex.join(command)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # blocks until the server is listening (or has died)
        assert "drawing page for model 'gen_hyper' at http://127.0.0.1:" in line, (
            line,
            proc.stderr.read() if proc.poll() is not None else "",
        )
        url = line.split(" at ")[1].split()[0]
        port = int(url.rsplit(":", 1)[1].strip("/"))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/api/models")
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        assert resp.status == 200 and body["default"] == "gen_hyper" and "sheep" in body["models"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def test_serve_stops_on_sigterm_closes_its_socket_and_restores_the_handlers(model_dirs, capsys):
    from sketch_rnn_tf.serve.server import serve

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

    sent = []

    def terminate_once_serving():
        deadline = time.monotonic() + 60
        while signal.getsignal(signal.SIGTERM) is before[0] and time.monotonic() < deadline:
            time.sleep(0.05)
        # SIGTERM once serve() handles it; if it never does, SIGINT (KeyboardInterrupt) ends it.
        sent.append(signal.SIGTERM if time.monotonic() < deadline else signal.SIGINT)
        os.kill(os.getpid(), sent[0])

    killer = threading.Thread(target=terminate_once_serving, daemon=True)
    killer.start()
    serve(model_dirs["gen_hyper"], port=0, quiet=True)  # returns on SIGTERM
    killer.join(10)
    assert sent == [signal.SIGTERM]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    url = capsys.readouterr().out.split(" at ")[1].split()[0]
    port = int(url.rsplit(":", 1)[1].strip("/"))
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=10)


# --------------------------------------------------------------------------- the pad's scale
def _raw_to_stroke3(drawing):
    """A raw Quick, Draw! drawing in its screen pixels → stroke-3, as the page sends drawings.

    Each line simplified with RDP epsilon 2.0 and rounded, row 0 = (0, 0) at the first point.
    """
    from sketch_rnn_tf.data.quickdraw import rdp

    rows, last = [], None
    for line in drawing:
        points = np.rint(rdp(np.stack([line[0], line[1]], 1).astype(float), 2.0))
        for i, p in enumerate(points):
            last = p if last is None else last
            rows.append([p[0] - last[0], p[1] - last[1], float(i == len(points) - 1)])
            last = p
    return np.asarray(rows, np.float32)


def test_pad_scale_matches_the_models_pixels():
    """The README's reasons for a pad of 14 scale factors, on the bundled sheep model.

    Its own samples are under 14 scale factors wide, and real Quick, Draw! sheep are likelier at
    their screen size than shrunk to the 255-pixel box (L_R corrected for the change of units:
    scaling every offset by f adds -2 log f per point to the log-likelihood of the drawing in its
    own pixels).
    """
    from sketch_rnn_tf import load_model
    from sketch_rnn_tf.serve.models import PAD_SCALE_FACTORS

    from _paths import SHARED

    raw = os.path.join(SHARED, "data", "quickdraw_ndjson", "raw", "sheep.ndjson")
    if not os.path.isfile(raw):
        pytest.skip(f"{raw} not found (the shared real data)")
    model = load_model(os.path.join(REPO, "checkpoints", "sheep"))
    limit = model.hparams.max_seq_len
    with open(raw, encoding="utf-8") as f:
        sheep = [
            s
            for s in (_raw_to_stroke3(json.loads(line)["drawing"]) for line in f)
            if len(s) <= limit
        ]
    assert len(sheep) == 22
    points = sum(len(s) for s in sheep)

    def corrected_loss(f):
        scaled = [np.concatenate([s[:, :2] * f, s[:, 2:]], axis=1) for s in sheep]
        return model.reconstruction_loss(scaled) - 2 * np.log(f) * points / (limit * len(sheep))

    screen, box = corrected_loss(1.0), corrected_loss(0.57)  # 255 / 439 px, their median size
    assert screen == pytest.approx(-0.4155, abs=2e-3)
    assert box > screen + 0.15

    def extent(s):
        xy = np.cumsum(s[:, :2], axis=0)
        return float((xy.max(axis=0) - xy.min(axis=0)).max())

    samples = model.sample(16, temperature=0.5, seed=0)
    width = np.median([extent(s) for s in samples]) / model.scale_factor
    assert 9 < width < PAD_SCALE_FACTORS


def test_svg_drawings_become_lines_on_the_pad(server):
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><line x1="12" y1="5" '
        'x2="12" y2="19" stroke="black"/><polyline points="19 12 12 19 5 12" stroke="black" '
        'fill="none"/></svg>'
    )
    status, out, _ = _post(server, "/api/svg", {"svg": svg, "model": "vae_lstm"})
    assert status == 200 and out["model"] == "vae_lstm"
    lines = [np.asarray(line) for line in out["lines"]]
    assert len(lines) == 2 and all(line.shape[1] == 2 for line in lines)
    points = np.concatenate(lines)
    assert points.min() >= 0 and points.max() <= 1  # fractions of the pad's side
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    np.testing.assert_allclose(centre, [0.5, 0.5], atol=1e-4)
    side = (points.max(axis=0) - points.min(axis=0)).max()
    assert side == pytest.approx(12 / 14, abs=1e-3)  # 12 of the pad's 14 scale factors
    for body, words in [
        ({"svg": "<svg"}, "not well-formed"),
        ({"svg": '<svg xmlns="http://www.w3.org/2000/svg"/>'}, "nothing"),
        ({"svg": 3}, "'svg'"),
        ({"svg": svg, "extra": 1}, "unknown field"),
        (
            {"svg": '<!DOCTYPE s [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg"/>'},
            "entit",
        ),
    ]:
        status, out, _ = _post(server, "/api/svg", body)
        assert status == 400 and words in out["error"], (body, out)
