# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Table transformers: flatten results to a fixed column order for `-o table`. Pure."""

from collections import OrderedDict


def _count_by_status(servers, status):
    return sum(1 for server in servers or [] if server.get("status") == status)


def _servers_cell(servers):
    servers = servers or []
    if not servers:
        return "none reported"
    return "{}/{} Active".format(_count_by_status(servers, "Active"), len(servers))


def _findings_cell(findings):
    findings = findings or []
    errors = sum(1 for finding in findings if finding.get("severity") == "error")
    warnings = sum(1 for finding in findings if finding.get("severity") == "warning")
    if not errors and not warnings:
        return "none"
    parts = []
    if errors:
        parts.append("{} error{}".format(errors, "" if errors == 1 else "s"))
    if warnings:
        parts.append("{} warning{}".format(warnings, "" if warnings == 1 else "s"))
    return ", ".join(parts)


def _first_action(findings):
    for finding in findings or []:
        if finding.get("command"):
            return finding["command"]
    return ""


def _cluster_row(result):
    row = OrderedDict()
    row["Name"] = result.get("name")
    row["ResourceGroup"] = result.get("resourceGroup")
    row["HostStatus"] = result.get("hostStatus")
    row["LegacyOsSupport"] = result.get("legacyOsSupport")
    row["Servers"] = _servers_cell(result.get("servers"))
    row["LastSync"] = result.get("lastSync") or ""
    days = result.get("daysUntilExpiry")
    row["DaysUntilExpiry"] = "" if days is None else days
    row["Findings"] = _findings_cell(result.get("findings"))
    row["Fix"] = _first_action(result.get("findings"))
    return row


def transform_cluster_show(result):
    if isinstance(result, list):
        return [_cluster_row(item) for item in result]
    return _cluster_row(result)


def transform_cluster_list(result):
    return [_cluster_row(item) for item in result or []]


def transform_server_list(result):
    rows = []
    for server in result or []:
        row = OrderedDict()
        row["Name"] = server.get("name")
        row["Status"] = server.get("status")
        row["Source"] = server.get("statusSource")
        row["LegacyOsSupport"] = server.get("legacyOsSupport")
        row["LastSync"] = server.get("lastSync") or ""
        row["ExpiresOn"] = server.get("expiresOn") or ""
        row["Action"] = server.get("action") or ""
        row["Command"] = server.get("command") or ""
        rows.append(row)
    return rows


def transform_attestation(result):
    rows = []
    overall = OrderedDict()
    overall["Check"] = "(overall)"
    overall["Status"] = result.get("status")
    overall["ReasonCode"] = result.get("reasonCode") or ""
    overall["Expected"] = ""
    overall["Found"] = result.get("reason") or ""
    rows.append(overall)
    for check in result.get("checks") or []:
        row = OrderedDict()
        row["Check"] = check.get("check")
        row["Status"] = check.get("status")
        row["ReasonCode"] = check.get("reasonCode") or ""
        row["Expected"] = check.get("expected") or ""
        row["Found"] = check.get("found") or ""
        rows.append(row)
    return rows


def _vm_row(vm):
    row = OrderedDict()
    row["Name"] = vm.get("name")
    row["Server"] = vm.get("server") or ""
    row["GuestOs"] = vm.get("guestOs") or ""
    row["OsBuild"] = vm.get("osBuild") or ""
    row["EligibleBenefit"] = vm.get("eligibleBenefit") or ""
    row["BenefitStatus"] = vm.get("benefitStatus")
    row["Action"] = vm.get("action") or ""
    row["Access"] = vm.get("accessMethod") or ""
    row["Command"] = vm.get("command") or ""
    return row


def transform_vm_list(result):
    return [_vm_row(vm) for vm in result or []]


def transform_vm_show(result):
    return _vm_row(result)


def transform_probe(result):
    rows = []
    for probe in result.get("probes") or []:
        row = OrderedDict()
        row["Check"] = probe.get("probe")
        row["Status"] = probe.get("status")
        row["ReasonCode"] = probe.get("reasonCode") or ""
        row["Detail"] = probe.get("reason") or ""
        rows.append(row)
    for endpoint in result.get("endpoints") or []:
        row = OrderedDict()
        row["Check"] = "endpoint {}".format(endpoint.get("name"))
        row["Status"] = "Reachable" if endpoint.get("reachable") else "Unreachable"
        row["ReasonCode"] = endpoint.get("reasonCode") or ""
        row["Detail"] = "{} HTTP {} in {} ms".format(
            endpoint.get("endpoint"), endpoint.get("httpStatus"), endpoint.get("latencyMs"))
        rows.append(row)
    return rows
