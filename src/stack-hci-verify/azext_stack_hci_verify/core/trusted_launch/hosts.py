# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Cluster-level Trusted launch checks (seed 002, "Guidance"). Pure.

- attestation-configuration: the cluster's isolatedVmAttestationConfiguration (ARM).
- igvm-agent: IgvmAgent installed and running on every machine of the system (host facts).
- vm-state-files: the locations of VM state files grant access only to host administrators:
  Administrators and SYSTEM (and the VMs' own worker identities, NT VIRTUAL MACHINE\\<id>, which
  Hyper-V gives each VM on its files).
- live-migration-protection: IPsec rules that require protection for live migration traffic
  (TCP 6600, or 445 with SMB transport) on every machine; a Warning where they cannot be seen,
  because live migration traffic is not encrypted by default.

The host facts are the optional `trustedLaunch` object of a host-facts document (schema 1), read
from HostFacts.document: `igvmAgent`, `vmConfigurationAcl`, `ipsecRules`, `liveMigration`.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

from . import (
    ACTION_COLLECT_HOST_FACTS, DOC_GUIDANCE, FAILED, PASSED, UNKNOWN, WARNING, CheckResult, derive_status,
    host_probe_command)
from .acl import check_locations, locations_of_vm
from .ipsec import ipsec_state, live_migration_command
from ..values import get_path as _get, short_name as _short, text_value as _text

HOST_FACTS_KEY = "trustedLaunch"
IGVM_AGENT = "IgvmAgent"


def _quote(text):
    escaped = str(text).replace("'", "''")
    return f"'{escaped}'"


@dataclass(frozen=True)
class MachineTrustedLaunch:
    """What one machine's host facts say for Trusted launch; None where nothing was reported."""
    name: str
    source: Optional[str] = None
    igvm_agent: Optional[dict] = None
    acl: Optional[tuple] = None
    ipsec_rules: Optional[tuple] = None
    live_migration: Optional[dict] = None


def _list_or_none(value):
    if isinstance(value, dict):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, dict))
    return None


def machine_facts(name, host_facts=None):
    """MachineTrustedLaunch from one HostFacts (its raw document's `trustedLaunch`), or none."""
    if host_facts is None:
        return MachineTrustedLaunch(name)
    section = _get(getattr(host_facts, "document", None) or {}, HOST_FACTS_KEY)
    section = section if isinstance(section, dict) else {}
    agent = _get(section, "igvmAgent")
    migration = _get(section, "liveMigration")
    return MachineTrustedLaunch(
        name=name, source=host_facts.source,
        igvm_agent=agent if isinstance(agent, dict) else None,
        acl=_list_or_none(_get(section, "vmConfigurationAcl")),
        ipsec_rules=_list_or_none(_get(section, "ipsecRules")),
        live_migration=migration if isinstance(migration, dict) else None)


def _newer(facts, known):
    if facts.collected_at is None:
        return False
    return known.collected_at is None or facts.collected_at > known.collected_at


def machines_for_cluster(cluster_facts, host_facts):
    """One MachineTrustedLaunch per machine of the system; host facts are matched by computer name
    (with or without domain); the newest file wins when several describe one machine."""
    newest = {}
    for facts in host_facts or ():
        key = _short(facts.computer_name)
        known = newest.get(key)
        if known is None or _newer(facts, known):
            newest[key] = facts
    names = [node.name for node in cluster_facts.nodes]
    names = names or sorted(facts.computer_name for facts in newest.values() if facts.computer_name)
    return tuple(machine_facts(name, newest.get(_short(name))) for name in names)


# ----------------------------------------------------------------------------- the checks

def check_attestation_configuration(cluster_facts):
    name = "attestation-configuration"
    expected = "isolatedVmAttestationConfiguration with attestationResourceId and both endpoints"
    config = cluster_facts.isolated_vm_attestation_configuration
    keys = ("attestationResourceId", "relyingPartyServiceEndpoint", "attestationServiceEndpoint")
    if isinstance(config, dict):
        missing = [key for key in keys if not _text(_get(config, key))]
        found = {key: _text(_get(config, key)) for key in keys}
        if not missing:
            return CheckResult(name, PASSED, "attestation-configured",
                               'The system has an attestation resource for isolated VMs '
                               f'({found["attestationResourceId"]}).', expected, found)
        return CheckResult(name, WARNING, "attestation-configuration-incomplete",
                           f"isolatedVmAttestationConfiguration lacks {', '.join(missing)}.", expected,
                           found, "Sync with Azure", "Sync-AzureStackHCI")
    if not cluster_facts.has_reported_properties:
        return CheckResult(name, UNKNOWN, "cluster-not-registered",
                           "The cluster has not reported its properties (not registered?), so its attestation "
                           "configuration cannot be told.", expected, None, "Sync with Azure", "Sync-AzureStackHCI")
    return CheckResult(name, FAILED, "attestation-configuration-missing",
                       "The cluster has no isolatedVmAttestationConfiguration: there is no attestation resource for "
                       "its Trusted launch VMs to attest to.", expected, None, "Sync with Azure",
                       "Sync-AzureStackHCI")


def _igvm_state(machine):
    """(status, phrase) for IgvmAgent on one machine."""
    agent = machine.igvm_agent
    if agent is None:
        return UNKNOWN, "not reported" if machine.source else "no host facts"
    status = _text(_get(agent, "status"))
    if _get(agent, "present") is False:
        return FAILED, "not installed"
    if (status or "").lower() != "running":
        return FAILED, f"{status or 'not running'}"
    return PASSED, "Running"


def check_igvm_agent(machines):
    name = "igvm-agent"
    expected = "IgvmAgent running on every machine"
    states = [(machine, _igvm_state(machine)) for machine in machines]
    found = [{"machine": m.name, "igvmAgent": phrase, "source": m.source} for m, (_, phrase) in states]
    if not machines:
        return CheckResult(name, UNKNOWN, "no-machines", "The cluster reports no machines: run the probe on each "
                           "of its machines and pass the files with --host-facts.", expected, found,
                           ACTION_COLLECT_HOST_FACTS, host_probe_command())
    failed = [(m, phrase) for m, (status, phrase) in states if status == FAILED]
    unknown = [m.name for m, (status, _) in states if status == UNKNOWN]
    if failed:
        machine, phrase = failed[0]
        not_known = f"; not known for {', '.join(unknown)}" if unknown else ""
        reason = f"IgvmAgent is not running on {', '.join(f'{m.name} ({p})' for m, p in failed)}{not_known}."
        if phrase == "not installed":
            return CheckResult(name, FAILED, "igvm-agent-missing", reason, expected, found,
                               "Update the machine: Azure Local installs IgvmAgent on every machine", DOC_GUIDANCE)
        return CheckResult(name, FAILED, "igvm-agent-not-running", reason, expected, found,
                           f"Start IgvmAgent on {machine.name}",
                           f"Invoke-Command -ComputerName {_quote(machine.name)} -ScriptBlock {{ Set-Service -Name "
                           f"IgvmAgent -StartupType Automatic; Start-Service -Name IgvmAgent }}")
    if unknown:
        return CheckResult(name, UNKNOWN, "host-facts-needed",
                           f'No host facts say whether IgvmAgent runs on {", ".join(unknown)}: run the probe there and '
                           'pass the file '
                           "with --host-facts.", expected, found,
                           ACTION_COLLECT_HOST_FACTS, host_probe_command(unknown))
    return CheckResult(name, PASSED, "igvm-agent-running",
                       f"IgvmAgent runs on every machine ({', '.join((m.name for m in machines))}).",
                       expected, found)


def check_live_migration(machines):
    name = "live-migration-protection"
    expected = "IPsec rules requiring protection of live migration traffic on every machine"
    states = [(machine, ipsec_state(machine)) for machine in machines]
    found = [{"machine": m.name, "ipsec": state, "rules": rules} for m, (state, rules) in states]
    if machines and all(state == "required" for _, (state, _) in states):
        return CheckResult(name, PASSED, "live-migration-ipsec",
                           "IPsec rules require protection of live migration traffic on every machine.",
                           expected, found)
    unseen = [m.name for m, (state, _) in states if state == "unseen"]
    weak = [m.name for m, (state, _) in states if state in ("requested", "none")]
    parts = []
    if weak:
        parts.append(f"no IPsec rule requires protection of live migration traffic on {', '.join(weak)}")
    if unseen or not machines:
        parts.append(f"it cannot be seen on {', '.join(unseen) or 'any machine'}")
    reason = f"Live migration traffic is not encrypted by default and {'; '.join(parts)}."
    if weak:
        return CheckResult(name, WARNING, "live-migration-not-protected", reason, expected, found,
                           "Protect live migration traffic with IPsec", live_migration_command())
    return CheckResult(name, WARNING, "live-migration-protection-unseen", reason, expected, found,
                       ACTION_COLLECT_HOST_FACTS, host_probe_command(unseen))


# ----------------------------------------------------------------------------- the cluster

@dataclass(frozen=True)
class ClusterTrustedLaunch:
    """The cluster-level checks and the machines they were made from."""
    name: str
    machines: Tuple[MachineTrustedLaunch, ...]
    checks: Tuple[CheckResult, ...]

    def check(self, name):
        return next((result for result in self.checks if result.check == name), None)

    def vm_state_files(self, vm):
        """vm-state-files for one VM: the ACL of the locations its files are in."""
        host = next((m for m in self.machines if vm.host_node and _short(m.name) == _short(vm.host_node)), None)
        found = [(machine, location) for machine in self.machines
                 for location in locations_of_vm(machine.acl or (), vm)]
        return check_locations(found, vm, host, machines=self.machines)

    @property
    def status(self):
        return derive_status(self.checks)

    def to_dict(self):
        return {"name": self.name, "status": self.status, "checks": [check.to_dict() for check in self.checks],
                "machines": [_machine_view(machine) for machine in self.machines]}


def _machine_view(machine):
    return {"name": machine.name, "hostFacts": machine.source, "igvmAgent": _igvm_state(machine)[1],
            "vmStateLocations": None if machine.acl is None else len(machine.acl),
            "liveMigrationIpsec": ipsec_state(machine)[0]}


def evaluate_cluster(cluster_facts, host_facts=()):
    """ClusterTrustedLaunch for one cluster and the host facts given for it."""
    machines = machines_for_cluster(cluster_facts, host_facts)
    all_locations = [(machine, location) for machine in machines for location in machine.acl or ()]
    checks = (check_attestation_configuration(cluster_facts), check_igvm_agent(machines),
              check_locations(all_locations, None, None, machines=machines), check_live_migration(machines))
    return ClusterTrustedLaunch(name=cluster_facts.name, machines=machines, checks=checks)
