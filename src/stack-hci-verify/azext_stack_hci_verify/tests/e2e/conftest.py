# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""End to end: the real az, the extension installed from its built wheel, the emulator."""

import contextlib
import json
import os
import zlib
from datetime import datetime, timedelta, timezone

import pytest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
EXTENSION_SOURCE = os.path.join(REPO_ROOT, "src", "stack-hci-verify")
SUBSCRIPTION = "0b7c6b4e-1d7e-4d1b-9a44-3c1f0c7a0001"
OTHER_SUBSCRIPTION = "0b7c6b4e-1d7e-4d1b-9a44-3c1f0c7a0002"
PAGE_SIZE = 2


def cluster_id(group, name, subscription=SUBSCRIPTION):
    return ("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.AzureStackHCI/clusters/{}"
            .format(subscription, group, name))


def cluster_document(group, name, now, *, sync_age=timedelta(days=2), imds="Enabled",
                     capabilities=("ArcVmManagement", "LegacyOsSupport"), nodes=("NODE1", "NODE2"),
                     status="ConnectedRecently", registered=True, subscription=SUBSCRIPTION):
    properties = {"provisioningState": "Succeeded", "status": status,
                  "connectivityStatus": "Connected" if registered else "NotSpecified"}
    if registered:
        properties["lastSyncTimestamp"] = (now - sync_age).strftime("%Y-%m-%dT%H:%M:%S.1234567Z")
        properties["reportedProperties"] = {
            "clusterName": name, "imdsAttestation": imds, "supportedCapabilities": list(capabilities),
            "nodes": [{"name": node, "id": index + 1} for index, node in enumerate(nodes)]}
    return {"id": cluster_id(group, name, subscription), "name": name,
            "type": "Microsoft.AzureStackHCI/clusters", "location": "eastus", "properties": properties}


def write_fleet(directory, now):
    documents = [
        cluster_document("rg-e2e", "healthy", now),
        cluster_document("rg-e2e", "disabled", now, imds="Disabled"),
        cluster_document("rg-e2e", "stale", now, sync_age=timedelta(days=45)),
        cluster_document("rg-e2e", "unregistered", now, registered=False, status="NotYetRegistered"),
        cluster_document("rg-e2e", "future", now, imds="SomethingNew"),
        cluster_document("rg-other", "other-1", now, capabilities=("ArcVmManagement",)),
        cluster_document("rg-x", "elsewhere", now, subscription=OTHER_SUBSCRIPTION),
    ]
    for document in documents:
        group = document["id"].split("/")[4]
        path = os.path.join(directory, document["id"].split("/")[2], group, document["name"] + ".json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
    return documents


# The sample fleet's reference time: the emulator moves the fleet from it to now (rebase_to="now"),
# and `rebased` moves host-facts fixture files the same way.
FIXTURE_TIME = "2026-11-22T12:00:00+00:00"


def rebased(path, directory):
    """A copy of a host-facts fixture with its timestamps moved as the emulator moves the fleet's,
    so that the file is as fresh against now as it was against the fixtures' reference time."""
    from emulator.store import rebase_document
    seconds = round((datetime.now(timezone.utc) - datetime.fromisoformat(FIXTURE_TIME)).total_seconds())
    with open(path, encoding="utf-8") as handle:
        document = rebase_document(json.load(handle), seconds)
    target = os.path.join(str(directory), os.path.basename(path))
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    return target


def write_documents(directory, documents):
    """ARM documents as emulator fixtures, one file each."""
    for index, document in enumerate(documents):
        with open(os.path.join(str(directory), "{:03d}.json".format(index)), "w", encoding="utf-8") as handle:
            json.dump(document, handle)


def azure_local_vm(group, cluster, name, os_name, os_version, server="NODE1", vm_id=None):
    """An Azure Local VM of `cluster` in `group`: its Arc machine and its virtualMachineInstances/default."""
    machine_id = "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.HybridCompute/machines/{}".format(
        SUBSCRIPTION, group, name)
    machine = {"id": machine_id, "name": name, "type": "Microsoft.HybridCompute/machines", "kind": "HCI",
               "location": "eastus",
               "properties": {"osName": os_name, "osVersion": os_version, "osType": "windows",
                              "parentClusterResourceId": cluster_id(group, cluster)}}
    vm_id = vm_id or "00000000-0000-0000-0000-{:012d}".format(zlib.crc32(name.encode()))
    instance = {"id": machine_id + "/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default",
                "name": "default", "type": "Microsoft.AzureStackHCI/virtualMachineInstances",
                "properties": {"hyperVVmId": vm_id, "hostNodeName": server, "status": {"powerState": "Running"}}}
    return [machine, instance]


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def host_file(directory, name, now, *, cluster="c", computer="NODE1", age=timedelta(hours=1), imds="Enabled",
              rows=None, vms=()):
    """A host-facts file (schema 1) as `probe` writes it; `rows`: (server, status, expiration, legacy)."""
    rows = rows if rows is not None else [(computer, "Active", now + timedelta(days=25), "Enabled")]
    document = {
        "schemaVersion": 1, "collectedAt": stamp(now - age), "computerName": computer,
        "cluster": {"name": cluster, "registrationStatus": "Registered", "connectionStatus": "Connected",
                    "imdsAttestation": imds},
        "attestation": [{"computerName": server, "status": status, "expiration": stamp(expiration),
                         "legacyOsSupport": legacy} for server, status, expiration, legacy in rows],
        "hostImdsSwitchPresent": True,
        "vms": [dict({"generation": 2, "state": "Running", "dataExchange": True, "guestServiceInterface": True,
                      "legacyNetworking": True}, **vm) for vm in vms],
    }
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    return path


@contextlib.contextmanager
def emulated_az(tmp_path_factory, label, fixtures, login="identity", env=None, **emulator_options):
    """The emulator on `fixtures` and an AzRunner with the extension installed from the working tree
    in a private az home; `env`: extra environment for az."""
    from emulator import azenv
    from emulator.client import start_emulator
    handle = start_emulator(str(fixtures), str(tmp_path_factory.mktemp(label + "-emulator")), **emulator_options)
    try:
        az_path = azenv.find_az(REPO_ROOT)
        az_env = azenv.prepare_az_home(handle, str(tmp_path_factory.mktemp(label + "-home")), az_path, login=login)
        azenv.install_extension(az_path, az_env, EXTENSION_SOURCE, os.path.join(REPO_ROOT, ".cache"))
        az_env.update(env or {})
        yield AzRunner(az_path, az_env, handle)
    finally:
        handle.stop()


class AzRunner:
    """Runs `az ...` against the emulator and decodes JSON output."""

    def __init__(self, az_path, env, emulator):
        self.az_path = az_path
        self.env = env
        self.emulator = emulator

    def run(self, *args):
        from emulator import azenv
        return azenv.run_az(self.az_path, list(args), self.env, timeout=120)

    def json(self, *args):
        result = self.run(*args, "-o", "json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture(scope="session")
def now():
    return datetime.now(timezone.utc)


@pytest.fixture(scope="session")
def fleet_dir(tmp_path_factory, now):
    directory = tmp_path_factory.mktemp("fleet")
    write_fleet(str(directory), now)
    return str(directory)


@pytest.fixture(scope="session")
def emulator(fleet_dir, tmp_path_factory):
    from emulator.client import start_emulator
    handle = start_emulator(fleet_dir, str(tmp_path_factory.mktemp("emulator")), page_size=PAGE_SIZE)
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def az(emulator, tmp_path_factory):
    from emulator import azenv
    az_path = azenv.find_az(REPO_ROOT)
    if not az_path:
        pytest.fail("az is not installed; run scripts/bootstrap")
    env = azenv.prepare_az_home(emulator, str(tmp_path_factory.mktemp("azhome")), az_path)
    azenv.install_extension(az_path, env, EXTENSION_SOURCE, os.path.join(REPO_ROOT, ".cache"))
    return AzRunner(az_path, env, emulator)


@pytest.fixture(autouse=True)
def _clean_faults(request):
    if "az" in request.fixturenames or "emulator" in request.fixturenames:
        handle = request.getfixturevalue("emulator")
        handle.clear_faults()
        yield
        handle.clear_faults()
    else:
        yield
