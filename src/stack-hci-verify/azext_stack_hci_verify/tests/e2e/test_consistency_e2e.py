# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""One answer, many projections, through the real az against the emulator.

Seeded fleets (three subscriptions; one cluster template repeated across resource groups and
subscriptions with the same cluster and node names; Expired, Off, unregistered and healthy clusters;
Azure Edition, Windows 10 multi-session and Linux VMs that are Standard, Trusted launch or
confidential; a host-facts file that names its cluster's resource id, one without that names exactly
one cluster, and one without that names the template) are read by every command in every scope with
the same --host-facts, and every resource must read the same wherever it is shown: its status,
reasonCode, action, command, counts and findings. Host-facts files are bound as the design says
(`expected_binding`), and two views of a cluster are compared only where both bind the same files.

Then one test for each answer the previous release gave wrong."""

import json
import os
import random
import re
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from .conftest import OTHER_SUBSCRIPTION, SUBSCRIPTION, emulated_az, stamp

pytestmark = pytest.mark.e2e

THIRD_SUBSCRIPTION = "0b7c6b4e-1d7e-4d1b-9a44-3c1f0c7a0003"
SUBSCRIPTIONS = (SUBSCRIPTION, OTHER_SUBSCRIPTION, THIRD_SUBSCRIPTION)
VMV = ("stack-hci", "vm-verification")
SEEDS = (13, 2026)
WORKERS = 2                 # az processes at once (the machine is shared)
TEMPLATE, TEMPLATE_NODES = "hci-site", ("SITE-N1", "SITE-N2")
MANAGEMENT_GROUP = "mg-branches"
# Ages are whole days and a half plus half an hour, so that no view read a minute later reads
# another number of days or hours ("expires in 28 days and 11 hours").
HALF = timedelta(hours=12, minutes=30)

GUESTS = {
    "azure-edition": ("Windows Server 2022 Datacenter: Azure Edition", "10.0.20348.2402", "windows"),
    "azure-edition-old": ("Windows Server 2022 Datacenter: Azure Edition", "10.0.20348.2340", "windows"),
    "w10-multi-session": ("Windows 10 Enterprise multi-session", "10.0.19045.4291", "windows"),
    "linux": ("Ubuntu 22.04.5 LTS", "5.15.0-126-generic", "linux"),
}
SECURITY = ("Standard", "TrustedLaunch", "ConfidentialVM")
AGENTS = ("1.38.02627.1329", "1.39.02628.1404", "1.58.03228.2572", None)
SQL_VERSIONS = ("SQL Server 2012", "SQL Server 2014", "SQL Server 2022")
BENEFIT_STATUSES = {"Active": "active", "Inactive": "inactive", "Unknown": "unknown", "Not applicable": "notApplicable"}


# ----------------------------------------------------------------------------------- ARM documents

def machine_id(subscription, group, name):
    return "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.HybridCompute/machines/{}".format(
        subscription, group, name)


def hci_cluster_id(subscription, group, name):
    return "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.AzureStackHCI/clusters/{}".format(
        subscription, group, name)


def arm_time(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.1234567Z")


@dataclass
class Vm:
    name: str
    subscription: str
    group: str                  # the Arc machine's resource group
    kind: str                   # a key of GUESTS
    security: str               # Standard, TrustedLaunch, ConfidentialVM
    server: str
    secure_boot: bool = True
    tpm: bool = True
    security_profile: str = "full"      # Standard only: "absent" (no securityProfile) or "full" (securityType)
    attestation: str = None     # None (no attestationStatus), Healthy, Unhealthy
    cluster: object = None
    agent: str = "by-id"        # the Connected Machine agent version; by-id: one of AGENTS chosen by the id

    @property
    def id(self):
        return machine_id(self.subscription, self.group, self.name)

    @property
    def vm_id(self):
        return "00000000-0000-4000-8000-{:012d}".format(zlib.crc32(self.id.lower().encode()))

    def documents(self):
        os_name, os_version, os_type = GUESTS[self.kind]
        # The benefits beyond the WAC one: an agent below 1.39 on some VMs, an Arc-enabled SQL Server on others
        # (chosen from the id, so the seeded draws of the fleet stay as they were).
        pick = zlib.crc32(self.id.lower().encode())
        machine = {"id": self.id, "name": self.name, "type": "Microsoft.HybridCompute/machines", "kind": "HCI",
                   "location": "eastus",
                   "properties": {"osName": os_name, "osVersion": os_version, "osType": os_type,
                                  "parentClusterResourceId": self.cluster.id,
                                  "agentVersion": AGENTS[pick % len(AGENTS)] if self.agent == "by-id"
                                  else self.agent}}
        properties = {"hyperVVmId": self.vm_id, "hostNodeName": self.server,
                      "status": {"powerState": "Running"}, "osProfile": {"computerName": self.name}}
        if self.security != "Standard":
            properties["securityProfile"] = {"securityType": self.security, "enableTPM": self.tpm,
                                             "uefiSettings": {"secureBootEnabled": self.secure_boot}}
        elif self.security_profile == "full":
            properties["securityProfile"] = {"securityType": "Standard", "enableTPM": False,
                                             "uefiSettings": {"secureBootEnabled": False}}
        instance_id = self.id + "/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default"
        documents = [machine, {"id": instance_id, "name": "default",
                               "type": "Microsoft.AzureStackHCI/virtualMachineInstances", "properties": properties}]
        if os_type == "windows" and pick % 3 == 0:
            version = SQL_VERSIONS[(pick // 3) % len(SQL_VERSIONS)]
            documents.append({"id": self.id.split("/providers/")[0] + "/providers/Microsoft.AzureArcData/"
                              "SqlServerInstances/" + self.name + "_MSSQLSERVER", "name": self.name + "_MSSQLSERVER",
                              "type": "Microsoft.AzureArcData/SqlServerInstances", "location": "eastus",
                              "properties": {"version": version, "instanceName": "MSSQLSERVER",
                                             "containerResourceId": self.id}})
        if self.attestation:
            documents.append({
                "id": instance_id + "/attestationStatus/default", "name": "default",
                "type": "Microsoft.AzureStackHCI/virtualMachineInstances/attestationStatus",
                "properties": {"healthStatus": self.attestation, "attestSecureBootEnabled": "Enabled",
                               "attestationCertValidated": "Valid", "bootIntegrityValidated": "Valid",
                               "errorMessage": "", "provisioningState": "Succeeded"}})
        return documents


@dataclass
class Cluster:
    subscription: str
    group: str
    name: str
    nodes: tuple
    state: str                  # healthy, expired, off, unregistered
    sync_days: int = 1
    failover_name: str = None   # reportedProperties.clusterName (the failover cluster's name)
    vms: list = field(default_factory=list)

    @property
    def id(self):
        return hci_cluster_id(self.subscription, self.group, self.name)

    @property
    def key(self):
        return self.id.lower()

    @property
    def registered(self):
        return self.state != "unregistered"

    @property
    def reported_nodes(self):
        return self.nodes if self.registered else ()

    def node_id(self, node):
        return machine_id(self.subscription, self.group, node)

    def scope_args(self):
        """-n and -g, with --subscription for a cluster outside the current subscription."""
        args = ["-n", self.name, "-g", self.group]
        return args + (["--subscription", self.subscription] if self.subscription != SUBSCRIPTION else [])

    def vm_args(self, vm_name):
        """A VM of this cluster, as vm show and trusted-launch show name it: -n VM --cluster-name C -g G."""
        return ["-n", vm_name, "--cluster-name"] + self.scope_args()[1:]

    def document(self, now):
        properties = {"provisioningState": "Succeeded"}
        if not self.registered:
            properties.update(status="NotYetRegistered", connectivityStatus="NotYetRegistered")
        else:
            properties.update(status="ConnectedRecently", connectivityStatus="Connected",
                              lastSyncTimestamp=arm_time(now - timedelta(days=self.sync_days) - HALF))
            properties["reportedProperties"] = {
                "clusterName": self.failover_name or self.name,
                "imdsAttestation": "Disabled" if self.state == "off" else "Enabled",
                "supportedCapabilities": ["ArcVmManagement", "LegacyOsSupport"],
                "nodes": [{"name": node, "id": index + 1, "ehcResourceId": self.node_id(node)}
                          for index, node in enumerate(self.nodes)]}
        return {"id": self.id, "name": self.name, "type": "Microsoft.AzureStackHCI/clusters", "location": "eastus",
                "properties": properties}


@dataclass
class HostFile:
    """A host-facts file (schema 1) as `probe` writes it on one server."""
    name: str
    cluster_name: str
    computer: str
    resource_id: str = None     # cluster.azureResourceUri
    imds: str = "Enabled"
    age: timedelta = timedelta(days=1) + HALF
    rows: tuple = ()            # (server, status, days until expiration)
    vms: tuple = ()             # host VM entries

    def write(self, directory, now):
        cluster = {"name": self.cluster_name, "registrationStatus": "Registered", "connectionStatus": "Connected",
                   "imdsAttestation": self.imds}
        if self.resource_id:
            cluster["azureResourceUri"] = self.resource_id
        document = {"schemaVersion": 1, "collectedAt": stamp(now - self.age), "computerName": self.computer,
                    "cluster": cluster,
                    "attestation": [{"computerName": server, "status": status,
                                     "expiration": stamp(now + timedelta(days=days) + HALF),
                                     "legacyOsSupport": "Enabled"} for server, status, days in self.rows],
                    "hostImdsSwitchPresent": True, "vms": list(self.vms)}
        path = os.path.join(str(directory), self.name)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
        return path


def host_vm(vm, rng):
    """What the data exchange of the host a VM runs on reports of it (a host lists its own VMs only)."""
    os_name, os_version, _ = GUESTS[vm.kind]
    return {"name": vm.name, "vmId": vm.vm_id, "generation": 2, "state": "Running", "dataExchange": True,
            "guestServiceInterface": rng.random() < 0.7, "legacyNetworking": rng.random() < 0.6,
            "guestOs": {"name": os_name, "version": os_version}}


def write_fixtures(directory, clusters, now, management_groups=None):
    """Every cluster and VM as ARM documents, and _emulator.json naming the three subscriptions."""
    documents = []
    for cluster in clusters:
        documents.append(cluster.document(now))
        for vm in cluster.vms:
            documents.extend(vm.documents())
    for index, document in enumerate(documents):
        with open(os.path.join(str(directory), "{:04d}.json".format(index)), "w", encoding="utf-8") as handle:
            json.dump(document, handle)
    metadata = {"subscriptions": [{"subscriptionId": sub, "displayName": "sub-{}".format(sub[-1])}
                                  for sub in SUBSCRIPTIONS],
                "managementGroups": management_groups or {}}
    with open(os.path.join(str(directory), "_emulator.json"), "w", encoding="utf-8") as handle:
        json.dump(metadata, handle)


# ----------------------------------------------------------------------------------- the seeded fleet

@dataclass
class Fleet:
    clusters: list
    files: list                 # HostFile
    management_group: tuple     # subscriptions of MANAGEMENT_GROUP

    def vms(self):
        return [vm for cluster in self.clusters for vm in cluster.vms]


def _random_vms(rng, cluster, template_vms=None):
    """(VMs, their specs): 1 to 3 VMs on a registered cluster, none on an unregistered one; `template_vms`:
    the specs of the template's VMs, which every copy of the template gets."""
    if not cluster.registered:
        return [], []
    specs = template_vms
    if specs is None:
        specs = []
        for index in range(rng.randint(1, 3)):
            security = rng.choice(SECURITY)
            specs.append(dict(name="{}-vm{}".format(cluster.name.replace("hci-", ""), index + 1),
                              kind=rng.choice(sorted(GUESTS)), security=security,
                              secure_boot=rng.random() < 0.8, tpm=rng.random() < 0.8,
                              security_profile=rng.choice(("absent", "full")),
                              attestation=rng.choice((None, "Healthy", "Unhealthy")) if security != "Standard"
                              else None, machine_group=rng.random() < 0.3, server=rng.randrange(len(cluster.nodes))))
    vms = []
    for spec in specs:
        spec = dict(spec)
        group = cluster.group + "-vms" if spec.pop("machine_group") else cluster.group
        server = cluster.nodes[spec.pop("server") % len(cluster.nodes)]
        vms.append(Vm(subscription=cluster.subscription, group=group, server=server, cluster=cluster, **spec))
    return vms, specs


def generate(seed):
    """A fleet of 7 or 8 clusters in three subscriptions: three or four copies of one template (same
    cluster and node names and VMs, different groups and subscriptions), clusters with names of their
    own, every state at least once; and the three host-facts files."""
    rng = random.Random(seed)
    places = [(SUBSCRIPTION, "rg-east"), (SUBSCRIPTION, "rg-west"), (OTHER_SUBSCRIPTION, "rg-east")]
    if rng.random() < 0.5:
        places.append((THIRD_SUBSCRIPTION, "rg-branch"))
    clusters, template_vms = [], None
    template_states = ["healthy", "expired", "off"] + [rng.choice(("healthy", "expired", "off"))]
    rng.shuffle(template_states)
    for (subscription, group), state in zip(places, template_states):
        cluster = Cluster(subscription, group, TEMPLATE, TEMPLATE_NODES, state,
                          sync_days=rng.randint(35, 45) if state == "expired" else 1)
        clusters.append(cluster)
        if template_vms is None:
            cluster.vms, template_vms = _random_vms(rng, cluster)
        else:
            cluster.vms, _ = _random_vms(rng, cluster, template_vms)
    states = ["healthy", "expired", "off", "unregistered"]
    rng.shuffle(states)
    for index, state in enumerate(states):
        subscription = rng.choice(SUBSCRIPTIONS)
        name = "hci-solo-{}{}".format(seed % 100, index)
        nodes = tuple("SOLO{}-N{}".format(index, number + 1) for number in range(rng.randint(1, 2)))
        cluster = Cluster(subscription, rng.choice(("rg-east", "rg-solo")), name, nodes, state,
                          sync_days=rng.randint(35, 45) if state == "expired" else 1)
        cluster.vms = _random_vms(rng, cluster)[0]
        clusters.append(cluster)
    # The host-facts files: one names its cluster's resource id (a template copy), one names no id and
    # one cluster of its own, one names no id and the template (ambiguous wherever two copies are read).
    by_uri = rng.choice([cluster for cluster in clusters if cluster.name == TEMPLATE])
    solo = rng.choice([cluster for cluster in clusters if cluster.name != TEMPLATE and cluster.registered])

    def rows(cluster):
        return tuple((node, rng.choice(("Active", "Active", "Expired", "Inactive")), rng.choice((20, 25, -3)))
                     for node in cluster.nodes)

    files = [
        HostFile("by-uri.json", TEMPLATE, TEMPLATE_NODES[1], resource_id=by_uri.id,
                 imds=rng.choice(("Enabled", "Enabled", "Disabled")), rows=rows(by_uri),
                 vms=tuple(host_vm(vm, rng) for vm in by_uri.vms if vm.server == TEMPLATE_NODES[1])),
        HostFile("by-name.json", solo.name, solo.nodes[0], rows=rows(solo),
                 age=rng.choice((timedelta(days=1), timedelta(days=33))) + HALF,
                 vms=tuple(host_vm(vm, rng) for vm in solo.vms if vm.server == solo.nodes[0])),
        # What would make any copy of the template green, were it applied to the wrong one; its VMs are
        # named only (no Hyper-V ids), so that they are the template's VMs on whichever copy it binds to.
        HostFile("template.json", TEMPLATE, TEMPLATE_NODES[0],
                 rows=tuple((node, "Active", 25) for node in TEMPLATE_NODES),
                 vms=tuple(without(host_vm(vm, rng), "vmId") for vm in clusters[0].vms
                           if vm.server == TEMPLATE_NODES[0])),
    ]
    group = tuple(sorted(rng.sample(SUBSCRIPTIONS, 2)))
    return Fleet(clusters, files, group)


# ----------------------------------------------------------------------------------- what the design says

def expected_binding(files, clusters):
    """({file name: cluster key} of the files that apply, {file name: reasonCode} of the ignored ones) for
    the clusters of one scope: a file that names a resource id applies to that cluster only; one without
    applies when its cluster name and computer name match exactly one cluster here."""
    bound, ignored = {}, {}
    for item in files:
        if item.resource_id:
            found = [cluster for cluster in clusters if cluster.key == item.resource_id.lower()]
        else:
            found = [cluster for cluster in clusters if cluster.name.lower() == item.cluster_name.lower()
                     and (item.computer in cluster.reported_nodes or not cluster.reported_nodes)]
        if len(found) == 1:
            bound[item.name] = found[0].key
        else:
            ignored[item.name] = "host-facts-ambiguous" if found else "host-facts-other-system"
    return bound, ignored


@dataclass
class Scope:
    label: str
    args: list
    clusters: list              # the fleet's clusters this scope holds
    files: tuple                # HostFile

    @property
    def binding(self):
        return expected_binding(self.files, self.clusters)

    def bound_to(self, cluster):
        """The names of the files that apply to `cluster` here, sorted."""
        return tuple(sorted(name for name, key in self.binding[0].items() if key == cluster.key))

    def holds(self, cluster):
        return any(item.key == cluster.key for item in self.clusters)


def fleet_scopes(fleet):
    """Every scope of several clusters, and each cluster's own (-n -g and --ids)."""
    every = fleet.clusters

    def where(test):
        return [cluster for cluster in every if test(cluster)]

    scopes = [
        Scope("subscription", [], where(lambda c: c.subscription == SUBSCRIPTION), fleet.files),
        Scope("group", ["-g", "rg-east"], where(lambda c: c.subscription == SUBSCRIPTION and c.group == "rg-east"),
              fleet.files),
        Scope("subscriptions", ["--subscriptions", SUBSCRIPTION, OTHER_SUBSCRIPTION],
              where(lambda c: c.subscription in (SUBSCRIPTION, OTHER_SUBSCRIPTION)), fleet.files),
        Scope("all-subscriptions", ["--all-subscriptions"], list(every), fleet.files),
        Scope("management-group", ["--management-groups", MANAGEMENT_GROUP],
              where(lambda c: c.subscription in fleet.management_group), fleet.files),
        Scope("ids", ["--ids"] + [cluster.id for cluster in every], list(every), fleet.files),
    ]
    singles = [Scope("cluster " + cluster.key, cluster.scope_args(), [cluster], fleet.files) for cluster in every]
    singles += [Scope("cluster-id " + cluster.key, ["--ids", cluster.id], [cluster], fleet.files) for cluster in every]
    return scopes, singles


# ----------------------------------------------------------------------------------- running az

@dataclass
class Answer:
    args: list
    code: int
    data: object
    stderr: str

    def ignored_warnings(self):
        """The names of the host-facts files az warned it ignored."""
        return sorted(line.split("'")[1] for line in self.stderr.splitlines()
                      if line.startswith("WARNING: Host facts file '"))


def run_all(az, jobs, paths, workers=WORKERS):
    """{key: Answer} of every (key, az arguments) job, each with --host-facts of every file and -o json,
    `workers` az processes at a time once the first has run."""
    def one(job):
        key, args = job
        full = list(VMV) + list(args) + ["--host-facts"] + list(paths) + ["-o", "json"]
        result = az.run(*full)
        data = json.loads(result.stdout) if result.stdout.strip() else None
        return key, Answer(full, result.returncode, data, result.stderr)
    answers = dict([one(jobs[0])])          # alone: the first az of a home writes its command index
    with ThreadPoolExecutor(max_workers=workers) as pool:
        answers.update(pool.map(one, jobs[1:]))
    return answers


LEVELS = ("off", "expired", "inactive", "unknown", "benefit-inactive", "benefit-unknown", "error", "warning")


def has_fix(item):
    """A fix is a command with where it runs, or (where no command performs it) the page to follow."""
    return bool((item.get("command") and item.get("runOn")) or (item.get("learnMore") and not item.get("command")))


def fleet_jobs(fleet, scopes, singles):
    """Every read command in every scope; show and the VM commands of every cluster and VM."""
    jobs = []
    for scope in scopes:
        first = ["show"] if scope.label == "ids" else ["list"]
        for command in (first, ["server", "list"], ["vm", "list"], ["trusted-launch", "list"], ["check"]):
            args = scope.args
            if command[-1] == "list":       # a list command takes clusters by ID with --cluster-ids
                args = ["--cluster-ids" if arg == "--ids" else arg for arg in args]
            jobs.append(((" ".join(command), scope.label), command + args))
    for scope in singles:
        jobs.append((("show", scope.label), ["show"] + scope.args))
    rng = random.Random(len(fleet.clusters))
    for scope in rng.sample([scope for scope in singles if scope.label.startswith("cluster ")], 2):
        jobs.append((("check", scope.label), ["check"] + scope.args))
    for index, vm in enumerate(fleet.vms()):
        if index % 2:
            jobs.append((("vm show", vm.id.lower()), ["vm", "show", "--ids", vm.id]))
        else:
            jobs.append((("vm show", vm.id.lower()), ["vm", "show"] + vm.cluster.vm_args(vm.name)))
    isolated = [vm for vm in fleet.vms() if vm.security != "Standard"]
    standard = [vm for vm in fleet.vms() if vm.security == "Standard"]
    for vm in rng.sample(isolated, min(3, len(isolated))) + standard[:1]:
        jobs.append((("trusted-launch show", vm.id.lower()),
                     ["trusted-launch", "show"] + vm.cluster.vm_args(vm.name)))
    return jobs


def fail_on_jobs(seen):
    """check --fail-on L for each level in --all-subscriptions, and in one scope whose projections show no
    finding of that level, where there is one (expected_failures)."""
    jobs = []
    expected = {scope.label: expected_failures(seen, scope) for scope in seen.scopes + seen.singles
                if not scope.label.startswith("cluster-id ")}
    for level in LEVELS:
        labels = ["all-subscriptions"] + [label for label, levels in expected.items() if not levels[level]][:1]
        for label in labels:
            jobs.append((("check --fail-on", (level, label)),
                         ["check", "--fail-on", level] + seen.scope(label).args))
    return jobs


@dataclass
class Observation:
    fleet: Fleet
    scopes: list
    singles: list
    answers: dict

    def answer(self, command, label):
        found = self.answers[(command, label)]
        assert found.code == 0 or command == "check --fail-on", (found.args, found.code, found.stderr)
        return found

    def data(self, command, label):
        return self.answer(command, label).data

    def scope(self, label):
        return next(scope for scope in self.scopes + self.singles if scope.label == label)


@pytest.fixture(scope="module", params=SEEDS, ids=lambda seed: "seed{}".format(seed), name="seen")
def fixture_seen(request, tmp_path_factory):
    """A seeded fleet read by every command in every scope, with the same three --host-facts files. Views
    name the moment they were made (evaluatedAt, and reasons that quote it): that moment reads "<now>"."""
    from datetime import datetime, timezone
    now = datetime.now(timezone.utc)
    fleet = generate(request.param)
    fixtures = tmp_path_factory.mktemp("consistency-fleet")
    write_fixtures(str(fixtures), fleet.clusters, now, {MANAGEMENT_GROUP: list(fleet.management_group)})
    files = tmp_path_factory.mktemp("consistency-facts")
    paths = [item.write(str(files), now) for item in fleet.files]
    scopes, singles = fleet_scopes(fleet)
    with emulated_az(tmp_path_factory, "consistency", fixtures, login="profile") as az:
        start = datetime.now(timezone.utc)
        seen = Observation(fleet, scopes, singles, run_all(az, fleet_jobs(fleet, scopes, singles), paths))
        seen.answers.update(run_all(az, fail_on_jobs(seen), paths))
        for answer in seen.answers.values():
            answer.data = reference_time_named(answer.data, start, datetime.now(timezone.utc))
    return seen


TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def reference_time_named(data, start, end):
    """`data` with each timestamp of the moment the commands ran (the reference time, evaluatedAt, as some
    reasons quote it) replaced by "<now>": the rest of the fleet's times are hours away from it."""
    from datetime import datetime, timezone

    def replace(match):
        moment = datetime.strptime(match.group(0), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        return "<now>" if start - timedelta(seconds=2) <= moment <= end + timedelta(seconds=2) else match.group(0)

    if isinstance(data, str):
        return TIMESTAMP.sub(replace, data)
    if isinstance(data, list):
        return [reference_time_named(item, start, end) for item in data]
    if isinstance(data, dict):
        return {key: reference_time_named(value, start, end) for key, value in data.items()}
    return data


# ----------------------------------------------------------------------------------- comparing

class Problems(list):
    """What differs, collected so that one run names every difference."""

    def expect(self, condition, *what):
        if not condition:
            self.append(" | ".join(_short(item) for item in what))

    def equal(self, got, want, *what):
        if got != want:
            self.append(" | ".join(_short(item) for item in what) + " | " + difference(got, want))

    def check(self):
        assert not self, "{} differences:\n".format(len(self)) + "\n".join(self[:40])


def _short(item, limit=300):
    text = item if isinstance(item, str) else json.dumps(item, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


def difference(got, want, path=""):
    """Where two JSON values differ: each differing path with both values."""
    if isinstance(got, dict) and isinstance(want, dict):
        keys = sorted(key for key in set(got) | set(want) if got.get(key, "<absent>") != want.get(key, "<absent>"))
        return "; ".join(difference(got.get(key, "<absent>"), want.get(key, "<absent>"), path + "." + str(key))
                         for key in keys)
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return "; ".join(difference(one, other, "{}[{}]".format(path, index))
                         for index, (one, other) in enumerate(zip(got, want)) if one != other)
    return "{}: {} != {}".format(path or "value", _short(got, 500), _short(want, 500))


def without(view, *keys):
    return {key: value for key, value in view.items() if key not in keys}


def cluster_key(subscription, group, name):
    return hci_cluster_id(subscription, group, name).lower()


def listed(seen, command, scope):
    """The rows of `command` in `scope` (show of one cluster is one row)."""
    data = seen.data(command, scope.label)
    return data if isinstance(data, list) else [data]


def cluster_rows(seen, scope):
    command = "list" if scope in seen.scopes and scope.label != "ids" else "show"
    return {row["id"].lower(): row for row in listed(seen, command, scope)}


def vm_rows(seen, scope):
    """{cluster key: {VM name: vm list row}}."""
    rows = {}
    for row in listed(seen, "vm list", scope):
        rows.setdefault(cluster_key(row["subscriptionId"], row["resourceGroup"], row["cluster"]), {})[row["name"]] = row
    return rows


def trusted_launch_rows(seen, scope):
    """{Arc machine id (lower case): trusted-launch list row}."""
    return {machine_id(row["subscriptionId"], row["resourceGroup"], row["name"]).lower(): row
            for row in listed(seen, "trusted-launch list", scope)}


def same_binding(seen, cluster, scope):
    """The scopes of several clusters that hold `cluster` and bind it the same files as `scope`."""
    files = scope.bound_to(cluster)
    return [other for other in seen.scopes if other.holds(cluster) and other.bound_to(cluster) == files]


def single(seen, cluster):
    return seen.scope("cluster " + cluster.key)


# ----------------------------------------------------------------------------------- the invariants

def test_every_scope_reads_its_clusters_and_binds_host_facts_by_resource_id(seen):
    problems = Problems()
    for scope in seen.scopes + seen.singles:
        rows = cluster_rows(seen, scope)
        problems.equal(sorted(rows), sorted(cluster.key for cluster in scope.clusters), scope.label, "clusters read")
        for cluster in scope.clusters:
            row = rows.get(cluster.key)
            if row is not None:
                problems.equal(sorted(row["hostFacts"]), list(scope.bound_to(cluster)), scope.label, cluster.key,
                               "hostFacts bound")
        ignored = scope.binding[1]
        for (command, label), answer in seen.answers.items():
            if label == scope.label:
                problems.equal(answer.ignored_warnings(), sorted(ignored), command, label, "files warned as ignored")
        if ("check", scope.label) in seen.answers:
            report = seen.data("check", scope.label)
            files = sorted((finding["name"], finding["reasonCode"]) for finding in report["findings"]
                           if finding["scope"] == "hostFacts" and finding["resourceId"] is None)
            problems.equal(files, sorted(ignored.items()), "check", scope.label, "ignored files as findings")
    problems.check()


def test_a_cluster_reads_the_same_in_list_show_and_show_ids_wherever_it_binds_the_same_files(seen):
    problems, compared = Problems(), 0
    for cluster in seen.fleet.clusters:
        views = [(scope, cluster_rows(seen, scope).get(cluster.key)) for scope in seen.scopes + seen.singles
                 if scope.holds(cluster)]
        groups = {}
        for scope, view in views:
            groups.setdefault(scope.bound_to(cluster), []).append((scope, view))
        for group in groups.values():
            first_scope, first = group[0]
            for scope, view in group[1:]:
                compared += 1
                problems.equal(without(view, "evaluatedAt"), without(first, "evaluatedAt"), cluster.key,
                               scope.label, "vs", first_scope.label)
        own = [view for scope, view in views if scope.label in ("cluster " + cluster.key, "cluster-id " + cluster.key)]
        problems.equal(without(own[0], "evaluatedAt"), without(own[1], "evaluatedAt"), cluster.key,
                       "show -n -g vs --ids")
    assert compared > len(seen.fleet.clusters)
    problems.check()


def test_servers_of_server_list_are_the_servers_of_show(seen):
    problems = Problems()
    for scope in seen.scopes:
        rows = cluster_rows(seen, scope)
        servers = {}
        for row in listed(seen, "server list", scope):
            servers.setdefault(cluster_key(row["subscriptionId"], row["resourceGroup"], row["cluster"]), []).append(
                without(row, "cluster", "resourceGroup", "subscriptionId"))
        problems.equal(sorted(key for key in servers), sorted(key for key, row in rows.items() if row["servers"]),
                       scope.label, "clusters with servers")
        for key, row in rows.items():
            problems.equal(servers.get(key, []), row["servers"], scope.label, key, "server list vs show")
    problems.check()


GREEN = ("Active benefits", "No applicable benefits")


def test_vms_read_the_same_in_vm_list_vm_show_and_the_summary(seen):
    problems = Problems()
    for scope in seen.scopes:
        rows, by_vm = cluster_rows(seen, scope), vm_rows(seen, scope)
        problems.expect(set(by_vm) <= set(rows), scope.label, "VMs of clusters not listed",
                        sorted(set(by_vm) - set(rows)))
        for cluster in scope.clusters:
            row, vms = rows.get(cluster.key), by_vm.get(cluster.key, {})
            problems.expect({vm.name for vm in cluster.vms} <= set(vms), scope.label, cluster.key, "ARM VMs missing",
                            sorted(vm.name for vm in cluster.vms if vm.name not in vms))
            if row is None:
                continue
            counts = Counter(vm["benefitStatus"] for vm in vms.values())
            by_offer = {}
            for vm in vms.values():
                for item in vm["benefits"]:
                    entry = by_offer.setdefault(item["offer"], dict({"benefit": item["benefit"], "offer": item["offer"],
                                                                     "total": 0}, **dict.fromkeys(
                                                                         BENEFIT_STATUSES.values(), 0)))
                    entry[BENEFIT_STATUSES[item["status"]]] += 1
                    entry["total"] += 1
            summary = dict(row["vmSummary"] or {})
            problems.equal({item["offer"]: item for item in summary.pop("benefits", [])}, by_offer, scope.label,
                           cluster.key, "vmSummary.benefits vs vm list benefits")
            benefit_findings = sorted((f["name"], f["offer"], f["status"], f["reasonCode"], f["action"], f["command"])
                                      for f in row["findings"] if f["scope"] == "benefit")
            wanted_benefits = sorted((vm["name"], item["offer"], item["status"], item["reasonCode"], item["action"],
                                      item["command"]) for vm in vms.values() for item in vm["benefits"]
                                     if item["status"] in ("Inactive", "Unknown")
                                     and item["benefit"] != vm["eligibleBenefit"])
            problems.equal(benefit_findings, wanted_benefits, scope.label, cluster.key,
                           "benefit findings of show vs vm list benefits")
            problems.equal(summary, {"activeBenefits": counts["Active benefits"],
                                     "inactiveBenefits": counts["Inactive benefits"],
                                     "unknown": counts["Unknown"],
                                     "noApplicableBenefits": counts["No applicable benefits"],
                                     "total": len(vms)}, scope.label, cluster.key, "vmSummary vs vm list")
            benefit = sorted((f["name"], f["severity"], f["reasonCode"], f["action"], f["command"])
                             for f in row["findings"] if f["scope"] == "vm")
            wanted = sorted((vm["name"], "error" if vm["benefitStatus"] == "Inactive benefits" else "warning",
                             vm["reasonCode"], vm["action"], vm["command"])
                            for vm in vms.values() if vm["benefitStatus"] not in GREEN)
            problems.equal(benefit, wanted, scope.label, cluster.key, "VM findings of show vs vm list")
            for vm in vms.values():
                problems.expect(vm["benefitStatus"] in GREEN or (vm["action"] and has_fix(vm)), scope.label,
                                cluster.key, vm["name"], "no action", vm)
    for vm in seen.fleet.vms():
        shown = seen.data("vm show", vm.id.lower())
        problems.equal(shown["armResourceId"].lower(), vm.id.lower(), vm.id, "vm show picked")
        for scope in same_binding(seen, vm.cluster, single(seen, vm.cluster)):
            row = vm_rows(seen, scope).get(vm.cluster.key, {}).get(vm.name)
            if row is not None:
                problems.equal({key: shown.get(key) for key in row}, row, vm.id, "vm show vs vm list", scope.label)
    for cluster in seen.fleet.clusters:           # the same VM in two scopes that bind the same files
        for scope in (scope for scope in seen.scopes if scope.holds(cluster)):
            for other in same_binding(seen, cluster, scope):
                problems.equal(vm_rows(seen, other).get(cluster.key), vm_rows(seen, scope).get(cluster.key),
                               cluster.key, "vm list", other.label, "vs", scope.label)
    problems.check()


def test_trusted_launch_reads_the_same_in_its_list_its_show_vm_show_and_every_scope(seen):
    problems = Problems()
    by_id = {vm.id.lower(): vm for vm in seen.fleet.vms()}
    for scope in seen.scopes:
        rows = trusted_launch_rows(seen, scope)
        problems.equal(sorted(rows), sorted(vm.id.lower() for cluster in scope.clusters for vm in cluster.vms),
                       scope.label, "Trusted launch rows")
        for key, row in rows.items():
            vm = by_id.get(key)
            for field_name in ("status", "reasonCode", "action", "command", "runOn", "learnMore"):  # what to do
                problems.expect(field_name in row, scope.label, key, "no top-level", field_name)
            problems.expect(row.get("status") and row.get("reasonCode"), scope.label, key, "status/reasonCode", row)
            problems.expect(row.get("status") == "Passed" or (row.get("action") and has_fix(row)),
                            scope.label, key, "a row that is not Passed has an action and a fix", row)
            if vm is not None and vm.security == "Standard":
                problems.equal((row["status"], row["reasonCode"],
                                [(f["status"], f["reasonCode"]) for f in row["findings"]]),
                               ("Not applicable", "not-trusted-launch", [("Not applicable", "not-trusted-launch")]),
                               scope.label, key, "a Standard VM")
            if vm is not None:
                for other in same_binding(seen, vm.cluster, scope):
                    problems.equal(trusted_launch_rows(seen, other).get(key), row, key, other.label, "vs", scope.label)
    for vm in seen.fleet.vms():
        own = single(seen, vm.cluster)
        same = same_binding(seen, vm.cluster, own)
        shown = seen.data("vm show", vm.id.lower())["trustedLaunch"]
        answer = seen.answers.get(("trusted-launch show", vm.id.lower()))
        for scope in same:
            row = trusted_launch_rows(seen, scope)[vm.id.lower()]
            problems.equal(shown, without(row, "subscriptionId"), vm.id, "vm show's trustedLaunch vs", scope.label)
            if answer is not None:
                problems.equal({key: answer.data.get(key) for key in row}, row, vm.id, "trusted-launch show vs",
                               scope.label)
        if vm.security == "Standard":
            problems.equal((shown or {}).get("status"), "Not applicable", vm.id, "vm show of a Standard VM")
    problems.check()


SEVERITY_OF_TRUSTED_LAUNCH = {"Failed": "error", "Warning": "warning", "Unknown": "warning", "Not applicable": "info"}


def _finding_key(finding):
    return (finding["scope"], finding["name"], finding["severity"], finding["reasonCode"], finding["reason"],
            finding["action"], finding["command"])


def _resources(cluster):
    """Lower-case resource ids of the cluster, its servers and its VMs."""
    return ({cluster.key} | {cluster.node_id(node).lower() for node in cluster.nodes}
            | {vm.id.lower() for vm in cluster.vms})


def _check_scopes(seen):
    return [scope for scope in seen.scopes + seen.singles if ("check", scope.label) in seen.answers]


def _projection_scope(seen, scope, cluster):
    """A scope of several clusters whose vm list and trusted-launch list show `cluster` as `scope` does."""
    if scope in seen.scopes:
        return scope
    same = same_binding(seen, cluster, scope)
    return same[0] if same else None


def test_check_holds_exactly_the_findings_and_counts_of_the_other_commands(seen):
    problems = Problems()
    by_cluster_scope = {}
    for scope in _check_scopes(seen):
        report = seen.data("check", scope.label)
        rows = cluster_rows(seen, scope)
        findings = report["findings"]
        owner = {}
        for cluster in scope.clusters:
            for resource in _resources(cluster):
                owner[resource] = cluster
        unplaced = [f for f in findings if (f["resourceId"] or "").lower() not in owner and f["scope"] != "hostFacts"]
        problems.expect(not unplaced, scope.label, "check findings that name no resource of the scope", unplaced[:3])
        servers, vms, trusted = Counter(), Counter(), Counter()
        for cluster in scope.clusters:
            row = rows[cluster.key]
            mine = [f for f in findings if (f["resourceId"] or "").lower() in _resources(cluster)]
            by_cluster_scope[(cluster.key, scope.label)] = sorted(
                json.dumps(without(f, "matched"), sort_keys=True) for f in mine)
            shown = Counter(_finding_key(f) for f in row["findings"])
            checked = Counter(_finding_key(f) for f in mine if f["scope"] != "trustedLaunch")
            problems.equal(sorted(shown - checked), [], scope.label, cluster.key, "show's findings missing from check")
            not_active = {server["name"] for server in row["servers"] if server["status"] != "Active"}
            extra = [key for key in (checked - shown).elements()]
            problems.expect(all(key[0] == "server" and key[1] in not_active for key in extra), scope.label, cluster.key,
                            "check findings that show does not have and that are no server's", extra)
            flagged = {f["name"] for f in mine if f["scope"] == "server"}
            problems.equal(sorted(not_active - flagged), [], scope.label, cluster.key,
                           "servers not Active without a finding")
            for f in mine:
                if f["scope"] == "cluster" and f["status"] is not None:
                    problems.equal(f["status"], row["hostStatus"], scope.label, cluster.key, "cluster status in check")
                if f["scope"] == "server":
                    status = next((s["status"] for s in row["servers"] if s["name"] == f["name"]), None)
                    problems.equal(f["status"], status, scope.label, cluster.key, f["name"], "server status in check")
            servers.update(server["status"] for server in row["servers"])
            source = _projection_scope(seen, scope, cluster)
            if source is None:
                continue
            listed_vms = vm_rows(seen, source).get(cluster.key, {})
            vms.update(vm["benefitStatus"] for vm in listed_vms.values())
            tl_rows = trusted_launch_rows(seen, source)
            for vm in cluster.vms:
                tl_row = tl_rows[vm.id.lower()]
                trusted[tl_row["status"]] += 1
                wanted = sorted((vm.name, f["reasonCode"], SEVERITY_OF_TRUSTED_LAUNCH[f["status"]], f["action"],
                                 f["command"], tl_row["status"]) for f in tl_row["findings"])
                got = sorted((f["name"], f["reasonCode"], f["severity"], f["action"], f["command"], f["status"])
                             for f in mine
                             if f["scope"] == "trustedLaunch" and f["resourceId"].lower() == vm.id.lower())
                problems.equal(got, wanted, scope.label, vm.id,
                               "Trusted launch findings of check vs trusted-launch list")
                row_vm = listed_vms.get(vm.name)
                for f in mine:
                    if f["scope"] == "vm" and f["resourceId"].lower() == vm.id.lower() and row_vm:
                        problems.equal(f["status"], row_vm["benefitStatus"], scope.label, vm.id, "VM status in check")
        totals = report["totals"]
        hosts = Counter(row["hostStatus"] for row in rows.values())
        problems.equal(totals["clusters"], {"total": len(rows), "on": hosts["On"], "off": hosts["Off"],
                                            "unknown": hosts["Unknown"]}, scope.label, "totals.clusters")
        problems.equal(totals["servers"], dict({"total": sum(servers.values())}, **{
            status.lower(): servers[status] for status in ("Active", "Expired", "Inactive", "Error", "Unknown")}),
            scope.label, "totals.servers")
        if scope in seen.scopes:
            problems.equal(totals["vms"], {"total": sum(vms.values()), "activeBenefits": vms["Active benefits"],
                                           "inactiveBenefits": vms["Inactive benefits"], "unknown": vms["Unknown"],
                                           "noApplicableBenefits": vms["No applicable benefits"]},
                           scope.label, "totals.vms")
            problems.equal(totals["trustedLaunch"], {"total": sum(trusted.values()), "passed": trusted["Passed"],
                                                     "failed": trusted["Failed"], "warning": trusted["Warning"],
                                                     "unknown": trusted["Unknown"],
                                                     "notApplicable": trusted["Not applicable"]},
                           scope.label, "totals.trustedLaunch")
            if scope.label != "ids":
                server_rows = listed(seen, "server list", scope)
                problems.equal(totals["servers"]["total"], len(server_rows), scope.label, "totals vs server list")
                problems.equal(totals["vms"]["total"], len(listed(seen, "vm list", scope)), scope.label,
                               "totals vs vm list")
                problems.equal(totals["trustedLaunch"]["total"], len(listed(seen, "trusted-launch list", scope)),
                               scope.label, "totals vs trusted-launch list")
    for cluster in seen.fleet.clusters:           # one cluster checked in two scopes that bind the same files
        labels = [label for key, label in by_cluster_scope if key == cluster.key]
        for label in labels:
            for other in labels:
                if label < other and seen.scope(label).bound_to(cluster) == seen.scope(other).bound_to(cluster):
                    problems.equal(by_cluster_scope[(cluster.key, other)], by_cluster_scope[(cluster.key, label)],
                                   cluster.key, "check", other, "vs", label)
    problems.check()


def projected_statuses(seen, scope):
    """(cluster rows, server statuses, VM benefit statuses, Trusted launch statuses) of a scope, as list,
    server list, vm list and trusted-launch list show them; for one cluster, as show, vm show and its
    trustedLaunch show them."""
    rows = list(cluster_rows(seen, scope).values())
    if scope in seen.scopes:
        return (rows, [row["status"] for row in listed(seen, "server list", scope)],
                [row["benefitStatus"] for row in listed(seen, "vm list", scope)],
                [row["status"] for row in listed(seen, "trusted-launch list", scope)])
    (cluster,) = scope.clusters
    summary = rows[0]["vmSummary"] or {}
    vms = [status for status, key in (("Active benefits", "activeBenefits"), ("Inactive benefits", "inactiveBenefits"),
                                      ("Unknown", "unknown"), ("No applicable benefits", "noApplicableBenefits"))
           for _ in range(summary.get(key, 0))]
    trusted = [seen.data("vm show", vm.id.lower())["trustedLaunch"]["status"] for vm in cluster.vms]
    return rows, [server["status"] for server in rows[0]["servers"]], vms, trusted


def expected_failures(seen, scope):
    """{level: True when some projection of the scope shows a finding of that level}."""
    rows, servers, vms, trusted = projected_statuses(seen, scope)
    severities = {f["severity"] for row in rows for f in row["findings"]}
    benefits = {f["status"] for row in rows for f in row["findings"] if f["scope"] == "benefit"}
    hosts = {row["hostStatus"] for row in rows}
    error = "error" in severities or "Failed" in trusted or bool({"Expired", "Inactive", "Error"} & set(servers))
    return {
        "off": "Off" in hosts,
        "expired": "Expired" in servers,
        "inactive": "Inactive" in servers or "Inactive benefits" in vms,
        "unknown": "Unknown" in hosts or "Unknown" in servers or "Unknown" in vms or "Unknown" in trusted,
        "benefit-inactive": "Inactive" in benefits,
        "benefit-unknown": "Unknown" in benefits,
        "error": error,
        "warning": error or "warning" in severities or bool({"Warning", "Unknown"} & set(trusted))
        or "Unknown" in servers or bool(scope.binding[1]),
    }


def test_fail_on_fails_exactly_when_a_projection_shows_a_finding_of_that_level(seen):
    problems, outcomes = Problems(), set()
    for (command, key), answer in seen.answers.items():
        if command != "check --fail-on":
            continue
        level, label = key
        expected = expected_failures(seen, seen.scope(label))[level]
        outcomes.add((level, expected))
        problems.equal(answer.code, 1 if expected else 0, "--fail-on", level, label, answer.stderr[-300:])
        problems.equal((answer.data or {}).get("failed"), expected, "--fail-on", level, label, "failed")
    assert {("off", False), ("expired", False), ("off", True), ("expired", True)} <= outcomes, outcomes
    problems.check()


# ----------------------------------------------------------------------------------- what the last release got wrong

class Memo:
    """az with the extension, each distinct command run once (-o json); the answers kept."""

    def __init__(self, az, start):
        self.az, self.start, self.answers = az, start, {}

    def run(self, *args):
        if args not in self.answers:
            from datetime import datetime, timezone
            result = self.az.run(*VMV, *args, "-o", "json")
            assert "Traceback" not in result.stderr, result.stderr
            data = json.loads(result.stdout) if result.stdout.strip() else None
            data = reference_time_named(data, self.start, datetime.now(timezone.utc))
            self.answers[args] = Answer(list(args), result.returncode, data, result.stderr)
        return self.answers[args]

    def json(self, *args):
        answer = self.run(*args)
        assert answer.code == 0, (args, answer.code, answer.stderr)
        return answer.data


def regression_fleet():
    """The fleet of the tests below (two subscriptions):

    - hci-branch twice, one template: in rg-east of the current subscription (synced a day ago, its host
      facts in branch-east.json by resource id) and in rg-west of the other (not synced for 45 days); also
      branch-noid.json, which names the template and no id;
    - hci-store-az, whose failover cluster is STORE-FC: not synced for 40 days, and store.json names
      STORE-FC with fresh Active rows and no id;
    - hci-lone, one server: synced 35 days ago; lone.json, collected 33 days ago, says Active until 3 days ago;
    - hci-dup: two VMs named app01 whose Arc machines are in two resource groups;
    - hci-many-0..5 in rg-many, two with a Trusted launch VM each."""
    branch = Cluster(SUBSCRIPTION, "rg-east", "hci-branch", ("BR-N1", "BR-N2"), "healthy")
    branch_west = Cluster(OTHER_SUBSCRIPTION, "rg-west", "hci-branch", ("BR-N1", "BR-N2"), "expired", sync_days=45)
    store = Cluster(SUBSCRIPTION, "rg-store", "hci-store-az", ("ST-N1",), "expired", sync_days=40,
                    failover_name="STORE-FC")
    lone = Cluster(SUBSCRIPTION, "rg-lone", "hci-lone", ("LN-N1",), "expired", sync_days=35)
    dup = Cluster(SUBSCRIPTION, "rg-dup", "hci-dup", ("DP-N1",), "healthy")
    many = [Cluster(SUBSCRIPTION, "rg-many", "hci-many-{}".format(index), ("MN-N1",), "healthy")
            for index in range(6)]
    for cluster in (branch, branch_west):
        cluster.vms = [
            Vm("br-linux", cluster.subscription, cluster.group, "linux", "Standard", "BR-N1", security_profile="absent",
               cluster=cluster),
            Vm("br-ae", cluster.subscription, cluster.group, "azure-edition", "Standard", "BR-N2", cluster=cluster),
            Vm("br-w10", cluster.subscription, cluster.group, "w10-multi-session", "TrustedLaunch", "BR-N1",
               attestation="Healthy", cluster=cluster),
            Vm("br-cvm", cluster.subscription, cluster.group, "linux", "ConfidentialVM", "BR-N2", tpm=False,
               cluster=cluster)]
    lone.vms = [Vm("lone-ae", SUBSCRIPTION, "rg-lone", "azure-edition", "TrustedLaunch", "LN-N1", cluster=lone)]
    dup.vms = [Vm("app01", SUBSCRIPTION, group, "azure-edition", "Standard", "DP-N1", cluster=dup)
               for group in ("rg-dup-a", "rg-dup-b")]
    for cluster in many[:2]:
        cluster.vms = [Vm(cluster.name + "-tl", SUBSCRIPTION, "rg-many", "azure-edition", "TrustedLaunch", "MN-N1",
                          attestation="Healthy", cluster=cluster)]
    lone_vm = dict(host_vm(lone.vms[0], random.Random(0)), guestServiceInterface=True, legacyNetworking=False)
    files = [
        HostFile("branch-east.json", "hci-branch", "BR-N1", resource_id=branch.id,
                 rows=(("BR-N1", "Active", 25), ("BR-N2", "Active", 25))),
        HostFile("branch-noid.json", "hci-branch", "BR-N2", rows=(("BR-N1", "Active", 25), ("BR-N2", "Active", 25))),
        HostFile("store.json", "STORE-FC", "ST-N1", rows=(("ST-N1", "Active", 25),)),
        HostFile("lone.json", "hci-lone", "LN-N1", resource_id=lone.id, age=timedelta(days=33) + HALF,
                 rows=(("LN-N1", "Active", -4),), vms=(lone_vm,)),
    ]
    clusters = [branch, branch_west, store, lone, dup] + many
    return Fleet(clusters, files, ()), {"branch": branch, "branch_west": branch_west, "store": store, "lone": lone,
                                        "dup": dup, "many": many}


@pytest.fixture(scope="module", name="regression")
def fixture_regression(tmp_path_factory):
    from datetime import datetime, timezone
    now = datetime.now(timezone.utc)
    fleet, named = regression_fleet()
    fixtures = tmp_path_factory.mktemp("regression-fleet")
    write_fixtures(str(fixtures), fleet.clusters, now)
    directory = tmp_path_factory.mktemp("regression-facts")
    paths = {item.name: item.write(str(directory), now) for item in fleet.files}
    with emulated_az(tmp_path_factory, "regression", fixtures, login="profile") as az:
        memo = Memo(az, datetime.now(timezone.utc))
        memo.fleet, memo.paths, memo.emulator = fleet, paths, az.emulator
        memo.facts = ["--host-facts"] + list(paths.values())
        memo.__dict__.update(named)
        yield memo


def test_plain_list_shows_a_cluster_as_show_and_the_fleet_list_do(regression):
    """The last release's plain `list` read no VMs: its findings were "none". Now it is the same view."""
    branch = regression.branch
    facts = ["--host-facts"] + [path for name, path in regression.paths.items() if name != "branch-noid.json"]
    plain = {row["id"].lower(): row for row in regression.json("list", *facts)}
    fleet = {row["id"].lower(): row for row in regression.json("list", "--all-subscriptions", *facts)}
    shown = regression.json("show", *branch.scope_args(), *facts)
    assert branch.key in plain and branch.key in fleet
    assert shown["vmSummary"]["total"] == len(branch.vms) and shown["vms"] not in ("none", "not read")
    assert any(finding["scope"] == "vm" for finding in shown["findings"])
    for row in (plain[branch.key], fleet[branch.key]):
        assert len(row["findings"]) == len(shown["findings"])
        assert without(row, "evaluatedAt") == without(shown, "evaluatedAt")


STANDARD_SCOPES = (("subscription", ()), ("group", ("-g", "rg-east")),
                   ("subscriptions", ("--subscriptions", SUBSCRIPTION, OTHER_SUBSCRIPTION)),
                   ("all-subscriptions", ("--all-subscriptions",)), ("cluster", ("-n", "hci-branch", "-g", "rg-east")))


@pytest.mark.parametrize("label, scope", STANDARD_SCOPES, ids=[label for label, _ in STANDARD_SCOPES])
def test_standard_vms_are_one_not_applicable_info_finding_everywhere(regression, label, scope):
    """The last release judged a Standard VM on the Trusted launch checks (a failed check, an error that
    failed `check --fail-on error`); now it is one info finding, `not-trusted-launch`, in every command."""
    del label
    standard = {vm.id.lower(): vm for cluster in regression.fleet.clusters for vm in cluster.vms
                if vm.security == "Standard"}
    rows = regression.json("trusted-launch", "list", *scope, *regression.facts)
    report = regression.json("check", *scope, *regression.facts)
    seen = 0
    for row in rows:
        key = machine_id(row["subscriptionId"], row["resourceGroup"], row["name"]).lower()
        if key not in standard:
            continue
        seen += 1
        assert (row["securityType"], row["status"], row["reasonCode"]) == ("Standard", "Not applicable",
                                                                           "not-trusted-launch"), row
        assert [(f["status"], f["reasonCode"]) for f in row["findings"]] == [("Not applicable", "not-trusted-launch")]
        findings = [f for f in report["findings"] if f["scope"] == "trustedLaunch" and f["resourceId"].lower() == key]
        assert [(f["severity"], f["reasonCode"], f["status"]) for f in findings] == [
            ("info", "not-trusted-launch", "Not applicable")], findings
    assert seen >= 2
    counts = Counter(row["status"] for row in rows)
    assert report["totals"]["trustedLaunch"] == {
        "total": len(rows), "passed": counts["Passed"], "failed": counts["Failed"], "warning": counts["Warning"],
        "unknown": counts["Unknown"], "notApplicable": counts["Not applicable"]}
    failing = regression.run("check", *scope, "--fail-on", "error", "warning", *regression.facts)
    assert not [f for f in failing.data["findings"] if f["matched"] and f["scope"] == "trustedLaunch"
                and f["resourceId"].lower() in standard]


def test_standard_vm_in_vm_show_and_a_fleet_of_standard_vms_passes_check(regression, tmp_path_factory):
    for vm in (vm for vm in regression.branch.vms if vm.security == "Standard"):
        shown = regression.json("vm", "show", "--ids", vm.id, *regression.facts)["trustedLaunch"]
        assert (shown["status"], shown["reasonCode"], shown["findings"][0]["reasonCode"]) == (
            "Not applicable", "not-trusted-launch", "not-trusted-launch"), shown
    from datetime import datetime, timezone
    now = datetime.now(timezone.utc)
    clusters, files = [], []
    for subscription in (SUBSCRIPTION, OTHER_SUBSCRIPTION):
        cluster = Cluster(subscription, "rg-clean", "hci-clean", ("CL-N1",), "healthy")
        cluster.vms = [Vm("clean-linux", subscription, "rg-clean", "linux", "Standard", "CL-N1", cluster=cluster,
                          security_profile="absent", agent="1.58.03228.2572"),
                       Vm("clean-ae", subscription, "rg-clean", "azure-edition", "Standard", "CL-N1", cluster=cluster,
                          agent="1.58.03228.2572")]
        clusters.append(cluster)
        ae = dict(host_vm(cluster.vms[1], random.Random(1)), guestServiceInterface=True)
        files.append(HostFile("clean-{}.json".format(subscription[-1]), "hci-clean", "CL-N1", resource_id=cluster.id,
                              rows=(("CL-N1", "Active", 25),), vms=(ae,)))
    fixtures = tmp_path_factory.mktemp("standard-fleet")
    write_fixtures(str(fixtures), clusters, now)
    directory = tmp_path_factory.mktemp("standard-facts")
    paths = [item.write(str(directory), now) for item in files]
    with emulated_az(tmp_path_factory, "standard", fixtures, login="profile") as az:
        for level in ("error", "warning"):
            result = az.run(*VMV, "check", "--all-subscriptions", "--fail-on", level, "--host-facts", *paths,
                            "-o", "json")
            report = json.loads(result.stdout)
            assert result.returncode == 0, [f for f in report["findings"] if f["matched"]]
            assert report["totals"]["trustedLaunch"] == {"total": 4, "passed": 0, "failed": 0, "warning": 0,
                                                         "unknown": 0, "notApplicable": 4}
            assert report["totals"]["vms"]["activeBenefits"] == 2
            # Beside the Standard VMs' one finding, only Machine Configuration through IMDS (an optional path,
            # info) where legacy OS networking is not set up or not known.
            assert {(f["scope"], f["severity"], f["reasonCode"]) for f in report["findings"]
                    if f["scope"] != "benefit"} == {("trustedLaunch", "info", "not-trusted-launch")}
            assert {(f["severity"], f["offer"]) for f in report["findings"] if f["scope"] == "benefit"} <= {
                ("info", "machine-configuration-imds")}


def test_a_host_facts_file_never_applies_to_a_same_named_cluster_elsewhere(regression):
    """The last release bound files by cluster name: branch-east.json made the 45-day-old hci-branch of the
    other subscription look Active, and `check --fail-on expired` passed."""
    east, west = regression.branch, regression.branch_west
    result = regression.run("check", "--all-subscriptions", "--fail-on", "expired", *regression.facts)
    assert result.code == 1, result.stderr
    expired = {(f["resourceId"].lower(), f["name"]) for f in result.data["findings"]
               if f["matched"] and f["scope"] == "server"}
    assert {(west.node_id(node).lower(), node) for node in west.nodes} <= expired
    assert not {key for key in expired if key[0] in {east.node_id(node).lower() for node in east.nodes}}
    ignored = {(f["name"], f["reasonCode"]) for f in result.data["findings"] if f["scope"] == "hostFacts"}
    assert ("branch-noid.json", "host-facts-ambiguous") in ignored
    assert ("store.json", "host-facts-other-system") in ignored
    rows = {row["id"].lower(): row for row in regression.json("list", "--all-subscriptions", *regression.facts)}
    assert rows[east.key]["hostFacts"] == ["branch-east.json"] and rows[east.key]["hostStatus"] == "On"
    assert rows[west.key]["hostFacts"] == [] and {s["status"] for s in rows[west.key]["servers"]} == {"Expired"}
    shown = regression.json("show", *west.scope_args(), *regression.facts)       # alone, still not east's file
    assert shown["hostFacts"] == ["branch-noid.json"] or shown["hostFacts"] == []
    assert "branch-east.json" not in shown["hostFacts"]


def test_a_file_of_the_failover_cluster_name_does_not_bind_to_another_azure_name(regression):
    store = regression.store
    for args in (store.scope_args(), ["--all-subscriptions"]):
        answer = regression.run("server", "list", *args, *regression.facts)
        assert answer.code == 0, answer.stderr
        assert {row["status"] for row in answer.data if row["cluster"] == store.name} == {"Expired"}
        assert "store.json" in answer.ignored_warnings()
    shown = regression.json("show", *store.scope_args(), *regression.facts)
    assert shown["hostFacts"] == [] and [s["status"] for s in shown["servers"]] == ["Expired"]
    report = regression.json("check", *store.scope_args(), *regression.facts)
    assert [f["reasonCode"] for f in report["findings"] if f["scope"] == "hostFacts" and f["name"] == "store.json"] \
        == ["host-facts-other-system"]
    assert not [f for f in report["findings"] if f["matched"]] and not report["failed"]


GRAPH_PATH = "/providers/microsoft.resourcegraph/resources"


def _requests(emulator):
    """(Resource Graph requests, cluster GETs, other ARM requests) in the emulator's log."""
    log = [entry for entry in emulator.requests() if not entry["path"].lower().startswith("/msi/")]
    graph = [entry for entry in log if entry["path"].lower() == GRAPH_PATH]
    clusters = [entry for entry in log if "/microsoft.azurestackhci/clusters/" in entry["path"].lower()]
    return graph, clusters, [entry for entry in log if entry not in graph and entry not in clusters]


def test_check_of_a_group_reads_resource_graph_pages_not_each_cluster(regression):
    """The last release's `check -g` sent one query per cluster; now it reads as `list -g` does."""
    many = regression.many
    emulator = regression.emulator
    emulator.clear_requests()
    listed_rows = regression.json("list", "-g", "rg-many")
    list_graph, list_clusters, list_other = _requests(emulator)
    emulator.clear_requests()
    report = regression.json("check", "-g", "rg-many")
    graph, clusters, other = _requests(emulator)
    assert len(listed_rows) == report["totals"]["clusters"]["total"] == len(many)
    assert (len(list_graph), len(list_clusters), len(list_other)) == (2, 0, 0)     # clusters, then VMs
    assert len(graph) == len(list_graph) and not clusters, [entry["path"] for entry in clusters]
    isolated = [vm for cluster in many for vm in cluster.vms if vm.security != "Standard"]
    assert sorted(entry["path"].lower() for entry in other) == sorted(
        vm.id.lower() + "/providers/microsoft.azurestackhci/virtualmachineinstances/default/attestationstatus/default"
        for vm in isolated)
    assert report["scope"]["resourceGraphRequests"] == len(graph)


def test_a_vm_whose_only_server_is_expired_has_inactive_benefits_to_sync(regression):
    """The last release said Unknown / Collect host facts for this VM: a definite failure (the only
    server Expired) beats what cannot be told."""
    lone = regression.lone
    (vm,) = lone.vms
    problems = Problems()
    for label, facts in (("with its 33-day-old host facts", regression.facts), ("from ARM alone", [])):
        rows = regression.json("vm", "list", *lone.scope_args(), *facts)
        shown = regression.json("vm", "show", *lone.vm_args(vm.name), *facts)
        report = regression.json("check", *lone.scope_args(), *facts)
        servers = regression.json("show", *lone.scope_args(), *facts)["servers"]
        assert [s["status"] for s in servers] == ["Expired"], (label, servers)
        problems.equal([(row["name"], row["benefitStatus"], row["reasonCode"], row["action"]) for row in rows],
                       [(vm.name, "Inactive benefits", "server-not-active", "Sync with Azure")], label, "vm list")
        problems.equal((shown["benefitStatus"], shown["action"], shown["command"]),
                       ("Inactive benefits", "Sync with Azure", "Sync-AzureStackHCI"), label, "vm show")
        problems.equal([(f["status"], f["action"]) for f in report["findings"] if f["scope"] == "vm"],
                       [("Inactive benefits", "Sync with Azure")], label, "check")
    problems.check()


def test_vm_show_of_a_name_two_vms_share_asks_for_the_id(regression):
    dup = regression.dup
    answer = regression.run("vm", "show", *dup.vm_args("app01"))
    assert answer.code != 0 and answer.data is None
    for vm in dup.vms:
        assert vm.id in answer.stderr
    assert "--ids" in answer.stderr
    for vm in dup.vms:
        shown = regression.json("vm", "show", "--ids", vm.id)
        assert (shown["armResourceId"], shown["name"], shown["cluster"]) == (vm.id, "app01", dup.name)


def test_check_with_no_scope_checks_the_current_subscription_as_list_does(regression):
    report = regression.json("check", *regression.facts)
    rows = regression.json("list", *regression.facts)
    assert report["scope"]["kind"] == "subscriptions" and report["scope"]["subscriptions"] == [SUBSCRIPTION]
    assert {row["subscriptionId"] for row in rows} == {SUBSCRIPTION}
    hosts = Counter(row["hostStatus"] for row in rows)
    assert report["totals"]["clusters"] == {"total": len(rows), "on": hosts["On"], "off": hosts["Off"],
                                            "unknown": hosts["Unknown"]}
    named = {f["resourceId"].lower() for f in report["findings"] if f["scope"] == "cluster"}
    assert named <= {row["id"].lower() for row in rows}
    assert not [f for f in report["findings"] if OTHER_SUBSCRIPTION in (f["resourceId"] or "")]


@pytest.mark.parametrize("label, scope", STANDARD_SCOPES, ids=[label for label, _ in STANDARD_SCOPES])
def test_every_trusted_launch_row_says_status_reason_action_and_command(regression, label, scope):
    del label
    rows = regression.json("trusted-launch", "list", *scope, *regression.facts)
    assert rows
    for row in rows:
        assert {"status", "reasonCode", "action", "command", "runOn", "learnMore"} <= set(row), row
        assert row["status"] and row["reasonCode"], row
        assert row["status"] == "Passed" or (row["action"] and has_fix(row)), row
    vm = next(vm for vm in regression.branch.vms if vm.security == "TrustedLaunch")
    detail = regression.json("trusted-launch", "show", *regression.branch.vm_args(vm.name),
                             *regression.facts)
    assert {"status", "reasonCode", "action", "command"} <= set(detail) and detail["reasonCode"]
    shown = regression.json("vm", "show", "--ids", vm.id, *regression.facts)["trustedLaunch"]
    assert {key: detail[key] for key in ("status", "reasonCode", "action", "command", "runOn", "learnMore")} == {
        key: shown[key] for key in ("status", "reasonCode", "action", "command", "runOn", "learnMore")}
