# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The host-facts `trustedLaunch` object (optional in schema 1) from the rows the Trusted launch
host probes print. Pure. Reads what Windows PowerShell 5.1 and PowerShell 7 write (numbers or
names for enums, one object instead of a list of one).

```
"trustedLaunch": {
  "igvmAgent": {"present": true, "status": "Running", "startType": "Automatic"},
  "vmConfigurationAcl": [{"path": "C:\\ClusterStorage\\UserStorage_1\\tl-w11-01",
                          "vms": [{"name": "tl-w11-01", "vmId": "..."}],
                          "access": [{"identity": "BUILTIN\\Administrators", "sid": "S-1-5-32-544",
                                      "type": "Allow", "rights": "FullControl", "inherited": false}],
                          "error": null}],
  "ipsecRules": [{"name": "...", "displayName": "...", "enabled": true, "mode": "Transport",
                  "inboundSecurity": "Require", "outboundSecurity": "Require", "protocol": "TCP",
                  "localPorts": ["6600"], "remotePorts": ["Any"]}],
  "liveMigration": {"enabled": true, "performanceOption": "SMB"}
}
```
Each of the four is null when its probe could not report.
"""

from .ipsec import security
from ..values import bool_value as _bool, get_path as _get, guid_value as _guid, int_value as _int
from ..values import text_value as _text

# ServiceControllerStatus and ServiceStartMode as Windows PowerShell 5.1 writes them (numbers).
_SERVICE_STATUS = {1: "Stopped", 2: "StartPending", 3: "StopPending", 4: "Running", 5: "ContinuePending",
                   6: "PausePending", 7: "Paused"}
_START_TYPE = {0: "Boot", 1: "System", 2: "Automatic", 3: "Manual", 4: "Disabled"}
_ACCESS_TYPE = {0: "Allow", 1: "Deny"}
_MIGRATION_OPTION = {0: "TCPIP", 1: "Compression", 2: "SMB"}


def _enum(value, names):
    number = _int(value)
    if number is not None:
        return names.get(number, str(number))
    return _text(value)


def _list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def igvm_agent(rows):
    if rows is None:
        return None
    row = rows[0] if rows else {"Present": False}
    present = _bool(_get(row, "Present"))
    return {"present": present, "status": _enum(_get(row, "Status"), _SERVICE_STATUS) if present else None,
            "startType": _enum(_get(row, "StartType"), _START_TYPE) if present else None}


def _access(entry):
    return {"identity": _text(_get(entry, "Identity")), "sid": _text(_get(entry, "Sid")),
            "type": _enum(_get(entry, "Type"), _ACCESS_TYPE), "rights": _text(_get(entry, "Rights")),
            "inherited": _bool(_get(entry, "Inherited"))}


def vm_configuration_acl(rows):
    if rows is None:
        return None
    locations = []
    for row in rows:
        vms = [{"name": _text(_get(item, "Name")), "vmId": _guid(_get(item, "VMId"))}
               for item in _list(_get(row, "VMs")) if isinstance(item, dict)]
        locations.append({"path": _text(_get(row, "Path")), "vms": vms,
                          "access": [_access(entry) for entry in _list(_get(row, "Access")) if isinstance(entry, dict)],
                          "error": _text(_get(row, "Error"))})
    return sorted(locations, key=lambda location: (location["path"] or "").lower())


def ipsec_rules(rows):
    if rows is None:
        return None
    return [{"name": _text(_get(row, "Name")), "displayName": _text(_get(row, "DisplayName")),
             "enabled": _bool(_get(row, "Enabled")), "mode": _text(_get(row, "Mode")),
             "inboundSecurity": security(_get(row, "InboundSecurity")),
             "outboundSecurity": security(_get(row, "OutboundSecurity")),
             "protocol": _text(_get(row, "Protocol")),
             "localPorts": [str(port) for port in _list(_get(row, "LocalPort"))],
             "remotePorts": [str(port) for port in _list(_get(row, "RemotePort"))]} for row in rows]


def live_migration(rows):
    if not rows:
        return None
    row = rows[0]
    return {"enabled": _bool(_get(row, "Enabled")),
            "performanceOption": _enum(_get(row, "PerformanceOption"), _MIGRATION_OPTION)}


def trusted_launch_section(igvm_rows, acl_rows, ipsec_rows, migration_rows):
    return {"igvmAgent": igvm_agent(igvm_rows), "vmConfigurationAcl": vm_configuration_acl(acl_rows),
            "ipsecRules": ipsec_rules(ipsec_rows), "liveMigration": live_migration(migration_rows)}
