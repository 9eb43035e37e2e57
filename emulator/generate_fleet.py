"""Write a deterministic fleet of Azure Local clusters as emulator fixtures.

    python -m emulator.generate_fleet --out DIR --clusters 500 --nodes 4 --subscriptions 5 \
        [--resource-groups 3] [--seed 0] [--reference-time 2026-11-22T12:00:00Z|now]

Cluster ``i`` (0-based) goes to subscription ``i % S`` and to resource group
``(i // S) % G`` of that subscription; its state is ``STATE_CYCLE[i % 10]``:

=========================  ==============================================================
``healthy``                 imdsAttestation Enabled, synced hours ago, LegacyOsSupport
``healthy-no-legacy``       as healthy, but no LegacyOsSupport capability
``attestation-disabled``    imdsAttestation Disabled, connected
``stale``                   imdsAttestation Enabled, last sync 44 days before the reference
``never-registered``        status NotYetRegistered, no reportedProperties, no sync times
``unknown-attestation``     imdsAttestation ``PartiallyEnabled`` (a value from a newer API)
=========================  ==============================================================

The same arguments always write byte-identical files. The fixtures' reference time (the
"now" the states are relative to) goes into ``_emulator.json`` together with the intended
state of every cluster, so a test can compare what the extension says with what was meant.
Use ``--rebase-to now`` when serving to make the fleet current.

``cluster_document`` builds one cluster body; the sample fleet in
``emulator/fixtures/sample-fleet`` uses the same shapes.

``--vms N --vm-clusters K`` gives each of the first K clusters N Azure Local VMs: an Arc
machine of kind HCI whose ``parentClusterResourceId`` names the cluster, and its
``virtualMachineInstances/default`` (guest OS cycling through ``GUESTS``), e.g. for a
500-VM cluster: ``--clusters 1 --nodes 3 --vms 500 --vm-clusters 1``. The fleet of the
benchmark is ``--clusters 5000 --nodes 3 --subscriptions 10``.

Every VM's machine reports a Connected Machine agent version (every seventh is 1.38, below the 1.39
that Azure Machine Configuration at no cost needs; the others 1.39 or later, cycling). Every fifth VM
runs one Arc-enabled SQL Server instance (``Microsoft.AzureArcData/sqlServerInstances`` whose
``containerResourceId`` is its machine), its release cycling through ``SQL_RELEASES``.
``--arc-servers N`` adds N Arc-enabled servers (Arc machines of no kind, with ``parentClusterResourceId``)
to each cluster of ``--vm-clusters``: Windows Server 2016 / 2019, Software Assurance attested on every
other one.
"""

import argparse
import datetime
import json
import os
import random
import uuid

from .store import DEFAULT_TENANT_ID, parse_time

DEFAULT_REFERENCE_TIME = "2026-11-22T12:00:00Z"

#: The capability tokens clusters report (undocumented upstream; this is our consistent set).
CAPABILITY_TOKENS = ("CloudManagement", "ArcVmManagement", "ImdsAttestation", "LegacyOsSupport")
#: A token no released API has: stands for what a newer service might add.
FUTURE_CAPABILITY_TOKEN = "ImdsAttestationV3"
#: An imdsAttestation value no released API has.
FUTURE_IMDS_ATTESTATION = "PartiallyEnabled"

STATES = ("healthy", "healthy-no-legacy", "attestation-disabled", "stale", "never-registered",
          "unknown-attestation")
STATE_CYCLE = ("healthy", "healthy", "attestation-disabled", "healthy", "stale",
               "healthy-no-legacy", "healthy", "never-registered", "healthy",
               "unknown-attestation")

LOCATIONS = ("eastus", "westeurope", "westus2", "centralus", "australiaeast")
HARDWARE = (
    # manufacturer, model, cores, memory GiB
    ("Dell Inc.", "AX-760", 32, 512),
    ("Lenovo", "ThinkAgile MX650 V3", 48, 768),
    ("HPE", "ProLiant DL380 Gen11", 40, 512),
    ("DataON", "AZS-6256", 24, 384),
)
OS_RELEASES = (
    # osName, osVersion, osDisplayVersion
    ("Azure Stack HCI", "10.0.25398.1189", "23H2"),
    ("Azure Local", "10.0.26100.4946", "24H2"),
)


def iso(moment, fraction_digits=0):
    """Format an aware datetime as ARM does: ``2026-11-20T08:15:42.1234567Z`` (7 digits) or
    without a fraction."""
    text = moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction_digits:
        ticks = f"{moment.microsecond:06d}0"  # 100 ns ticks, as .NET writes them
        text += "." + ticks[:fraction_digits]
    return text + "Z"


def _guid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def cluster_id(subscription_id, resource_group, name):
    return (f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
            "/providers/Microsoft.AzureStackHCI/clusters/" + name)


def machine_id(subscription_id, resource_group, name):
    return (f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
            "/providers/Microsoft.HybridCompute/machines/" + name)


def node_names(cluster_name, count):
    base = cluster_name.upper().replace("HCI-", "AZL-")
    return [f"{base}-N{index}" for index in range(1, count + 1)]


def cluster_document(subscription_id, resource_group, name, *, state, node_count, location,
                     reference_time, rng, tenant_id=DEFAULT_TENANT_ID, fraction_digits=7,
                     hardware=None, os_release=None, tags=None, system_data=True):
    """One ``Microsoft.AzureStackHCI/clusters`` GET body in ``state`` (see :data:`STATES`)."""
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}; one of {', '.join(STATES)}")
    manufacturer, model, cores, memory = hardware or HARDWARE[rng.randrange(len(HARDWARE))]
    os_name, os_version, os_display = os_release or OS_RELEASES[rng.randrange(len(OS_RELEASES))]
    jitter = datetime.timedelta(seconds=rng.randrange(3600), microseconds=rng.randrange(10 ** 6))
    registered_at = reference_time - datetime.timedelta(days=90 + rng.randrange(300)) + jitter
    if state == "stale":
        last_sync = reference_time - datetime.timedelta(days=44, hours=5) + jitter
    else:
        last_sync = reference_time - datetime.timedelta(hours=2 + rng.randrange(20)) + jitter
    connectivity = {"stale": ("Disconnected", "Disconnected"),
                    "never-registered": ("NotYetRegistered", "NotYetRegistered"),
                    "unknown-attestation": ("ConnectedRecently", "PartiallyConnected")
                    }.get(state, ("ConnectedRecently", "Connected"))

    properties = {
        "provisioningState": "Succeeded",
        "status": connectivity[0],
        "connectivityStatus": connectivity[1],
        "cloudId": _guid(rng),
        "softwareAssuranceProperties": {
            "softwareAssuranceStatus": "Enabled" if state != "never-registered" else "Disabled",
            "softwareAssuranceIntent": "Enable" if state != "never-registered" else "Disable",
            "lastUpdated": iso(registered_at + datetime.timedelta(days=1), fraction_digits),
        },
        "desiredProperties": {"windowsServerSubscription": "Enabled",
                              "diagnosticLevel": "Basic"},
        "trialDaysRemaining": 60 if state == "never-registered" else 0,
        "billingModel": "Trial" if state == "never-registered" else "Billed",
        "serviceEndpoint": f"https://{location}.dp.stackhci.azure.com",
        "resourceProviderObjectId": _guid(rng),
    }
    if state != "never-registered":
        capabilities = list(CAPABILITY_TOKENS)
        if state in ("healthy-no-legacy", "attestation-disabled"):
            capabilities.remove("LegacyOsSupport")
        if state == "unknown-attestation":
            capabilities.append(FUTURE_CAPABILITY_TOKEN)
        imds = {"attestation-disabled": "Disabled",
                "unknown-attestation": FUTURE_IMDS_ATTESTATION}.get(state, "Enabled")
        nodes = []
        for index, node_name in enumerate(node_names(name, node_count), start=1):
            nodes.append({
                "name": node_name,
                "id": index,
                "windowsServerSubscription": "Enabled",
                "nodeType": "ThirdParty",
                "ehcResourceId": machine_id(subscription_id, resource_group, node_name),
                "manufacturer": manufacturer,
                "model": model,
                "osName": os_name,
                "osVersion": os_version,
                "osDisplayVersion": os_display,
                "serialNumber": "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")
                                        for _ in range(7)),
                "coreCount": cores,
                "memoryInGiB": memory,
                "lastLicensingTimestamp": iso(last_sync - datetime.timedelta(minutes=index),
                                              fraction_digits),
                "oemActivation": "Disabled",
            })
        properties["reportedProperties"] = {
            "clusterName": name.upper().replace("HCI-", "AZL-"),
            "clusterId": _guid(rng),
            "clusterVersion": os_version,
            "clusterType": "ThirdParty",
            "manufacturer": manufacturer,
            "lastUpdated": iso(last_sync, fraction_digits),
            "imdsAttestation": imds,
            "diagnosticLevel": "Basic",
            "supportedCapabilities": capabilities,
            "oemActivation": "Disabled",
            "hardwareClass": "Medium",
            "nodes": nodes,
        }
        properties["registrationTimestamp"] = iso(registered_at, fraction_digits)
        properties["lastSyncTimestamp"] = iso(last_sync, fraction_digits)
        properties["lastBillingTimestamp"] = iso(last_sync - datetime.timedelta(hours=1),
                                                 fraction_digits)
    if state in ("healthy", "stale"):
        properties["isolatedVmAttestationConfiguration"] = {
            "attestationResourceId": (f"/subscriptions/{subscription_id}/resourceGroups/"
                                      f"{resource_group}/providers/Microsoft.Attestation/"
                                      f"attestationProviders/{name.replace('-', '')}attest"),
            "relyingPartyServiceEndpoint": f"https://{location}.dp.stackhci.azure.com",
            "attestationServiceEndpoint":
                f"https://{name.replace('-', '')}attest.{location[:3]}.attest.azure.net",
        }

    document = {
        "id": cluster_id(subscription_id, resource_group, name),
        "name": name,
        "type": "Microsoft.AzureStackHCI/clusters",
        "location": location,
        "tags": dict(tags) if tags is not None else {"environment": "production"},
        "identity": {"principalId": _guid(rng), "tenantId": tenant_id,
                     "type": "SystemAssigned"},
        "properties": properties,
    }
    if system_data:
        document["systemData"] = {
            "createdBy": "admin@contoso.example", "createdByType": "User",
            "createdAt": iso(registered_at - datetime.timedelta(hours=3), fraction_digits),
            "lastModifiedBy": "5f3e2c1d-0b9a-4e8f-a7d6-c5b4a3928170",
            "lastModifiedByType": "Application",
            "lastModifiedAt": iso(last_sync, fraction_digits),
        }
    return document


#: Guest OSes of generated VMs: (osSku, osVersion, osType).
GUESTS = (
    ("Windows Server 2022 Datacenter: Azure Edition", "10.0.20348.2849", "windows"),
    ("Windows 11 Enterprise multi-session", "10.0.22631.4460", "windows"),
    ("Windows Server 2019 Datacenter", "10.0.17763.6532", "windows"),
    ("Ubuntu 22.04.5 LTS", "5.15.0-126-generic", "linux"),
)


AGENT_VERSIONS = ("1.39.02628.1404", "1.56.03167.2452", "1.58.03228.2572")
AGENT_BELOW_MINIMUM = "1.38.02627.1329"
SQL_RELEASES = (("SQL Server 2012", "11.0.7507.2"), ("SQL Server 2014", "12.0.6449.1"),
                ("SQL Server 2016", "13.0.7050.2"), ("SQL Server 2022", "16.0.4155.4"))
ARC_SERVER_GUESTS = (("Windows Server 2016 Datacenter", "10.0.14393.7515"),
                     ("Windows Server 2019 Datacenter", "10.0.17763.6532"))


def agent_version(index):
    """The Connected Machine agent of VM ``index``: every seventh is below 1.39."""
    return AGENT_BELOW_MINIMUM if index % 7 == 3 else AGENT_VERSIONS[index % len(AGENT_VERSIONS)]


def sql_document(machine, location, index):
    """The Arc-enabled SQL Server instance on the machine of VM ``index`` (every fifth VM), or None."""
    if index % 5 != 1:
        return None
    version, current = SQL_RELEASES[(index // 5) % len(SQL_RELEASES)]
    group_path, name = machine.split("/providers/")[0], machine.rsplit("/", 1)[1] + "_MSSQLSERVER"
    return {"id": f"{group_path}/providers/Microsoft.AzureArcData/SqlServerInstances/{name}", "name": name,
            "type": "Microsoft.AzureArcData/SqlServerInstances", "location": location,
            "properties": {"version": version, "currentVersion": current, "edition": "Standard",
                           "instanceName": "MSSQLSERVER", "containerResourceId": machine, "status": "Connected",
                           "licenseType": "Paid", "provisioningState": "Succeeded"}}


def arc_server_document(cluster, index):
    """Arc-enabled server ``index`` on the cluster (not an Azure Local VM): an Arc machine of no kind whose
    parentClusterResourceId names the cluster; Software Assurance attested on the even ones."""
    subscription_id, resource_group = cluster["id"].split("/")[2], cluster["id"].split("/")[4]
    name = f"{cluster['name']}-arc{index:03d}"
    os_name, os_version = ARC_SERVER_GUESTS[index % len(ARC_SERVER_GUESTS)]
    return {
        "id": machine_id(subscription_id, resource_group, name), "name": name,
        "type": "Microsoft.HybridCompute/machines", "location": cluster.get("location"),
        "properties": {
            "provisioningState": "Succeeded", "status": "Connected", "displayName": name, "osName": os_name,
            "osSku": os_name, "osVersion": os_version, "osType": "windows", "parentClusterResourceId": cluster["id"],
            "agentVersion": agent_version(index), "mssqlDiscovered": "false", "osProfile": {"computerName": name},
            "licenseProfile": {"softwareAssurance": {"softwareAssuranceCustomer": index % 2 == 0}},
        },
    }


def vm_documents(cluster, index, *, reference_time, rng, fraction_digits=7):
    """The Arc machine (kind HCI) and its virtualMachineInstances/default of the cluster's VM
    ``index``: two GET bodies."""
    subscription_id, resource_group = cluster["id"].split("/")[2], cluster["id"].split("/")[4]
    name = f"{cluster['name']}-vm{index:04d}"
    os_sku, os_version, os_type = GUESTS[index % len(GUESTS)]
    machine = machine_id(subscription_id, resource_group, name)
    changed = iso(reference_time - datetime.timedelta(hours=1 + rng.randrange(48)), fraction_digits)
    vm_id = _guid(rng)
    machine_document = {
        "id": machine, "name": name, "type": "Microsoft.HybridCompute/machines", "kind": "HCI",
        "location": cluster.get("location"),
        "properties": {
            "provisioningState": "Succeeded", "status": "Connected", "lastStatusChange": changed,
            "vmId": vm_id, "displayName": name, "osName": os_sku, "osSku": os_sku,
            "osVersion": os_version, "osType": os_type, "parentClusterResourceId": cluster["id"],
            "osProfile": {"computerName": name}, "agentVersion": agent_version(index),
            "mssqlDiscovered": "true" if index % 5 == 1 else "false",
        },
    }
    custom_location = (f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
                       f"/providers/Microsoft.ExtendedLocation/customLocations/cl-{cluster['name']}")
    instance_document = {
        "id": machine + "/providers/Microsoft.AzureStackHCI/virtualMachineInstances/default",
        "name": "default", "type": "Microsoft.AzureStackHCI/virtualMachineInstances",
        "extendedLocation": {"type": "CustomLocation", "name": custom_location},
        "properties": {
            "hardwareProfile": {"vmSize": "Custom", "processors": 4, "memoryMB": 8192},
            "osProfile": {"computerName": name},
            "securityProfile": {"enableTPM": index % 3 != 0,
                                "uefiSettings": {"secureBootEnabled": index % 3 != 0},
                                "securityType": "TrustedLaunch" if index % 3 != 0 else None},
            "provisioningState": "Succeeded",
            "status": {"powerState": "Running"},
            "instanceView": {"vmAgent": {"vmConfigAgentVersion": "1.8.01944.0"}},
            "vmId": vm_id,
        },
    }
    return machine_document, instance_document


def write_document(directory, relative_path, document):
    path = os.path.join(directory, relative_path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    return path


def server_machine(cluster, name):
    """The Arc machine of one of the cluster's servers, connected, with an agent that has Run Command."""
    subscription_id, resource_group = cluster["id"].split("/")[2], cluster["id"].split("/")[4]
    return {"id": machine_id(subscription_id, resource_group, name), "name": name,
            "type": "Microsoft.HybridCompute/machines", "kind": "AzureStackHCI", "location": cluster.get("location"),
            "properties": {"provisioningState": "Succeeded", "status": "Connected", "agentVersion": "1.58.03228.2572",
                           "displayName": name, "osName": "windows", "osType": "windows", "osSku": "Azure Local",
                           "parentClusterResourceId": cluster["id"], "osProfile": {"computerName": name}}}


def generate_fleet(out, clusters, nodes, subscriptions, *, seed=0,
                   reference_time=DEFAULT_REFERENCE_TIME, resource_groups=3,
                   tenant_id=DEFAULT_TENANT_ID, vms=0, vm_clusters=0, arc_servers=0, server_recordings=None):
    """Write the fleet into ``out``; return the manifest (also written to ``_emulator.json``):
    ``{"referenceTime", "tenantId", "subscriptions": [...], "clusters": [{"id", "state", "vms"}]}``.
    The first ``vm_clusters`` clusters get ``vms`` Azure Local VMs each. ``server_recordings``: also write
    each server's Arc machine (connected, agent 1.58) and assign it that fake PowerShell scenario for Run
    Command, renamed to the server and without VMs (``runCommand.machines`` of the manifest).
    """
    if clusters < 0 or nodes < 1 or subscriptions < 1 or resource_groups < 1 or vms < 0:
        raise ValueError("need clusters >= 0, nodes >= 1, subscriptions >= 1, "
                         "resource groups >= 1, vms >= 0")
    if isinstance(reference_time, str):
        reference_time = (datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
                          if reference_time == "now" else parse_time(reference_time))
    rng = random.Random(seed)
    subscription_ids = [_guid(rng) for _ in range(subscriptions)]
    manifest = {
        "referenceTime": iso(reference_time),
        "tenantId": tenant_id,
        "subscriptions": [{"subscriptionId": sub, "displayName": f"Fleet subscription {n:02d}"}
                          for n, sub in enumerate(subscription_ids, start=1)],
        "clusters": [],
    }
    width = max(3, len(str(clusters)))
    for index in range(clusters):
        sub_index = index % subscriptions
        group = f"rg-fleet-s{sub_index + 1:02d}-g{(index // subscriptions) % resource_groups + 1:02d}"
        name = f"hci-fleet-{index:0{width}d}"
        state = STATE_CYCLE[index % len(STATE_CYCLE)]
        document = cluster_document(
            subscription_ids[sub_index], group, name, state=state, node_count=nodes,
            location=LOCATIONS[index % len(LOCATIONS)], reference_time=reference_time,
            rng=random.Random(f"{seed}:{index}"), tenant_id=tenant_id,
            fraction_digits=7 if index % 2 == 0 else 0,
            tags={"environment": "fleet", "ring": str(index % 3)})
        write_document(out, os.path.join(group, "clusters", name + ".json"), document)
        count = vms if index < vm_clusters else 0
        vm_rng = random.Random(f"{seed}:{index}:vms")
        for vm_index in range(count):
            machine, instance = vm_documents(document, vm_index, reference_time=reference_time,
                                             rng=vm_rng)
            base = os.path.join(group, "machines", machine["name"])
            write_document(out, base + ".json", machine)
            write_document(out, base + ".instance.json", instance)
            sql = sql_document(machine["id"], document.get("location"), vm_index)
            if sql is not None:
                write_document(out, os.path.join(group, "sql", sql["name"] + ".json"), sql)
        servers = arc_servers if index < vm_clusters else 0
        for server_index in range(servers):
            server = arc_server_document(document, server_index)
            write_document(out, os.path.join(group, "machines", server["name"] + ".json"), server)
        manifest["clusters"].append({"id": document["id"], "state": state, "vms": count, "arcServers": servers})
        if server_recordings:
            for node in (document["properties"].get("reportedProperties") or {}).get("nodes") or []:
                write_document(out, os.path.join(group, "machines", node["name"] + ".json"),
                               server_machine(document, node["name"]))
                machines = manifest.setdefault("runCommand", {"machines": {}})["machines"]
                machines[node["name"]] = {"recordings": server_recordings, "computerName": node["name"], "vms": False}
    write_document(out, "_emulator.json", manifest)
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m emulator.generate_fleet",
                                     description="Write a deterministic fleet of Azure Local "
                                                 "clusters as emulator fixtures.")
    parser.add_argument("--out", required=True, help="output directory (created if missing)")
    parser.add_argument("--clusters", type=int, required=True)
    parser.add_argument("--nodes", type=int, default=2, help="nodes per cluster (default 2)")
    parser.add_argument("--subscriptions", type=int, default=1)
    parser.add_argument("--resource-groups", type=int, default=3,
                        help="resource groups per subscription (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vms", type=int, default=0,
                        help="Azure Local VMs (machine + instance) per cluster of --vm-clusters")
    parser.add_argument("--vm-clusters", type=int, default=0,
                        help="how many clusters (the first ones) get --vms VMs (default 0)")
    parser.add_argument("--arc-servers", type=int, default=0,
                        help="Arc-enabled servers (not Azure Local VMs) per cluster of --vm-clusters (default 0)")
    parser.add_argument("--server-recordings", default=None,
                        help="also write each server's Arc machine, assigned this fake PowerShell scenario "
                             "(e.g. ps7) for Run Command")
    parser.add_argument("--reference-time", default=DEFAULT_REFERENCE_TIME,
                        help=f"ISO 8601 time or 'now' (default {DEFAULT_REFERENCE_TIME})")
    args = parser.parse_args(argv)
    manifest = generate_fleet(args.out, args.clusters, args.nodes, args.subscriptions,
                              seed=args.seed, reference_time=args.reference_time,
                              resource_groups=args.resource_groups, vms=args.vms,
                              vm_clusters=args.vm_clusters, arc_servers=args.arc_servers,
                              server_recordings=args.server_recordings)
    print(json.dumps({"out": os.path.abspath(args.out), "clusters": len(manifest["clusters"]),
                      "subscriptions": [s["subscriptionId"] for s in manifest["subscriptions"]],
                      "referenceTime": manifest["referenceTime"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
