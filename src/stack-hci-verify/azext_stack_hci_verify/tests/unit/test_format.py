# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Table transformers: fixed columns, flat cells, rows that fit 120 columns for names of ordinary
length (prose cut with an ellipsis, commands left to the JSON)."""

import pytest

from azext_stack_hci_verify import _format

CLUSTER = {
    "name": "c1", "resourceGroup": "rg", "hostStatus": "On", "legacyOsSupport": "Off",
    "servers": [{"status": "Active"}, {"status": "Expired"}], "lastSync": "2026-11-20T08:15:42Z",
    "daysUntilExpiry": 27,
    "findings": [{"severity": "error", "action": "Sync with Azure", "command": "Sync-AzureStackHCI"},
                 {"severity": "warning", "action": None, "command": None}, {"severity": "info"}],
}

# Names of ordinary length (15 characters, a resource group of 20) and the longest values each column can hold.
NAME = "x" * 15
GROUP = "g" * 20
LONG_ACTION = "Update the machine: Azure Local installs IgvmAgent on every machine"
SEPARATOR = 2      # az's table puts two spaces between columns


def table_width(rows):
    """The width of az's table of `rows`: each column as wide as its widest cell or its header and two
    spaces (tabulate's padding of headers)."""
    if isinstance(rows, dict):
        rows = [rows]
    columns = list(rows[0])
    widths = [max(len(column) + 2, *(len(str(row[column])) for row in rows)) for column in columns]
    return sum(widths) + SEPARATOR * (len(widths) - 1)


def test_clip_keeps_what_fits_and_cuts_the_rest_with_an_ellipsis():
    assert _format.clip("Sync with Azure", 31) == "Sync with Azure"
    assert _format.clip("x" * 31, 31) == "x" * 31
    clipped = _format.clip(LONG_ACTION, 31)
    assert len(clipped) <= 31 and clipped.endswith("...") and LONG_ACTION.startswith(clipped[:-3])
    assert _format.clip(None, 10) is None


def test_cluster_row_columns_and_cells():
    row = _format.transform_cluster_show(CLUSTER)
    assert list(row) == ["Name", "ResourceGroup", "Host", "LegacyOs", "Servers", "DaysLeft", "Action"]
    assert row["Servers"] == "1/2 Active"
    assert row["Action"] == "Sync with Azure"
    assert "Sync-AzureStackHCI" not in row.values()


def test_cluster_row_with_nothing_reported():
    row = _format.transform_cluster_show({"name": "c2", "servers": [], "findings": [], "daysUntilExpiry": None})
    assert row["Servers"] == "none" and row["DaysLeft"] == ""
    assert row["Action"] == ""


def test_show_of_several_ids_and_list():
    assert len(_format.transform_cluster_show([CLUSTER, CLUSTER])) == 2
    assert len(_format.transform_cluster_list([CLUSTER])) == 1
    assert _format.transform_cluster_list([]) == []


def test_server_rows_name_the_action_and_leave_the_command_to_json():
    server = {"name": "N1", "cluster": "c1", "status": "Expired", "statusSource": "arm", "legacyOsSupport": "On",
              "lastSync": None, "expiresOn": None, "action": "Sync with Azure", "command": "Sync-AzureStackHCI"}
    rows = _format.transform_server_list([server])
    assert list(rows[0]) == ["Name", "Status", "Source", "LegacyOs", "ExpiresOn", "Action"]
    assert rows[0]["ExpiresOn"] == "" and rows[0]["Action"] == "Sync with Azure"
    fleet = _format.transform_server_list([server, dict(server, cluster="c2", resourceGroup="other")])
    assert list(fleet[0])[:2] == ["Cluster", "Name"] and fleet[1]["Cluster"] == "c2"


def test_vm_rows():
    vm = {"name": "vm1", "server": None, "guestOs": "Ubuntu", "osBuild": None, "eligibleBenefit": None,
          "benefitStatus": "No applicable benefits", "action": None, "accessMethod": "v2", "command": None}
    assert list(_format.transform_vm_list([vm])[0].items()) == [
        ("Name", "vm1"), ("Server", ""), ("EligibleBenefit", ""), ("BenefitStatus", "No applicable benefits"),
        ("Benefits", ""), ("Action", "")]
    assert _format.transform_vm_show(vm)["BenefitStatus"] == "No applicable benefits"
    edition = dict(vm, eligibleBenefit="Windows Server Datacenter: Azure Edition")
    assert _format.transform_vm_show(edition)["EligibleBenefit"] == "Azure Edition"
    avd = dict(vm, eligibleBenefit="Azure Virtual Desktop")
    assert _format.transform_vm_show(avd)["EligibleBenefit"] == "Azure Virtual Desktop"
    vm["benefits"] = [{"offer": "update-manager", "status": "Active"}, {"offer": "sql-server-esu",
                                                                        "status": "Not applicable"},
                      {"offer": "machine-configuration", "status": "Inactive"}]
    assert _format.transform_vm_show(vm)["Benefits"] == "1/2 active"


def test_vm_rows_of_several_clusters_name_the_cluster():
    rows = _format.transform_vm_list([{"name": "a", "cluster": "c1", "server": "N1"},
                                      {"name": "b", "cluster": "c2", "server": "N1"}])
    assert list(rows[0]) == ["Cluster", "Name", "EligibleBenefit", "BenefitStatus", "Benefits", "Action"]


def test_attestation_and_probe_rows():
    rows = _format.transform_attestation({"status": "Failed", "reasonCode": "nonce-mismatch", "reason": "r",
                                          "checks": [{"check": "nonceEchoed", "status": "Failed",
                                                      "reasonCode": "nonce-mismatch", "expected": "1",
                                                      "found": "2" * 80}]})
    assert [list(row) for row in rows] == [["Check", "Status", "ReasonCode", "Found"]] * 2
    assert rows[0]["Found"] == "r" and len(rows[1]["Found"]) == 48 and rows[1]["Found"].endswith("...")
    probe = _format.transform_probe({"probes": [{"probe": "get-vm", "status": "Succeeded"}],
                                     "endpoints": [{"name": "host", "reachable": False, "endpoint": "http://x",
                                                    "httpStatus": None, "latencyMs": 1.0,
                                                    "reasonCode": "connection-refused"}]})
    assert [row["Check"] for row in probe] == ["get-vm", "endpoint host"]
    assert probe[1]["Status"] == "Unreachable" and probe[1]["ReasonCode"] == "connection-refused"
    assert probe[1]["Detail"] == "http://x HTTP None in 1.0 ms"


def test_trusted_launch_rows():
    row = {"name": "tl", "cluster": "c1", "securityType": "TrustedLaunch", "secureBoot": True, "vtpm": False,
           "guestAttestation": {"healthStatus": "Healthy"}, "status": "Failed", "action": LONG_ACTION,
           "command": None, "learnMore": "https://learn.microsoft.com/x"}
    rows = _format.transform_trusted_launch_list([row])
    assert list(rows[0]) == ["Name", "SecurityType", "SecureBoot", "vTPM", "Attestation", "Status", "Action"]
    assert rows[0]["Attestation"] == "Healthy" and rows[0]["Action"].endswith("...")
    fleet = _format.transform_trusted_launch_list([row, dict(row, cluster="c2")])
    assert list(fleet[0])[:2] == ["Cluster", "Name"] and "SecurityType" not in fleet[0]
    shown = _format.transform_trusted_launch_show({
        "checks": [{"check": "vtpm", "status": "Failed", "reasonCode": "vtpm-off", "action": "a"}],
        "clusterChecks": {"checks": [{"check": "igvm-agent", "status": "Unknown", "reasonCode": "x"}]}})
    assert [r["Check"] for r in shown] == ["vtpm", "cluster:igvm-agent"]
    assert list(shown[0]) == ["Check", "Status", "ReasonCode", "Action"]


def test_check_rows_show_whether_a_finding_fails_the_gate_only_with_fail_on():
    finding = {"severity": "error", "cluster": "c1", "scope": "vm", "name": "vm1", "reasonCode": "r",
               "action": "Install updates", "command": "Install-AzConnectedMachinePatch ...", "matched": True}
    rows = _format.transform_check({"failOn": [], "findings": [finding]})
    assert list(rows[0]) == ["Severity", "Cluster", "Name", "ReasonCode", "Action"]
    gated = _format.transform_check({"failOn": ["error"], "findings": [finding]})
    assert list(gated[0])[0] == "Fails" and gated[0]["Fails"] == "yes"
    empty = _format.transform_check({"findings": [], "totals": {"clusters": {"total": 2}}})
    assert empty == [{"Findings": 0, "Clusters": 2, "Servers": 0, "Vms": 0, "TrustedLaunch": 0}]


@pytest.mark.parametrize("transform, item", [
    (_format.transform_cluster_list, {
        "name": NAME, "resourceGroup": GROUP, "hostStatus": "Unknown", "legacyOsSupport": "Unknown",
        "servers": [{"status": "Active"}] * 16, "daysUntilExpiry": -100,
        "findings": [{"severity": "error", "action": LONG_ACTION}] * 120}),
    (_format.transform_server_list, {
        "name": NAME, "cluster": NAME, "status": "Expired", "statusSource": "host", "legacyOsSupport": "Unknown",
        "expiresOn": "2026-11-20T08:15:42Z", "action": LONG_ACTION, "command": "x" * 300}),
    (_format.transform_vm_list, {
        "name": NAME, "server": NAME, "cluster": NAME, "eligibleBenefit": "Extended Security Updates",
        "benefitStatus": "No applicable benefits", "action": LONG_ACTION, "command": "x" * 300}),
    (_format.transform_trusted_launch_list, {
        "name": NAME, "cluster": NAME, "securityType": "ConfidentialVM", "secureBoot": False, "vtpm": False,
        "guestAttestation": {"healthStatus": "Unhealthy"}, "status": "Not applicable", "action": LONG_ACTION}),
])
def test_rows_with_names_of_ordinary_length_fit_120_columns(transform, item):
    one_cluster = transform([item])
    several = transform([item, dict(item, cluster="other", resourceGroup="other")])
    assert table_width(one_cluster) <= _format.TABLE_WIDTH
    assert table_width(several) <= _format.TABLE_WIDTH


def test_check_and_show_rows_with_names_of_ordinary_length_fit_120_columns():
    finding = {"severity": "warning", "cluster": NAME, "name": NAME,
               "reasonCode": "attestation-configuration-incomplete",
               "action": LONG_ACTION, "matched": False}
    assert table_width(_format.transform_check({"failOn": ["any"], "findings": [finding]})) <= _format.TABLE_WIDTH
    check = {"check": "cluster:live-migration-protection", "status": "Not applicable",
             "reasonCode": "attestation-configuration-incomplete", "action": LONG_ACTION}
    assert table_width(_format.transform_trusted_launch_show({"checks": [check]})) <= _format.TABLE_WIDTH
    attest = {"check": "signerCertificateValid", "status": "Unknown",
              "reasonCode": "signer-certificate-not-yet-valid", "found": "y" * 400}
    assert table_width(_format.transform_attestation({"checks": [attest]})) <= _format.TABLE_WIDTH
