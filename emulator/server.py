"""The HTTPS server: TLS, the managed-identity token endpoint, auth, faults, the request log,
the control API, and the ARM routes of :mod:`emulator.arm`.

Request handling order (every request except the control API):

1. an injected fault that matches fires (delay, then error or normal answer);
2. ``/msi/token`` answers the App Service managed-identity protocol;
3. anything else needs ``Authorization: Bearer ...`` (401 otherwise) and goes to ARM.

Every ARM answer carries ``x-ms-request-id``, ``x-ms-correlation-request-id`` and
``Content-Type: application/json; charset=utf-8``.

Control API (no auth; loopback clients only; not logged, never faulted)::

    GET    /_emulator                 this emulator's info (the emulator.json document)
    GET    /_emulator/faults          active faults
    POST   /_emulator/faults          add a fault (see emulator/faults.py) -> the fault, with id
    DELETE /_emulator/faults          remove all faults
    GET    /_emulator/requests        request log: [{method, path, query, apiVersion, status,
                                      time, durationMs, fault, body}]
    DELETE /_emulator/requests        clear the request log
    POST   /_emulator/resources       add or replace resources: one ARM document or a list
    DELETE /_emulator/resources?id=   remove a resource and everything under it
    GET    /_emulator/graph           Resource Graph settings (arm.GRAPH_DEFAULTS)
    POST   /_emulator/graph           change them: forbidden subscriptions and management groups,
                                      types not indexed, truncated answers, management groups
    GET    /_emulator/hostile         hostile answers (emulator/hostile.py); POST sets, DELETE ends them
    GET    /_emulator/foreign         what the foreign listener ("another host") received; DELETE clears
"""

import base64
import collections
import ipaddress
import json
import os
import secrets
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import arm, faults as faults_module, hostile as hostile_module, runcommands as runcommands_module

TOKEN_PATH = "/msi/token"
# Microsoft Entra's client-credentials flow, as MSAL (and so azure-identity's ClientSecretCredential with
# authority_host set to the emulator and instance discovery off) asks for it: OpenID discovery, then the
# token endpoint. A client's secret is ENTRA_CLIENT_SECRET.
ENTRA_DISCOVERY_SUFFIX = "/v2.0/.well-known/openid-configuration"
ENTRA_TOKEN_SUFFIX = "/oauth2/v2.0/token"
ENTRA_CLIENT_SECRET = "emulator-client-secret"
CONTROL_PREFIX = "/_emulator"
REQUEST_LOG_LIMIT = 200_000
TOKEN_LIFETIME_SECONDS = 8 * 3600


def make_access_token(tenant_id, audience, now=None):
    """An unsigned JWT with the claims az reads (``tid``, ``oid``, ``appid``...).

    az decodes the payload without checking the signature, so the signature is filler.
    """
    now = int(now if now is not None else time.time())

    def part(value):
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    header = {"typ": "JWT", "alg": "RS256", "kid": "azure-local-emulator"}
    claims = {
        "aud": audience, "iss": f"https://sts.windows.net/{tenant_id}/",
        "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME_SECONDS,
        "aio": "emulator", "appid": arm.PRINCIPAL_APP_ID, "appidacr": "2",
        "idp": f"https://sts.windows.net/{tenant_id}/", "idtyp": "app",
        "oid": arm.PRINCIPAL_OBJECT_ID, "sub": arm.PRINCIPAL_OBJECT_ID,
        "tid": tenant_id, "ver": "1.0", "xms_tcdt": 1600000000,
    }
    signature = base64.urlsafe_b64encode(b"not-signed-azure-local-emulator").decode().rstrip("=")
    return f"{part(header)}.{part(claims)}.{signature}"


def _is_loopback(address):
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


class EmulatorServer(ThreadingHTTPServer):
    """ThreadingHTTPServer over TLS, bound to 127.0.0.1, serving one :class:`ResourceStore`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, store, tls_files, page_size=100, port=0, identity_header=None,
                 verbose=False):
        super().__init__(("127.0.0.1", port), _Handler)
        self.store = store
        self.identity_header = identity_header or secrets.token_urlsafe(24)
        self.verbose = verbose
        self.ca_bundle = tls_files.ca_cert
        self.faults = faults_module.FaultSet()
        self.workdir = None
        self._log = collections.deque(maxlen=REQUEST_LOG_LIMIT)
        self._log_lock = threading.Lock()
        self._thread = None
        self.imds_server = None
        self.imds_info = None
        self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ssl_context.load_cert_chain(tls_files.server_cert, tls_files.server_key)
        self.api = arm.ArmApi(store, self.base_url, page_size=page_size)
        self.hostile = hostile_module.Hostile(self.base_url)
        self.api.hostile = self.hostile
        self.runcommands = runcommands_module.RunCommands(getattr(store, "run_command", None))
        self.api.runcommands = self.runcommands
        self.foreign = hostile_module.ForeignListener(tls_files)
        self.hostile.foreign_url, self.hostile.foreign_http_url = self.foreign.urls

    # ---- addresses and info

    @property
    def port(self):
        return self.server_address[1]

    @property
    def base_url(self):
        return f"https://127.0.0.1:{self.port}"

    def info(self):
        """The document written to ``emulator.json`` and served at ``GET /_emulator``."""
        return {
            "armUrl": self.base_url + "/",
            "identityEndpoint": self.base_url + TOKEN_PATH,
            "identityHeader": self.identity_header,
            "caBundle": self.ca_bundle,
            "controlUrl": self.base_url + CONTROL_PREFIX,
            "imdsUrl": (self.imds_info or {}).get("imdsUrl"),
            "imdsTrustBundle": (self.imds_info or {}).get("trustBundle"),
            "imdsIntermediates": (self.imds_info or {}).get("intermediates"),
            "imdsAllowedSigner": (self.imds_info or {}).get("allowedSigner"),
            "foreignUrl": self.hostile.foreign_url,
            "foreignHttpUrl": self.hostile.foreign_http_url,
            "pid": os.getpid(),
            "tenantId": self.store.tenant_id,
            "subscriptions": [sub_id for sub_id, _ in self.store.subscriptions()],
            "pageSize": self.api.page_size,
            "referenceTime": (self.store.reference_time.strftime("%Y-%m-%dT%H:%M:%SZ")
                              if self.store.reference_time else None),
            "workdir": self.workdir,
        }

    # ---- TLS: accept in the main thread, handshake in the handler's thread

    def get_request(self):
        sock, address = self.socket.accept()
        wrapped = self.ssl_context.wrap_socket(sock, server_side=True,
                                               do_handshake_on_connect=False)
        return wrapped, address

    # ---- request log

    def record(self, entry):
        with self._log_lock:
            self._log.append(entry)

    def requests(self):
        with self._log_lock:
            return list(self._log)

    def clear_requests(self):
        with self._log_lock:
            self._log.clear()

    # ---- running in a thread (tests in the same process)

    def attach_imds(self, imds_server, imds_info):
        """Serve the attested-document endpoint (emulator/imds.py) alongside, on its own port."""
        self.imds_server = imds_server
        self.imds_info = imds_info

    def start_background(self):
        self._thread = threading.Thread(target=self.serve_forever, name="azure-local-emulator",
                                        daemon=True)
        self._thread.start()
        self.foreign.start()
        if self.imds_server is not None:
            threading.Thread(target=self.imds_server.serve_forever, name="imds-emulator",
                             daemon=True).start()
        return self

    def stop(self):
        self.foreign.stop()
        if self.imds_server is not None:
            self.imds_server.shutdown()
            self.imds_server.server_close()
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AzureLocalEmulator/1.0"
    timeout = 60  # idle keep-alive connections are closed after this

    # ---- plumbing

    def handle(self):
        try:
            self.connection.settimeout(10)
            self.connection.do_handshake()
            self.connection.settimeout(self.timeout)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        if self.server.verbose:
            sys.stderr.write("emulator: %s %s\n" % (self.address_string(), format % args))

    def do_GET(self):  # pylint: disable=invalid-name  # the name http.server dispatches to
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _send(self, status, body, headers=None, raw=None):
        payload = raw if raw is not None else (
            b"" if body is None else json.dumps(body).encode("utf-8"))
        headers = dict(headers or {})
        self.send_response(status)
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json; charset=utf-8"))
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        self.send_header("x-ms-correlation-request-id",
                         self.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4()))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # ---- dispatch

    def _dispatch(self):
        started = time.time()
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path) or "/"
        query = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
        raw = self._read_body()
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            self._control(path, query, raw)
            return
        entry = {"method": self.command, "path": path, "query": dict(query),
                 "apiVersion": arm.query_value(query, "api-version"), "status": None,
                 "time": started, "durationMs": None, "fault": None, "body": None}
        try:
            status, body, headers, payload = self._answer(path, query, raw, entry)
        except Exception:  # pylint: disable=broad-exception-caught  # answer, never hang up
            traceback.print_exc(file=sys.stderr)
            status, body, headers, payload = 500, {"error": {
                "code": "EmulatorError", "message": "The emulator failed; see its stderr."}}, \
                {}, None
        entry["status"] = status
        entry["durationMs"] = round((time.time() - started) * 1000, 3)
        self.server.record(entry)
        self._send(status, body, headers, raw=payload)

    def _answer(self, path, query, raw, entry):
        """Return ``(status, body, headers, raw_payload_or_None)``."""
        if path.endswith(ENTRA_DISCOVERY_SUFFIX) or path.endswith(ENTRA_TOKEN_SUFFIX):
            return self._entra(path, raw)
        try:
            entry["body"] = arm.parse_json_body(raw)
        except arm.ArmError as error:
            reply = error.reply()
            return reply.status, reply.body, reply.headers, None
        fault = self.server.faults.take(self.command, path)
        if fault is not None:
            entry["fault"] = fault["id"]
            if fault["delayMs"]:
                time.sleep(fault["delayMs"] / 1000.0)
            if fault["status"] is not None:
                return self._fault_reply(fault, path)
        if path == TOKEN_PATH:
            return self._token(query)
        authorization = self.headers.get("Authorization") or ""
        if not authorization.startswith("Bearer ") or not authorization[7:].strip():
            return 401, {"error": {
                "code": "AuthenticationFailed",
                "message": "Authentication failed. The 'Authorization' header is missing."}}, {
                "WWW-Authenticate": f'Bearer authorization_uri="https://login.microsoftonline.com/'
                                    f'{self.server.store.tenant_id}", error="invalid_token", '
                                    'error_description="The authentication failed because of '
                                    'missing \'Authorization\' header."'}, None
        redirect = self.server.hostile.redirect(path, self.path)
        if redirect is not None:
            return redirect[0], None, {"Location": redirect[1]}, b""
        reply = self.server.api.handle(self.command, path, query, entry["body"])
        return reply.status, reply.body, reply.headers, None

    def _fault_reply(self, fault, path):
        status = fault["status"]
        headers = {}
        if fault.get("contentType"):
            headers["Content-Type"] = fault["contentType"]
        if fault["retryAfter"] is not None:
            value = fault["retryAfter"]
            headers["Retry-After"] = value if isinstance(value, str) else \
                str(int(value)) if float(value).is_integer() else str(value)
        if fault["body"] is None:
            reply = arm.fault_error(status, self.command, path, fault["retryAfter"]).reply()
            return status, reply.body, headers, None
        if isinstance(fault["body"], str):
            return status, None, headers, fault["body"].encode("utf-8")
        return status, fault["body"], headers, None

    def _entra(self, path, raw):
        """Microsoft Entra's OpenID discovery and client-credentials token endpoint, for one tenant path."""
        base = "https://" + (self.headers.get("Host") or "127.0.0.1")
        if path.endswith(ENTRA_DISCOVERY_SUFFIX):
            tenant = path[:-len(ENTRA_DISCOVERY_SUFFIX)].strip("/")
            return 200, {
                "issuer": f"{base}/{tenant}/v2.0",
                "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/{tenant}{ENTRA_TOKEN_SUFFIX}",
                "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "token"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            }, {}, None
        form = dict(urllib.parse.parse_qsl((raw or b"").decode("utf-8", "replace")))
        if form.get("grant_type") != "client_credentials" or form.get("client_secret") != ENTRA_CLIENT_SECRET:
            return 401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret.",
                         "error_codes": [7000215]}, {}, None
        scope = (form.get("scope") or "").split()
        audience = next((item[:-len("/.default")] for item in scope if item.endswith("/.default")), None)
        if not audience:
            return 400, {"error": "invalid_scope", "error_description": "AADSTS70011: scope is required."}, {}, None
        now = int(time.time())
        return 200, {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECONDS,
                     "ext_expires_in": TOKEN_LIFETIME_SECONDS,
                     "access_token": make_access_token(self.server.store.tenant_id, audience, now)}, {}, None

    def _token(self, query):
        if self.headers.get("X-IDENTITY-HEADER") != self.server.identity_header:
            return 401, {"error": "invalid_request", "statusCode": 401,
                         "error_description": "X-IDENTITY-HEADER is missing or wrong.",
                         "message": "X-IDENTITY-HEADER is missing or wrong."}, {}, None
        resource = arm.query_value(query, "resource")
        if not resource:
            return 400, {"error": "invalid_request", "statusCode": 400,
                         "error_description": "The 'resource' query parameter is required.",
                         "message": "The 'resource' query parameter is required."}, {}, None
        now = int(time.time())
        return 200, {
            "access_token": make_access_token(self.server.store.tenant_id, resource, now),
            "expires_on": str(now + TOKEN_LIFETIME_SECONDS),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": arm.PRINCIPAL_APP_ID,
        }, {}, None

    # ---- control API

    def _control(self, path, query, raw):
        if not _is_loopback(self.client_address[0]):
            self._send(403, {"error": {"code": "Forbidden",
                                       "message": "The control API serves loopback only."}})
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(400, {"error": {"code": "InvalidJson", "message": "Body is not JSON."}})
            return
        route = (self.command, path.rstrip("/"))
        server = self.server
        try:
            if route == ("GET", CONTROL_PREFIX):
                self._send(200, server.info())
            elif route == ("GET", CONTROL_PREFIX + "/faults"):
                self._send(200, {"value": server.faults.list()})
            elif route == ("POST", CONTROL_PREFIX + "/faults"):
                self._send(201, server.faults.add(body).to_dict())
            elif route == ("DELETE", CONTROL_PREFIX + "/faults"):
                server.faults.clear()
                self._send(200, {"value": []})
            elif route == ("GET", CONTROL_PREFIX + "/requests"):
                self._send(200, {"value": server.requests()})
            elif route == ("DELETE", CONTROL_PREFIX + "/requests"):
                server.clear_requests()
                self._send(200, {"value": []})
            elif route == ("POST", CONTROL_PREFIX + "/resources"):
                documents = body if isinstance(body, list) else [body]
                stored = [server.store.put(doc, origin="<control>") for doc in documents]
                self._send(200, {"value": [getattr(r, "id", None) or r.get("id")
                                           for r in stored]})
            elif route == ("GET", CONTROL_PREFIX + "/hostile"):
                self._send(200, server.hostile.get())
            elif route == ("POST", CONTROL_PREFIX + "/hostile"):
                self._send(200, server.hostile.set(body))
            elif route == ("DELETE", CONTROL_PREFIX + "/hostile"):
                server.hostile.clear()
                self._send(200, {})
            elif route == ("GET", CONTROL_PREFIX + "/foreign"):
                self._send(200, {"value": server.foreign.requests()})
            elif route == ("DELETE", CONTROL_PREFIX + "/foreign"):
                server.foreign.clear()
                self._send(200, {"value": []})
            elif route == ("GET", CONTROL_PREFIX + "/runcommands"):
                self._send(200, server.runcommands.get_settings())
            elif route == ("POST", CONTROL_PREFIX + "/runcommands"):
                self._send(200, server.runcommands.set(body))
            elif route == ("GET", CONTROL_PREFIX + "/graph"):
                self._send(200, server.api.graph_settings())
            elif route == ("POST", CONTROL_PREFIX + "/graph"):
                self._send(200, server.api.set_graph(body))
            elif route == ("DELETE", CONTROL_PREFIX + "/resources"):
                resource_id = arm.query_value(query, "id")
                if not resource_id:
                    raise ValueError("DELETE /_emulator/resources needs ?id=<resource id>")
                self._send(200, {"removed": server.store.delete(resource_id)})
            else:
                self._send(404, {"error": {"code": "NotFound",
                                           "message": f"No control route {self.command} {path}"}})
        except ValueError as error:
            self._send(400, {"error": {"code": "BadRequest", "message": str(error)}})
