# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Recordings of the Trusted launch host probes (adapters/host_trusted_launch.py) and of the guest
probe's Windows scripts, and the host-facts files of the sample fleet's Trusted launch cluster.

`python trusted_launch_recordings.py` (make_recordings.py runs it too) writes:
- `tl-igvmagent`, `tl-vm-state-acl`, `tl-ipsec`, `tl-live-migration` into every scenario of
  make_recordings.py, so that `probe` reports them everywhere;
- three scenarios of hci-tl-01's machines: `tl-n1` (PowerShell 7, everything in place), `tl-n2`
  (5.1, everything in place) and `tl-n2-degraded` (5.1: IgvmAgent stopped, a state location that
  Authenticated Users can read, no IPsec rule for live migration);
- `guest-w11` (a Windows 11 guest: secure boot on, TPM 2.0 ready, VBS running) and `guest-w11-vbs-off`;
- with `--host-facts`, emulator/fixtures/host-facts/AZL-TL-01-N1.json, AZL-TL-01-N2.json and
  AZL-TL-01-N2-degraded.json: the real probe code run against fake-powershell at the sample fleet's
  reference time.
"""

import json
import os
import sys
from datetime import datetime, timezone

import make_recordings as mr

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
HOST_FACTS = os.path.join(REPO, "emulator", "fixtures", "host-facts")
COLLECTED_AT = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)

ADMINS = ("BUILTIN\\Administrators", "S-1-5-32-544")
SYSTEM = ("NT AUTHORITY\\SYSTEM", "S-1-5-18")
USERS = ("NT AUTHORITY\\Authenticated Users", "S-1-5-11")
SERVICE_STATUS = {"Running": 4, "Stopped": 1}
START_TYPE = {"Automatic": 2, "Manual": 3, "Disabled": 4}
ACCESS = {"Allow": 0, "Deny": 1}
MIGRATION = {"TCPIP": 0, "Compression": 1, "SMB": 2}
SECURITY = {"None": 0, "Request": 1, "Require": 2}

W11 = ("Windows 10 Enterprise", "10.0.26100", "4", "1")
TL_CLUSTER = {"ClusterName": "AZL-TL-01", "AzureResourceName": "hci-tl-01",
              "AzureResourceUri": "/Subscriptions/3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31/resourceGroups/"
                                  "rg-hci-trusted/providers/Microsoft.AzureStackHCI/clusters/hci-tl-01",
              "ClusterStatus": "Clustered", "RegistrationStatus": "Registered", "ConnectionStatus": "Connected",
              "ImdsAttestation": "Enabled", "LastConnected": mr.utc("2026-11-22T08:15:42Z"),
              "NextSync": mr.utc("2026-11-22T20:15:42Z"), "Region": "eastus"}
TL_NODES = [("AZL-TL-01-N{}".format(n), "Active", mr.utc("2026-12-22T08:15:42Z"), "Enabled") for n in (1, 2)]
# name, index (the sample fleet's hyperVVmId is 6f1c00<40 + index>-7d2e-...), machine
TL_VMS = [("tl-w11-01", 1, 1), ("tl-w11-02", 2, 2), ("tl-tpm-off", 3, 1), ("tl-sb-off", 4, 2),
          ("tl-custom-image", 5, 1), ("tl-ws2022", 6, 1), ("tl-image-gone", 7, 2), ("tl-attest-bad", 8, 1),
          ("tl-no-attest", 9, 2), ("tl-attest-pending", 10, 1), ("std-w11-01", 11, 2)]


def hyperv_id(index):
    return "6f1c{0:04x}-7d2e-4c1d-9b3a-5e8d7c6b{0:04x}".format(0x40 + index)


def tl_host(node):
    vms = []
    for name, index, machine in TL_VMS:
        if machine == node:
            entry = mr.vm(name, 0, W11, gsi=True, kvp=True, nic=False)
            entry["id"] = hyperv_id(index)
            vms.append(entry)
    return {"description": "AZL-TL-01-N{} of hci-tl-01 (Trusted launch VMs)".format(node),
            "computerName": "AZL-TL-01-N{}".format(node), "cluster": TL_CLUSTER, "nodes": TL_NODES,
            "switch": False, "vms": vms, "expected": {}}


def _enum(name, numbers, dialect):
    return mr.Enum(name, numbers[name]) if dialect == "5.1" else name


def access(identity, dialect, rights="FullControl", kind="Allow", inherited=True):
    return {"Identity": identity[0], "Sid": identity[1], "Type": _enum(kind, ACCESS, dialect),
            "Rights": rights, "Inherited": inherited}


def trusted_launch_outputs(spec, dialect):
    """{probe: stdout} of the four host probes from a spec: igvm (Running / Stopped / None for
    absent), locations [(path, [(vm name, vm id)], extra access rows)], ipsec (bool), migration."""
    if spec["igvm"] is None:
        igvm = {"Present": False, "Status": None, "StartType": None}
    else:
        igvm = {"Present": True, "Status": _enum(spec["igvm"], SERVICE_STATUS, dialect),
                "StartType": _enum("Automatic", START_TYPE, dialect)}
    locations = [{"Path": path, "VMs": [{"Name": name, "VMId": vm_id} for name, vm_id in vms],
                  "Access": [access(ADMINS, dialect), access(SYSTEM, dialect)] + list(extra), "Error": None}
                 for path, vms, extra in spec["locations"]]
    rules = []
    if spec["ipsec"]:
        for direction, local, remote in (("in", ["6600"], ["Any"]), ("out", ["Any"], ["6600"])):
            rules.append({"Name": "{{7c1e5b0a-lm-{}}}".format(direction),
                          "DisplayName": "Live migration {} (TCP 6600)".format(direction),
                          "Enabled": "True", "Mode": "Transport",
                          "InboundSecurity": _enum("Require", SECURITY, dialect),
                          "OutboundSecurity": _enum("Require", SECURITY, dialect),
                          "Protocol": "TCP", "LocalPort": local, "RemotePort": remote})
    migration = {"Enabled": True, "PerformanceOption": _enum(spec.get("migration", "TCPIP"), MIGRATION, dialect)}
    return {"tl-igvmagent": mr.to_json([igvm], dialect), "tl-vm-state-acl": mr.to_json(locations, dialect),
            "tl-ipsec": mr.to_json(rules, dialect), "tl-live-migration": mr.to_json([migration], dialect)}


def host_spec(host, igvm="Running", ipsec=False, extra=()):
    vms = [(item["name"], item["id"]) for item in host["vms"]] if host else []
    return {"igvm": igvm, "ipsec": ipsec, "migration": "TCPIP",
            "locations": [("C:\\ClusterStorage\\UserStorage_1\\Hyper-V", vms, extra)]}


def write_files(scenario, files, failures=None):
    directory = os.path.join(mr.RECORDINGS, scenario)
    os.makedirs(directory, exist_ok=True)
    mr.write_outputs(directory, files, failures)


def guest_outputs(vbs=2):
    return {"guest-info": mr.to_json([{"ComputerName": "TL-W11-01", "Caption": "Microsoft Windows 11 Enterprise",
                                       "Version": "10.0.26100",
                                       "UUID": "7C3E0001-51A2-4B8E-9D07-3F6A2C8E0001"}], "5.1"),
            "guest-secureboot": mr.to_json([{"SecureBoot": True, "NotSupported": False}], "5.1"),
            "guest-tpm": mr.to_json([{"TpmPresent": True, "TpmReady": True, "SpecVersion": "2.0, 0, 1.59"}], "5.1"),
            "guest-vbs": mr.to_json([{"VirtualizationBasedSecurityStatus": vbs}], "5.1")}


def main():
    for scenario, host, dialect in (("ps7", mr.PROD, "7"), ("ps51", mr.PROD, "5.1"),
                                    ("ps51-legacy-off", mr.STORE, "5.1"), ("ps7-expired", mr.DEV, "7"),
                                    ("hostile-names", mr.HOSTILE, "7"), ("hang", mr.PROD, "7")):
        write_files(scenario, trusted_launch_outputs(host_spec(host), dialect))
    write_files("not-registered", trusted_launch_outputs(host_spec(None), "5.1"))
    workstation = trusted_launch_outputs(dict(host_spec(None), igvm=None), "5.1")
    write_files("no-hyperv", {"tl-igvmagent": workstation["tl-igvmagent"], "tl-ipsec": ""},
                failures={"tl-vm-state-acl": (1, mr.not_recognized("Get-VM")),
                          "tl-live-migration": (1, mr.not_recognized("Get-VMHost"))})
    for scenario, node, dialect, spec in (
            ("tl-n1", 1, "7", {}), ("tl-n2", 2, "5.1", {}),
            ("tl-n2-degraded", 2, "5.1", {"igvm": "Stopped", "ipsec": False,
                                          "extra": [access(USERS, "5.1", rights="ReadAndExecute, Synchronize")]})):
        host = tl_host(node)
        mr.write_scenario(scenario, host, dialect)
        write_files(scenario, trusted_launch_outputs(host_spec(host, spec.get("igvm", "Running"),
                                                               spec.get("ipsec", True), spec.get("extra", ())),
                                                     dialect))
    mr.write_scenario("guest-w11", None, "5.1", overrides=guest_outputs())
    mr.write_scenario("guest-w11-vbs-off", None, "5.1", overrides=guest_outputs(vbs=0))


def write_host_facts():
    sys.path.insert(0, os.path.join(REPO, "src", "stack-hci-verify"))
    # pylint: disable=import-outside-toplevel
    from azext_stack_hci_verify.adapters import host_trusted_launch
    from azext_stack_hci_verify.adapters.host_probe import collect_host_facts
    from azext_stack_hci_verify.adapters.powershell import PowerShellRunner

    class FakeRunner(PowerShellRunner):
        def command_line(self, script):
            return [sys.executable] + super().command_line(script)

    for name, scenario in (("AZL-TL-01-N1.json", "tl-n1"), ("AZL-TL-01-N2.json", "tl-n2"),
                           ("AZL-TL-01-N2-degraded.json", "tl-n2-degraded")):
        environ = dict(os.environ, FAKE_POWERSHELL_DATA=os.path.join(mr.RECORDINGS, scenario))
        environ.pop("FAKE_POWERSHELL_RECORD", None)
        runner = FakeRunner(os.path.join(HERE, "fake-powershell"), environ)
        document = collect_host_facts(runner, now=COLLECTED_AT)
        host_trusted_launch.add_to_document(document, host_trusted_launch.collect(runner))
        if document.get("probeStatus") != "Succeeded":
            raise SystemExit("{}: the probe did not succeed: {}".format(scenario, document.get("reason")))
        for probe in document["probes"]:
            probe["durationMs"] = 0
        with open(os.path.join(HOST_FACTS, name), "w", encoding="utf-8", newline="\n") as handle:
            json.dump(document, handle, indent=2, ensure_ascii=False)
            handle.write("\n")


if __name__ == "__main__":
    main()
    if "--host-facts" in sys.argv[1:]:
        write_host_facts()
