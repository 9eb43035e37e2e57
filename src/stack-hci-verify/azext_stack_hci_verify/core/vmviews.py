# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The objects `vm list` and `vm show` return, and the counts of the VMs dashboard. Pure."""

from . import vocabulary as v
from .builds import parse_build
from .fixes import fix_fields
from .vmfacts import sources_list


def guest_os_label(vm):
    """The guest OS as Windows Admin Center shows it (VmFacts.guest_os_label); the verdict's reasons
    name it the same way."""
    return vm.guest_os_label


def vm_view(vm, verdict, detail=False, machine_id=None, read_errors=()):
    """The row `vm list` returns for a VM (detail=True: the object `vm show` returns)."""
    build = parse_build(vm.guest_os_version)
    view = {
        "name": vm.name,
        "server": vm.server,
        "guestOs": guest_os_label(vm),
        "osBuild": str(build) if build is not None else None,
        "eligibleBenefit": verdict.eligible_benefit,
        "benefitStatus": verdict.benefit_status,
        "action": verdict.action,
        **fix_fields(verdict.command),
        "accessMethod": verdict.access_method,
        "accessPaths": list(verdict.access_paths),
        "guestServiceInterface": vm.guest_service_interface,
        "dataExchange": vm.data_exchange,
        "legacyNetworking": vm.legacy_networking,
        "generation": vm.generation,
        "reasonCode": verdict.reason_code,
        "reason": verdict.reason,
        "readErrors": list(read_errors),
        "sources": sources_list(vm.sources),
    }
    if detail:
        view.update({
            "vmId": vm.vm_id,
            "state": vm.state,
            "securityType": vm.security_type,
            "minimumBuild": verdict.minimum_build,
            "needs": verdict.needs,
            "notes": list(verdict.notes),
            "unknown": list(verdict.unknown),
            "steps": [dict(step) for step in verdict.steps],
            "facts": vm.facts_dict(),
            "hostFactsStale": vm.host_stale,
            "conflicts": [dict(conflict) for conflict in vm.conflicts],
            "armResourceId": machine_id,
        })
    return view


def summarize(verdicts):
    """The counts on Windows Admin Center's VMs dashboard. Takes VmVerdicts or views."""
    counts = {v.BENEFITS_ACTIVE: 0, v.BENEFITS_INACTIVE: 0, v.BENEFITS_UNKNOWN: 0, v.BENEFITS_NOT_APPLICABLE: 0}
    total = 0
    for item in verdicts:
        status = item.get("benefitStatus") if isinstance(item, dict) else item.benefit_status
        total += 1
        counts[status if status in counts else v.BENEFITS_UNKNOWN] += 1
    return {
        "activeBenefits": counts[v.BENEFITS_ACTIVE],
        "inactiveBenefits": counts[v.BENEFITS_INACTIVE],
        "unknown": counts[v.BENEFITS_UNKNOWN],
        "noApplicableBenefits": counts[v.BENEFITS_NOT_APPLICABLE],
        "total": total,
    }
