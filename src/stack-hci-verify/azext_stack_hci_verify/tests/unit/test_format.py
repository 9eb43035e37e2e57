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
