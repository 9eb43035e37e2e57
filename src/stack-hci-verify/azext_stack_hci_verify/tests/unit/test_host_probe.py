# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The host probe: running the scripts on PowerShell of both dialects, a host-facts document out.

Reading the output is tested on its own in test_host_probe_core.py. Most tests here run the real
PowerShellRunner against the fake PowerShell in emulator/fake_powershell (a subprocess that replays
recorded output, started through /bin/sh). Without that directory they fail, never skip; on Windows
they are skipped, which fails the run (conftest.py): the suite runs on POSIX.
"""

import json
import os
import sys
from datetime import datetime, timezone

import pytest

from azext_stack_hci_verify.adapters import host_probe
from azext_stack_hci_verify.adapters.host_probe import PROBES, collect_host_facts
from azext_stack_hci_verify.adapters.powershell import (
    COMPLETED, NOT_STARTED, POWERSHELL_SETTING, PROBE_DATA_VARIABLE, TIMED_OUT, PowerShellResult, PowerShellRunner,
    encode_command, find_powershell)
from azext_stack_hci_verify.core import vocabulary as v
from azext_stack_hci_verify.core.hostprobe import PROBE_NAMES
from azext_stack_hci_verify.core.hostfacts import host_facts_from_document
from azext_stack_hci_verify.core.clusters import cluster_facts_from_arm, evaluate_cluster
from azext_stack_hci_verify.core.inventory import judge_vms

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
HOSTILE = "x'; Remove-VM *; '"


def _fake_directory():
    here = os.path.dirname(os.path.abspath(__file__))
    while True:
        candidate = os.path.join(here, "emulator", "fake_powershell")
        if os.path.isfile(os.path.join(candidate, "fake-powershell")):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


FAKE = _fake_directory()
needs_fake = pytest.mark.skipif(sys.platform == "win32", reason="the fake PowerShell runs through /bin/sh (POSIX)")


@pytest.fixture(name="fake")
def fake_fixture(tmp_path, monkeypatch):
    """A runner for the fake PowerShell; call it with a scenario name. Calls are recorded in `.record`."""
    assert FAKE is not None, "emulator/fake_powershell/fake-powershell is missing from this checkout"
    # A wrapper runs the fake with this interpreter, whatever python3 on PATH is.
    wrapper = tmp_path / "powershell"
    fake_path = os.path.join(FAKE, "fake-powershell")
    wrapper.write_text('#!/bin/sh\nexec "{}" "{}" "$@"\n'.format(sys.executable, fake_path))
    wrapper.chmod(0o755)
    record = tmp_path / "calls.jsonl"

    def runner(scenario):
        monkeypatch.setenv("FAKE_POWERSHELL_DATA", os.path.join(FAKE, "recordings", scenario))
        monkeypatch.setenv("FAKE_POWERSHELL_RECORD", str(record))
        monkeypatch.setenv(POWERSHELL_SETTING, str(wrapper))
        return find_powershell()

    runner.record = record
    return runner


def _calls(record):
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]


def _scenario(name):
    with open(os.path.join(FAKE, "recordings", name, "scenario.json"), encoding="utf-8") as handle:
        return json.load(handle)


def _verdicts(document):
    """{vm name: JudgedVm} for the VMs of a probed host, judged with the host facts alone (an ARM
    cluster that names the host's cluster and server and reports nothing else)."""
    facts = host_facts_from_document(json.loads(json.dumps(document)), "probe.json")
    cluster = cluster_facts_from_arm({      # the cluster the probe recorded (cluster.azureResourceUri) binds the file
        "id": facts.cluster_resource_id or
        "/subscriptions/s/resourceGroups/g/providers/Microsoft.AzureStackHCI/clusters/" + facts.cluster_name,
        "name": facts.cluster_name, "properties": {"status": "ConnectedRecently", "reportedProperties": {
            "nodes": [{"name": row.computer_name} for row in facts.attestation] or [facts.computer_name]}}})
    verdict = evaluate_cluster(cluster, [facts], NOW)
    return {judged.facts.name: judged for judged in judge_vms(verdict, [])}


@needs_fake
def test_kvp_off_and_stopped_vms(fake):
    verdicts = _verdicts(collect_host_facts(fake("ps7"), now=NOW))
    judged = verdicts["app-kvp-off"]
    assert judged.facts.data_exchange is False and judged.facts.guest_os_name is None
    assert judged.verdict.command == \
        "Enable-VMIntegrationService -VMName 'app-kvp-off' -Name \"Key-Value Pair Exchange\""
    judged = verdicts["avd-w11-01"]
    assert judged.verdict.minimum_build == "22631.3447 (KB5036893)"
    view = verdicts["ae-web-01"].view()
    assert view["osBuild"] == "20348" and "revision could not be read" in view["reason"]


# ----------------------------------------------------------------------------- injection

@needs_fake
def test_vm_names_travel_as_data(fake):
    runner = fake("hostile-names")
    scripts = []
    original = runner.run

    def spy(script, data=None, timeout=60.0):
        scripts.append(script)
        return original(script, data=data, timeout=timeout)

    runner.run = spy
    document = collect_host_facts(runner, now=NOW, vm_names=[HOSTILE])
    # The scripts are the constants, whatever the VM names.
    assert sorted(scripts) == sorted(probe.script for probe in PROBES)
    assert all(HOSTILE not in script and "Remove-VM" not in script for script in scripts)
    calls = _calls(fake.record)
    vm_calls = [call for call in calls if call["probe"] in ("get-vm", "get-vmintegrationservice",
                                                            "get-vmnetworkadapter", "get-vmkvp")]
    assert len(vm_calls) == 4
    for call in vm_calls:
        assert json.loads(call["data"]) == {"vmNames": [HOSTILE]}
        assert call["options"] == ["-NoLogo", "-NoProfile", "-NonInteractive", "-OutputFormat", "Text"]
    assert all(call["data"] is None for call in calls if call not in vm_calls)
    assert [entry["name"] for entry in document["vms"]] == [HOSTILE]
    assert document["vmNames"] == [HOSTILE]
    verdict = _verdicts(document)[HOSTILE].verdict
    assert verdict.command == "Enable-VMIntegrationService -VMName 'x''; Remove-VM `*; ''' -Name \"Guest Service " \
                              "Interface\""


def test_runner_passes_data_in_the_environment_only(tmp_path):
    """Without the fake: a stand-in executable that prints its environment variable and arguments."""
    if sys.platform == "win32":
        pytest.skip("POSIX shell script")
    echo = tmp_path / "echo-powershell"
    echo.write_text('#!/bin/sh\nprintf "%s" "${}"\n'.format(PROBE_DATA_VARIABLE))
    echo.chmod(0o755)
    runner = PowerShellRunner(str(echo), environ={PROBE_DATA_VARIABLE: "inherited, must not leak"})
    result = runner.run("# probe: x\nWrite-Output 1", data={"vmNames": [HOSTILE, "o\u2019brien"]}, timeout=10)
    assert result.status == COMPLETED and result.returncode == 0
    assert json.loads(result.stdout) == {"vmNames": [HOSTILE, "o\u2019brien"]}
    assert runner.run("# probe: x", timeout=10).stdout == ""
    command_line = runner.command_line("# probe: x\n'{}'".format(HOSTILE))
    assert command_line[-2] == "-EncodedCommand" and HOSTILE not in " ".join(command_line)


def test_encode_command():
    assert encode_command("Get-VM") == "RwBlAHQALQBWAE0A"


# ----------------------------------------------------------------------------- failures

@needs_fake
def test_one_probe_timing_out_leaves_the_others(fake):
    # How long the whole probe takes when one script hangs is measured by the benchmark, not here.
    document = collect_host_facts(fake("hang"), now=NOW, timeout=2)
    probes = {probe["probe"]: probe for probe in document["probes"]}
    assert probes["get-vmkvp"]["status"] == "Unknown" and probes["get-vmkvp"]["reasonCode"] == "timeout"
    assert "did not finish within 2 s" in probes["get-vmkvp"]["reason"]
    assert all(probe["status"] == "Succeeded" for name, probe in probes.items() if name != "get-vmkvp")
    assert document["probeStatus"] == "Partial" and "get-vmkvp" in document["reason"]
    assert len(document["vms"]) == 11
    assert all(entry["guestOs"] is None for entry in document["vms"])
    assert all(entry["guestServiceInterface"] is not None for entry in document["vms"])
    # Without the guest OS every VM is Unknown: the VM whose data exchange is off is told to turn it on,
    # the others (data exchange on, no OS reported) to collect the facts again.
    verdicts = _verdicts(document)
    assert {judged.verdict.benefit_status for judged in verdicts.values()} == {v.BENEFITS_UNKNOWN}
    assert verdicts["app-kvp-off"].verdict.action == v.ACTION_TURN_ON_DATA_EXCHANGE
    assert {judged.verdict.action for name, judged in verdicts.items() if name != "app-kvp-off"} == {
        v.ACTION_COLLECT_HOST_FACTS}


@needs_fake
def test_no_hyperv_module(fake):
    document = collect_host_facts(fake("no-hyperv"), now=NOW)
    probes = {probe["probe"]: probe for probe in document["probes"]}
    assert probes["host-info"]["status"] == "Succeeded"
    assert probes["get-vm"]["reasonCode"] == "cmdlet-not-available" and "Get-VM" in probes["get-vm"]["reason"]
    assert probes["get-azurestackhci"]["reasonCode"] == "cmdlet-not-available"
    assert document["vms"] is None and document["attestation"] is None and document["cluster"] is None
    assert document["hostImdsSwitchPresent"] is None
    assert document["computerName"] == "WORKSTATION7"
    host_facts_from_document(document, "x.json")


@needs_fake
def test_not_registered_null_and_empty_output(fake):
    document = collect_host_facts(fake("not-registered"), now=NOW)
    assert document["probeStatus"] == "Succeeded"
    assert document["cluster"]["registrationStatus"] == "NotYetRegistered"
    assert document["cluster"]["imdsAttestation"] is None and document["cluster"]["name"] is None
    assert document["attestation"] == [] and document["vms"] == [] and document["hostImdsSwitchPresent"] is False
    host_facts_from_document(document, "x.json")


def test_no_host_here():
    document = collect_host_facts(None, now=NOW)
    assert document["schemaVersion"] == 1 and document["computerName"] is None
    assert document["probeStatus"] == "Unknown" and document["reasonCode"] == "no-hyperv-host"
    assert "no Hyper-V host to probe" in document["reason"]
    assert all(probe["status"] == "Unknown" and probe["reasonCode"] == "no-hyperv-host"
               for probe in document["probes"])
    assert document["vms"] is None and document["cluster"] is None
    host_facts_from_document(document, "x.json")


def test_find_powershell(tmp_path):
    assert find_powershell(environ={}, platform="linux", which=lambda name: "/usr/bin/" + name) is None
    runner = find_powershell(environ={POWERSHELL_SETTING: " /opt/fake "}, platform="linux")
    assert runner.executable == "/opt/fake"
    found = find_powershell(environ={}, platform="win32",
                            which=lambda name: None if name == "pwsh" else "C:\\Windows\\" + name)
    assert found.executable == "C:\\Windows\\powershell.exe"
    assert find_powershell(environ={}, platform="win32", which=lambda name: None) is None


def test_powershell_that_cannot_start(tmp_path):
    runner = PowerShellRunner(str(tmp_path / "missing"))
    result = runner.run("# probe: get-vm", timeout=5)
    assert result.status == NOT_STARTED and "could not be started" in result.error
    document = collect_host_facts(runner, now=NOW)
    assert {probe["reasonCode"] for probe in document["probes"]} == {"powershell-not-started"}
    assert document["reasonCode"] == "powershell-not-started"


def test_runner_raising_is_an_unknown_probe():
    class Broken:
        def run(self, script, data=None, timeout=None):
            raise RuntimeError("boom")

    document = collect_host_facts(Broken(), now=NOW)
    assert {probe["reasonCode"] for probe in document["probes"]} == {"probe-failed"}
    assert "boom" in document["probes"][0]["reason"]


@pytest.mark.parametrize("result, code", [
    (PowerShellResult(TIMED_OUT, None, "", "", 2000, "did not finish within 2 s"), "timeout"),
    (PowerShellResult(NOT_STARTED, None, "", "", 1, "could not be started"), "powershell-not-started"),
    (PowerShellResult(COMPLETED, 1, "", "Access is denied.", 5), "access-denied"),
    (PowerShellResult(COMPLETED, 0, "[1, 2]", "", 5), "unreadable-output"),
])
def test_run_probe_reads_the_runner_result(result, code):
    class Canned:
        def run(self, script, data=None, timeout=None):
            return result

    run = host_probe.run_probe(Canned(), host_probe.PROBE_VMS)
    assert (run.probe, run.status, run.reason_code, run.duration_ms) == ("get-vm", "Unknown", code,
                                                                         result.duration_ms)


def test_scripts_are_fixed_and_marked():
    names = [probe.name for probe in PROBES]
    assert tuple(names) == PROBE_NAMES
    for probe in PROBES:
        assert probe.script.startswith("# probe: {}\n".format(probe.name))
        assert "$env:" + PROBE_DATA_VARIABLE in probe.script
        assert "ConvertTo-Json @jsonOptions" in probe.script
    assert "AZSHCI_GUEST-IMDS_DO_NOT_MODIFY" in host_probe.PROBE_NETWORK_ADAPTERS.script
    assert "AZSHCI_HOST-IMDS_DO_NOT_MODIFY" in host_probe.PROBE_SWITCH.script
