# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Seed 002: the location of Trusted launch VM state files must be access restricted to host
server administrators only. Pure.

A location entry of the host facts (`trustedLaunch.vmConfigurationAcl[]`):
`{"path", "vms": [{"name", "vmId"}], "access": [{"identity", "sid", "type", "rights", "inherited"}],
"error"}`. Allow entries may name Administrators (S-1-5-32-544), SYSTEM (S-1-5-18) and the VMs'
own worker identities (NT VIRTUAL MACHINE\\<vm id>, S-1-5-83-1-...); Deny entries only restrict.
"""

from . import (
    ACTION_COLLECT_HOST_FACTS, FAILED, PASSED, UNKNOWN, CheckResult, derive_status, host_probe_command)
from ..values import get_path as _get, guid_value as _guid, text_value as _text

ADMINISTRATORS_SID = "S-1-5-32-544"
SYSTEM_SID = "S-1-5-18"
VM_WORKER_SID_PREFIX = "S-1-5-83-"
ALLOWED_SIDS = {ADMINISTRATORS_SID: "BUILTIN\\Administrators", SYSTEM_SID: "NT AUTHORITY\\SYSTEM"}
_ALLOWED_NAMES = {name.lower() for name in ALLOWED_SIDS.values()}
EXPECTED = "access only for Administrators and SYSTEM (and each VM's own worker identity)"
NAME = "vm-state-files"


def _quote(text):
    escaped = str(text).replace("'", "''")
    return f"'{escaped}'"


def is_allowed(entry):
    """True for an access entry host administrators may have, and for every Deny entry."""
    if (_text(_get(entry, "type")) or "allow").lower() not in ("allow", "0"):
        return True
    sid = (_text(_get(entry, "sid")) or "").upper()
    if sid:
        return sid in ALLOWED_SIDS or sid.startswith(VM_WORKER_SID_PREFIX)
    identity = (_text(_get(entry, "identity")) or "").lower()
    return identity in _ALLOWED_NAMES or identity.startswith("nt virtual machine\\")


def offenders(location):
    return [entry for entry in _get(location, "access") or () if isinstance(entry, dict) and not is_allowed(entry)]


def locations_of_vm(locations, vm):
    """The location entries that list the VM (by Hyper-V id, else by name)."""
    return [location for location in locations
            if any(_same_vm(item, vm) for item in _get(location, "vms") or () if isinstance(item, dict))]


def _same_vm(item, vm):
    vm_id = _guid(_get(item, "vmId"))
    if vm_id and vm.hyperv_vm_id:
        return vm_id == vm.hyperv_vm_id
    name = _text(_get(item, "name"))
    return bool(name and vm.name and name.lower() == vm.name.lower())


def _location_state(location):
    """(status, phrase, fix command or None) of one location."""
    path = _text(_get(location, "path")) or "(no path)"
    if _text(_get(location, "error")):
        return UNKNOWN, f"{path}: its ACL could not be read ({_get(location, 'error')})", None
    if not _get(location, "access"):
        return UNKNOWN, f"{path}: no access entries were reported", None
    bad = offenders(location)
    if not bad:
        return PASSED, f"{path}: restricted to host administrators", None
    names = ", ".join(f'{_text(_get(e, "identity")) or _text(_get(e, "sid"))} ({_text(_get(e, "rights")) or "access"})'
                      for e in bad)
    sids = " ".join(_quote("*" + (_text(_get(e, "sid")) or _text(_get(e, "identity")))) for e in bad)
    inherited = any(_get(e, "inherited") is True for e in bad)
    stop_inheriting = f"icacls {_quote(path)} /inheritance:d; " if inherited else ""
    command = f"{stop_inheriting}icacls {_quote(path)} /remove:g {sids}"
    return FAILED, f"{path} also grants {names}", command


def _found(found):
    return [{"machine": machine.name, "path": _text(_get(location, "path")),
             "allowedOthers": [_text(_get(e, "identity")) or _text(_get(e, "sid")) for e in offenders(location)]}
            for machine, location in found]


def check_locations(found, vm, host, machines=None):
    """vm-state-files over (machine, location) pairs: for one VM (`vm`, `host` its machine's facts) or,
    with `vm` None, for the whole system. `machines`: every machine of the system."""
    states = [(machine, _location_state(location)) for machine, location in found]
    missing = _missing(vm, host, machines, found)
    failed = [(m, phrase, command) for m, (status, phrase, command) in states if status == FAILED]
    if failed:
        commands = [f"Invoke-Command -ComputerName {_quote(m.name)} -ScriptBlock {{ {command} }}"
                    for m, _, command in failed]
        return CheckResult(NAME, FAILED, "vm-state-files-not-restricted",
                           'VM state files are in a location other users can reach: '
                           f'{"; ".join(f"on {m.name}: {phrase}" for m, phrase, _ in failed)}.',
                           EXPECTED, _found(found), "Restrict the location to host administrators",
                           "; ".join(commands))
    unknown = [f"on {m.name}: {phrase}" for m, (status, phrase, _) in states if status == UNKNOWN]
    if unknown or missing:
        targets = _probe_targets(vm, host, machines, states, missing)
        return CheckResult(NAME, UNKNOWN, "host-facts-needed",
                           'Whether VM state files are restricted to host administrators cannot be told: '
                           f'{"; ".join(unknown + missing)}.', EXPECTED, _found(found),
                           ACTION_COLLECT_HOST_FACTS, host_probe_command(targets))
    status = derive_status([CheckResult(NAME, s, "", "") for _, (s, _, _) in states])
    return CheckResult(NAME, status, "vm-state-files-restricted",
                       'VM state files are in locations restricted to host administrators '
                       f'({"; ".join(f"on {m.name}: {phrase}" for m, (_, phrase, _) in states)}).',
                       EXPECTED, _found(found))


def _probe_targets(vm, host, machines, states, missing):
    """The machines to run the probe on: where a location could not be read, and where facts are
    missing (machines without them, or the VM's machine); every machine when none can be named."""
    names = [machine.name for machine, (status, _, _) in states if status == UNKNOWN]
    if vm is None:
        names += [machine.name for machine in machines or () if machine.acl is None]
    elif missing:
        mine = host.name if host is not None else vm.host_node
        names += [mine] if mine else []
    return names or [machine.name for machine in machines or ()]


def _missing(vm, host, machines, found):
    """Why some locations were not seen: machines without facts, or a VM no host reports."""
    if vm is None:
        gaps = [f"no host facts of {m.name}" for m in machines or () if m.acl is None]
        if not found and not gaps:
            gaps.append("no machine reported a VM state location")
        return gaps
    if found:
        return []
    if host is not None and host.acl is not None:
        return [f"the host facts of {host.name} list no location for this VM"]
    return [f"no host facts of the VM's machine ({vm.host_node or 'unknown machine'}) list its state location"]
