# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Every row of the benefits table, per VM. Pure: facts and the reference time in, benefit items out.

Source: "Azure verification for VMs on Azure Local" (seed 000), "Benefits available on Azure Local".
Its six rows, as offers:

- azure-edition, azure-virtual-desktop, windows-server-esu: the VM's WAC benefit, through Azure
  verification (the VM verdict, core.vmverdict);
- sql-server-esu (Extended Security Updates for SQL Server): an end-of-support SQL Server in its ESU
  years, through Azure verification on the path its OS needs;
- update-manager (Azure Update Manager): an Azure Local VM (Arc resource bridge), or Software Assurance
  attested on an Arc-enabled server;
- machine-configuration (Azure Machine Configuration): Connected Machine agent 1.39 or later;
- machine-configuration-imds (Azure Machine Configuration): IMDS, which needs legacy OS support (v1).

Where the document leaves a rule open, the choices are written beside the rule (and in the README).
"""

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional, Tuple

from . import fixes
from . import vocabulary as v
from .eligibility import NEEDS_V1, NEEDS_V2, Eligibility
from .vmverdict import (CANNOT_TELL, FAILED, Case, step_guest_service_interface, step_host, step_legacy_networking,
                        step_legacy_os_support)

BENEFIT_SQL_ESU = "Extended Security Updates for SQL Server"
BENEFIT_UPDATE_MANAGER = "Azure Update Manager"
BENEFIT_MACHINE_CONFIGURATION = "Azure Machine Configuration"

ACTIVE, INACTIVE, UNKNOWN, NOT_APPLICABLE = "Active", "Inactive", "Unknown", "Not applicable"
STATUSES = (ACTIVE, INACTIVE, UNKNOWN, NOT_APPLICABLE)

OFFER_AZURE_EDITION = "azure-edition"
OFFER_AVD = "azure-virtual-desktop"
OFFER_WINDOWS_ESU = "windows-server-esu"
OFFER_SQL_ESU = "sql-server-esu"
OFFER_UPDATE_MANAGER = "update-manager"
OFFER_MACHINE_CONFIGURATION = "machine-configuration"
OFFER_MACHINE_CONFIGURATION_IMDS = "machine-configuration-imds"
OFFERS = (OFFER_AZURE_EDITION, OFFER_AVD, OFFER_WINDOWS_ESU, OFFER_SQL_ESU, OFFER_UPDATE_MANAGER,
          OFFER_MACHINE_CONFIGURATION, OFFER_MACHINE_CONFIGURATION_IMDS)
_WAC_OFFERS = {v.BENEFIT_AZURE_EDITION: OFFER_AZURE_EDITION, v.BENEFIT_AVD: OFFER_AVD,
               v.BENEFIT_ESU: OFFER_WINDOWS_ESU}
OFFER_BENEFITS = {OFFER_AZURE_EDITION: v.BENEFIT_AZURE_EDITION, OFFER_AVD: v.BENEFIT_AVD,
                  OFFER_WINDOWS_ESU: v.BENEFIT_ESU, OFFER_SQL_ESU: BENEFIT_SQL_ESU,
                  OFFER_UPDATE_MANAGER: BENEFIT_UPDATE_MANAGER,
                  OFFER_MACHINE_CONFIGURATION: BENEFIT_MACHINE_CONFIGURATION,
                  OFFER_MACHINE_CONFIGURATION_IMDS: BENEFIT_MACHINE_CONFIGURATION}

# How a benefit is had (`through`).
THROUGH_VERIFICATION = "Azure verification"
THROUGH_AZURE_LOCAL_VM = "Azure Local VM"
THROUGH_SOFTWARE_ASSURANCE = "Software Assurance"
THROUGH_AGENT = "Connected Machine agent"
THROUGH_IMDS = "IMDS"

# Actions where the seed has none (portal style).
ACTION_UPGRADE_SQL = "Upgrade SQL Server"
ACTION_CONNECT_SQL = "Connect SQL Server to Azure Arc"
ACTION_ATTEST_SOFTWARE_ASSURANCE = "Activate Azure benefits"

# reasonCodes of the benefit items (the WAC row keeps the VM verdict's).
REASON_SQL_IN_SUPPORT = "sql-server-in-support"
REASON_SQL_ESU_ENDED = "sql-esu-ended"
REASON_SQL_NOT_ARC_ENABLED = "sql-server-not-arc-enabled"
REASON_SQL_VERSION_UNKNOWN = "sql-version-unknown"
REASON_SQL_ESU_ACTIVE = "sql-esu-active"
REASON_AZURE_LOCAL_VM = "azure-local-vm"
REASON_SOFTWARE_ASSURANCE = "software-assurance-attested"
REASON_NO_SOFTWARE_ASSURANCE = "software-assurance-not-attested"
REASON_NOT_WINDOWS_SERVER = "not-windows-server"
REASON_ARC_MACHINE_NOT_FOUND = "arc-machine-not-found"
REASON_AGENT_CURRENT = "agent-version-supported"
REASON_AGENT_BELOW = "agent-version-below-minimum"
REASON_AGENT_UNKNOWN = "agent-version-not-reported"
REASON_IMDS_ACTIVE = "imds-reachable"

# Connected Machine agent version from which Machine Configuration has no charge (seed 000).
MINIMUM_AGENT = (1, 39)
SQL_LIFECYCLE_PAGE = "https://learn.microsoft.com/lifecycle/products/?terms=sql%20server"


def _day(text):
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class SqlRelease:
    """A SQL Server release: the end of its extended support, and the end of its ESU years (Microsoft
    lifecycle pages). `esu_end` None: not yet published; taken as three years after the end of support."""
    name: str
    major: int
    end_of_support: datetime
    esu_end: datetime


# Majors as SQL Server reports them (currentVersion "12.0.6024.0" is SQL Server 2014). 2008 R2 is 10.50.
SQL_RELEASES = (
    SqlRelease("SQL Server 2008", 10, _day("2019-07-09"), _day("2023-07-11")),
    SqlRelease("SQL Server 2008 R2", 10, _day("2019-07-09"), _day("2023-07-11")),
    SqlRelease("SQL Server 2012", 11, _day("2022-07-12"), _day("2025-07-08")),
    SqlRelease("SQL Server 2014", 12, _day("2024-07-09"), _day("2027-07-13")),
    SqlRelease("SQL Server 2016", 13, _day("2026-07-14"), _day("2029-07-10")),
    SqlRelease("SQL Server 2017", 14, _day("2027-10-12"), _day("2030-10-08")),
    SqlRelease("SQL Server 2019", 15, _day("2030-01-08"), _day("2033-01-11")),
    SqlRelease("SQL Server 2022", 16, _day("2033-01-11"), _day("2036-01-08")),
    SqlRelease("SQL Server 2025", 17, _day("2036-01-06"), _day("2039-01-11")),
)
_BY_NAME = {release.name.lower(): release for release in SQL_RELEASES}
_BY_MAJOR = {}
for _release in SQL_RELEASES:
    _BY_MAJOR.setdefault(_release.major, _release)
_SQL_NAME = re.compile(r"sql\s*server\s*(\d{4})(\s*r2)?", re.IGNORECASE)


def sql_release(version=None, current_version=None):
    """The SqlRelease of an Arc-enabled SQL Server instance from its `version` ("SQL Server 2014") or
    its `currentVersion` ("12.0.6024.0"; 10.50 is 2008 R2); None when neither says."""
    match = _SQL_NAME.search(str(version or ""))
    if match:
        return _BY_NAME.get(f"sql server {match.group(1)}{' r2' if match.group(2) else ''}")
    parts = str(current_version or "").split(".")
    if parts and parts[0].isdigit():
        major = int(parts[0])
        if major == 10 and len(parts) > 1 and parts[1].startswith("5"):
            return _BY_NAME["sql server 2008 r2"]
        return _BY_MAJOR.get(major)
    return None


def agent_version(text):
    """(major, minor) of a Connected Machine agent version ("1.58.03228.2572"), or None."""
    match = re.match(r"\s*(\d+)\.(\d+)", str(text or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class SqlInstance:
    """An Arc-enabled SQL Server instance (Microsoft.AzureArcData/sqlServerInstances) on the VM."""
    resource_id: Optional[str]
    instance_name: Optional[str]
    version: Optional[str]
    current_version: Optional[str]


@dataclass(frozen=True)
class ArcFacts:  # pylint: disable=too-many-instance-attributes
    """What Azure says of the VM's Arc machine. `machine_id` None: no Arc machine is known."""
    machine_id: Optional[str] = None
    azure_local_vm: bool = False            # an Azure Local VM (Arc resource bridge): it has an instance, kind HCI
    agent_version: Optional[str] = None
    software_assurance: Optional[bool] = None
    os_type: Optional[str] = None
    location: Optional[str] = None
    sql_discovered: Optional[bool] = None   # the agent's mssqlDiscovered
    sql_instances: Tuple[SqlInstance, ...] = ()


def _get(document, *path):
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def _flag(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _text(value):
    return value.strip() if isinstance(value, str) and value.strip() else None


def arc_facts(machine=None, instance=None, sql_instances=()):
    """ArcFacts from a Microsoft.HybridCompute/machines document, its virtualMachineInstances/default
    (None when it has none) and the SQL Server instances whose containerResourceId is the machine."""
    if not isinstance(machine, dict):
        return ArcFacts()
    properties = machine.get("properties") if isinstance(machine.get("properties"), dict) else {}
    reported = _get(instance, "properties", "guestAgentInstallStatus", "agentVersion")
    version = _text(properties.get("agentVersion")) or _text(reported)
    assurance = _flag(_get(properties, "licenseProfile", "softwareAssurance", "softwareAssuranceCustomer"))
    return ArcFacts(
        machine_id=_text(machine.get("id")),
        azure_local_vm=instance is not None or str(machine.get("kind") or "").lower() == "hci",
        agent_version=version, software_assurance=assurance,
        os_type=_text(properties.get("osType")) or _text(properties.get("osName")),
        location=_text(machine.get("location")),
        sql_discovered=_flag(properties.get("mssqlDiscovered")),
        sql_instances=tuple(sql_instances or ()))


# ----------------------------------------------------------------------------------- items

def _fact(name, value, source):
    return {"fact": name, "value": value, "source": source}


def _item(offer, *, status, eligible, reason_code, reason, action=None, command=None, access_method=None,
          through=None, facts=()):
    return {"benefit": OFFER_BENEFITS[offer], "offer": offer, "eligible": eligible, "status": status,
            "through": through, "accessMethod": access_method, "reasonCode": reason_code, "reason": reason,
            "action": action, **fixes.fix_fields(command), "facts": [dict(fact) for fact in facts]}


_WAC_STATUS = {v.BENEFITS_ACTIVE: ACTIVE, v.BENEFITS_INACTIVE: INACTIVE, v.BENEFITS_UNKNOWN: UNKNOWN}


def wac_item(vm, verdict):
    """The VM's WAC benefit (Azure Edition, Azure Virtual Desktop or Windows Server ESU) as an item;
    None when it has none."""
    offer = _WAC_OFFERS.get(verdict.eligible_benefit)
    if offer is None:
        return None
    facts = [_fact("guestOs", vm.guest_os_label, vm.sources.get("guestOsName") or vm.sources.get("guestOsSku")),
             _fact("guestOsVersion", vm.guest_os_version, vm.sources.get("guestOsVersion"))]
    return _item(offer, status=_WAC_STATUS.get(verdict.benefit_status, UNKNOWN), eligible=True,
                 reason_code=verdict.reason_code, reason=verdict.reason, action=verdict.action,
                 command=verdict.command, access_method=verdict.access_method, through=THROUGH_VERIFICATION,
                 facts=facts)


def _walk(case, steps):
    """The first step that fails decides; else the first that cannot tell; None when all passed."""
    deferred = None
    for step in steps:
        outcome = step(case)
        if outcome.result == FAILED or (outcome.result == CANNOT_TELL and outcome.final):
            return outcome
        if outcome.result == CANNOT_TELL and deferred is None:
            deferred = outcome
    return deferred


def _verification(vm, host, needs, machine_id):
    """The outcome of Azure verification on the path `needs` (v1 or v2) for this VM: None when it works."""
    case = Case(vm, host, Eligibility(None, None, needs), machine_id)
    steps = [step_host]
    steps += [step_guest_service_interface] if needs == NEEDS_V2 else [step_legacy_os_support, step_legacy_networking]
    return _walk(case, steps)


def _from_outcome(offer, outcome, *, active_code, active_reason, access_method, through, facts, prefix=""):
    if outcome is None:
        return _item(offer, status=ACTIVE, eligible=True, reason_code=active_code, reason=active_reason,
                     access_method=access_method, through=through, facts=facts)
    status = INACTIVE if outcome.result == FAILED else UNKNOWN
    return _item(offer, status=status, eligible=True, reason_code=outcome.reason_code,
                 reason=prefix + outcome.reason, action=outcome.action, command=outcome.command,
                 access_method=access_method, through=through, facts=facts)


# ----------------------------------------------------------------------------------- SQL Server ESU

def _sql_facts(arc):
    return [_fact("sqlServerInstances", [{"instanceName": item.instance_name, "version": item.version,
                                          "currentVersion": item.current_version} for item in arc.sql_instances],
                  v.SOURCE_ARM),
            _fact("mssqlDiscovered", arc.sql_discovered, v.SOURCE_ARM)]


def _os_needs(wac_verdict):
    """The path an end-of-support SQL Server's ESU uses: the OS's, as for the Windows Server row (v1 for
    Windows Server 2012 R2 and older, which need legacy OS support; v2 for later Windows)."""
    if wac_verdict.eligible_benefit == v.BENEFIT_ESU or wac_verdict.needs == NEEDS_V1:
        return NEEDS_V1
    return NEEDS_V2


def sql_esu_item(vm, arc, wac_verdict, host, now):
    """Extended Security Updates for SQL Server; None when no SQL Server is known on the VM."""
    facts = _sql_facts(arc)
    if not arc.sql_instances:
        if arc.sql_discovered:
            return _item(OFFER_SQL_ESU, status=UNKNOWN, eligible=None, reason_code=REASON_SQL_NOT_ARC_ENABLED,
                         reason="The Connected Machine agent found SQL Server on the VM, but no SQL Server enabled by "
                                "Azure Arc reports its version; connect it to Azure Arc to tell whether it is out of "
                                "support.", action=ACTION_CONNECT_SQL,
                         command=fixes.connect_sql_server(arc.machine_id, arc.location), facts=facts)
        return None
    releases = [(item, sql_release(item.version, item.current_version)) for item in arc.sql_instances]
    unknown = [item for item, release in releases if release is None]
    known = sorted(((release, item) for item, release in releases if release is not None),
                   key=lambda pair: pair[0].end_of_support)
    if not known:
        return _item(OFFER_SQL_ESU, status=UNKNOWN, eligible=None, reason_code=REASON_SQL_VERSION_UNKNOWN,
                     reason=f"SQL Server {_names(unknown)} reports no version that can be read.",
                     action=ACTION_CONNECT_SQL, command=fixes.connect_sql_server(arc.machine_id, arc.location),
                     facts=facts)
    return _sql_release_item(vm, arc, wac_verdict, host, now=now, oldest=known[0], facts=facts)


def _sql_release_item(vm, arc, wac_verdict, host, *, now, oldest, facts):
    """The SQL Server ESU item decided by the instance whose support ended first."""
    release, instance = oldest
    label = f"{release.name} ({instance.instance_name or 'default instance'})"
    if now < release.end_of_support:
        return _item(OFFER_SQL_ESU, status=NOT_APPLICABLE, eligible=False, reason_code=REASON_SQL_IN_SUPPORT,
                     reason=f"{label} is in support until {release.end_of_support:%Y-%m-%d}; it needs no "
                            "Extended Security Updates yet.", facts=facts)
    if now >= release.esu_end:
        return _item(OFFER_SQL_ESU, status=INACTIVE, eligible=False, reason_code=REASON_SQL_ESU_ENDED,
                     reason=f"{label} has been out of support since {release.end_of_support:%Y-%m-%d} and its "
                            f"Extended Security Updates ended {release.esu_end:%Y-%m-%d}: no security updates are "
                            "offered; upgrade to a supported SQL Server.",
                     action=ACTION_UPGRADE_SQL, command=SQL_LIFECYCLE_PAGE, facts=facts)
    needs = _os_needs(wac_verdict)
    outcome = _verification(vm, host, needs, arc.machine_id)
    method = v.ACCESS_V1 if needs == NEEDS_V1 else v.ACCESS_V2
    words = "legacy OS networking (v1)" if needs == NEEDS_V1 else "Guest Service Interface (v2)"
    return _from_outcome(
        OFFER_SQL_ESU, outcome, active_code=REASON_SQL_ESU_ACTIVE,
        active_reason=f"{label} is out of support since {release.end_of_support:%Y-%m-%d}; its Extended Security "
                      f"Updates (until {release.esu_end:%Y-%m-%d}) are verified through {words}.",
        access_method=method, through=THROUGH_VERIFICATION, facts=facts,
        prefix=f"{label} is out of support and needs Azure verification for its Extended Security Updates: ")


def _names(instances):
    return ", ".join(item.instance_name or "default instance" for item in instances)


# ----------------------------------------------------------------------------------- Update Manager

def _is_windows(arc, vm):
    text = " ".join(str(part or "") for part in (arc.os_type, vm.guest_os_name, vm.guest_os_sku)).lower()
    return "windows" in text


def update_manager_item(vm, arc):
    """Azure Update Manager at no cost: automatic for an Azure Local VM (Arc resource bridge); for another
    Arc-enabled server, through the Windows Server Azure benefits attestation (Software Assurance)."""
    facts = [_fact("azureLocalVm", arc.azure_local_vm if arc.machine_id else None, v.SOURCE_ARM),
             _fact("softwareAssuranceCustomer", arc.software_assurance, v.SOURCE_ARM)]
    offer = OFFER_UPDATE_MANAGER
    if arc.machine_id is None:
        return _item(offer, status=UNKNOWN, eligible=None, reason_code=REASON_ARC_MACHINE_NOT_FOUND,
                     reason="No Arc machine in Azure is known for this VM (it is reported by the host only), so Azure "
                            "Update Manager cannot manage it; create it as an Azure Local VM, or connect its guest to "
                            "Azure Arc.", action=v.ACTION_REGISTER, command=fixes.connect_arc_agent(vm.name),
                     facts=facts)
    if arc.azure_local_vm:
        return _item(offer, status=ACTIVE, eligible=True, reason_code=REASON_AZURE_LOCAL_VM,
                     reason="An Azure Local VM created through the Arc resource bridge gets Azure Update Manager at no "
                            "cost.", through=THROUGH_AZURE_LOCAL_VM, facts=facts)
    if arc.software_assurance:
        return _item(offer, status=ACTIVE, eligible=True, reason_code=REASON_SOFTWARE_ASSURANCE,
                     reason="This Arc-enabled server is attested for Windows Server Azure benefits (Software "
                            "Assurance), so Azure Update Manager has no charge.", through=THROUGH_SOFTWARE_ASSURANCE,
                     facts=facts)
    if not _is_windows(arc, vm):
        return _item(offer, status=NOT_APPLICABLE, eligible=False, reason_code=REASON_NOT_WINDOWS_SERVER,
                     reason="This Arc-enabled server is not an Azure Local VM, and the Software Assurance attestation "
                            "is for Windows Server only: Azure Update Manager is charged for it.", facts=facts)
    return _item(offer, status=INACTIVE, eligible=True, reason_code=REASON_NO_SOFTWARE_ASSURANCE,
                 reason="This Arc-enabled server is not an Azure Local VM and is not attested for Windows Server Azure "
                        "benefits: Azure Update Manager is charged for it until Software Assurance is attested on its "
                        "license profile.", action=ACTION_ATTEST_SOFTWARE_ASSURANCE,
                 command=fixes.attest_software_assurance(arc.machine_id, arc.location), facts=facts)


# ----------------------------------------------------------------------------------- Machine Configuration

def machine_configuration_item(vm, arc):
    """Azure Machine Configuration at no cost: Connected Machine agent 1.39 or later."""
    facts = [_fact("agentVersion", arc.agent_version, v.SOURCE_ARM)]
    offer = OFFER_MACHINE_CONFIGURATION
    if arc.machine_id is None:
        return _item(offer, status=UNKNOWN, eligible=None, reason_code=REASON_ARC_MACHINE_NOT_FOUND,
                     reason="No Arc machine in Azure is known for this VM, so its Connected Machine agent version "
                            "cannot be told.", action=v.ACTION_REGISTER, command=fixes.connect_arc_agent(vm.name),
                     through=THROUGH_AGENT, facts=facts)
    version = agent_version(arc.agent_version)
    windows = _is_windows(arc, vm)
    if version is None:
        return _item(offer, status=UNKNOWN, eligible=True, reason_code=REASON_AGENT_UNKNOWN,
                     reason="The Arc machine reports no Connected Machine agent version; 1.39 or later is needed.",
                     action=v.ACTION_INSTALL_UPDATES, command=fixes.update_arc_agent(windows), through=THROUGH_AGENT,
                     facts=facts)
    if version < MINIMUM_AGENT:
        return _item(offer, status=INACTIVE, eligible=True, reason_code=REASON_AGENT_BELOW,
                     reason=f"The Connected Machine agent is {arc.agent_version}; Azure Machine Configuration has no "
                            "charge from agent 1.39. Update the agent in the guest.",
                     action=v.ACTION_INSTALL_UPDATES, command=fixes.update_arc_agent(windows), through=THROUGH_AGENT,
                     facts=facts)
    return _item(offer, status=ACTIVE, eligible=True, reason_code=REASON_AGENT_CURRENT,
                 reason=f"The Connected Machine agent is {arc.agent_version} (1.39 or later): Azure Machine "
                        "Configuration has no charge.", through=THROUGH_AGENT, facts=facts)


def machine_configuration_imds_item(vm, host, machine_id):
    """Azure Machine Configuration through IMDS: legacy OS support (v1) on the VM's server and the legacy
    OS networking adapter on the VM (seed 000, first row of the table)."""
    facts = [_fact("legacyOsSupport", host.legacy_os_support, None),
             _fact("legacyNetworking", vm.legacy_networking, vm.sources.get("legacyNetworking"))]
    outcome = _verification(vm, host, NEEDS_V1, machine_id)
    return _from_outcome(OFFER_MACHINE_CONFIGURATION_IMDS, outcome, active_code=REASON_IMDS_ACTIVE,
                         active_reason="IMDS is reachable over legacy OS networking (v1), which Azure Machine "
                                       "Configuration through IMDS needs.",
                         access_method=v.ACCESS_V1, through=THROUGH_IMDS, facts=facts,
                         prefix="Azure Machine Configuration through IMDS needs legacy OS support: ")


# ----------------------------------------------------------------------------------- all rows

def evaluate_benefits(vm, wac_verdict, host, arc, now):
    """The benefit items of one VM, in the order of the table: its WAC benefit (if any), SQL Server ESU
    (when SQL Server is known on it), Azure Update Manager, Azure Machine Configuration (agent), Azure
    Machine Configuration (IMDS)."""
    items = [wac_item(vm, wac_verdict), sql_esu_item(vm, arc, wac_verdict, host, now),
             update_manager_item(vm, arc), machine_configuration_item(vm, arc),
             machine_configuration_imds_item(vm, host, arc.machine_id)]
    return tuple(item for item in items if item is not None)


def summarize_benefits(item_lists):
    """Counts per offer and status over the VMs' benefit items (lists), in table order: a list of
    {benefit, offer, active, inactive, unknown, notApplicable, total} for the offers that appear."""
    counts = {}
    for items in item_lists:
        for item in items:
            row = counts.setdefault(item["offer"], dict.fromkeys(STATUSES, 0))
            row[item["status"] if item["status"] in row else UNKNOWN] += 1
    return [{"benefit": OFFER_BENEFITS[offer], "offer": offer, "active": row[ACTIVE], "inactive": row[INACTIVE],
             "unknown": row[UNKNOWN], "notApplicable": row[NOT_APPLICABLE], "total": sum(row.values())}
            for offer, row in ((offer, counts[offer]) for offer in OFFERS if offer in counts)]


def benefits_cell(items):
    """The one table column: active of the applicable rows, and the first row that is not green."""
    applicable = [item for item in items if item["status"] != NOT_APPLICABLE]
    active = sum(1 for item in applicable if item["status"] == ACTIVE)
    off = next((item for item in items if item["status"] in (INACTIVE, UNKNOWN)), None)
    text = f"{active}/{len(applicable)} active"
    return f"{text}; {_SHORT[off['offer']]}: {off['status']}" if off else text


_SHORT = {OFFER_AZURE_EDITION: "Azure Edition", OFFER_AVD: "AVD", OFFER_WINDOWS_ESU: "ESU", OFFER_SQL_ESU: "SQL ESU",
          OFFER_UPDATE_MANAGER: "Update Manager", OFFER_MACHINE_CONFIGURATION: "Machine Config",
          OFFER_MACHINE_CONFIGURATION_IMDS: "Machine Config (IMDS)"}
