"""Build and run an emulator: load fixtures, make TLS files, serve, publish ``emulator.json``.

Used by ``python -m emulator serve`` (foreground process) and by
:func:`emulator.client.start_emulator` with ``in_process=True`` (a thread in the caller).
"""

import datetime
import json
import os
import signal
import tempfile
import threading

from . import certs
from .server import EmulatorServer
from .store import ResourceStore, parse_time

INFO_FILE = "emulator.json"


def build_server(fixtures, workdir, page_size=100, port=0, rebase_to=None,
                 reference_time=None, verbose=False):
    """Load ``fixtures`` and return a bound (not yet serving) :class:`EmulatorServer`.

    ``rebase_to``: ``None`` (serve timestamps as written), ``"now"``, or an ISO 8601 time;
    the fixtures' reference time (``reference_time`` argument, else ``referenceTime`` in
    ``_emulator.json``) is moved there and every timestamp with it.
    """
    store = ResourceStore.from_directory(fixtures)
    if reference_time:
        store.reference_time = parse_time(reference_time) if isinstance(
            reference_time, str) else reference_time
    if rebase_to:
        target = (datetime.datetime.now(datetime.timezone.utc) if rebase_to == "now"
                  else parse_time(rebase_to))
        store.rebase(target)
    os.makedirs(workdir, exist_ok=True)
    tls = certs.write_tls_files(workdir)
    server = EmulatorServer(store, tls, page_size=page_size, port=port, verbose=verbose)
    server.workdir = os.path.abspath(workdir)
    from .imds import create_imds_server  # its test PKI costs a few key generations
    server.attach_imds(*create_imds_server(os.path.join(server.workdir, "imds")))
    return server


def publish_info(server, workdir):
    """Write ``WORKDIR/emulator.json`` atomically; return the info dict."""
    info = server.info()
    path = os.path.join(workdir, INFO_FILE)
    fd, temporary = tempfile.mkstemp(dir=workdir, prefix=".emulator-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(info, handle, indent=2)
    os.replace(temporary, path)
    return info


def withdraw_info(workdir):
    try:
        os.remove(os.path.join(workdir, INFO_FILE))
    except FileNotFoundError:
        pass


def serve_forever(fixtures, workdir=None, page_size=100, port=0, rebase_to=None,
                  reference_time=None, verbose=False):
    """Run in the foreground until SIGTERM or SIGINT; print the info JSON as one line."""
    workdir = os.path.abspath(workdir or tempfile.mkdtemp(prefix="azure-local-emulator-"))
    server = build_server(fixtures, workdir, page_size=page_size, port=port,
                          rebase_to=rebase_to, reference_time=reference_time, verbose=verbose)
    stop = threading.Event()

    def on_signal(signum, frame):  # pylint: disable=unused-argument
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start_background()
    try:
        info = publish_info(server, workdir)
        print(json.dumps(info), flush=True)
        while not stop.wait(3600):
            pass
    finally:
        withdraw_info(workdir)
        server.stop()
    return 0
