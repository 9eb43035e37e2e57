"""Point a real, unpatched ``az`` at a running emulator.

    from emulator.client import start_emulator
    from emulator import azenv

    with start_emulator(fixtures) as emu:
        env = azenv.prepare_az_home(emu, home_dir, az_path)      # cloud + login
        azenv.install_extension(az_path, env, "src/stack-hci-verify", ".cache")
        result = azenv.run_az(az_path, ["stack-hci", "vm-verification", "..."], env)

What it sets up (facts in shared/AZ-OFFLINE.md):

* a private ``AZURE_CONFIG_DIR`` and ``AZURE_EXTENSION_DIR`` under ``home_dir``;
* trust: ``REQUESTS_CA_BUNDLE`` = the emulator's CA (covers azure-core and MSAL);
* identity: ``IDENTITY_ENDPOINT``/``IDENTITY_HEADER`` (App Service managed identity; needed on
  every az call, MSAL asks for a token in each process);
* a custom cloud ``AzureLocalEmulator`` whose ARM endpoint is the emulator, written straight
  into ``clouds.config`` and ``config`` (what ``az cloud register`` + ``az cloud set`` write,
  without their 0.5 s);
* login: ``az login --identity`` (default) or, faster, the ``azureProfile.json`` that login
  would have written (``login="profile"``);
* quiet, offline defaults: no telemetry, no instance discovery, no dynamic extension install,
  no colour, no survey; ``NO_PROXY`` covers 127.0.0.1.

The port is part of the cloud: a restarted emulator needs ``prepare_az_home`` again.
"""

import configparser
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

CLOUD_NAME = "AzureLocalEmulator"
ARM_AUDIENCE = "https://management.core.windows.net/"

#: Variables removed from the inherited environment: they would point az elsewhere.
_INHERITED_TO_DROP = (
    "AZURE_CONFIG_DIR", "AZURE_EXTENSION_DIR", "AZURE_EXTENSION_DEV_SOURCES",
    "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT",
    "AZURE_CLOUD_NAME", "AZURE_CORE_CLOUD", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "AZURE_CLI_DISABLE_CONNECTION_VERIFICATION",
)

#: Set on every az call (shared/AZ-OFFLINE.md, "Environment for every call").
QUIET_DEFAULTS = {
    "AZURE_CORE_COLLECT_TELEMETRY": "false",
    "AZURE_CORE_INSTANCE_DISCOVERY": "false",
    "AZURE_EXTENSION_USE_DYNAMIC_INSTALL": "no",
    "AZURE_CORE_NO_COLOR": "true",
    "AZURE_CORE_SURVEY_MESSAGE": "false",
}


class AzSetupError(RuntimeError):
    """Setting up az (login, extension build or install) failed; the message has az's output."""


# -- environment ---------------------------------------------------------------------------


def az_environment(handle, home_dir, base_env=None):
    """The environment for az processes that talk to ``handle``'s emulator.

    ``base_env`` (default ``os.environ``) is copied; variables that would point az at another
    config, cloud, identity or trust store are dropped; ``STACK_HCI_VERIFY_*`` and everything
    else pass through unchanged. Creates ``home_dir/config`` and ``home_dir/extensions``.
    """
    env = {key: value for key, value in (os.environ if base_env is None else base_env).items()
           if key not in _INHERITED_TO_DROP}
    config_dir = os.path.join(os.path.abspath(home_dir), "config")
    extension_dir = os.path.join(os.path.abspath(home_dir), "extensions")
    os.makedirs(config_dir, exist_ok=True)
    os.makedirs(extension_dir, exist_ok=True)
    no_proxy = [item for item in (env.get("NO_PROXY") or env.get("no_proxy") or "").split(",")
                if item]
    for host in ("127.0.0.1", "localhost"):
        if host not in no_proxy:
            no_proxy.append(host)
    env.update(QUIET_DEFAULTS)
    env.update({
        "AZURE_CONFIG_DIR": config_dir,
        "AZURE_EXTENSION_DIR": extension_dir,
        "REQUESTS_CA_BUNDLE": handle.ca_bundle,
        "IDENTITY_ENDPOINT": handle.identity_endpoint,
        "IDENTITY_HEADER": handle.identity_header,
        "NO_PROXY": ",".join(no_proxy),
        "no_proxy": ",".join(no_proxy),
    })
    if handle.info.get("imdsUrl"):
        env.update(attestation_settings(handle.info))
    return env


def attestation_settings(info):
    """The extension's documented settings for the emulator: probe and attest talk to its
    attested-document endpoint, never the real 169.254.x.x; every AIA and OCSP address goes to its
    PKI (the mirror setting, the same server), which also serves the public Azure sample's issuer
    at its real path; the trust bundle is this environment's CA bundle plus the test root (so
    both the test PKI and real Azure documents verify); no intermediates are given: they are
    fetched from the AIA addresses the certificates name."""
    roots = [info["imdsTrustBundle"]]
    try:
        import certifi  # pylint: disable=import-outside-toplevel
        roots.insert(0, certifi.where())
    except ImportError:
        pass
    return {
        "STACK_HCI_VERIFY_HOST_IMDS_URL": info["imdsUrl"],
        "STACK_HCI_VERIFY_VM_IMDS_URL": info["imdsUrl"],
        "STACK_HCI_VERIFY_TRUST_BUNDLE": os.pathsep.join(roots),
        "STACK_HCI_VERIFY_PKI_MIRROR": info["imdsUrl"],
        "STACK_HCI_VERIFY_PKI_HOSTS": "default,127.0.0.1",
    }


def register_cloud(handle, config_dir, cloud_name=CLOUD_NAME):
    """Write ``clouds.config`` and select the cloud in ``config`` (as ``az cloud register``
    and ``az cloud set`` would)."""
    arm_url = handle.arm_url
    clouds = configparser.ConfigParser()
    clouds_path = os.path.join(config_dir, "clouds.config")
    clouds.read(clouds_path)
    clouds[cloud_name] = {
        "endpoint_active_directory": arm_url.rstrip("/"),
        "endpoint_active_directory_resource_id": ARM_AUDIENCE,
        "endpoint_resource_manager": arm_url,
    }
    if handle.subscriptions:
        clouds[cloud_name]["subscription"] = handle.subscriptions[0]
    with open(clouds_path, "w", encoding="utf-8") as output:
        clouds.write(output)
    config = configparser.ConfigParser()
    config_path = os.path.join(config_dir, "config")
    config.read(config_path)
    if not config.has_section("cloud"):
        config.add_section("cloud")
    config["cloud"]["name"] = cloud_name
    with open(config_path, "w", encoding="utf-8") as output:
        config.write(output)
    os.chmod(config_path, 0o600)


def write_profile(handle, config_dir, cloud_name=CLOUD_NAME):
    """Write the ``azureProfile.json`` that ``az login --identity`` writes (no az call).

    Subscriptions come from the emulator's info; their display names from ``GET
    /subscriptions`` on the emulator.
    """
    status, _, body = handle.request("GET", "/subscriptions?api-version=2022-12-01")
    names = {}
    if status == 200:
        names = {item["subscriptionId"]: item.get("displayName") for item in body["value"]}
    identity = {"name": "systemAssignedIdentity", "type": "servicePrincipal",
                "assignedIdentityInfo": "MSI"}
    profile = {"subscriptions": [{
        "id": sub, "name": names.get(sub) or sub, "state": "Enabled", "user": identity,
        "isDefault": index == 0, "tenantId": handle.tenant_id, "environmentName": cloud_name,
        "homeTenantId": handle.tenant_id, "managedByTenants": [],
    } for index, sub in enumerate(handle.subscriptions)]}
    with open(os.path.join(config_dir, "azureProfile.json"), "w", encoding="utf-8-sig") as out:
        json.dump(profile, out)


def login_identity(az_path, env, no_subscriptions=False):
    """Run ``az login --identity``; raise :class:`AzSetupError` with az's output on failure.
    ``no_subscriptions``: the fixtures have none (login then needs --allow-no-subscriptions)."""
    command = [az_path, "login", "--identity", "-o", "none"]
    if no_subscriptions:
        command.append("--allow-no-subscriptions")  # a tenant-level login, for commands without ARM
    result = subprocess.run(command, env=env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise AzSetupError(f"az login --identity failed ({result.returncode}):\n"
                           f"{result.stdout}{result.stderr}")


def prepare_az_home(handle, home_dir, az_path="az", *, login="identity", base_env=None,
                    cloud_name=CLOUD_NAME):
    """Make ``home_dir`` an az home for the emulator and return the env dict for az calls.

    ``login``: ``"identity"`` runs ``az login --identity`` (the real flow, about 0.5 s),
    ``"profile"`` writes ``azureProfile.json`` directly, ``None`` leaves az logged out.
    """
    env = az_environment(handle, home_dir, base_env=base_env)
    register_cloud(handle, env["AZURE_CONFIG_DIR"], cloud_name)
    if login == "identity":
        login_identity(az_path, env, no_subscriptions=not handle.subscriptions)
    elif login == "profile":
        write_profile(handle, env["AZURE_CONFIG_DIR"], cloud_name)
    elif login is not None:
        raise ValueError(f"login must be 'identity', 'profile' or None, not {login!r}")
    return env


def run_az(az_path, args, env, **kwargs):
    """``subprocess.run([az, *args])`` with ``env``; text output captured unless overridden."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    kwargs.setdefault("check", False)
    return subprocess.run([az_path, *args], env=env, **kwargs)  # pylint: disable=subprocess-run-check


def find_az(repo_root=None):
    """``$AZ_EMULATED_AZ``, else ``<repo>/.venv/bin/az``, else ``az`` on PATH (or None)."""
    configured = os.environ.get("AZ_EMULATED_AZ")
    if configured:
        return configured
    if repo_root:
        candidate = os.path.join(repo_root, ".venv", "bin", "az")
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("az")


# -- installing the extension under test ------------------------------------------------------

#: Installed extension trees kept in the cache (one per source-tree hash, ~15 MB each).
CACHE_ENTRIES_KEPT = 4

_SKIPPED_NAMES = {"__pycache__", "build", "dist", ".pytest_cache", ".hypothesis", ".mypy_cache"}


def _source_files(source_dir):
    for root, dirs, files in os.walk(source_dir):
        dirs[:] = sorted(d for d in dirs
                         if d not in _SKIPPED_NAMES and not d.endswith(".egg-info")
                         and not d.startswith("."))
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")) and not name.startswith("."):
                yield os.path.join(root, name)


def source_tree_hash(source_dir, extra=""):
    """SHA-256 (hex, 16 chars) over the relative paths and bytes of a source tree."""
    digest = hashlib.sha256(extra.encode())
    for path in _source_files(source_dir):
        digest.update(os.path.relpath(path, source_dir).replace(os.sep, "/").encode() + b"\0")
        with open(path, "rb") as handle:
            digest.update(handle.read())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _copy_source(source_dir, destination):
    for path in _source_files(source_dir):
        target = os.path.join(destination, os.path.relpath(path, source_dir))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(path, target)


def _has_setuptools(python):
    check = "import setuptools, wheel"
    return subprocess.run([python, "-c", check], capture_output=True, check=False).returncode == 0


def build_wheel(source_dir, out_dir, python=None):
    """Build a wheel of ``source_dir`` into ``out_dir`` without writing into ``source_dir``
    (the tree is copied first: setuptools leaves build/ and *.egg-info behind). Returns its path.
    """
    python = python or sys.executable
    with tempfile.TemporaryDirectory(prefix="az-emulated-src-") as scratch:
        copy = os.path.join(scratch, os.path.basename(os.path.abspath(source_dir)))
        _copy_source(source_dir, copy)
        command = [python, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
                   "-q", "-w", out_dir, copy]
        if _has_setuptools(python):
            command.insert(5, "--no-build-isolation")  # no download of build tools each time
        result = subprocess.run(
            command,
            capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
        if result.returncode != 0:
            raise AzSetupError(f"building the extension wheel failed:\n{result.stdout}"
                               f"{result.stderr}")
    wheels = sorted(name for name in os.listdir(out_dir) if name.endswith(".whl"))
    if len(wheels) != 1:
        raise AzSetupError(f"expected one wheel in {out_dir}, found {wheels}")
    return os.path.join(out_dir, wheels[0])


def _prune_cache(directory, keep):
    """Remove all but the ``keep`` most recently used entries (staging dirs start with '.')."""
    entries = [os.path.join(directory, name) for name in os.listdir(directory)
               if not name.startswith(".")]
    entries.sort(key=os.path.getmtime, reverse=True)
    for stale in entries[keep:]:
        shutil.rmtree(stale, ignore_errors=True)


def install_extension(az_path, env, source_dir, cache_dir, python=None):
    """Install the extension in ``source_dir`` into ``env["AZURE_EXTENSION_DIR"]``.

    The first time for a given source tree it builds a wheel and runs ``az extension add
    --source <wheel>`` into a staging extension dir, which is kept under
    ``cache_dir/extensions/<hash of the source tree, python and az>``; later calls only copy
    that directory (milliseconds). Returns the installed extension names, or ``None`` (with a
    warning on stderr) when ``source_dir`` has no ``setup.py`` yet.
    """
    source_dir = os.path.abspath(source_dir)
    if not os.path.isfile(os.path.join(source_dir, "setup.py")):
        print(f"az-emulated: warning: no extension source at {source_dir}; "
              "running az without it", file=sys.stderr)
        return None
    python = python or sys.executable
    az_real = os.path.realpath(az_path) if os.path.exists(az_path) else az_path
    key = source_tree_hash(source_dir, extra=f"{sys.version}|{python}|{az_real}")
    cached = os.path.join(os.path.abspath(cache_dir), "extensions", key)
    if not os.path.isdir(cached):
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{key}-", dir=os.path.dirname(cached))
        try:
            wheel_dir = os.path.join(staging, "wheel")
            os.makedirs(wheel_dir)
            wheel = build_wheel(source_dir, wheel_dir, python=python)
            extensions = os.path.join(staging, "extensions")
            os.makedirs(extensions)
            # az runs pip, and pip honours REQUESTS_CA_BUNDLE: with the emulator's CA there
            # it cannot reach the package index for the extension's dependencies.
            install_env = {key: value for key, value in env.items()
                           if key not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
            install_env["AZURE_EXTENSION_DIR"] = extensions
            result = run_az(az_path, ["extension", "add", "--source", wheel, "-y", "-o", "none"],
                            install_env)
            if result.returncode != 0:
                raise AzSetupError(f"az extension add failed ({result.returncode}):\n"
                                   f"{result.stdout}{result.stderr}")
            try:
                os.rename(extensions, cached)
            except OSError:
                if not os.path.isdir(cached):  # not a lost race with a parallel run
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    os.utime(cached)  # most recently used: kept by _prune_cache
    _prune_cache(os.path.dirname(cached), keep=CACHE_ENTRIES_KEPT)
    names = sorted(os.listdir(cached))
    for name in names:
        target = os.path.join(env["AZURE_EXTENSION_DIR"], name)
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.copytree(os.path.join(cached, name), target, symlinks=True)
    return names
