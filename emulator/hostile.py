"""Hostile answers: what a compromised or broken service (or a proxy in front of it) might send,
one mode per class of harm, and a second listener that stands for "another host".

Set with ``POST /_emulator/hostile`` (or ``EmulatorHandle.set_hostile(...)``); every key left out is
off; ``DELETE /_emulator/hostile`` turns everything off::

    {"nextLink": {"mode": "foreign" | "foreign-http" | "http" | "self" | "endless",
                  "pattern": "<regex on the list's path>" | null},
     "redirect": {"pattern": "<regex on the path>", "to": "foreign" | "foreign-http" | "http",
                  "status": 301 | 302 | 307 | 308},
     "graph": {"mode": "repeat-token" | "endless-token" | "token-not-string" | "data-string"
                       | "data-missing" | "data-not-objects" | "count-wrong" | "total-high"}}

``nextLink`` (ARM lists; a ``pattern`` limits it to some lists):

* ``foreign``: a page's nextLink names the same path and query on the foreign listener (HTTPS,
  another port: "another host"); ``foreign-http`` the same over plain HTTP; ``http`` the emulator's
  own host and port over plain HTTP. Only pages that have a next page are changed.
* ``self``: every page's nextLink is the URL of that page (a list that never ends).
* ``endless``: every page names a next one, new each time, past the last item (empty pages).

``redirect``: a request whose path matches is answered with a redirect (``Location``) to the same
path and query there.

``graph`` (Resource Graph answers): ``repeat-token`` hands back the same ``$skipToken`` on every
page after the first; ``endless-token`` names a new one on every page, past the last row;
``token-not-string`` sends it as a number; ``data-string`` sends ``data`` as a string of JSON,
``data-missing`` leaves it out, ``data-not-objects`` sends the rows' ids instead of the rows;
``count-wrong`` says one row more than it sends; ``total-high`` says 1,000 more ``totalRecords``
than there are.

The foreign listener (``foreignUrl``, HTTPS with the emulator's certificate on another port, and
``foreignHttpUrl``, plain HTTP on a third) records every request it receives, whether it carried an
``Authorization`` header, and answers an empty page (``{"value": []}``; an empty Resource Graph
answer for a POST). ``GET /_emulator/foreign`` gives that log, ``DELETE`` clears it.
"""

import json
import re
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NEXT_LINK_MODES = ("foreign", "foreign-http", "http", "self", "endless")
REDIRECT_TARGETS = ("foreign", "foreign-http", "http")
REDIRECT_STATUSES = (301, 302, 307, 308)
GRAPH_MODES = ("repeat-token", "endless-token", "token-not-string", "data-string", "data-missing",
               "data-not-objects", "count-wrong", "total-high")


def _pattern(value, where, required=False):
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"'{where}.pattern' must be a regular expression")
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"'{where}.pattern' is not a valid regular expression: {error}") from None
    return value


def _entry(body, key, allowed):
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - allowed:
        raise ValueError(f"'{key}' is an object with the keys {', '.join(sorted(allowed))}")
    return value


def parse_settings(body):
    """Validate a control-API hostile description; raise ``ValueError`` saying what is wrong."""
    if not isinstance(body, dict) or set(body) - {"nextLink", "redirect", "graph"}:
        raise ValueError("hostile settings take the keys nextLink, redirect, graph")
    settings = {}
    next_link = _entry(body, "nextLink", {"mode", "pattern"})
    if next_link is not None:
        if next_link.get("mode") not in NEXT_LINK_MODES:
            raise ValueError(f"'nextLink.mode' is one of {', '.join(NEXT_LINK_MODES)}")
        settings["nextLink"] = {"mode": next_link["mode"],
                                "pattern": _pattern(next_link.get("pattern"), "nextLink")}
    redirect = _entry(body, "redirect", {"pattern", "to", "status"})
    if redirect is not None:
        if redirect.get("to", "foreign") not in REDIRECT_TARGETS:
            raise ValueError(f"'redirect.to' is one of {', '.join(REDIRECT_TARGETS)}")
        if redirect.get("status", 307) not in REDIRECT_STATUSES:
            raise ValueError(f"'redirect.status' is one of {REDIRECT_STATUSES}")
        settings["redirect"] = {"pattern": _pattern(redirect.get("pattern"), "redirect", required=True),
                                "to": redirect.get("to", "foreign"), "status": redirect.get("status", 307)}
    graph = _entry(body, "graph", {"mode"})
    if graph is not None:
        if graph.get("mode") not in GRAPH_MODES:
            raise ValueError(f"'graph.mode' is one of {', '.join(GRAPH_MODES)}")
        settings["graph"] = {"mode": graph["mode"]}
    return settings


class Hostile:
    """The active hostile settings and where "elsewhere" is. Thread-safe."""

    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.foreign_url = None         # https://127.0.0.1:PORT (set when the foreign listener runs)
        self.foreign_http_url = None    # http://127.0.0.1:PORT
        self._lock = threading.Lock()
        self._settings = {}

    def set(self, body):
        settings = parse_settings(body)
        with self._lock:
            self._settings = settings
        return self.get()

    def clear(self):
        with self._lock:
            self._settings = {}

    def get(self):
        with self._lock:
            return json.loads(json.dumps(self._settings))

    def _setting(self, key):
        with self._lock:
            return self._settings.get(key)

    def target(self, to):
        """The base URL that ``to`` (foreign, foreign-http, http) names."""
        if to == "foreign":
            return self.foreign_url
        if to == "foreign-http":
            return self.foreign_http_url
        return "http://" + self.base_url.split("://", 1)[1]

    # ---- ARM lists

    def next_link(self, path, link, page_url, endless_url):
        """The nextLink a page of the list at ``path`` names: ``link`` (the honest one, or None),
        unless a nextLink mode applies. ``page_url``: this page's URL; ``endless_url``: the link
        to the page after this one whether or not there is one."""
        setting = self._setting("nextLink")
        if setting is None or (setting["pattern"] and not re.search(setting["pattern"], path, re.I)):
            return link
        mode = setting["mode"]
        if mode == "self":
            return page_url
        if mode == "endless":
            return endless_url
        if link is None:
            return None
        return self.target(mode) + link[len(self.base_url):]

    def redirect(self, path, raw_path):
        """(status, Location) when a redirect mode matches ``path``; else None."""
        setting = self._setting("redirect")
        if setting is None or not re.search(setting["pattern"], path, re.I):
            return None
        return setting["status"], self.target(setting["to"]) + raw_path

    # ---- Resource Graph

    def graph_answer(self, result, token_at):
        """A Resource Graph answer as the graph mode spoils it. ``token_at(offset)``: a valid
        ``$skipToken`` for the rows from ``offset``; ``result["_offset"]`` and ``["_page"]``: where
        this page starts and how many rows a page holds (removed here)."""
        offset, page = result.pop("_offset"), result.pop("_page")
        setting = self._setting("graph")
        if setting is None:
            return result
        mode = setting["mode"]
        if mode == "repeat-token" and ("$skipToken" in result or offset > 0):
            result["$skipToken"] = token_at(page)
        elif mode == "endless-token":
            result["$skipToken"] = token_at(offset + page)
        elif mode == "token-not-string":
            result["$skipToken"] = offset + page
        elif mode == "data-string":
            result["data"] = json.dumps(result["data"])
        elif mode == "data-missing":
            del result["data"]
        elif mode == "data-not-objects":
            result["data"] = [row.get("id") if isinstance(row, dict) else row for row in result["data"]]
        elif mode == "count-wrong":
            result["count"] += 1
        elif mode == "total-high":
            result["totalRecords"] += 1000
        return result


# -- the foreign listener ----------------------------------------------------------------------


class ForeignListener:
    """Two listeners on 127.0.0.1 that stand for "another host": HTTPS (the emulator's certificate)
    and plain HTTP, each on its own port. They record every request and answer an empty page."""

    def __init__(self, tls_files=None):
        self._log = []
        self._lock = threading.Lock()
        self.servers = [self._server(tls_files), self._server(None)] if tls_files else [self._server(None)]

    def _server(self, tls_files):
        listener = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30

            def log_message(self, format, *args):  # noqa: A002 - signature of the base class
                pass

            def do_GET(self):  # pylint: disable=invalid-name  # the name http.server dispatches to
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length > 0 else b""
                listener.record({
                    "method": self.command, "path": self.path, "scheme": "https" if tls_files else "http",
                    "authorization": self.headers.get("Authorization") is not None,
                    "headers": sorted(self.headers.keys()), "bodyBytes": len(body), "time": time.time()})
                answer = {"totalRecords": 0, "count": 0, "data": [], "facets": [],
                          "resultTruncated": "false"} if self.command == "POST" else {"value": []}
                payload = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if tls_files:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_files.server_cert, tls_files.server_key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        return server

    @property
    def urls(self):
        """(https URL, http URL); the first is None without TLS files."""
        ports = [server.server_address[1] for server in self.servers]
        if len(ports) == 2:
            return f"https://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
        return None, f"http://127.0.0.1:{ports[0]}"

    def record(self, entry):
        with self._lock:
            self._log.append(entry)

    def requests(self):
        with self._lock:
            return list(self._log)

    def clear(self):
        with self._lock:
            self._log.clear()

    def start(self):
        for server in self.servers:
            threading.Thread(target=server.serve_forever, name="foreign-listener", daemon=True).start()

    def stop(self):
        for server in self.servers:
            server.shutdown()
            server.server_close()
