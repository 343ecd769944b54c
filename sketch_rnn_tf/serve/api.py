"""The drawing page's JSON API, without the HTTP: checks a request body and answers it.

Every function takes the parsed JSON body and returns the JSON reply (a dict), or raises
`RequestError(status, message)`; the server turns that into `{"error": message}` with that status.

Requests (all fields but `strokes` optional):

    POST /api/complete     {"strokes": [[dx, dy, pen_lifted], ...], "n": 4, "temperature": 0.3,
                            "seed": 1, "model": "sheep"}
        -> {"model": "sheep", "sketches": [[[dx, dy, pen_lifted], ...], ...]}
    POST /api/reconstruct  same fields; conditional models only
    POST /api/model        {"model": "sheep"} -> what the page needs to know about the model

`strokes` is a stroke-3 sketch in the model's pixels: row i moves the pen by (dx, dy) from point i-1
(row 0 from the drawing's start) and `pen_lifted = 1` lifts the pen after point i.

`/api/complete` returns n whole sketches: the given rows exactly as sent, then the model's
continuation, at most the model's `max_seq_len` rows in all (`sampling.complete`). For a
conditional model the decoder's z is the encoder's mean μ of the partial drawing (Eq. 2): the
model guesses the whole sketch from the part it sees, and the n endings differ only by the
sampling of Eq. 8.

`/api/reconstruct` encodes the drawing to μ and decodes it n times from scratch (the paper's
reconstructions, Section 4): n new sketches, none of which starts with the given rows.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..model.preprocessor import ModelInputError
from ..sampling import completion, samplers

#: Largest request body in bytes (1 MiB); a longer one is refused with 413 unread.
MAX_BODY_BYTES = 1 << 20
#: Most sketches one request may ask for.
MAX_N = 16
#: Most rows a request's `strokes` may have, whatever the model (each model also has its own limit).
MAX_POINTS = 1000
#: Largest |dx| or |dy| in pixels (the bundled models draw sketches under about 1000 pixels wide).
MAX_OFFSET = 10000.0
#: Temperatures allowed: (0, MAX_TEMPERATURE] (the page's slider goes to 2).
MAX_TEMPERATURE = 2.0

#: `n` when a request gives none; the temperature is the samplers' own default.
DEFAULTS = {"n": 4, "temperature": samplers.DEFAULT_TEMPERATURE}
_FIELDS = {"strokes", "n", "temperature", "seed", "model"}


class RequestError(Exception):
    """A request the API refuses: `status` is the HTTP status, `message` says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


# --------------------------------------------------------------------------- checks
def _is_number(x):
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def json_strokes(strokes, max_points=MAX_POINTS) -> list:
    """`strokes` as JSON gave it: a list of at most `max_points` rows of JSON numbers.

    Only what JSON adds is checked here (a list, its size, rows of 3, no booleans, strings or
    nulls); the sketch itself is checked once, by the model's front door
    (`SketchPreprocessor.sketches`), when the request is answered.
    """
    if not isinstance(strokes, list):
        raise RequestError(
            400,
            f"'strokes' must be a list of [dx, dy, pen_lifted] rows, got {type(strokes).__name__}",
        )
    if not strokes:
        raise RequestError(400, "'strokes' is empty: draw something first")
    if len(strokes) > max_points:
        raise RequestError(
            400, f"'strokes' has {len(strokes)} rows; at most {max_points} are accepted"
        )
    for i, row in enumerate(strokes):
        if not isinstance(row, list) or len(row) != 3:
            raise RequestError(
                400,
                f"strokes[{i}] must be a row [dx, dy, pen_lifted] of 3 numbers, got {_short(row)}",
            )
        for j, v in enumerate(row):
            if not _is_number(v):
                raise RequestError(400, f"strokes[{i}][{j}] must be a number, got {_short(v)}")
    return strokes


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def check_request(body) -> dict:
    """The common fields of /api/complete and /api/reconstruct, checked and with defaults.

    Returns {"strokes": JSON rows, "n", "sampler": a `samplers.TemperatureSampler`, "model"}.
    """
    if not isinstance(body, dict):
        raise RequestError(
            400, f"the request body must be a JSON object, got {type(body).__name__}"
        )
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise RequestError(400, f"unknown field(s) {unknown}; the fields are {sorted(_FIELDS)}")
    if "strokes" not in body:
        raise RequestError(400, "missing 'strokes': [[dx, dy, pen_lifted], ...]")
    out = {"strokes": json_strokes(body["strokes"])}
    n = body.get("n", DEFAULTS["n"])
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_N:
        raise RequestError(400, f"'n' must be an integer from 1 to {MAX_N}, got {_short(n)}")
    out["n"] = n
    settings = {k: body[k] for k in ("temperature", "seed") if k in body}
    try:
        out["sampler"] = samplers.get(**settings)
    except samplers.SamplerError as e:
        raise RequestError(400, f"'{e.argument}' {e.requirement}") from None
    if out["sampler"].temperature > MAX_TEMPERATURE:
        got = _short(body["temperature"])
        raise RequestError(
            400, f"'temperature' must be a number in (0, {MAX_TEMPERATURE:g}], got {got}"
        )
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise RequestError(400, f"'model' must be a model name (a string), got {_short(model)}")
    out["model"] = model
    return out


def sketch_of(entry, request):
    """The request's strokes through the model's front door (checked once, here), or a 400."""
    try:
        sketch = entry.model.preprocessor.sketches(request["strokes"], what="strokes")
    except ModelInputError as e:
        raise RequestError(400, f"{e} (model '{entry.name}')") from None
    offsets = np.abs(sketch[0][:, :2])
    if offsets.size and offsets.max() > MAX_OFFSET:
        i = int(np.argmax(offsets.max(axis=1)))
        raise RequestError(
            400,
            f"strokes[{i}] moves the pen by ({sketch[0][i, 0]:g}, {sketch[0][i, 1]:g}) pixels; "
            f"offsets must lie within ±{MAX_OFFSET:g}",
        )
    return sketch


def _rows(sketch) -> list:
    """A stroke-3 array → JSON rows [dx, dy, pen_lifted] (offsets to 1/1000 pixel)."""
    s = np.asarray(sketch, np.float64)
    return [[round(float(dx), 3), round(float(dy), 3), int(p)] for dx, dy, p in s]


# --------------------------------------------------------------------------- answers
def complete(entry, request) -> dict:
    """n whole sketches: `request['strokes']` exactly as given, then the model's continuation."""
    model = entry.model
    strokes = sketch_of(entry, request)
    limit = model.hparams.max_seq_len
    if len(strokes[0]) >= limit:
        raise RequestError(
            400,
            f"the drawing has {len(strokes[0])} points; model '{entry.name}' "
            f"draws at most {limit} (max_seq_len) in all, so it can finish "
            f"drawings of at most {limit - 1}. Undo or clear, or draw with "
            "fewer points.",
        )
    with entry.lock:
        sketches = completion.complete(model, strokes, request["n"], request["sampler"])[0]
    given = _rows(request["strokes"])
    out = []
    for s in sketches:
        rows = _rows(s)
        if len(rows) < len(given):  # cannot happen: the sampler keeps every prefix row
            raise RuntimeError(f"the model returned {len(rows)} rows for a {len(given)}-row prefix")
        out.append(given + rows[len(given) :])
    return {"model": entry.name, "sketches": out}


def reconstruct(entry, request) -> dict:
    """Encodes the drawing to μ and decodes n sketches from it (conditional models only)."""
    model = entry.model
    if not model.hparams.conditional:
        raise RequestError(
            400,
            f"model '{entry.name}' is decoder-only (conditional=False): it has "
            "no encoder, so it cannot reconstruct a drawing; pick a "
            "conditional (VAE) model, or use /api/complete",
        )
    strokes = sketch_of(entry, request)
    with entry.lock:
        mu = model.encode(strokes)
        sketches = model.sample(request["n"], request["sampler"], z=mu[0])
    return {"model": entry.name, "sketches": [_rows(s) for s in sketches]}


def check_svg_request(body) -> dict:
    """A POST /api/svg body: {"svg": the SVG text, "model": name (optional)}."""
    if not isinstance(body, dict):
        raise RequestError(
            400, f"the request body must be a JSON object, got {type(body).__name__}"
        )
    unknown = sorted(set(body) - {"svg", "model"})
    if unknown:
        raise RequestError(400, f"unknown field(s) {unknown}; the fields are ['model', 'svg']")
    svg = body.get("svg")
    if not isinstance(svg, str) or not svg.lstrip().startswith("<"):
        raise RequestError(400, f"'svg' must be the text of an SVG file, got {_short(svg)}")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise RequestError(400, f"'model' must be a model name (a string), got {_short(model)}")
    return {"svg": svg, "model": model}


def svg_lines(entry, request) -> dict:
    """An SVG drawing as lines on the page's pad: {"model", "lines": [[[x, y], ...], ...]}.

    The drawing goes through the model's front door (`SketchPreprocessor.svg`: sized as the model
    draws, simplified as its data were), then is centred on the pad; coordinates are fractions of
    the pad's side (`pad_size` pixels of the model), as the page keeps what is drawn on it.
    """
    try:
        sketch = entry.model.preprocessor.sketches(request["svg"], what="SVG")[0]
    except ValueError as e:  # DataError naming the problem, or ModelInputError (too long)
        raise RequestError(400, f"{e} (model '{entry.name}')") from None
    points = np.cumsum(sketch[:, :2].astype(np.float64), axis=0)
    pad = entry.info()["pad_size"]
    points += pad / 2 - (points.min(axis=0) + points.max(axis=0)) / 2
    ends = np.flatnonzero(sketch[:, 2] == 1) + 1
    lines = [p / pad for p in np.split(points, ends[ends < len(points)]) if len(p)]
    return {"model": entry.name, "lines": [np.round(p, 5).tolist() for p in lines]}


def check_model_request(body) -> str | None:
    """The model name of a POST /api/model body (None: the server's default)."""
    if not isinstance(body, dict):
        raise RequestError(
            400, f"the request body must be a JSON object, got {type(body).__name__}"
        )
    unknown = sorted(set(body) - {"model"})
    if unknown:
        raise RequestError(400, f"unknown field(s) {unknown}; the only field is 'model'")
    name = body.get("model")
    if name is not None and not isinstance(name, str):
        raise RequestError(400, f"'model' must be a model name (a string), got {_short(name)}")
    return name
