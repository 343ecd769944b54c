"""A throw-away HTTP server on 127.0.0.1 for download tests: serves only the bytes it is given.

`routes` maps a URL path ("/models/sheep.gen.json") to the bytes to send, or to
`Truncated(data, n)`: a response that announces `len(data)` bytes but sends only the first `n` and
closes the connection (a cut transfer). Anything else is a 404. Only GET (and HEAD) are answered;
request bodies are not read. `hits` counts the requests per path.
"""

from __future__ import annotations

import collections
import http.server
import socket
import threading


class Truncated:
    def __init__(self, data: bytes, sent: int):
        self.data, self.sent = data, sent


class LocalServer:
    def __init__(self, routes):
        self.routes = dict(routes)
        self.hits = collections.Counter()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                self._answer(body=True)

            def do_HEAD(self):  # noqa: N802
                self._answer(body=False)

            def _answer(self, body):
                path = self.path.split("?", 1)[0]
                server.hits[path] += 1
                item = server.routes.get(path)
                if item is None:
                    self.send_error(404, "not found")
                    return
                data, sent = (
                    (item.data, item.sent) if isinstance(item, Truncated) else (item, len(item))
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data[:sent])
                    self.wfile.flush()
                if sent < len(data):
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.thread is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(timeout=10)
            self.thread = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def closed_port_url() -> str:
    """An http://127.0.0.1 URL where nothing listens (a port just bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
