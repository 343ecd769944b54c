"""A local web page where a sketch-rnn model finishes your drawing, and the JSON API behind it.

    python -m sketch_rnn_tf serve --checkpoint sheep [--port 8000] [--host 127.0.0.1]

Built on the standard library's `http.server.ThreadingHTTPServer` (one thread per request). It
serves only the files of its own `static/` folder (a fixed list, read once at start: no request path
can name any other file) and the API of `serve.api`:

    GET  /                  the page (static/index.html); /app.js, /style.css
    GET  /api/models        {"models": [names], "default": name, "defaults": {"n", "temperature"}}
    POST /api/model         {"model": name} -> the model's kind and limits (loads it on first use)
    POST /api/complete      see `serve.api`
    POST /api/reconstruct   see `serve.api`
    POST /api/svg           {"svg": text, "model": name} -> the drawing as lines on the pad

Bodies must be `application/json` (so another web site cannot post to the server without the
browser asking first, which it never answers) and at most `api.MAX_BODY_BYTES`; a bad request gets a
4xx status and `{"error": "..."}`, and the server goes on serving. Models are loaded once, kept, and
each is used by one request at a time (its lock), so concurrent requests are safe.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from ..errors import SketchRNNError
from . import api
from .models import ModelCache, UnknownModelError, available_models, is_model_path

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}
#: Bytes of a too-large body read (and dropped) before the 413 reply; the rest is never read.
_DRAIN_LIMIT = 16 << 20
_DRAIN_SECONDS = 5.0
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
}


class ServeError(SketchRNNError):
    """The server cannot start: unknown model name, unloadable model, bad or busy address.

    `argument` names the setting at fault ("host", "port") when there is one, so the command
    line can name its flag.
    """

    def __init__(self, message, argument=None):
        super().__init__(message)
        self.argument = argument  # (SketchRNNError.argument)


def check_address(host, port):
    """(host, port) checked before anything is loaded: a host name or address, a port 0-65535."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ServeError(f"port must be an integer from 0 to 65535, got {port!r}", "port")
    if not isinstance(host, str) or not host.strip():
        raise ServeError(f"host must be a host name or an IP address, got {host!r}", "host")
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        raise ServeError(f"cannot listen on host {host!r}: {e}", "host") from None
    return host, port


def _static_files(directory=STATIC_DIR) -> dict[str, str]:
    """{url path: file} for every plain file directly in `directory`; `/` is index.html."""
    files = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.isfile(path) and not os.path.islink(path) and not name.startswith("."):
            files["/" + name] = path
    if "/index.html" in files:
        files["/"] = files["/index.html"]
    return files


class SketchServer(ThreadingHTTPServer):
    """The HTTP server: its `cache` of models, `default_model` name and the page's files."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, address, cache: ModelCache, default_model: str, quiet: bool = True):
        self.cache = cache
        self.default_model = default_model
        self.quiet = quiet
        self.static = _static_files()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"


class Handler(BaseHTTPRequestHandler):
    server_version = "sketch_rnn_tf"
    timeout = 60  # seconds a connection may stay silent
    error_content_type = "application/json"
    error_message_format = '{"error": "%(code)d %(message)s"}'

    # ------------------------------------------------------------------ replies
    def _send(self, status, body: bytes, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if getattr(self, "_refused", 0):
            self.send_header("Connection", "close")
        for k, v in _SECURITY_HEADERS.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status, obj):
        self._send(
            status,
            json.dumps(obj, allow_nan=False).encode("utf-8"),
            "application/json; charset=utf-8",
        )

    def _error(self, status, message):
        self._json(status, {"error": message})

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if not self.server.quiet:
            super().log_message(format, *args)

    # ------------------------------------------------------------------ GET
    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/api/models":
            return self._json(
                200,
                {
                    "models": self.server.cache.names(),
                    "default": self.server.default_model,
                    "defaults": api.DEFAULTS,
                },
            )
        if path.startswith("/api/"):
            if path in ("/api/model", "/api/complete", "/api/reconstruct", "/api/svg"):
                return self._error(405, f"{path} takes POST with a JSON body")
            return self._error(404, f"no such API endpoint: {path}")
        # Only the fixed list of the page's own files: the raw path is looked up as it is (no
        # decoding, no joining), so '..', '%2e%2e%2f' or an absolute path can name nothing else.
        file = self.server.static.get(path)
        if file is None:
            return self._error(404, "not found")
        with open(file, "rb") as f:
            body = f.read()
        self._send(
            200, body, _CONTENT_TYPES.get(os.path.splitext(file)[1], "application/octet-stream")
        )

    do_HEAD = do_GET

    # ------------------------------------------------------------------ POST
    def do_POST(self):
        path = urlsplit(self.path).path
        routes = {
            "/api/complete": api.complete,
            "/api/reconstruct": api.reconstruct,
            "/api/model": None,
            "/api/svg": api.svg_lines,
        }
        if path not in routes:
            return self._error(404, f"no such API endpoint: {path}")
        try:
            self._answer_post(path, routes)
        finally:
            if getattr(self, "_refused", 0):
                self._discard_refused_body()

    def _answer_post(self, path, routes):
        try:
            body = self._read_json()
            if path == "/api/model":
                name = api.check_model_request(body)
                entry = self._model(name)
                return self._json(200, entry.info())
            if path == "/api/svg":
                request = api.check_svg_request(body)
            else:
                request = api.check_request(body)
            entry = self._model(request["model"])
            return self._json(200, routes[path](entry, request))
        except api.RequestError as e:
            return self._error(e.status, e.message)
        except ValueError as e:  # the package's own input errors (ModelInputError, ...)
            return self._error(400, str(e))
        except Exception as e:  # noqa: BLE001 (one bad request must not stop the server)
            self.log_error("error answering %s: %r", path, e)
            return self._error(500, f"internal error: {type(e).__name__}: {e}")

    def _read_json(self):
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise api.RequestError(411, "chunked bodies are not accepted; send Content-Length")
        length = self.headers.get("Content-Length")
        if length is None:
            raise api.RequestError(411, "Content-Length is required")
        try:
            length = int(length)
        except ValueError:
            self.close_connection = True
            raise api.RequestError(400, f"bad Content-Length {length!r}") from None
        if length < 0:
            self.close_connection = True
            raise api.RequestError(400, f"bad Content-Length {length}")
        if length > api.MAX_BODY_BYTES:
            self._refused = min(length, _DRAIN_LIMIT)  # dropped after the reply
            raise api.RequestError(
                413,
                f"request body of {length} bytes is larger than the "
                f"{api.MAX_BODY_BYTES} bytes accepted",
            )
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        body = self.rfile.read(length)
        if content_type != "application/json":
            raise api.RequestError(
                415, f"Content-Type must be application/json, got {content_type or 'none'}"
            )
        try:
            return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
        except UnicodeDecodeError:
            raise api.RequestError(400, "the body is not UTF-8 text") from None
        except (ValueError, RecursionError) as e:
            raise api.RequestError(400, f"the body is not valid JSON: {e}") from None

    def _discard_refused_body(self):
        """After the 413 reply: reads and drops up to `_DRAIN_LIMIT` bytes of the refused body.

        It waits at most `_DRAIN_SECONDS` for each piece, so that a client still sending the body
        is not cut off before it reads the reply; then the connection is closed.
        """
        left, self._refused = self._refused, 0
        self.close_connection = True
        try:
            self.connection.settimeout(_DRAIN_SECONDS)
            while left > 0:
                chunk = self.rfile.read1(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:
            pass

    def _model(self, name):
        name = self.server.default_model if name is None else name
        try:
            return self.server.cache.get(name)
        except UnknownModelError:
            raise api.RequestError(
                404, f"no model called {name!r}; the models are {self.server.cache.names()}"
            ) from None
        except Exception as e:  # noqa: BLE001 (the loader's own clear error, e.g. ModelLoadError)
            raise api.RequestError(500, f"model {name!r} could not be loaded: {e}") from None

    def _method_not_allowed(self):
        self._error(405, f"{self.command} is not supported; use GET or POST")

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _method_not_allowed


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


# --------------------------------------------------------------------------- setting up
def resolve_models(checkpoint) -> tuple[dict, str]:
    """The models to offer ({name: path}) and the name of `checkpoint` (a listed name or a path)."""
    models = available_models()
    checkpoint = os.fspath(checkpoint)
    if checkpoint in models and not os.path.exists(checkpoint):
        return models, checkpoint
    if os.path.exists(checkpoint):
        path = os.path.abspath(checkpoint)
        for name, listed in models.items():
            if os.path.abspath(listed) == path:
                return models, name
        name = os.path.basename(path.rstrip(os.sep)) or path
        if name.endswith(".json"):
            name = name[: -len(".json")]
        if name in models:  # another model of that name is listed: name this one by its path
            name = path
        return {name: path, **models}, name
    from ..formats import names

    try:  # a catalogue name not cached yet: download it once (names validates it first)
        path = names.resolve(checkpoint)
    except (ValueError, names.DownloadError) as e:
        raise ServeError(str(e)) from None
    if os.path.exists(path):
        return {checkpoint: path, **models}, checkpoint
    raise ServeError(
        f"{checkpoint}: neither a model path nor a known model name; the models found "
        f"are {sorted(models) or 'none'} (bundled, and Magenta's catalogue models "
        "cached in $SKETCH_RNN_TF_HOME; `python -m sketch_rnn_tf models` lists them)"
    )


def make_server(checkpoint, host="127.0.0.1", port=8000, models=None, quiet=True) -> SketchServer:
    """Loads `checkpoint` (a model name or path) and binds the server; does not start serving.

    Args:
      checkpoint: the default model: a name from `models` (default: `available_models()`) or a path
        `load_model` reads.
      host: the address to listen on.
      port: the port to listen on (0: a free port; see `server.url`).
      models: {name: path} to offer instead of the bundled and cached models.
      quiet: do not log each request to stderr.
    """
    host, port = check_address(host, port)
    if models is None:
        models, name = resolve_models(checkpoint)
    else:
        models, name = dict(models), os.fspath(checkpoint)
        if name not in models:
            if not is_model_path(name) and not os.path.exists(name):
                raise ServeError(f"{name}: not among the models {sorted(models)} and not a path")
            models = {name: name, **models}
    cache = ModelCache(models)
    cache.get(name)  # fail now, with the loader's message, rather than on the first request
    try:
        return SketchServer((host, port), cache, name, quiet=quiet)
    except (OSError, OverflowError) as e:
        why = getattr(e, "strerror", None) or e
        at_fault = "host" if getattr(e, "errno", None) == errno.EADDRNOTAVAIL else "port"
        raise ServeError(f"cannot listen on {host}:{port}: {why}", at_fault) from None


def start_in_thread(server: SketchServer) -> threading.Thread:
    """Serves in a daemon thread (for tests and notebooks).

    Stop it with `server.shutdown()` then `server.server_close()`.
    """
    thread = threading.Thread(target=server.serve_forever, name="sketch_rnn_tf-serve", daemon=True)
    thread.start()
    return thread


def serve(checkpoint, host="127.0.0.1", port=8000, quiet=False):
    """Runs the drawing page until Ctrl-C or SIGTERM, printing its URL first; returns then."""
    server = make_server(checkpoint, host=host, port=port, quiet=quiet)
    print(
        f"sketch_rnn_tf: drawing page for model '{server.default_model}' at {server.url} "
        "(Ctrl-C stops it)",
        flush=True,
    )
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: listening on {host}, so other machines can reach this server",
            file=sys.stderr,
            flush=True,
        )
    try:
        with _stopped_by_signals():
            server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@contextlib.contextmanager
def _stopped_by_signals():
    """Ctrl-C (SIGINT) and SIGTERM stop the server, whatever the parent process set.

    A process started from a non-interactive shell in the background (or from a CI runner) inherits
    SIGINT *ignored*, and Python then keeps it ignored: "Ctrl-C stops it" would be false and the
    server would outlive its Ctrl-C. SIGTERM (`kill`, `docker stop`) closes the socket the same way.
    Signal handlers can only be set from the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise KeyboardInterrupt

    saved = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        saved[sig] = signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
