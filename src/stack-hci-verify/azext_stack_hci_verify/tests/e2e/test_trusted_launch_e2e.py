# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""`trusted-launch list/show`, `probe` with its Trusted launch facts and `probe --guest`, through the real az,
on the sample fleet's Trusted launch cluster hci-tl-01 (its VMs cover every verdict) and the fake PowerShell."""

import json
import os

import pytest

from .conftest import REPO_ROOT, emulated_az, rebased

pytestmark = pytest.mark.e2e
SAMPLE_FLEET = os.path.join(REPO_ROOT, "emulator", "fixtures", "sample-fleet")
HOST_FACTS = os.path.join(REPO_ROOT, "emulator", "fixtures", "host-facts")
FAKE_POWERSHELL = os.path.join(REPO_ROOT, "emulator", "fake_powershell")
TL = ("stack-hci", "vm-verification", "trusted-launch")
CLUSTER = ("-n", "hci-tl-01", "-g", "rg-hci-trusted")
OF_CLUSTER = ("--cluster-name", "hci-tl-01", "-g", "rg-hci-trusted")
FILES = ("AZL-TL-01-N1.json", "AZL-TL-01-N2.json", "AZL-TL-01-N2-degraded.json")

# The verdict of every VM with the host facts of both machines (hand-written, from the fixtures).
EXPECTED = {
    "tl-w11-01": ("Passed", None),
    "tl-w11-02": ("Passed", None),
    "tl-tpm-off": ("Failed", "vtpm"),
    "tl-sb-off": ("Failed", "secure-boot"),
    "tl-attest-bad": ("Failed", "guest-attestation"),
    "tl-custom-image": ("Warning", "guest-image"),
    "tl-ws2022": ("Warning", "guest-image"),
    "std-w11-01": ("Not applicable", "security-type"),
    "tl-image-gone": ("Unknown", "guest-image"),
    "tl-no-attest": ("Unknown", "guest-attestation"),
    "tl-attest-pending": ("Unknown", "guest-attestation"),
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    fake = {"STACK_HCI_VERIFY_POWERSHELL": os.path.join(FAKE_POWERSHELL, "fake-powershell"),
            "FAKE_POWERSHELL_DATA": os.path.join(FAKE_POWERSHELL, "recordings", "tl-n1")}
    with emulated_az(tmp_path_factory, "tl", SAMPLE_FLEET, login="profile", env=fake, rebase_to="now") as runner:
        yield runner


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    """The machines' host-facts files, as fresh against now as they were against the fleet's time."""
    directory = tmp_path_factory.mktemp("tl-host-facts")
    return tuple(rebased(os.path.join(HOST_FACTS, name), directory) for name in FILES)


def by_name(rows):
    return {row["name"]: row for row in rows}


def test_every_verdict_with_the_facts_of_both_machines(fleet, facts):
    n1, n2, n2_degraded = facts
    rows = by_name(fleet.json(*TL, "list", *CLUSTER, "--host-facts", n1, n2))
    assert set(rows) == set(EXPECTED)
    for name, (status, check) in EXPECTED.items():
        row = rows[name]
        assert row["status"] == status, (name, row)
        if check is None:
            assert row["findings"] == [] and row["action"] is None
        else:
            assert row["findings"][0]["check"] == check and row["action"], (name, row)
            # the fix: a command with where it runs, or the page to follow
            assert (row["command"] and row["runOn"]) or (row["learnMore"] and not row["command"]), (name, row)
    assert rows["tl-w11-01"]["vtpmStateTransfer"] == "Passed"
    assert rows["tl-w11-01"]["guestAttestation"]["healthStatus"] == "Healthy"
    assert rows["tl-custom-image"]["imageSource"] == "Custom" and "w11-golden-2026-10" in \
        rows["tl-custom-image"]["findings"][0]["reason"]
    assert "enableTPM and secureBootEnabled must both be true" in rows["tl-tpm-off"]["findings"][0]["reason"]
    assert rows["std-w11-01"]["securityType"] == "Standard" and rows["std-w11-01"]["vtpmStateTransfer"] is None


def test_arm_alone_never_passes_what_only_hosts_can_tell(fleet):
    rows = by_name(fleet.json(*TL, "list", *CLUSTER))
    assert rows["tl-w11-01"]["status"] == "Warning"          # live migration protection cannot be seen
    checks = {finding["check"]: finding for finding in rows["tl-w11-01"]["findings"]}
    assert checks["vtpm-state-transfer"]["status"] == "Unknown"
    assert checks["vm-state-files"]["status"] == "Unknown"
    assert checks["live-migration-protection"]["reasonCode"] == "live-migration-protection-unseen"
    assert rows["tl-tpm-off"]["status"] == "Failed"


def test_a_degraded_machine(fleet, facts):
    n1, n2, n2_degraded = facts
    view = fleet.json(*TL, "show", "-n", "tl-w11-02", *OF_CLUSTER, "--host-facts", n1, n2_degraded)
    checks = {check["check"]: check for check in view["checks"]}
    assert view["status"] == "Failed"
    assert checks["vtpm-state-transfer"]["reasonCode"] == "igvm-agent-not-running"
    assert "Start-Service -Name IgvmAgent" in checks["vtpm-state-transfer"]["command"]
    assert checks["vm-state-files"]["status"] == "Failed" and "*S-1-5-11" in checks["vm-state-files"]["command"]
    assert checks["live-migration-protection"]["reasonCode"] == "live-migration-not-protected"
    assert checks["boot-integrity"]["status"] == "NotAvailable"
    cluster = {check["check"]: check["status"] for check in view["clusterChecks"]["checks"]}
    assert cluster == {"attestation-configuration": "Passed", "igvm-agent": "Failed", "vm-state-files": "Failed",
                       "live-migration-protection": "Warning"}
    assert [machine["igvmAgent"] for machine in view["clusterChecks"]["machines"]] == ["Running", "Stopped"]


def test_show_table_query_and_missing_vm(fleet):
    table = fleet.run(*TL, "show", "-n", "tl-sb-off", *OF_CLUSTER, "-o", "table")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["Check", "Status", "ReasonCode", "Action"]
    assert "cluster:igvm-agent" in table.stdout
    failed = fleet.json(*TL, "show", "-n", "TL-SB-OFF", *OF_CLUSTER, "--query", "checks[?status=='Failed'].check")
    assert failed == ["secure-boot"]
    listed = fleet.run(*TL, "list", *CLUSTER, "-o", "table")
    assert listed.returncode == 0 and listed.stdout.splitlines()[0].split()[:3] == ["Name", "SecurityType",
                                                                                    "SecureBoot"]
    missing = fleet.run(*TL, "show", "-n", "nope", *OF_CLUSTER)
    assert missing.returncode == 3 and "trusted-launch list" in missing.stderr and "Traceback" not in missing.stderr


def test_host_probe_then_host_facts(fleet, tmp_path, facts):
    n1, n2, n2_degraded = facts
    result = fleet.run("stack-hci", "vm-verification", "probe", "-o", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["trustedLaunch"]["igvmAgent"]["status"] == "Running"
    assert document["probeStatus"] == "Succeeded"
    assert {"tl-igvmagent", "tl-vm-state-acl", "tl-ipsec", "tl-live-migration"} <= \
        {probe["probe"] for probe in document["probes"]}
    path = tmp_path / "n1.json"
    path.write_text(result.stdout, encoding="utf-8")
    rows = by_name(fleet.json(*TL, "list", *CLUSTER, "--host-facts", str(path), n2))
    assert rows["tl-w11-01"]["status"] == "Passed"


def test_guest_probe_on_a_fake_tree_then_guest_facts(fleet, tmp_path, facts):
    n1, n2, n2_degraded = facts
    root = tmp_path / "root"
    efivars = root / "sys" / "firmware" / "efi" / "efivars"
    efivars.mkdir(parents=True)
    (efivars / "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c").write_bytes(b"\x06\x00\x00\x00\x00")
    (root / "sys" / "class" / "tpm" / "tpm0").mkdir(parents=True)
    (root / "sys" / "class" / "tpm" / "tpm0" / "tpm_version_major").write_text("2\n")
    (root / "etc").mkdir()
    (root / "etc" / "hostname").write_text("tl-w11-01\n")
    env = dict(fleet.env, STACK_HCI_VERIFY_GUEST_ROOT=str(root))
    from emulator import azenv
    result = azenv.run_az(fleet.az_path, ["stack-hci", "vm-verification", "probe", "--guest", "-o", "json"], env,
                          timeout=120)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["kind"] == "guestFacts" and document["secureBoot"] is False
    assert document["tpm"]["version"] == "2.0"
    path = tmp_path / "guest.json"
    path.write_text(result.stdout, encoding="utf-8")
    view = fleet.json(*TL, "show", "-n", "tl-w11-01", *OF_CLUSTER, "--host-facts", n1, n2,
                      "--guest-facts", str(path))
    checks = {check["check"]: check for check in view["checks"]}
    assert view["status"] == "Failed" and view["guestFacts"] == "guest.json"
    assert checks["secure-boot"]["reasonCode"] == "secure-boot-off" and "guest" in checks["secure-boot"]["reason"]
    # A guest-facts file of a VM that is not on this cluster is said, on stderr and in the view, and ignored.
    stray = dict(document, computerName="NOT-HERE-01", smbiosUuid=None)
    (tmp_path / "stray.json").write_text(json.dumps(stray), encoding="utf-8")
    result = fleet.run(*TL, "show", "-n", "tl-w11-01", *OF_CLUSTER, "--guest-facts", str(tmp_path / "stray.json"),
                       "-o", "json")
    assert result.returncode == 0 and "matches no Azure Local VM" in result.stderr
    view = json.loads(result.stdout)
    assert [f["reasonCode"] for f in view["clusterChecks"]["factsFindings"]] == ["guest-facts-unmatched"]
    assert view["guestFacts"] is None


def test_bad_guest_facts_and_guest_with_vm_names(fleet, tmp_path, facts):
    n1, n2, n2_degraded = facts
    host = fleet.run(*TL, "list", *CLUSTER, "--guest-facts", n1)
    assert host.returncode == 1 and "pass it with --host-facts" in host.stderr and "Traceback" not in host.stderr
    both = fleet.run("stack-hci", "vm-verification", "probe", "--guest", "--vm-name", "x")
    assert both.returncode == 1 and "--guest" in both.stderr and "Traceback" not in both.stderr


def test_vm_show_carries_the_vms_trusted_launch_row_and_check_its_findings(fleet):
    """A Trusted launch VM with secure boot off: `vm show`'s trustedLaunch is its `trusted-launch list`
    row, and `check` reports the failed check once, as an error."""
    vm = fleet.json("stack-hci", "vm-verification", "vm", "show", "-n", "tl-sb-off", *OF_CLUSTER)
    rows = {row["name"]: row for row in fleet.json(*TL, "list", *CLUSTER)}
    summary = vm["trustedLaunch"]
    assert (summary["securityType"], summary["secureBoot"], summary["status"]) == ("TrustedLaunch", False, "Failed")
    keys = ("status", "reasonCode", "action", "command", "runOn", "learnMore")
    assert {key: summary[key] for key in keys} == {key: rows["tl-sb-off"][key] for key in keys}
    assert summary["command"] is None and summary["learnMore"].startswith("https://learn.microsoft.com/")
    report = fleet.json("stack-hci", "vm-verification", "check", *CLUSTER)
    trusted = [f for f in report["findings"] if f["scope"] == "trustedLaunch" and f["name"] == "tl-sb-off"
               and f["reasonCode"] == summary["reasonCode"]]
    assert len(trusted) == 1 and trusted[0]["severity"] == "error"
    assert trusted[0]["learnMore"] == summary["learnMore"] and trusted[0]["command"] is None


def test_list_reads_the_vms_in_one_query_with_one_token(fleet):
    """The cluster's VMs come from one Resource Graph query, as for `show`; the per-VM reads are the
    attestation statuses and images only, and the whole command asks for one token."""
    fleet.emulator.clear_requests()
    fleet.json(*TL, "list", *CLUSTER)
    requests = fleet.emulator.requests()
    assert sum(1 for r in requests if r["path"].startswith("/msi/")) == 1
    assert sum(1 for r in requests if "microsoft.resourcegraph" in r["path"].lower()) == 1
    assert not any(r["path"].lower().endswith("/providers/microsoft.hybridcompute/machines") for r in requests)
    assert not any("virtualmachineinstances/default" == r["path"].lower().rsplit("/", 2)[-2] + "/" +
                   r["path"].lower().rsplit("/", 1)[-1] for r in requests)
