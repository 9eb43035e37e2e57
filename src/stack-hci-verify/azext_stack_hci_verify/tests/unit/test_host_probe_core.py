# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Reading what the host probes print (core.hostprobe): PowerShell output of both dialects in,
a host-facts document out. Pure: no PowerShell, no clock."""

import ast
import inspect
import json
from collections import namedtuple
from datetime import datetime, timezone

import pytest

from azext_stack_hci_verify.core import hostprobe
from azext_stack_hci_verify.core.hostprobe import (
    COMPLETED, NOT_STARTED, TIMED_OUT, ProbeOutputError, ProbeRun, build_host_facts, guest_os_from_kvp, interpret,
    parse_attestation, parse_kvp_items, parse_powershell_json, probe_summary)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)

# What interpret reads of a probe and of the runner's result.
Probe = namedtuple("Probe", "name description")
Result = namedtuple("Result", "status returncode stdout stderr duration_ms error", defaults=(None,))
GET_VM = Probe(hostprobe.VMS, "Get-VM (name, id, generation, state)")


def test_imports_nothing_outside_core():
    tree = ast.parse(inspect.getsource(hostprobe))
    relative = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level]
    assert all(node.level == 1 for node in relative)
    absolute = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    absolute += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and not node.level]
    assert not [name for name in absolute if name.split(".")[0] in ("azure", "knack", "requests", "subprocess")
                or "azext_stack_hci_verify" in name]


# ----------------------------------------------------------------------------- one probe's outcome

@pytest.mark.parametrize("result, code", [
    (Result(TIMED_OUT, None, "", "", 2000, "did not finish within 2 s"), "timeout"),
    (Result(NOT_STARTED, None, "", "", 1, "PowerShell could not be started"), "powershell-not-started"),
    (Result(COMPLETED, 1, "", "The term 'Get-VM' is not recognized as a name of a cmdlet", 5),
     "cmdlet-not-available"),
    (Result(COMPLETED, 1, "", "Get-VM : You do not have the required permission to complete this task.", 5),
     "access-denied"),
    (Result(COMPLETED, 1, "", "Access is denied.", 5), "access-denied"),
    (Result(COMPLETED, 1, "", "Get-VM: Hyper-V encountered an error.", 5), "probe-failed"),
    (Result(COMPLETED, 255, "", "", 5), "probe-failed"),
    (Result(COMPLETED, 0, "WARNING: something\n{", "", 5), "unreadable-output"),
    (Result(COMPLETED, 0, "[1, 2]", "", 5), "unreadable-output"),
    (Result(COMPLETED, 0, "#< CLIXML\n<Objs/>", "", 5), "unreadable-output"),
])
def test_interpret_failures(result, code):
    run = interpret(GET_VM, result)
    assert (run.status, run.reason_code) == ("Unknown", code)
    assert run.reason and "\n" not in run.reason


def test_interpret_reasons():
    run = interpret(GET_VM, Result(TIMED_OUT, None, "", "", 2000, "did not finish within 2 s"))
    assert run.reason == "Get-VM (name, id, generation, state) did not finish within 2 s."
    run = interpret(GET_VM, Result(COMPLETED, 1, "", "The term 'Get-VM' is not recognized\r\n at line 1", 5))
    assert "Get-VM is not available on this computer" in run.reason
    run = interpret(GET_VM, Result(COMPLETED, 255, "", "", 5))
    assert run.reason == "Get-VM (name, id, generation, state) failed (exit code 255): no error text"
    run = interpret(GET_VM, Result(COMPLETED, 0, '{"Name":"a"}', "", 7))
    assert run.ok and run.rows == ({"Name": "a"},) and run.to_dict() == {
        "probe": "get-vm", "status": "Succeeded", "reasonCode": None, "reason": None, "durationMs": 7}


# ----------------------------------------------------------------------------- parsing

@pytest.mark.parametrize("text, expected", [
    ("", []), ("   \r\n", []), ("null", []), ("\ufeffnull\r\n", []),
    ('{"Name":"a"}', [{"Name": "a"}]),
    ('[{"Name":"a"},{"Name":"b"}]', [{"Name": "a"}, {"Name": "b"}]),
    ('\ufeff[\r\n    {\r\n        "Name":  "a"\r\n    }\r\n]\r\n', [{"Name": "a"}]),
    ('{"value":[{"Name":"a"}],"Count":1}', [{"Name": "a"}]),
    ('[null, {"Name":"a"}]', [{"Name": "a"}]),
])
def test_parse_powershell_json(text, expected):
    assert parse_powershell_json(text) == expected


@pytest.mark.parametrize("text", ["{", "1", '"text"', "[1]", "WARNING: x"])
def test_parse_powershell_json_rejects(text):
    with pytest.raises(ProbeOutputError):
        parse_powershell_json(text)


def test_attestation_dialects():
    windows_powershell = json.loads(
        '[{"ComputerName":"N1","Status":1,"Expiration":"\\/Date(1797927342000)\\/","LegacyOsSupport":1},'
        '{"ComputerName":"N2","Status":2,"Expiration":{"value":"\\/Date(1797927342000)\\/","DisplayHint":2},'
        '"LegacyOsSupport":0},'
        '{"ComputerName":"N3","Status":7,"Expiration":null,"LegacyOsSupport":"Enabled"},'
        '{"ComputerName":null,"Status":1}]')
    assert parse_attestation(windows_powershell) == [
        {"computerName": "N1", "status": "Active", "expiration": "2026-12-22T08:15:42Z", "legacyOsSupport": "Enabled"},
        {"computerName": "N2", "status": "Expired", "expiration": "2026-12-22T08:15:42Z",
         "legacyOsSupport": "Disabled"},
        {"computerName": "N3", "status": "7", "expiration": None, "legacyOsSupport": "Enabled"},
    ]
    powershell7 = [{"computerName": "N1", "status": "error", "expiration": "2026-12-22T09:15:42.1234567+01:00",
                    "legacyOsSupport": "Disabled"}]
    assert parse_attestation(powershell7) == [{"computerName": "N1", "status": "Error",
                                               "expiration": "2026-12-22T08:15:42Z", "legacyOsSupport": "Disabled"}]


def _item(name, data):
    return ('<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem"><PROPERTY NAME="Data" TYPE="string"><VALUE>{}</VALUE>'
            '</PROPERTY><PROPERTY NAME="Name" TYPE="string"><VALUE>{}</VALUE></PROPERTY>'
            '<PROPERTY NAME="Source" TYPE="uint16"><VALUE>2</VALUE></PROPERTY></INSTANCE>').format(data, name)


def test_parse_kvp_items():
    items = [
        _item("OSName", "Windows Server 2022 Datacenter: Azure Edition"),
        _item("OSVersion", "10.0.20348"),
        _item("FullyQualifiedDomainName", "a &amp; b &lt;c&gt;"),
        '<!DOCTYPE x [<!ENTITY a "aaaa">]>' + _item("OSName", "&a;"),   # entity declarations: skipped
        "<INSTANCE><PROPERTY NAME=",                                     # not well-formed: skipped
        _item("Empty", ""),
        None, 5,
        "<x>" * 70000,                                                   # oversized: skipped
    ]
    assert parse_kvp_items(items) == {"OSName": "Windows Server 2022 Datacenter: Azure Edition",
                                      "OSVersion": "10.0.20348", "FullyQualifiedDomainName": "a & b <c>",
                                      "Empty": None}
    assert parse_kvp_items(_item("OSName", "x")) == {"OSName": "x"}
    assert parse_kvp_items(None) == {} and parse_kvp_items({}) == {}


def test_guest_os_from_kvp():
    assert guest_os_from_kvp({}) is None
    assert guest_os_from_kvp({"OSName": "Ubuntu", "OSVersion": "5.15.0-1051-azure"})["name"] == "Ubuntu"
    built = guest_os_from_kvp({"OSName": "Windows Server 2012 R2 Datacenter", "OSMajorVersion": "6",
                               "OSMinorVersion": "3", "OSBuildNumber": "9600"})
    assert built["version"] == "6.3.9600"


def test_build_host_facts_without_get_vm_uses_the_other_probes():
    def ok(name, rows):
        return name, ProbeRun(name, "Succeeded", tuple(rows))

    failed = ProbeRun("get-vm", "Unknown", (), "timeout", "Get-VM did not finish within 60 s.")
    runs = [
        ("get-vm", failed),
        ok(hostprobe.INTEGRATION_SERVICES, [
            {"VMName": "a", "VMId": "ID-1", "Name": "Gastdienstschnittstelle",
             "Id": "Microsoft:ID-1\\6C09BB55-D683-4DA0-8931-C9BF705F6480", "Enabled": True},
            {"VMName": "a", "VMId": "ID-1", "Name": "Austausch von Schlüssel-Wert-Paaren",
             "Id": "Microsoft:ID-1\\2A34B1C2-FD73-4043-8A5B-DD2159BC743F", "Enabled": False}]),
        ok(hostprobe.NETWORK_ADAPTERS, []),
        ok(hostprobe.GUEST_KVP, [{"VMName": "b", "VMId": "id-2", "Items": [_item("OSName", "Ubuntu")]}]),
    ]
    document = build_host_facts(runs, NOW)
    assert [(entry["name"], entry["vmId"], entry["guestServiceInterface"], entry["dataExchange"],
             entry["legacyNetworking"], (entry["guestOs"] or {}).get("name")) for entry in document["vms"]] == [
        ("a", "id-1", True, False, False, None), ("b", "id-2", None, None, False, "Ubuntu")]
    assert document["probeStatus"] == "Partial"


# ----------------------------------------------------------------------------- the document

def _run(name, status="Succeeded", code=None, reason=None, rows=()):
    return ProbeRun(name, status, tuple(rows), code, reason)


def test_probe_summary():
    every = [_run(name) for name in hostprobe.PROBE_NAMES]
    assert probe_summary(every) == {"probeStatus": "Succeeded", "reasonCode": None, "reason": "Every probe reported."}
    partial = every[:3] + [_run("get-vm", "Unknown", "timeout", "x")]
    assert probe_summary(partial) == {
        "probeStatus": "Partial", "reasonCode": "some-probes-unknown",
        "reason": "1 of 4 probes could not report (get-vm); their facts are null."}
    same = [_run(name, "Unknown", "access-denied", "x") for name in hostprobe.PROBE_NAMES]
    assert probe_summary(same)["reasonCode"] == "access-denied"
    assert probe_summary(same)["reason"] == "No probe could report; see `probes` for each reason."
    mixed = [_run("get-vm", "Unknown", "timeout", "x"), _run("get-vmkvp", "Unknown", "access-denied", "y")]
    assert probe_summary(mixed)["reasonCode"] == "no-probe-reported"
    assert probe_summary([])["reasonCode"] == "no-probe-reported"
    no_host = [_run(name, "Unknown", "no-hyperv-host", "No host here.") for name in hostprobe.PROBE_NAMES]
    assert probe_summary(no_host) == {"probeStatus": "Unknown", "reasonCode": "no-hyperv-host",
                                      "reason": "No host here."}


def test_build_host_facts_from_rows():
    runs = [
        _run(hostprobe.HOST_INFO, rows=[{"ComputerName": "N1", "PSVersion": "7.4.6", "PSEdition": "Core"}]),
        _run(hostprobe.AZURESTACKHCI, rows=[{"ClusterName": "c1", "RegistrationStatus": "Registered",
                                             "ImdsAttestation": "Enabled",
                                             "LastConnected": "/Date(1797927342000)/"}]),
        _run(hostprobe.ATTESTATION, rows=[]),
        _run(hostprobe.SWITCH, rows=[{"Name": "AZSHCI_HOST-IMDS_DO_NOT_MODIFY"}]),
        _run(hostprobe.VMS, rows=[{"Name": "a", "Id": "ID-1", "Generation": 2, "State": 2, "ComputerName": "N1"},
                                  {"Name": "a-again", "Id": "id-1"}, {"Name": None, "Id": None}]),
        _run(hostprobe.NETWORK_ADAPTERS, rows=[{"VMName": "A", "VMId": None}]),
    ]
    document = build_host_facts([(run.probe, run) for run in runs], NOW, vm_names=["a"])
    assert list(document) == ["schemaVersion", "collectedAt", "computerName", "cluster", "attestation",
                              "hostImdsSwitchPresent", "vms", "vmNames", "powerShell", "hostPrerequisites",
                              "probeStatus", "reasonCode", "reason", "probes"]
    assert document["collectedAt"] == "2026-11-22T12:00:00Z" and document["computerName"] == "N1"
    assert document["cluster"]["name"] == "c1" and document["cluster"]["lastConnected"] == "2026-12-22T08:15:42Z"
    assert document["attestation"] == [] and document["hostImdsSwitchPresent"] is True
    assert document["vms"] == [{"name": "a", "vmId": "id-1", "generation": 2, "state": "Running",
                                "guestServiceInterface": None, "dataExchange": None, "legacyNetworking": True,
                                "guestOs": None, "computerName": "N1"}]
    assert document["powerShell"] == {"version": "7.4.6", "edition": "Core"}
    assert [probe["probe"] for probe in document["probes"]] == [
        "host-info", "get-azurestackhci", "get-azurestackhciattestation", "get-vm", "get-vmnetworkadapter",
        "get-vmswitch"]
    assert document["probeStatus"] == "Succeeded"


def test_build_host_facts_when_nothing_reported():
    runs = [(name, _run(name, "Unknown", "timeout", "late")) for name in hostprobe.PROBE_NAMES]
    document = build_host_facts(runs, NOW)
    assert [document[key] for key in ("computerName", "cluster", "attestation", "hostImdsSwitchPresent", "vms",
                                      "powerShell")] == [None] * 6
    assert "vmNames" not in document and document["reasonCode"] == "timeout"
    assert json.loads(json.dumps(document)) == document
