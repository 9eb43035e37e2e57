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
    return _NAMED_ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


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


# A default table fits a terminal of TABLE_WIDTH columns for names of ordinary length (15 characters, a
# resource group of 20): names are never shortened; prose (an action, a reason, what was found) is cut at
# its column's width and ends in "...", and the full text, the command and the page to read stay in the
# JSON. az's table makes a column as wide as its widest cell or its header and two spaces, and puts two
# spaces between columns.
TABLE_WIDTH = 120
_ELLIPSIS = "..."


def clip(text, width):
    """`text` on at most `width` characters: as it is when it fits, else cut with an ellipsis."""
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= width else text[:width - len(_ELLIPSIS)].rstrip() + _ELLIPSIS


def _clipped(key, width):
    return lambda item: clip(item.get(key), width)


# The longest action Windows Admin Center names ("Turn on Guest Service Interface") fits whole.
_ACTION_WIDTH = 31
_VM_ACTION_WIDTH = 23       # the VM table also carries the Benefits column

# The eligible benefit as the table shows it: the Azure Edition's full name does not fit beside the
# others (the JSON keeps Windows Admin Center's words).
_SHORT_BENEFITS = {"Windows Server Datacenter: Azure Edition": "Azure Edition"}


def _benefit_cell(vm):
    benefit = vm.get("eligibleBenefit")
    return _SHORT_BENEFITS.get(benefit, benefit)


def _servers_cell(result):
    servers = result.get("servers") or []
    if not servers:
        return "none"
    active = sum(1 for server in servers if server.get("status") == "Active")
    return f"{active}/{len(servers)} Active"


def _first_action(result):
    """The action of the most severe finding that has one (findings come most severe first)."""
    action = next((finding["action"] for finding in result.get("findings") or [] if finding.get("action")), None)
    return clip(action, _ACTION_WIDTH)


def _benefits_cell(vm):
    """Every benefit row of the VM in one cell: active of those that apply (details in JSON: `benefits`)."""
    items = [item for item in vm.get("benefits") or [] if isinstance(item, dict)]
    applicable = [item for item in items if item.get("status") != "Not applicable"]
    if not items:
        return None
    active = sum(1 for item in applicable if item.get("status") == "Active")
    return f"{active}/{len(applicable)} active"


_CLUSTER_COLUMNS = (
    ("Name", "name"), ("ResourceGroup", "resourceGroup"), ("Host", "hostStatus"),
    ("LegacyOs", "legacyOsSupport"), ("Servers", _servers_cell), ("DaysLeft", "daysUntilExpiry"),
    ("Action", _first_action),
)
_SERVER_COLUMNS = (
    ("Name", "name"), ("Status", "status"), ("Source", "statusSource"), ("LegacyOs", "legacyOsSupport"),
    ("ExpiresOn", "expiresOn"), ("Action", _clipped("action", _ACTION_WIDTH)),
)
_VM_COLUMNS = (
    ("Name", "name"), ("Server", "server"), ("EligibleBenefit", _benefit_cell), ("BenefitStatus", "benefitStatus"),
    ("Benefits", _benefits_cell), ("Action", _clipped("action", _VM_ACTION_WIDTH)),
)
_CHECK_COLUMNS = (
    ("Check", "check"), ("Status", "status"), ("ReasonCode", "reasonCode"), ("Found", _clipped("found", 48)),
)
_PROBE_COLUMNS = (("Check", "probe"), ("Status", "status"), ("ReasonCode", "reasonCode"),
                  ("Detail", _clipped("reason", 50)))


def _several_clusters(rows):
    return len({(row.get("subscriptionId"), row.get("resourceGroup"), row.get("cluster")) for row in rows}) > 1


def transform_cluster_show(result):
    if isinstance(result, list):
        return transform_cluster_list(result)
    return _row(result, _CLUSTER_COLUMNS)


def transform_cluster_list(result):
    return [_row(item, _CLUSTER_COLUMNS) for item in result or []]


def transform_server_list(result):
    rows = result or []
    columns = _SERVER_COLUMNS
    if _several_clusters(rows):
        columns = (("Cluster", "cluster"),) + _SERVER_COLUMNS
    return [_row(server, columns) for server in rows]


def transform_vm_list(result):
    """One row per VM; with VMs of several clusters, the cluster's name instead of the server's."""
    rows = result or []
    columns = _VM_COLUMNS
    if _several_clusters(rows):
        columns = (("Cluster", "cluster"),) + tuple(column for column in _VM_COLUMNS if column[0] != "Server")
    return [_row(vm, columns) for vm in rows]


def transform_vm_show(result):
    return _row(result, _VM_COLUMNS)


def transform_attestation(result):
    overall = {"check": "(overall)", "status": result.get("status"), "reasonCode": result.get("reasonCode"),
               "found": result.get("reason")}
    return [_row(check, _CHECK_COLUMNS) for check in [overall, *(result.get("checks") or [])]]


def _endpoint_as_check(endpoint):
    return {"probe": f"endpoint {endpoint.get('name')}",
            "status": "Reachable" if endpoint.get("reachable") else "Unreachable",
            "reasonCode": endpoint.get("reasonCode"),
            "reason": f"{endpoint.get('endpoint')} HTTP {endpoint.get('httpStatus')} in {endpoint.get('latencyMs')} ms"}


def transform_probe(result):
    checks = list(result.get("probes") or []) + [_endpoint_as_check(e) for e in result.get("endpoints") or []]
    return [_row(check, _PROBE_COLUMNS) for check in checks]


_TRUSTED_LAUNCH_COLUMNS = (
    ("Name", "name"), ("SecurityType", "securityType"), ("SecureBoot", "secureBoot"), ("vTPM", "vtpm"),
    ("Attestation", lambda row: (row.get("guestAttestation") or {}).get("healthStatus")),
    ("Status", "status"), ("Action", _clipped("action", _ACTION_WIDTH)),
)
_TRUSTED_LAUNCH_CHECK_COLUMNS = (
    ("Check", "check"), ("Status", "status"), ("ReasonCode", "reasonCode"),
    ("Action", _clipped("action", _ACTION_WIDTH)),
)


def transform_trusted_launch_list(result):
    """One row per VM; with VMs of several clusters, the cluster's name instead of the security type
    (a Standard VM's status is Not applicable)."""
    rows = result or []
    columns = _TRUSTED_LAUNCH_COLUMNS
    if _several_clusters(rows):
        columns = (("Cluster", "cluster"),) + tuple(
            column for column in _TRUSTED_LAUNCH_COLUMNS if column[0] != "SecurityType")
    return [_row(row, columns) for row in rows]


def transform_trusted_launch_show(result):
    """One row per check of the VM, then the cluster's checks (prefixed 'cluster:')."""
    checks = list(result.get("checks") or [])
    cluster = (result.get("clusterChecks") or {}).get("checks") or []
    checks += [dict(check, check=f"cluster:{check.get('check')}") for check in cluster]
    return [_row(check, _TRUSTED_LAUNCH_CHECK_COLUMNS) for check in checks]


_CHECK_FINDING_COLUMNS = (
    ("Severity", "severity"), ("Cluster", "cluster"), ("Name", "name"), ("ReasonCode", "reasonCode"),
    ("Action", _clipped("action", 26)),
)
_FAILS_COLUMN = (("Fails", lambda finding: "yes" if finding.get("matched") else ""),)


def transform_check(result):
    """One row per finding, most severe first (with --fail-on, whether it fails the gate); a report with
    no finding is one row of counts."""
    findings = result.get("findings") or []
    if findings:
        columns = (_FAILS_COLUMN if result.get("failOn") else ()) + _CHECK_FINDING_COLUMNS
        return [_row(finding, columns) for finding in findings]
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
