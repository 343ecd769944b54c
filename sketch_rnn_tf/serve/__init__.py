"""Draw with a model: a local web page where sketch-rnn finishes your drawing.

The page and its server (`serve`), the JSON API behind it (`api`) and the list of models it
offers (`models.available_models`).

    python -m sketch_rnn_tf serve --checkpoint sheep

Sits on top of the package (it uses `load_model`, `SketchRNN.sample` / `encode` and
`sampling.complete`); nothing below imports it.
"""

from .api import MAX_BODY_BYTES, RequestError
from .models import ModelCache, available_models
from .server import ServeError, SketchServer, make_server, serve, start_in_thread

__all__ = [
    "MAX_BODY_BYTES",
    "ModelCache",
    "RequestError",
    "ServeError",
    "SketchServer",
    "available_models",
    "make_server",
    "serve",
    "start_in_thread",
]
