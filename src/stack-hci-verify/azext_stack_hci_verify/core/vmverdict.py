# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The VM verdict of Azure verification for VMs: the design's eight ordered steps, as data. Pure.

Each step looks at one thing and passes, fails with its action and command, or cannot tell.
`STEPS` is the whole verdict, in order:

1. guest OS (cannot tell -> Unknown, final)          5. Guest Service Interface (v2)
2. eligible benefit (none -> No applicable benefits)  6. legacy OS support on the VM's server (v1)
3. the host: cluster host status and the VM's server  7. the legacy OS networking NIC (v1)
   (not On / not Active -> Inactive benefits with     8. all passed -> Active benefits
   the host-level fix; an unrecognized value or a
   stale file -> Unknown, final)
4. OS build against the minimum

The first step that fails decides: Inactive benefits, with its action. A later step that cannot
tell (a fact only a host probe sees, or one from a stale file) does not stop the walk, since a
later step may still fail for certain; when none fails, the first step that could not tell
decides and the VM is Unknown, with the action that finds out. Only Active benefits and No
applicable benefits are without an action.
"""

from dataclasses import dataclass
from typing import Callable, Optional, Tuple

from . import fixes
from . import vocabulary as v
from .builds import BELOW, REVISION_UNKNOWN, compare_to_minimum, parse_build
from .hostprereqs import COMMAND_RESET_LEGACY, HOST_SWITCH, REASON_HOST_SWITCH_MISSING, switch_missing
from .servers import NOT_ACTIVE
from .eligibility import (MINIMUM_BUILD_UNKNOWN, MINIMUM_FEATURE_UPDATE, MINIMUM_INCLUDED, MINIMUM_RELEASE_NOT_LISTED,
                          MINIMUM_SERVICING_STACK, NEEDS_V1, NEEDS_V2, eligibility)
from .values import short_name as _short
from .vmfacts import VmFacts

REASON_GUEST_OS_UNKNOWN = "guest-os-unknown"
REASON_GUEST_OS_NOT_REPORTED = "guest-os-not-reported"
REASON_NO_BENEFIT = "no-applicable-benefit"
REASON_SERVER_NOT_ACTIVE = "server-not-active"
REASON_BUILD_BELOW_MINIMUM = "build-below-minimum"
REASON_FEATURE_UPDATE_NEEDED = "feature-update-needed"
REASON_OS_BUILD_UNREADABLE = "os-build-unreadable"
REASON_GSI_OFF = "guest-service-interface-off"
REASON_LEGACY_OS_SUPPORT_OFF = "legacy-os-support-off"
REASON_LEGACY_NETWORKING_MISSING = "legacy-networking-missing"
REASON_ACTIVE = "active"

PASSED, FAILED, CANNOT_TELL, NOT_APPLICABLE = "Passed", "Failed", "Unknown", "NotApplicable"


@dataclass(frozen=True)
class HostContext:  # pylint: disable=too-many-instance-attributes
    """What a VM's verdict needs to know about its host (built by `host_context`)."""
    host: object                      # clusters.Verdict: the cluster's host status
    server: object = None             # servers.ServerVerdict of the VM's server, None when not known
    all_servers_active: bool = False  # every server the cluster reports is Active
    has_servers: bool = False
    legacy_os_support: str = v.UNKNOWN
    legacy_command: Optional[str] = None
    server_name: Optional[str] = None
    servers: tuple = ()               # servers.ServerVerdict of every server the cluster reports
    host_switch_missing: bool = False  # the server's host facts say its AZSHCI_HOST-IMDS_DO_NOT_MODIFY is absent


def host_context(cluster_verdict, server_name):
    """HostContext for a VM on `server_name` (None: not known) from a clusters.ClusterVerdict."""
    servers = tuple(cluster_verdict.servers)
    wanted = _short(server_name) if server_name else None
    server = next((item for item in servers if wanted and _short(item.name) == wanted), None)
    legacy = server.legacy_os_support if server is not None else cluster_verdict.legacy.value
    command = None
    if legacy == v.OFF:
        # As the cluster's fix: on this server alone unless every server has it off.
        whole = all(item.legacy_os_support == v.OFF for item in servers)
        command = fixes.enable_legacy_os_support(server.name if server is not None and not whole else None)
    all_active = bool(servers) and all(item.status == v.SERVER_ACTIVE for item in servers)
    name = server.name if server is not None else server_name
    return HostContext(cluster_verdict.host, server, all_active, bool(servers), legacy, command, name, servers,
                       switch_missing(cluster_verdict.evidence, name))


@dataclass(frozen=True)
class Outcome:  # pylint: disable=too-many-instance-attributes
    """What one step found. `result`: PASSED, FAILED, CANNOT_TELL or NOT_APPLICABLE (ends the walk
    green). `final`: a CANNOT_TELL that ends the walk (steps 1 and 3)."""
    result: str
    reason_code: Optional[str] = None
    reason: Optional[str] = None
    action: Optional[str] = None
    command: Optional[str] = None
    note: Optional[str] = None
    final: bool = False
    short: Optional[str] = None       # the reason without its advice, for listing beside another verdict


def _pass(note=None):
    return Outcome(PASSED, note=note)


@dataclass(frozen=True)
class Case:
    """Everything the steps read about one VM."""
    vm: VmFacts
    host: HostContext
    eligibility: object
    machine_id: Optional[str] = None

    @property
    def label(self):
        return fixes.display_name(self.vm.name) if self.vm.name else (self.vm.vm_id or "the VM")

    @property
    def server(self):
        return self.host.server_name or self.vm.server

    def collect(self, code, reason, final=False):
        """Cannot tell: run the probe on the VM's server (when it is not known, on each server the
        cluster reports) and pass the file."""
        servers = tuple(item.name for item in self.host.servers)
        several = not self.server and len(servers) != 1
        files = "the files" if several else "its file"
        return Outcome(CANNOT_TELL, code, f"{reason} Run the probe on {fixes.probe_where(self.server, servers)} and "
                                          f"pass {files} with --host-facts.",
                       v.ACTION_COLLECT_HOST_FACTS, fixes.probe_command(self.server, servers), final=final,
                       short=reason)

    def stale(self, fact_text, final=False):
        return self.collect(v.REASON_HOST_FACTS_STALE,
                            f"{fact_text} comes only from a stale host-facts file, which cannot vouch for it now.",
                            final)


# ----------------------------------------------------------------------------- the steps

def step_guest_os(case):
    vm, elig = case.vm, case.eligibility
    if elig.determined:
        if vm.from_stale_host("guestOsName"):
            # Not final: a later step that fails for certain (the host, say) still decides; a benefit
            # told from a stale guest OS alone is never Active and never "No applicable benefits".
            return case.stale(f"The guest OS ({vm.guest_os_label})")
        return _pass()
    said = f" (the only name reported is '{vm.guest_os_label}')" if vm.guest_os_label else ""
    if vm.data_exchange is False:
        return Outcome(CANNOT_TELL, REASON_GUEST_OS_UNKNOWN,
                       f"Hyper-V data exchange is off and no other source reported the guest OS{said}, so its eligible "
                       "benefit cannot be told; turn on data exchange.",
                       v.ACTION_TURN_ON_DATA_EXCHANGE, fixes.enable_data_exchange(vm.name), final=True)
    if vm.data_exchange is True:
        return case.collect(REASON_GUEST_OS_NOT_REPORTED,
                            "Hyper-V data exchange is on, but the guest has not reported its "
                            f"OS{said}{f' (VM state: {vm.state})' if vm.state else ''}; start the VM, "
                            "make sure its integration services run, then collect the facts again.", final=True)
    return case.collect(v.REASON_HOST_FACTS_NEEDED,
                        f"No source reported the guest OS{said}, so its eligible benefit cannot be told; the host's "
                        "Hyper-V data exchange reports it.", final=True)


def step_benefit(case):
    if case.eligibility.benefit is not None:
        return _pass()
    if case.vm.from_stale_host("guestOsName"):
        return case.stale(f"The guest OS ({case.vm.guest_os_label}), which has no benefit,", final=True)
    return Outcome(NOT_APPLICABLE, REASON_NO_BENEFIT, f"{case.vm.guest_os_label} has no benefit that needs Azure "
                                                      "verification for VMs.")


def step_host(case):  # pylint: disable=too-many-return-statements
    """Within this step a definite failure beats "cannot tell": host attestation Off, a system that
    is not registered, or every server the VM can run on Expired, Inactive or Error makes the VM
    Inactive benefits with that cause's fix, whatever else about the host is unknown."""
    host, server = case.host.host, case.host.server
    if host.value == v.OFF:
        return Outcome(FAILED, host.reason_code, host.reason, host.action, host.command)
    if host.value != v.ON and host.reason_code in (v.REASON_CLUSTER_NOT_REGISTERED, "host-attestation-not-reported"):
        return Outcome(FAILED, host.reason_code, host.reason, host.action, host.command)
    possible = (server,) if server is not None else tuple(case.host.servers)
    if possible and all(item.status in NOT_ACTIVE for item in possible):
        return _server_outcome(possible[0])
    if host.value != v.ON:
        return Outcome(CANNOT_TELL, host.reason_code, host.reason, host.action, host.command, final=True)
    if server is not None:
        return _server_outcome(server)
    if case.host.all_servers_active:
        return _pass("Its server is not known, but every server of the cluster is Active.")
    if case.server and case.host.has_servers:
        return case.collect(v.REASON_HOST_FACTS_NEEDED, f"Its server {case.server} is not one the cluster reports, so "
                            "its status cannot be told.", final=True)
    return case.collect(v.REASON_HOST_FACTS_NEEDED, "Which server runs the VM is not known (ARM reports no "
                        "hostNodeName) and not every server is Active.", final=True)


def _server_outcome(server):
    if server.status == v.SERVER_ACTIVE:
        return _pass()
    reason = f"Azure verification on server {server.name} is {server.status}: {server.reason}"
    if server.status == v.UNKNOWN:
        return Outcome(CANNOT_TELL, server.reason_code, reason, server.action, server.command, final=True)
    return Outcome(FAILED, REASON_SERVER_NOT_ACTIVE, reason, server.action, server.command)


def step_build(case):  # pylint: disable=too-many-return-statements
    vm, elig = case.vm, case.eligibility
    if elig.minimum_note == MINIMUM_SERVICING_STACK:
        return _pass(f"{elig.benefit} needs {elig.update} in the guest; there is no build number to compare, so this "
                     "is not checked.")
    if elig.minimum_note == MINIMUM_INCLUDED:
        return _pass(f"{elig.guest_os} postdates the April 9, 2024 update that the benefit needs.")
    build = parse_build(vm.guest_os_version)
    if elig.minimum_note == MINIMUM_FEATURE_UPDATE:
        # No command performs a feature update: the command is the page to follow, and the reason says how.
        page = fixes.feature_update_documentation()
        return Outcome(FAILED, REASON_FEATURE_UPDATE_NEEDED,
                       f"Build {build} is a Windows 10 release before 21H2, which KB5036892 does not apply to, and no "
                       "command here installs a feature update: install the Windows 10 22H2 feature update first "
                       "(through Windows Update for Business, WSUS or Configuration Manager, or from installation "
                       f"media; see {page}), then KB5036892 or later (minimum 19045.4291).",
                       v.ACTION_INSTALL_UPDATES, page)
    if build is None:
        return _build_unknown(case)
    if elig.minimum_note == MINIMUM_RELEASE_NOT_LISTED or elig.minimum_build is None:
        return _pass(f"No minimum build is listed for {elig.guest_os} build {build.major}; the OS build is not "
                     "checked.")
    standing = compare_to_minimum(build, elig.minimum_build)
    if standing == BELOW:
        return Outcome(FAILED, REASON_BUILD_BELOW_MINIMUM,
                       f"The guest OS build {build} is below the minimum {elig.minimum_build} for {elig.benefit}; "
                       f"install {elig.update} or a later cumulative update in the guest.",
                       v.ACTION_INSTALL_UPDATES, _install_command(case))
    if vm.from_stale_host("guestOsVersion"):
        return case.stale(f"The guest OS build {build}")
    if standing == REVISION_UNKNOWN:
        why = " (Hyper-V data exchange does not report it)" if vm.sources.get("guestOsVersion") == v.SOURCE_HOST else ""
        return _pass(f"The OS build is {build.major} but its revision could not be read{why}; the minimum is "
                     f"{elig.minimum_text}.")
    return _pass()


def _build_unknown(case):
    vm, elig = case.vm, case.eligibility
    minimum = f"; the minimum is {elig.minimum_text}" if elig.minimum_text else ""
    if vm.guest_os_version:
        return case.collect(REASON_OS_BUILD_UNREADABLE, f"The reported version {vm.guest_os_version!r} has no build "
                            f"number that can be read{minimum}.")
    if vm.data_exchange is False:
        return Outcome(CANNOT_TELL, v.REASON_HOST_FACTS_NEEDED,
                       f"No source reported the guest OS build{minimum} and Hyper-V data exchange, which reports it, "
                       "is off.", v.ACTION_TURN_ON_DATA_EXCHANGE, fixes.enable_data_exchange(vm.name))
    why = " (the release, and so the minimum, depends on it)" if elig.minimum_note == MINIMUM_BUILD_UNKNOWN else ""
    return case.collect(v.REASON_HOST_FACTS_NEEDED, f"No source reported the guest OS build{why}{minimum}.")


def _install_command(case):
    return fixes.install_updates(case.machine_id, case.vm.vm_id, case.vm.name)


def step_guest_service_interface(case):
    vm = case.vm
    if case.eligibility.needs != NEEDS_V2:
        return _pass()
    if vm.guest_service_interface is False:
        return Outcome(FAILED, REASON_GSI_OFF, f"Guest Service Interface is off; {case.label} reaches Azure "
                       "verification through it (v2).", v.ACTION_TURN_ON_GSI,
                       fixes.enable_guest_service_interface(vm.name))
    if vm.guest_service_interface is None:
        return case.collect(v.REASON_HOST_FACTS_NEEDED, "Whether Guest Service Interface is on is not known (ARM "
                            "does not report it).")
    if vm.from_stale_host("guestServiceInterface"):
        return case.stale("That Guest Service Interface is on")
    return _pass()


def step_legacy_os_support(case):
    if case.eligibility.needs != NEEDS_V1:
        return _pass()
    where = f"on {case.server}" if case.server else "on the VM's server"
    if case.host.legacy_os_support == v.OFF:
        return Outcome(FAILED, REASON_LEGACY_OS_SUPPORT_OFF,
                       f"Legacy OS support is off {where}; {case.label} reaches Azure verification over legacy OS "
                       "networking (v1).", v.ACTION_TURN_ON_LEGACY_OS_SUPPORT,
                       case.host.legacy_command or fixes.enable_legacy_os_support())
    if case.host.legacy_os_support != v.ON:
        return case.collect(v.REASON_HOST_FACTS_NEEDED, f"Whether legacy OS support is on {where} is not known.")
    if case.host.host_switch_missing:
        return Outcome(FAILED, REASON_HOST_SWITCH_MISSING,
                       f"Legacy OS support is on {where}, but its host vSwitch {HOST_SWITCH} is missing, so legacy OS "
                       f"networking (v1) cannot reach Azure verification; reset legacy OS support there.",
                       v.ACTION_TURN_ON_LEGACY_OS_SUPPORT, COMMAND_RESET_LEGACY)
    return _pass()


def step_legacy_networking(case):
    vm = case.vm
    if case.eligibility.needs != NEEDS_V1:
        return _pass()
    if vm.legacy_networking is False:
        return Outcome(FAILED, REASON_LEGACY_NETWORKING_MISSING,
                       f"{case.label} has no AZSHCI_GUEST-IMDS_DO_NOT_MODIFY network adapter, which legacy OS "
                       f"networking (v1) needs.{_generation_note(vm)}", v.ACTION_SET_UP_LEGACY_NETWORKING,
                       fixes.set_up_legacy_networking(vm.name, vm.generation, vm.state))
    if vm.legacy_networking is None:
        return case.collect(v.REASON_HOST_FACTS_NEEDED, "Whether the VM has the legacy OS networking adapter is not "
                            "known (ARM does not report it).")
    if vm.from_stale_host("legacyNetworking"):
        return case.stale("That the VM has the legacy OS networking adapter")
    return _pass()


def _generation_note(vm):
    if vm.generation == 1:
        if (vm.state or "").lower() == "off":
            return " It is a Generation 1 VM and is off, as adding the adapter requires."
        return (f" It is a Generation 1 VM{f' ({vm.state} now)' if vm.state else ''}: it must be powered off "
                "while the adapter is added, so the command stops it first and starts it again.")
    if vm.generation is None:
        return " If it is a Generation 1 VM, it must be powered off while the adapter is added."
    return ""


@dataclass(frozen=True)
class Step:
    name: str
    check: Callable


STEPS = (
    Step("guestOs", step_guest_os),
    Step("eligibleBenefit", step_benefit),
    Step("host", step_host),
    Step("osBuild", step_build),
    Step("guestServiceInterface", step_guest_service_interface),
    Step("legacyOsSupport", step_legacy_os_support),
    Step("legacyNetworking", step_legacy_networking),
)


# ----------------------------------------------------------------------------- the verdict

@dataclass(frozen=True)
class VmVerdict:  # pylint: disable=too-many-instance-attributes
    """The verdict on one VM: the WAC benefit status, the action and the exact command to run."""
    eligible_benefit: Optional[str]
    benefit_status: str
    action: Optional[str]
    command: Optional[str]
    access_method: Optional[str]
    access_paths: Tuple[str, ...]
    reason_code: str
    reason: str
    notes: Tuple[str, ...] = ()
    minimum_build: Optional[str] = None
    needs: Optional[str] = None
    unknown: Tuple[str, ...] = ()
    steps: Tuple[dict, ...] = ()

    def to_dict(self):
        return {
            "eligibleBenefit": self.eligible_benefit, "benefitStatus": self.benefit_status,
            "action": self.action, **fixes.fix_fields(self.command), "accessMethod": self.access_method,
            "accessPaths": list(self.access_paths), "reasonCode": self.reason_code, "reason": self.reason,
            "notes": list(self.notes), "minimumBuild": self.minimum_build, "needs": self.needs,
            "unknown": list(self.unknown), "steps": [dict(step) for step in self.steps],
        }


def access_paths(vm, host):
    """The paths that are set up: v2 when Guest Service Interface is on, v1 when the VM has the legacy
    OS networking NIC and legacy OS support is on on its server."""
    paths = []
    if vm.guest_service_interface is True:
        paths.append(v.ACCESS_V2)
    if vm.legacy_networking is True and host.legacy_os_support == v.ON:
        paths.append(v.ACCESS_V1)
    return tuple(paths)


def access_method(elig, paths):
    """The path the VM's benefit uses, given what its OS needs: v1 for an OS that needs legacy OS
    networking; v2 for one that needs Guest Service Interface, v2+v1 when it also has v1 set up to
    fall back to (seed 000); none without a benefit; None when the need is not known."""
    if not elig.determined:
        return None
    if elig.benefit is None:
        return v.ACCESS_NONE
    if elig.needs == NEEDS_V1:
        return v.ACCESS_V1
    if elig.needs == NEEDS_V2:
        return v.ACCESS_BOTH if v.ACCESS_V1 in paths else v.ACCESS_V2
    return None


_STATUS = {FAILED: v.BENEFITS_INACTIVE, CANNOT_TELL: v.BENEFITS_UNKNOWN, NOT_APPLICABLE: v.BENEFITS_NOT_APPLICABLE}
_PATH_WORDS = {v.ACCESS_V2: "Guest Service Interface (v2)", v.ACCESS_V1: "legacy OS networking (v1)",
               v.ACCESS_BOTH: "Guest Service Interface (v2), with legacy OS networking (v1) as fallback"}


def _walk(case):
    """(deciding outcome or None, outcomes by step, deferred cannot-tell outcomes)."""
    trail, deferred = [], []
    for step in STEPS:
        outcome = step.check(case)
        trail.append((step.name, outcome))
        if outcome.result in (FAILED, NOT_APPLICABLE) or (outcome.result == CANNOT_TELL and outcome.final):
            return outcome, trail, deferred
        if outcome.result == CANNOT_TELL:
            deferred.append(outcome)
    return (deferred[0] if deferred else None), trail, deferred


def evaluate_vm(vm, host, machine_id=None):
    """The verdict on VmFacts `vm` whose host is HostContext `host`; `machine_id` is its Arc machine's
    resource ID, when ARM knows it (the Install updates command uses it)."""
    elig = eligibility(vm.guest_os_name, vm.guest_os_version, vm.guest_os_sku)
    case = Case(vm, host, elig, machine_id)
    decided, trail, deferred = _walk(case)
    paths = access_paths(vm, host)
    notes = tuple(outcome.note for _, outcome in trail if outcome.note)
    unknown = tuple(outcome.reason_code for outcome in deferred if outcome is not decided)
    steps = tuple({"step": name, "result": outcome.result, "reasonCode": outcome.reason_code}
                  for name, outcome in trail)
    if decided is None:
        method = access_method(elig, paths)
        reason = f"{elig.benefit} is active through {_PATH_WORDS.get(method, 'the host')}."
        decided = Outcome(PASSED, REASON_ACTIVE, reason)
    status = _STATUS.get(decided.result, v.BENEFITS_ACTIVE)
    reason = " ".join([decided.reason] + list(notes) + [
        f'Also not known: {" ".join(outcome.short or outcome.reason for outcome in deferred if outcome is not decided)}'
    ] * bool(unknown))
    return VmVerdict(
        eligible_benefit=elig.benefit, benefit_status=status, action=decided.action, command=decided.command,
        access_method=access_method(elig, paths), access_paths=paths, reason_code=decided.reason_code,
        reason=reason, notes=notes, minimum_build=elig.minimum_text, needs=elig.needs, unknown=unknown,
        steps=steps)
