# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Run Command collection without a network: the bundle's output read (whole, cut at Run Command's
4,096-byte limit, changed), the same document the local probe builds, the machine read first, the
instance view's failures, the pacing of writes, and a run command deleted whatever happens."""

import base64
import gzip
import json
import os
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from azure.core.exceptions import HttpResponseError

from azext_stack_hci_verify.adapters import host_probe, runcommand as adapter
from azext_stack_hci_verify.adapters.powershell import encode_command
from azext_stack_hci_verify.core import hostprobe, runcommand as rc
from azext_stack_hci_verify.pipeline import collect as pipeline

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".."))
RECORDINGS = os.path.join(REPO, "emulator", "fake_powershell", "recordings")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
CLUSTER = "/subscriptions/s/resourceGroups/g/providers/Microsoft.AzureStackHCI/clusters/c"
MACHINE = "/subscriptions/s/resourceGroups/g/providers/Microsoft.HybridCompute/machines/NODE1"


def line(name, out, err="", code=0):
    data = base64.b64encode(gzip.compress(json.dumps({"out": out, "err": err}).encode("utf-8"))).decode("ascii")
    return f"SHV1|{name}|{code}|5|{len(data)}|{data}"


def bundle_text(scenario, names=None):
    """What the bundle prints for a recorded scenario: one line per probe, largest first, then the end."""
    names = names or [probe.name for probe in adapter.PROBES]
    lines = []
    for name in names:
        path = os.path.join(RECORDINGS, scenario, f"{name}.out")
        out = open(path, encoding="utf-8").read() if os.path.exists(path) else ""  # noqa: SIM115
        lines.append(line(name, out))
    lines.sort(key=len, reverse=True)
    return "\n".join(lines + [f"SHV1|end|{len(names)}"]) + "\n"


def local_document(scenario):
    """What the local probe builds from the same recordings."""
    runs = []
    for probe in host_probe.PROBES:
        path = os.path.join(RECORDINGS, scenario, f"{probe.name}.out")
        out = open(path, encoding="utf-8").read() if os.path.exists(path) else ""  # noqa: SIM115
        runs.append((probe.name, hostprobe.interpret(probe, rc.ProbeOutput(out, "", returncode=0))))
    return hostprobe.build_host_facts(runs, NOW)


def document_of(text):
    return rc.collected_document(rc.read_bundle_output(text), now=NOW, descriptions=adapter.probe_descriptions(),
                                 cluster_id=CLUSTER, machine_id=MACHINE, run_command_name="rc1")


@pytest.mark.parametrize("scenario", ["ps7", "ps51", "ps51-legacy-off"])
def test_a_whole_output_is_the_local_probes_document(scenario):
    collected = document_of(bundle_text(scenario))
    local = local_document(scenario)
    for key in ("computerName", "cluster", "attestation", "vms", "hostImdsSwitchPresent", "probeStatus"):
        if key == "cluster" and not local["cluster"].get("azureResourceUri"):
            local["cluster"]["azureResourceUri"] = CLUSTER
        assert collected[key] == local[key], key
    assert collected["source"] == "runCommand" and collected["collection"]["outputCut"] is False


def test_the_last_4096_bytes_keep_the_small_probes_and_lose_the_largest():
    text = bundle_text("ps7")
    assert len(text.encode()) > rc.OUTPUT_LIMIT_BYTES
    kept = text.encode()[-rc.OUTPUT_LIMIT_BYTES:].decode("utf-8", "replace")
    bundle = rc.read_bundle_output(kept)
    assert bundle.cut and "get-vmkvp" not in bundle.outputs
    assert {"host-info", "get-azurestackhci", "get-vm"} <= set(bundle.outputs)
    document = document_of(kept)
    kvp = next(probe for probe in document["probes"] if probe["probe"] == "get-vmkvp")
    assert kvp["reasonCode"] == rc.REASON_OUTPUT_TRUNCATED and "4,096" in kvp["reason"]
    assert all(vm["guestOs"] is None for vm in document["vms"])          # never read from a cut line


@pytest.mark.parametrize("change", [
    lambda text: text.replace("SHV1|end|12\n", ""),                     # cut at its end
    lambda text: text.replace("|0|5|", "|0|5|9", 1),                    # a length that does not match
    lambda text: text[:200] + "A" + text[201:],                         # a changed payload
])
def test_an_output_that_is_not_whole_is_cut(change):
    bundle = rc.read_bundle_output(change(bundle_text("ps7-expired")))
    assert bundle.cut


def test_no_output_is_every_probe_unknown():
    document = document_of("")
    assert document["probeStatus"] == "Unknown"
    assert {probe["reasonCode"] for probe in document["probes"]} == {rc.REASON_OUTPUT_TRUNCATED}


def test_the_bundle_runs_the_local_probes_own_scripts():
    script = adapter.bundle_script()
    assert script.startswith(adapter.BUNDLE_MARKER)
    for probe in adapter.PROBES:
        assert f"'{probe.name}={encode_command(probe.script)}'" in script
    only = adapter.bundle_script(names=("get-vmkvp",))
    assert "'get-vmkvp=" in only and "'get-vm=" not in only


def test_the_api_version_is_the_sdks():
    from azure.mgmt.hybridcompute.operations._operations import build_machine_run_commands_get_request
    request = build_machine_run_commands_get_request("g", "m", "r", "s")
    assert f"api-version={adapter.RUN_COMMANDS_API_VERSION}" in request.url


@pytest.mark.parametrize("properties, code", [
    ({"status": "Disconnected", "agentVersion": "1.58"}, rc.REASON_MACHINE_DISCONNECTED),
    ({"status": "Expired", "agentVersion": "1.58"}, rc.REASON_MACHINE_DISCONNECTED),
    ({"status": "Connected", "agentVersion": "1.32.1"}, rc.REASON_AGENT_TOO_OLD),
    ({"status": "Connected"}, rc.REASON_AGENT_TOO_OLD),
    ({"status": "Connected", "agentVersion": "1.33.0"}, None),
])
def test_the_machine_is_read_first(properties, code):
    problem = rc.machine_problem({"id": MACHINE, "properties": properties}, "NODE1")
    assert (problem.reason_code if problem else None) == code
    if problem:
        assert problem.action and problem.command


def test_a_failed_script_says_stderrs_first_lines():
    view = {"executionState": "Failed", "exitCode": 2, "error": "line one\n\nline two\nline three\nline four"}
    outcome, _ = rc.instance_view_outcome("NODE1", MACHINE, view)
    assert outcome.reason_code == rc.REASON_SCRIPT_FAILED
    assert "exit code 2: line one / line two / line three" in outcome.reason and "four" not in outcome.reason
    timed_out, _ = rc.instance_view_outcome("NODE1", MACHINE, {"executionState": "TimedOut"})
    assert timed_out.reason_code == rc.REASON_TIMEOUT


def test_writes_are_paced_per_subscription():
    clock, slept = [100.0], []
    pacer = pipeline.WritePacer(5.0, burst=2, clock=lambda: clock[0], sleep=slept.append)
    for _ in range(4):
        pacer.acquire("s1")
    pacer.acquire("s2")
    assert slept == pytest.approx([0.2, 0.4])             # the burst at once, then 5 a second
    clock[0] += 10.0
    pacer.acquire("s1")
    assert slept == pytest.approx([0.2, 0.4])             # the bucket refilled


class FakeClient:
    """Run Command on one machine: the create answers as `create` says; every call is recorded."""

    def __init__(self, create=None, output=None):
        self.calls = []
        self._create = create
        self._output = output

    def machine(self, machine_id):
        self.calls.append(("machine", machine_id))
        return {"id": machine_id, "location": "eastus", "properties": {"status": "Connected",
                                                                       "agentVersion": "1.58.1"}}

    def create(self, machine_id, name, **_):
        self.calls.append(("create", name))
        if self._create is not None:
            raise self._create
        view = {"executionState": "Succeeded", "exitCode": 0, "output": self._output}
        return adapter.Answer(201, {"properties": {"instanceView": view}}, {})

    def delete(self, machine_id, name):
        self.calls.append(("delete", name))


def forbidden():
    response = SimpleNamespace(status_code=403, reason="Forbidden", headers={}, text=lambda: "",
                               request=None, content_type="application/json")
    error = HttpResponseError(message="denied", response=response)
    error.status_code = 403
    return error


@pytest.mark.parametrize("client, status", [
    (FakeClient(output=bundle_text("ps7-expired")), rc.COLLECTED),
    (FakeClient(create=forbidden()), rc.FAILED),
])
def test_a_run_command_is_deleted_whatever_happens(monkeypatch, client, status):
    monkeypatch.setattr(adapter, "RunCommandClient", lambda _client: client)
    facts = SimpleNamespace(id=CLUSTER, name="c", subscription_id="s", resource_group="g",
                            nodes=(SimpleNamespace(name="NODE1", arc_resource_id=MACHINE),))
    conn = SimpleNamespace(resourcegraph=lambda: None)
    result = pipeline.collect(conn, [facts], now=NOW, settings=pipeline.CollectSettings(writes_per_second=0))
    outcome = result.outcomes[CLUSTER.lower()][0]
    assert outcome.status == status
    created = [name for kind, name in client.calls if kind == "create"]
    deleted = [name for kind, name in client.calls if kind == "delete"]
    assert created and created == deleted and outcome.deleted is True
    if status == rc.FAILED:
        assert outcome.reason_code == rc.REASON_FORBIDDEN and rc.ROLE_RUN_COMMAND in outcome.command
    else:
        # The host names the system it belongs to (hci-dev-01 in these recordings): that id binds the
        # document, not the cluster it was collected for, so a server of another system is never counted here.
        facts_of = result.host_facts()[0]
        assert facts_of.cluster_resource_id.lower().endswith("/clusters/hci-dev-01")
        assert facts_of.document["collection"]["clusterResourceId"] == CLUSTER


def test_the_api_and_the_command_collect_the_same(monkeypatch):
    from azext_stack_hci_verify import api, custom
    from .fake_connection import FakeConnection
    sample = os.path.join(REPO, "emulator", "fixtures", "sample-fleet")
    sub = "3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31"
    conn = FakeConnection(sample, subscription_id=sub)
    client = FakeClient(output=bundle_text("ps7-expired"))
    monkeypatch.setattr(adapter, "RunCommandClient", lambda _client: client)
    verifier = api.Verifier(object(), subscription_id=sub, now=lambda: NOW)
    verifier._conn = conn  # pylint: disable=protected-access
    monkeypatch.setattr(custom, "_connection", lambda cmd, scope: conn)
    monkeypatch.setattr(custom, "_now", lambda: NOW)
    monkeypatch.setattr(custom, "_current_subscription", lambda cmd: sub)
    cmd = SimpleNamespace(cli_ctx=None)

    def stable(rows):
        for row in rows:
            row.pop("runCommands")
            row.pop("durationMs")
            row["hostFacts"].pop("collection")
            for probe in row["hostFacts"]["probes"]:
                probe.pop("durationMs")
        return rows

    from_api = stable(verifier.collect("hci-prod-01", "rg-hci-prod-eastus", parallel=2))
    from_command = stable(custom.collect_host_facts(cmd, "hci-prod-01", "rg-hci-prod-eastus", parallel=2))
    assert from_api == from_command
    assert [row["server"] for row in from_api] == [f"AZL-PROD-01-N{n}" for n in range(1, 5)]
    assert {row["status"] for row in from_api} == {"Collected"}
