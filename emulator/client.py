"""Start an emulator and drive it: the Python API for tests, benchmarks and scripts.

    from emulator.client import start_emulator

    with start_emulator("emulator/fixtures/sample-fleet", page_size=2) as emu:
        emu.add_fault(r"/clusters/hci-prod-01$", status=429, retry_after=0, count=1)
        status, headers, body = emu.request("GET", "/subscriptions")
        emu.requests()   # what the emulator saw

The emulator runs as a subprocess (``python -m emulator serve``) by default, so az
subprocesses and the test process talk to the same server; ``in_process=True`` runs it in a
thread of the caller instead (no process start-up cost). Either way every control call goes
over the HTTPS control API, so a handle behaves the same for both.

Only the standard library is needed here (the subprocess needs ``cryptography``).
"""

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from .runner import INFO_FILE

_URL_SAFE = "/:?&=$%,;'()@+!*~#[]"
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class EmulatorError(RuntimeError):
    """The emulator did not start, or a control call failed."""


class EmulatorHandle:
    """A running emulator. Attributes come from its ``emulator.json``:

    ``info`` (the whole dict), ``arm_url`` (``https://127.0.0.1:PORT/``), ``base_url`` (no
    trailing slash), ``ca_bundle``, ``identity_endpoint``, ``identity_header``,
    ``control_url``, ``tenant_id``, ``subscriptions``, ``workdir``, ``pid``, ``log_path``
    (the subprocess's stderr; ``None`` in-process).
    """

    def __init__(self, info, workdir, process=None, server=None, log_path=None,
                 owned_workdir=False):
        self.info = info
        self.workdir = workdir
        self.process = process
        self.log_path = log_path
        self._server = server
        self._owned_workdir = owned_workdir
        self._ssl = ssl.create_default_context(cafile=info["caBundle"])

    # ---- info

    arm_url = property(lambda self: self.info["armUrl"])
    base_url = property(lambda self: self.info["armUrl"].rstrip("/"))
    ca_bundle = property(lambda self: self.info["caBundle"])
    identity_endpoint = property(lambda self: self.info["identityEndpoint"])
    identity_header = property(lambda self: self.info["identityHeader"])
    control_url = property(lambda self: self.info["controlUrl"])
    tenant_id = property(lambda self: self.info["tenantId"])
    subscriptions = property(lambda self: self.info["subscriptions"])
    pid = property(lambda self: self.info["pid"])
    imds_url = property(lambda self: self.info.get("imdsUrl"))
    foreign_url = property(lambda self: self.info.get("foreignUrl"))
    foreign_http_url = property(lambda self: self.info.get("foreignHttpUrl"))
    imds_trust_bundle = property(lambda self: self.info.get("imdsTrustBundle"))
    imds_intermediates = property(lambda self: self.info.get("imdsIntermediates"))

    # ---- HTTP

    def request(self, method, path, body=None, headers=None, token="emulator-test-token",
                timeout=30):
        """Send one request to the emulator; return ``(status, headers, parsed body)``.

        ``path`` is relative to the emulator (``/subscriptions?api-version=...``) or an
        absolute URL on it (a ``nextLink``). A bearer ``token`` is sent unless it is None.
        """
        url = path if path.startswith("https://") else self.base_url + path
        url = urllib.parse.quote(url, safe=_URL_SAFE)  # spaces in $filter etc.; keeps %XX
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, context=self._ssl, timeout=timeout) as response:
                return response.status, dict(response.headers.items()), _json(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), _json(error.read())

    def _control(self, method, suffix="", body=None, query=None):
        path = self.control_url + suffix + (("?" + urllib.parse.urlencode(query)) if query else "")
        status, _, payload = self.request(method, path, body=body, token=None)
        if status >= 400:
            raise EmulatorError(f"control {method} {suffix or '/'} failed: HTTP {status} "
                                f"{payload}")
        return payload

    # ---- control API

    def add_fault(self, pattern, status=None, method=None, retry_after=None, count=None,
                  delay_ms=None, body=None, content_type=None):
        """Inject a fault (see emulator/faults.py); returns it with its ``id``."""
        fault = {"pattern": pattern, "method": method, "status": status, "retryAfter": retry_after,
                 "count": count, "delayMs": delay_ms, "body": body}
        if content_type is not None:
            fault["contentType"] = content_type
        return self._control("POST", "/faults", body=fault)

    def set_hostile(self, next_link=None, redirect=None, graph=None):
        """Turn on hostile answers (see emulator/hostile.py), e.g. ``set_hostile(next_link={"mode":
        "foreign", "pattern": "/clusters$"})``; what is not given is off. Returns the settings."""
        body = {key: value for key, value in (("nextLink", next_link), ("redirect", redirect), ("graph", graph))
                if value is not None}
        return self._control("POST", "/hostile", body=body)

    def clear_hostile(self):
        self._control("DELETE", "/hostile")

    def foreign_requests(self):
        """What the foreign listener (``foreign_url``, ``foreign_http_url``) received:
        ``[{method, path, scheme, authorization, headers, bodyBytes, time}]``."""
        return self._control("GET", "/foreign")["value"]

    def clear_foreign_requests(self):
        self._control("DELETE", "/foreign")

    def faults(self):
        return self._control("GET", "/faults")["value"]

    def clear_faults(self):
        self._control("DELETE", "/faults")

    def requests(self):
        """The request log: ``[{method, path, query, apiVersion, status, time, durationMs,
        fault, body}]`` in arrival order (control calls are not logged)."""
        return self._control("GET", "/requests")["value"]

    def clear_requests(self):
        self._control("DELETE", "/requests")

    def set_graph(self, **settings):
        """Change the Resource Graph settings (keys: forbiddenSubscriptions,
        forbiddenManagementGroups, unindexedTypes, truncate, managementGroups); returns them all."""
        return self._control("POST", "/graph", body=settings)

    def reset_graph(self):
        """Resource Graph as it started: every scope readable, every type indexed, no truncation."""
        return self.set_graph(forbiddenSubscriptions=[], forbiddenManagementGroups=[],
                              unindexedTypes=[], truncate=False)

    def set_run_commands(self, **settings):
        """Change the Run Command settings (emulator/runcommands.py: delayMs, outputLimit, modes, machines,
        writesPerSecond, writeBurst); returns them all."""
        return self._control("POST", "/runcommands", body=settings)

    def run_commands(self, machine_id):
        """The run commands left on an Arc machine (what an ARM list of them answers)."""
        status, _, body = self.request("GET", f"{machine_id}/runCommands?api-version=2026-07-15")
        if status != 200:
            raise EmulatorError(f"listing the run commands of {machine_id} failed: HTTP {status} {body}")
        return body["value"]

    def put_resources(self, *documents):
        """Add or replace resources (ARM documents) while the emulator runs."""
        return self._control("POST", "/resources", body=list(documents))["value"]

    def delete_resource(self, resource_id):
        """Remove a resource and everything under it; returns how many were removed."""
        return self._control("DELETE", "/resources", query={"id": resource_id})["removed"]

    # ---- lifetime

    def set_imds_mode(self, mode, count=None, slow_seconds=None):
        """Switch the attested-document endpoint's behaviour (modes: see emulator/imds.py)."""
        body = {"mode": mode, "count": count}
        if slow_seconds is not None:
            body["slowSeconds"] = slow_seconds
        return self._imds("POST", "/_emulator/imds/mode", body)

    def set_pki_mode(self, aia=None, ocsp=None, slow_seconds=None):
        """Switch the AIA repository and the OCSP responder (modes: see emulator/pki.py)."""
        body = {"aia": aia, "ocsp": ocsp}
        if slow_seconds is not None:
            body["slowSeconds"] = slow_seconds
        return self._imds("POST", "/_emulator/pki/mode", body)

    def imds_requests(self):
        """What the IMDS server saw (attested documents, AIA and OCSP), in arrival order."""
        return self._imds("GET", "/_emulator/imds/requests")

    def clear_imds_requests(self):
        self._imds("DELETE", "/_emulator/imds/requests")

    def _imds(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.imds_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as response:
            return _json(response.read())

    def alive(self):
        if self.process is not None:
            return self.process.poll() is None
        return self._server is not None

    def stop(self, timeout=10):
        """Stop the emulator (SIGTERM, then SIGKILL after ``timeout``); idempotent."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._server is not None:
            from .runner import withdraw_info
            self._server.stop()
            withdraw_info(self.workdir)
            self._server = None
        if self._owned_workdir and os.path.isdir(self.workdir):
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._owned_workdir = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return f"<EmulatorHandle {self.arm_url} pid={self.pid}>"


def _json(raw):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def start_emulator(fixtures, workdir=None, page_size=100, *, port=0, rebase_to=None,
                   reference_time=None, timeout=30.0, python=None, in_process=False,
                   verbose=False):
    """Start an emulator serving ``fixtures``; return an :class:`EmulatorHandle` once ready.

    ``workdir``: where ``ca.pem``, ``emulator.json`` and ``emulator.log`` go; default a new
    temporary directory that :meth:`EmulatorHandle.stop` removes. ``python``: the interpreter
    for the subprocess (default: this one; it needs ``cryptography``). ``rebase_to``: see
    :func:`emulator.runner.build_server`. Raises :class:`EmulatorError` if the emulator does
    not publish ``emulator.json`` within ``timeout`` seconds.
    """
    owned = workdir is None
    workdir = os.path.abspath(workdir or tempfile.mkdtemp(prefix="azure-local-emulator-"))
    os.makedirs(workdir, exist_ok=True)
    info_path = os.path.join(workdir, INFO_FILE)
    if os.path.exists(info_path):
        os.remove(info_path)  # a stale file from an earlier run must not be mistaken for ready
    fixtures = os.path.abspath(fixtures)

    if in_process:
        from .runner import build_server, publish_info
        server = build_server(fixtures, workdir, page_size=page_size, port=port,
                              rebase_to=rebase_to, reference_time=reference_time,
                              verbose=verbose)
        server.start_background()
        info = publish_info(server, workdir)
        return EmulatorHandle(info, workdir, server=server, owned_workdir=owned)

    command = [python or sys.executable, "-m", "emulator", "serve", "--fixtures", fixtures,
               "--workdir", workdir, "--page-size", str(page_size), "--port", str(port)]
    if rebase_to:
        command += ["--rebase-to", rebase_to]
    if reference_time:
        command += ["--reference-time", reference_time]
    if verbose:
        command.append("--verbose")
    log_path = os.path.join(workdir, "emulator.log")
    env = dict(os.environ)
    env["PYTHONPATH"] = PACKAGE_ROOT + (os.pathsep + env["PYTHONPATH"]
                                        if env.get("PYTHONPATH") else "")
    with open(log_path, "ab") as log:
        # The handle owns the process: stop() ends it.
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, env=env,
            cwd=workdir)
    deadline = time.monotonic() + timeout
    while True:
        if os.path.exists(info_path):
            with open(info_path, encoding="utf-8") as handle:
                info = json.load(handle)
            return EmulatorHandle(info, workdir, process=process, log_path=log_path,
                                  owned_workdir=owned)
        if process.poll() is not None or time.monotonic() > deadline:
            reason = ("exited with status %s" % process.returncode
                      if process.poll() is not None else f"not ready after {timeout} s")
            if process.poll() is None:
                process.kill()
                process.wait()
            raise EmulatorError(f"the emulator {reason}; its log:\n{_tail(log_path)}")
        time.sleep(0.02)


def _tail(path, limit=4000):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()[-limit:]
    except OSError:
        return "(no log)"
