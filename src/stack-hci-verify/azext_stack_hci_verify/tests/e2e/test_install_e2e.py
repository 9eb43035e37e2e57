# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Install and update by name from a private extension index: the wheels and the index.json that
scripts/build writes, served over HTTPS on loopback, and the real az (`az config set
extension.index_url=...`, `az extension add --name`, `list-available`, `update`). Also what the
installed extension directory holds: nothing az already ships, within its size ceiling."""

import functools
import http.server
import importlib.util
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import threading
from importlib.metadata import version as installed_version

import pytest

from .conftest import EXTENSION_SOURCE, REPO_ROOT

OLD_VERSION = "0.1.9"
# The goal is 3 MiB (bench/run.py --only installed-size reports it); the extension measures 3.06 MiB, of which
# 1.0 MiB is asn1crypto and 1.6 MiB the bytecode pip compiles at install. The ceiling here catches what
# the goal is about (a second copy of something az ships puts megabytes there, 0.2.0 put 25 MB), with
# room for a release's growth; the benchmark says how far from the goal it is.
MAX_INSTALLED_BYTES = int(3.25 * 1024 * 1024)
# Packages az ships (or that come with them): a copy in the extension directory would only be shadowed.
SHIPPED_BY_AZ = ("azure", "msrest", "msrestazure", "requests", "urllib3", "certifi", "idna", "charset_normalizer",
                 "isodate", "typing_extensions", "cryptography", "cffi", "knack", "msal", "jwt", "six", "oauthlib",
                 "requests_oauthlib")


def _load_index_writer():
    spec = importlib.util.spec_from_file_location("extension_index",
                                                  os.path.join(REPO_ROOT, "scripts", "extension_index.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _current_version():
    with open(os.path.join(EXTENSION_SOURCE, "setup.py"), encoding="utf-8") as handle:
        return re.search(r"^VERSION = '([^']+)'", handle.read(), re.M).group(1)


def _old_source(directory):
    """A copy of the extension's source whose version is OLD_VERSION."""
    from emulator.azenv import _copy_source
    copy = os.path.join(directory, "stack-hci-verify")
    _copy_source(EXTENSION_SOURCE, copy)
    setup = os.path.join(copy, "setup.py")
    with open(setup, encoding="utf-8") as handle:
        text = re.sub(r"^VERSION = '[^']+'", f"VERSION = '{OLD_VERSION}'", handle.read(), flags=re.M)
    with open(setup, "w", encoding="utf-8") as handle:
        handle.write(text)
    return copy


def _local_wheels():
    """A folder with the wheels of the extension's dependencies, so that az's pip installs them with
    no index (fetched once into the repository's cache)."""
    folder = os.path.join(REPO_ROOT, ".cache", "wheels")
    wanted = f"asn1crypto=={installed_version('asn1crypto')}"
    present = os.listdir(folder) if os.path.isdir(folder) else []
    if not any(name.startswith("asn1crypto-") for name in present):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                        "-d", folder, wanted], check=True, capture_output=True)
    return folder


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


@pytest.fixture(scope="module")
def index_site(tmp_path_factory):
    """(base URL, CA bundle) of an HTTPS server on loopback that serves two wheels and their index."""
    from emulator.azenv import build_wheel
    from emulator.certs import write_tls_files
    work = tmp_path_factory.mktemp("index-site")
    site = os.path.join(str(work), "site")
    os.makedirs(site)
    old = build_wheel(_old_source(str(work / "old")), str(work / "old-wheel"))
    new = build_wheel(EXTENSION_SOURCE, str(work / "new-wheel"))
    wheels = [shutil.copy(path, site) for path in (old, new)]
    tls = write_tls_files(str(work / "tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.server_cert, tls.server_key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=site))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"https://127.0.0.1:{server.server_address[1]}/"
    _load_index_writer().write_index(wheels, base_url, os.path.join(site, "index.json"))
    bundle = os.path.join(str(work), "bundle.pem")
    import certifi
    with open(bundle, "w", encoding="utf-8") as handle:
        for path in (certifi.where(), tls.ca_cert):
            with open(path, encoding="utf-8") as part:
                handle.write(part.read() + "\n")
    yield base_url, bundle
    server.shutdown()


@pytest.fixture(scope="module")
def az_home(index_site, tmp_path_factory):
    from emulator import azenv
    az_path = azenv.find_az(REPO_ROOT)
    if not az_path:
        pytest.fail("az is not installed; run scripts/bootstrap")
    home = tmp_path_factory.mktemp("index-home")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AZURE_", "PIP_"))}
    env.update({"AZURE_CONFIG_DIR": str(home / "config"), "AZURE_EXTENSION_DIR": str(home / "extensions"),
                "REQUESTS_CA_BUNDLE": index_site[1], "AZURE_CORE_COLLECT_TELEMETRY": "false",
                "AZURE_CORE_NO_COLOR": "true", "AZURE_CORE_SURVEY_MESSAGE": "false",
                "AZURE_EXTENSION_USE_DYNAMIC_INSTALL": "no",
                "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": _local_wheels(), "PIP_DISABLE_PIP_VERSION_CHECK": "1"})

    def run(*args):
        result = azenv.run_az(az_path, list(args), env, timeout=300)
        assert result.returncode == 0, f"az {' '.join(args)}: {result.stderr}"
        return result.stdout
    return run, str(home / "extensions")


def _installed(run):
    return {item["name"]: item for item in json.loads(run("extension", "list", "-o", "json"))}


@pytest.mark.e2e
def test_install_by_name_from_a_private_index_then_update_by_name(index_site, az_home):
    run, _ = az_home
    run("config", "set", f"extension.index_url={index_site[0]}index.json")
    run("extension", "add", "--name", "stack-hci-verify", "--version", OLD_VERSION, "-y", "-o", "none")
    assert _installed(run)["stack-hci-verify"]["version"] == OLD_VERSION

    available = json.loads(run("extension", "list-available", "-o", "json"))
    ours = [item for item in available if item["name"] == "stack-hci-verify"]
    assert ours and ours[0]["installed"] == "True (upgrade available)"
    assert ours[0]["version"] == _current_version()

    run("extension", "update", "--name", "stack-hci-verify", "-o", "none")
    assert _installed(run)["stack-hci-verify"]["version"] == _current_version()
    assert "vm-verification" in run("stack-hci", "--help")


@pytest.mark.e2e
def test_the_installed_extension_holds_nothing_az_ships_and_stays_under_its_ceiling(index_site, az_home):
    run, extensions = az_home
    run("config", "set", f"extension.index_url={index_site[0]}index.json")
    if "stack-hci-verify" not in _installed(run):
        run("extension", "add", "--name", "stack-hci-verify", "-y", "-o", "none")
    folder = os.path.join(extensions, "stack-hci-verify")
    top = sorted(name for name in os.listdir(folder) if not name.endswith((".dist-info", ".whl")))
    assert top == ["asn1crypto", "azext_stack_hci_verify"]
    assert not [name for name in os.listdir(folder) if name.split("-")[0].lower() in SHIPPED_BY_AZ]
    size = sum(os.path.getsize(os.path.join(path, name)) for path, _, names in os.walk(folder) for name in names)
    assert size <= MAX_INSTALLED_BYTES, f"{size} bytes installed"
