# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Table transformers: flatten results to a fixed column order for `-o table`; and the one place
where data becomes safe for `-o tsv` and `-o table` (terminal_safe). Pure."""

import re
from collections import OrderedDict

# Characters that must not reach a terminal or split a tsv field: C0 controls (tab, line feed, carriage
# return, ESC, BEL...), DEL, C1 controls, the Unicode line and paragraph separators, and the
# bidirectional embeddings, overrides and isolates (text that displays other than it reads).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match):
    char = match.group()
    code = ord(char)
    return _NAMED_ESCAPES.get(char) or ("\\x{:02x}".format(code) if code < 0x100 else "\\u{:04x}".format(code))


def safe_text(text):
    """`text` with every control character written as an escape (`\\t`, `\\n`, `\\r`, `\\x1b`,
    `\\u202e`); other characters, backslashes included, as they are."""
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def terminal_safe(result, tsv=False):
    """The result as `-o tsv` and `-o table` may print it: every string (keys too) through safe_text, the
    same shape otherwise, the original untouched. With `tsv`, the rows of a list of objects also get the
    same keys (a missing one is null), so that every line has the same fields in the same order."""
    safe = _safe(result)
    if tsv and isinstance(safe, list):
        safe = _same_keys(safe)
    return safe


def _safe(value):
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return value.__class__((_safe(key), _safe(item)) for key, item in value.items()) \
            if isinstance(value, OrderedDict) else {_safe(key): _safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_safe(item) for item in value]
    return value


def _same_keys(rows):
    """A list whose objects all have the union of their keys: in the first-seen order for ordered rows
    (knack writes them in their order), filled with null for plain ones (knack sorts their keys)."""
    objects = [row for row in rows if isinstance(row, dict)]
    keys = list(OrderedDict.fromkeys(key for row in objects for key in row))
    if all(len(row) == len(keys) for row in objects) and \
            not any(isinstance(row, OrderedDict) and list(row) != keys for row in objects):
        return rows
    aligned = []
    for row in rows:
        if isinstance(row, OrderedDict):
            row = OrderedDict((key, row.get(key)) for key in keys)
        elif isinstance(row, dict):
            row = {key: row.get(key) for key in keys}
        aligned.append(row)
    return aligned


def _row(item, columns):
    """One table row: (column, key or function of the item) in order; None shows as an empty cell."""
    row = OrderedDict()
    for column, source in columns:
        value = source(item) if callable(source) else item.get(source)
        row[column] = "" if value is None else value
    return row


def _servers_cell(result):
    servers = result.get("servers") or []
    if not servers:
        return "none reported"
    active = sum(1 for server in servers if server.get("status") == "Active")
    return "{}/{} Active".format(active, len(servers))


def _findings_cell(result):
    findings = result.get("findings") or []
    parts = []
    for severity in ("error", "warning"):
        count = sum(1 for finding in findings if finding.get("severity") == severity)
        if count:
            parts.append("{} {}{}".format(count, severity, "" if count == 1 else "s"))
    return ", ".join(parts) or "none"


def _first_fix(result):
    return next((finding["command"] for finding in result.get("findings") or [] if finding.get("command")), None)


_CLUSTER_COLUMNS = (
    ("Name", "name"), ("ResourceGroup", "resourceGroup"), ("HostStatus", "hostStatus"),
    ("LegacyOsSupport", "legacyOsSupport"), ("Servers", _servers_cell), ("LastSync", "lastSync"),
    ("DaysUntilExpiry", "daysUntilExpiry"), ("Findings", _findings_cell), ("Fix", _first_fix),
)
_SERVER_COLUMNS = (
    ("Name", "name"), ("Status", "status"), ("Source", "statusSource"), ("LegacyOsSupport", "legacyOsSupport"),
    ("LastSync", "lastSync"), ("ExpiresOn", "expiresOn"), ("Action", "action"), ("Command", "command"),
)
_VM_COLUMNS = (
    ("Name", "name"), ("Server", "server"), ("GuestOs", "guestOs"), ("OsBuild", "osBuild"),
    ("EligibleBenefit", "eligibleBenefit"), ("BenefitStatus", "benefitStatus"), ("Action", "action"),
    ("Access", "accessMethod"), ("Command", "command"),
)
_CHECK_COLUMNS = (
    ("Check", "check"), ("Status", "status"), ("ReasonCode", "reasonCode"), ("Expected", "expected"),
    ("Found", "found"),
)
_PROBE_COLUMNS = (("Check", "probe"), ("Status", "status"), ("ReasonCode", "reasonCode"), ("Detail", "reason"))


def transform_cluster_show(result):
    if isinstance(result, list):
        return transform_cluster_list(result)
    return _row(result, _CLUSTER_COLUMNS)


def transform_cluster_list(result):
    return [_row(item, _CLUSTER_COLUMNS) for item in result or []]


def transform_server_list(result):
    return [_row(server, _SERVER_COLUMNS) for server in result or []]


def transform_vm_list(result):
    rows = result or []
    columns = _VM_COLUMNS
    if len({(vm.get("subscriptionId"), vm.get("resourceGroup"), vm.get("cluster")) for vm in rows}) > 1:
        # VMs of several clusters: say whose each is
        columns = (("Cluster", "cluster"),) + _VM_COLUMNS
    return [_row(vm, columns) for vm in rows]


def transform_vm_show(result):
    return _row(result, _VM_COLUMNS)


def transform_attestation(result):
    overall = {"check": "(overall)", "status": result.get("status"), "reasonCode": result.get("reasonCode"),
               "found": result.get("reason")}
    return [_row(check, _CHECK_COLUMNS) for check in [overall, *(result.get("checks") or [])]]


def _endpoint_as_check(endpoint):
    return {"probe": "endpoint {}".format(endpoint.get("name")),
            "status": "Reachable" if endpoint.get("reachable") else "Unreachable",
            "reasonCode": endpoint.get("reasonCode"),
            "reason": "{} HTTP {} in {} ms".format(
                endpoint.get("endpoint"), endpoint.get("httpStatus"), endpoint.get("latencyMs"))}


def transform_probe(result):
    checks = list(result.get("probes") or []) + [_endpoint_as_check(e) for e in result.get("endpoints") or []]
    return [_row(check, _PROBE_COLUMNS) for check in checks]


_TRUSTED_LAUNCH_COLUMNS = (
    ("Name", "name"), ("SecurityType", "securityType"), ("SecureBoot", "secureBoot"), ("vTPM", "vtpm"),
    ("StateTransfer", "vtpmStateTransfer"),
    ("Attestation", lambda row: (row.get("guestAttestation") or {}).get("healthStatus")),
    ("ImageSource", "imageSource"), ("Status", "status"), ("Action", "action"), ("Command", "command"),
)
_TRUSTED_LAUNCH_CHECK_COLUMNS = (
    ("Check", "check"), ("Status", "status"), ("ReasonCode", "reasonCode"), ("Action", "action"),
    ("Command", "command"),
)


def transform_trusted_launch_list(result):
    return [_row(row, _TRUSTED_LAUNCH_COLUMNS) for row in result or []]


def transform_trusted_launch_show(result):
    """One row per check of the VM, then the cluster's checks (prefixed 'cluster:')."""
    checks = list(result.get("checks") or [])
    cluster = (result.get("clusterChecks") or {}).get("checks") or []
    checks += [dict(check, check="cluster:{}".format(check.get("check"))) for check in cluster]
    return [_row(check, _TRUSTED_LAUNCH_CHECK_COLUMNS) for check in checks]


_CHECK_FINDING_COLUMNS = (
    ("Fails", lambda finding: "yes" if finding.get("matched") else ""), ("Severity", "severity"),
    ("Cluster", "cluster"), ("Scope", "scope"), ("Name", "name"), ("Status", "status"),
    ("ReasonCode", "reasonCode"), ("Action", "action"), ("Command", "command"),
)


def transform_check(result):
    """One row per finding, most severe first; a report with no finding is one row of counts."""
    findings = result.get("findings") or []
    if findings:
        return [_row(finding, _CHECK_FINDING_COLUMNS) for finding in findings]
    totals = result.get("totals") or {}
    return [OrderedDict((("Findings", 0),) + tuple(
        (key[:1].upper() + key[1:], (totals.get(key) or {}).get("total", 0))
        for key in ("clusters", "servers", "vms", "trustedLaunch")))]


_COLLECT_COLUMNS = (
    ("Cluster", "cluster"), ("Server", "server"), ("Status", "status"), ("Probes", "probeStatus"),
    ("CollectedAt", "collectedAt"), ("ReasonCode", "reasonCode"), ("Action", "action"), ("Command", "command"),
)


def transform_collect(result):
    """`collect`: one row per server, the documents themselves left to -o json."""
    return [_row(row, _COLLECT_COLUMNS) for row in result or []]
