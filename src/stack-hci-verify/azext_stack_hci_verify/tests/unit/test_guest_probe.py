# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The guest probe (Linux on fake sysfs trees, Windows through the fake PowerShell), the guest-facts
document read back, and the Trusted launch host probes through the fake PowerShell."""

import json
import os
import sys
from datetime import datetime, timezone

import pytest
from hypothesis import given, strategies as st

from azext_stack_hci_verify.adapters import guest_probe, host_trusted_launch
from azext_stack_hci_verify.adapters.powershell import PowerShellRunner
from azext_stack_hci_verify.core import guestfacts
from azext_stack_hci_verify.core.guest_readings import GSI_CLASS_ID, KVP_CLASS_ID, SECURE_BOOT_VARIABLE
from azext_stack_hci_verify.core.trusted_launch import vm_facts_from_arm

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
FAKE = os.path.join(REPO_ROOT, "emulator", "fake_powershell")
NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)


def tree(root, secure_boot="on", tpm="2.0", vmbus=(KVP_CLASS_ID, GSI_CLASS_ID)):
    """A fake Linux root: efivars with the SecureBoot variable (on/off/no-efi/no-variable/no-efivars), a TPM
    (2.0/1.2/1.2-caps/none), VMBus devices (None: no bus)."""
    efi = root / "sys" / "firmware" / "efi"
    if secure_boot != "no-efi":
        efi.mkdir(parents=True)
    if secure_boot in ("on", "off", "no-variable", "short"):
        (efi / "efivars").mkdir()
    if secure_boot in ("on", "off"):
        value = b"\x01" if secure_boot == "on" else b"\x00"
        (efi / "efivars" / SECURE_BOOT_VARIABLE).write_bytes(b"\x06\x00\x00\x00" + value)
    if secure_boot == "short":
        (efi / "efivars" / SECURE_BOOT_VARIABLE).write_bytes(b"\x06\x00")
    tpm_class = root / "sys" / "class" / "tpm"
    tpm_class.mkdir(parents=True)
    if tpm != "none":
        (tpm_class / "tpm0").mkdir()
    if tpm in ("2.0", "1.2"):
        (tpm_class / "tpm0" / "tpm_version_major").write_text(tpm[0] + "\n")
    if tpm == "1.2-caps":
        (tpm_class / "tpm0" / "caps").write_text("Manufacturer: 0x0\n")
    if vmbus is not None:
        devices = root / "sys" / "bus" / "vmbus" / "devices"
        devices.mkdir(parents=True)
        for index, class_id in enumerate(vmbus):
            (devices / "dev{}".format(index)).mkdir()
            (devices / "dev{}".format(index) / "class_id").write_text("{" + class_id + "}\n")
    (root / "etc").mkdir()
    (root / "etc" / "os-release").write_text('NAME="Ubuntu"\nVERSION_ID="24.04"\nPRETTY_NAME="Ubuntu 24.04.1 LTS"\n')
    (root / "etc" / "hostname").write_text("lnx-tl-01\n")
    return str(root)


def probe(root):
    return guest_probe.collect_guest_facts(NOW, environ={guest_probe.GUEST_ROOT_SETTING: root}, platform="win32")


@pytest.mark.parametrize("state, expected", [("on", True), ("off", False), ("no-efi", False),
                                             ("no-variable", False), ("no-efivars", None), ("short", None)])
def test_linux_secure_boot(tmp_path, state, expected):
    document = probe(tree(tmp_path, secure_boot=state))
    assert document["secureBoot"] is expected
    assert document["os"] == {"family": "Linux", "name": "Ubuntu 24.04.1 LTS", "version": "24.04"}
    status = {probe_["probe"]: probe_["status"] for probe_ in document["probes"]}["secure-boot"]
    assert status == ("Unknown" if expected is None else "Succeeded")


@pytest.mark.parametrize("state, expected", [
    ("2.0", {"present": True, "ready": None, "version": "2.0"}),
    ("1.2", {"present": True, "ready": None, "version": "1.2"}),
    ("1.2-caps", {"present": True, "ready": None, "version": "1.2"}),
    ("tpm0-only", {"present": True, "ready": None, "version": None}),
    ("none", {"present": False, "ready": None, "version": None}),
])
def test_linux_tpm(tmp_path, state, expected):
    assert probe(tree(tmp_path, tpm=state))["tpm"] == expected


def test_linux_vmbus_devices_and_document_shape(tmp_path):
    document = probe(tree(tmp_path, vmbus=(KVP_CLASS_ID,)))
    assert document["hyperV"] == {"dataExchange": True, "guestServiceInterface": False}
    assert document["computerName"] == "lnx-tl-01" and document["probeStatus"] == "Succeeded"
    assert document["kind"] == "guestFacts" and document["collectedAt"] == "2026-11-22T12:00:00Z"
    bare = probe(tree(tmp_path / "other", vmbus=None))
    assert bare["hyperV"] is None and bare["probeStatus"] == "Partial"
    parsed = guestfacts.guest_facts_from_document(json.loads(json.dumps(document)), "x.json")
    assert parsed.secure_boot is True and parsed.tpm_version == "2.0" and parsed.os_family == "Linux"


def test_an_empty_root_tells_nothing_is_there_without_crashing(tmp_path):
    document = probe(str(tmp_path))
    assert document["secureBoot"] is False and document["tpm"]["present"] is False and document["hyperV"] is None


class FakeRunner(PowerShellRunner):
    def command_line(self, script):
        return [sys.executable] + super().command_line(script)


def runner(scenario):
    environ = dict(os.environ, FAKE_POWERSHELL_DATA=os.path.join(FAKE, "recordings", scenario))
    environ.pop("FAKE_POWERSHELL_RECORD", None)
    return FakeRunner(os.path.join(FAKE, "fake-powershell"), environ)


def test_windows_guest_through_the_fake_powershell():
    document = guest_probe.collect_windows(runner("guest-w11"), NOW, timeout=60)
    assert document["secureBoot"] is True and document["vbs"] == "Running"
    assert document["tpm"] == {"present": True, "ready": True, "version": "2.0"}
    assert document["smbiosUuid"] == "7c3e0001-51a2-4b8e-9d07-3f6a2c8e0001" and document["probeStatus"] == "Succeeded"
    assert guest_probe.collect_windows(runner("guest-w11-vbs-off"), NOW, timeout=60)["vbs"] == "Off"
    failing = guest_probe.collect_windows(runner("no-hyperv"), NOW, timeout=60)
    assert failing["probeStatus"] == "Unknown" and failing["secureBoot"] is None


def test_a_platform_with_neither_is_unknown():
    document = guest_probe.collect_guest_facts(NOW, environ={}, platform="darwin")
    assert document["probeStatus"] == "Unknown" and document["probes"][0]["reasonCode"] == "unsupported-platform"


# ----------------------------------------------------------------------------- reading it back

def test_guest_facts_errors_say_what_is_wrong():
    with pytest.raises(guestfacts.GuestFactsError, match="host-facts document"):
        guestfacts.parse_guest_facts(json.dumps({"schemaVersion": 1, "vms": []}), "n1.json")
    with pytest.raises(guestfacts.GuestFactsError, match="schemaVersion 2"):
        guestfacts.parse_guest_facts(json.dumps({"schemaVersion": 2, "kind": "guestFacts"}), "g.json")
    with pytest.raises(guestfacts.GuestFactsError, match="secureBoot"):
        guestfacts.parse_guest_facts(json.dumps({"schemaVersion": 1, "kind": "guestFacts", "secureBoot": "yes"}), "g")
    with pytest.raises(guestfacts.GuestFactsError, match="not valid JSON"):
        guestfacts.parse_guest_facts("{", "g")


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children,
                                                                                      max_size=3), max_leaves=10)


@given(st.dictionaries(st.sampled_from(["schemaVersion", "kind", "secureBoot", "tpm", "os", "vbs", "computerName",
                                        "smbiosUuid", "hyperV"]), JSON))
def test_any_document_is_read_or_refused_with_a_guest_facts_error(document):
    document = dict(document, kind="guestFacts", schemaVersion=1) if len(document) % 2 else document
    try:
        facts = guestfacts.guest_facts_from_document(document, "g.json")
    except guestfacts.GuestFactsError:
        return
    assert facts.secure_boot in (True, False, None)
    assert facts.vbs in (None, "Off", "EnabledNotRunning", "Running")


def test_guest_facts_match_by_smbios_uuid_then_computer_name():
    machine = {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/tl-w11-01",
               "name": "tl-w11-01", "properties": {"vmUuid": "7C3E0001-51A2-4B8E-9D07-3F6A2C8E0001"}}
    vm = vm_facts_from_arm(machine, {"properties": {}})
    by_uuid = guestfacts.GuestFacts("a", computer_name="other", smbios_uuid="7c3e0001-51a2-4b8e-9d07-3f6a2c8e0001")
    by_name = guestfacts.GuestFacts("b", computer_name="TL-W11-01.contoso.example")
    wrong = guestfacts.GuestFacts("c", computer_name="tl-w11-01", smbios_uuid="00000000-0000-0000-0000-000000000000")
    assert guestfacts.match_guest(vm, [by_name, by_uuid]) is by_uuid
    assert guestfacts.match_guest(vm, [by_name]) is by_name
    assert guestfacts.match_guest(vm, [wrong]) is None


# ----------------------------------------------------------------------------- host probes

@pytest.mark.parametrize("scenario", ["tl-n1", "tl-n2"])
def test_trusted_launch_host_probes_read_both_dialects(scenario):
    document = {"probeStatus": "Succeeded", "probes": []}
    host_trusted_launch.add_to_document(document, host_trusted_launch.collect(runner(scenario), timeout=60))
    section = document["trustedLaunch"]
    assert section["igvmAgent"] == {"present": True, "status": "Running", "startType": "Automatic"}
    assert section["liveMigration"] == {"enabled": True, "performanceOption": "TCPIP"}
    assert {rule["inboundSecurity"] for rule in section["ipsecRules"]} == {"Require"}
    location = section["vmConfigurationAcl"][0]
    assert {entry["sid"] for entry in location["access"]} == {"S-1-5-32-544", "S-1-5-18"}
    assert {entry["type"] for entry in location["access"]} == {"Allow"} and location["vms"]
    assert document["probeStatus"] == "Succeeded" and len(document["probes"]) == 4


def test_trusted_launch_host_probes_without_hyperv_or_host():
    document = {"probeStatus": "Succeeded", "probes": []}
    host_trusted_launch.add_to_document(document, host_trusted_launch.collect(runner("no-hyperv"), timeout=60))
    assert document["trustedLaunch"]["igvmAgent"] == {"present": False, "status": None, "startType": None}
    assert document["trustedLaunch"]["vmConfigurationAcl"] is None and document["probeStatus"] == "Partial"
    nothing = {"probeStatus": "Unknown", "probes": []}
    host_trusted_launch.add_to_document(nothing, host_trusted_launch.collect(None))
    assert nothing["probeStatus"] == "Unknown" and set(nothing["trustedLaunch"].values()) == {None}
