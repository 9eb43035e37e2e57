# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Table transformers: fixed columns, flat cells."""

from azext_stack_hci_verify import _format

CLUSTER = {
    "name": "c1", "resourceGroup": "rg", "hostStatus": "On", "legacyOsSupport": "Off",
    "servers": [{"status": "Active"}, {"status": "Expired"}], "lastSync": "2026-11-20T08:15:42Z",
    "daysUntilExpiry": 27,
    "findings": [{"severity": "error", "command": "Sync-AzureStackHCI"}, {"severity": "warning", "command": None},
                 {"severity": "info"}],
}


def test_cluster_row_columns_and_cells():
    row = _format.transform_cluster_show(CLUSTER)
    assert list(row) == ["Name", "ResourceGroup", "HostStatus", "LegacyOsSupport", "Servers", "LastSync",
                         "DaysUntilExpiry", "Findings", "Fix"]
    assert row["Servers"] == "1/2 Active"
    assert row["Findings"] == "1 error, 1 warning"
    assert row["Fix"] == "Sync-AzureStackHCI"


def test_cluster_row_with_nothing_reported():
    row = _format.transform_cluster_show({"name": "c2", "servers": [], "findings": [], "daysUntilExpiry": None})
    assert row["Servers"] == "none reported" and row["Findings"] == "none" and row["DaysUntilExpiry"] == ""
    assert row["LastSync"] == "" and row["Fix"] == ""


def test_show_of_several_ids_and_list():
    assert len(_format.transform_cluster_show([CLUSTER, CLUSTER])) == 2
    assert len(_format.transform_cluster_list([CLUSTER])) == 1
    assert _format.transform_cluster_list([]) == []


def test_server_rows():
    rows = _format.transform_server_list([{"name": "N1", "status": "Expired", "statusSource": "arm",
                                           "legacyOsSupport": "On", "lastSync": None, "expiresOn": None,
                                           "action": "Sync with Azure", "command": "Sync-AzureStackHCI"}])
    assert list(rows[0]) == ["Name", "Status", "Source", "LegacyOsSupport", "LastSync", "ExpiresOn", "Action",
                             "Command"]
    assert rows[0]["LastSync"] == "" and rows[0]["Command"] == "Sync-AzureStackHCI"


def test_vm_attestation_and_probe_rows():
    vm = {"name": "vm1", "server": None, "guestOs": "Ubuntu", "osBuild": None, "eligibleBenefit": None,
          "benefitStatus": "No applicable benefits", "action": None, "accessMethod": "v2", "command": None}
    assert list(_format.transform_vm_list([vm])[0].values()) == [
        "vm1", "", "Ubuntu", "", "", "No applicable benefits", "", "", "v2", ""]
    assert _format.transform_vm_show(vm)["BenefitStatus"] == "No applicable benefits"
    vm["benefits"] = [{"offer": "update-manager", "status": "Active"}, {"offer": "sql-server-esu",
                                                                        "status": "Not applicable"},
                      {"offer": "machine-configuration", "status": "Inactive"}]
    assert _format.transform_vm_show(vm)["Benefits"] == "1/2 active"
    rows = _format.transform_attestation({"status": "Failed", "reasonCode": "nonce-mismatch", "reason": "r",
                                          "checks": [{"check": "nonceEchoed", "status": "Failed",
                                                      "reasonCode": "nonce-mismatch", "expected": "1",
                                                      "found": "2"}]})
    assert [list(row.values()) for row in rows] == [
        ["(overall)", "Failed", "nonce-mismatch", "", "r"], ["nonceEchoed", "Failed", "nonce-mismatch", "1", "2"]]
    probe = _format.transform_probe({"probes": [{"probe": "get-vm", "status": "Succeeded"}],
                                     "endpoints": [{"name": "host", "reachable": False, "endpoint": "http://x",
                                                    "httpStatus": None, "latencyMs": 1.0,
                                                    "reasonCode": "connection-refused"}]})
    assert [row["Check"] for row in probe] == ["get-vm", "endpoint host"]
    assert probe[1]["Status"] == "Unreachable" and probe[1]["ReasonCode"] == "connection-refused"
