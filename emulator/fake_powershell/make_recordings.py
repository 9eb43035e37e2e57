# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Writes the recordings that `fake-powershell` replays: `python make_recordings.py`.

The recordings are synthetic: what the probe scripts of
azext_stack_hci_verify/adapters/host_probe.py print on an Azure Local machine, in the dialect of
Windows PowerShell 5.1 (`\\/Date(ms)\\/`, enums as numbers, `<>&'` escaped as \\u003c...) or of
PowerShell 7 (ISO 8601 dates with offsets, enums as names through -EnumsAsStrings). PowerShell
prints nothing for an empty pipeline and a bare object (not an array of one) for one result.

Each scenario directory holds `<probe>.out` (stdout), optionally `<probe>.err` and `<probe>.exit`,
and `scenario.json`: the dialect, the host, the probes that hang, and the verdict every VM should
get (`expected`), which the unit tests check.
"""

import json
import os
import shutil
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDINGS = os.path.join(HERE, "recordings")

GSI = "6C09BB55-D683-4DA0-8931-C9BF705F6480"
KVP = "2A34B1C2-FD73-4043-8A5B-DD2159BC743F"
NODE_STATUS = {"Inactive": 0, "Active": 1, "Expired": 2, "Error": 3}
LEGACY = {"Disabled": 0, "Enabled": 1}
VM_STATE = {"Running": 2, "Off": 3, "Saved": 6, "Paused": 9}

AZURE_EDITION = ("Windows Server 2022 Datacenter: Azure Edition", "10.0.20348", "407", "3")
WIN10_MULTI = ("Windows 10 Enterprise multi-session", "10.0.19045", "175", "3")
# Data exchange reads the registry ProductName, which still says "Windows 10" on Windows 11.
WIN11_MULTI = ("Windows 10 Enterprise multi-session", "10.0.22631", "175", "3")
WIN10_MULTI_20H2 = ("Windows 10 Enterprise multi-session", "10.0.19042", "175", "3")
WS2012R2 = ("Windows Server 2012 R2 Datacenter", "6.3.9600", "8", "3")
WS2008R2 = ("Windows Server 2008 R2 Standard", "6.1.7601", "7", "3")
WS2019 = ("Windows Server 2019 Datacenter", "10.0.17763", "8", "3")
UBUNTU = ("Ubuntu", "5.15.0-1051-azure", None, None)


def utc(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


class Date:
    """A DateTime value; `offset` hours is the host's time zone (PowerShell 7 writes local times)."""

    def __init__(self, moment, offset=0, wrapped=False):
        self.moment, self.offset, self.wrapped = moment, offset, wrapped


class Enum:
    def __init__(self, name, number):
        self.name, self.number = name, number


def vm(name, index, os_info, gsi, kvp, nic, generation=2, state="Running", items=True):
    return {"name": name, "id": "6f1c{:04x}-2a7e-4c1d-9b3a-5e8d7c6b{:04x}".format(index, index),
            "os": os_info, "gsi": gsi, "kvp": kvp, "nic": nic, "generation": generation, "state": state,
            "items": items and kvp and state == "Running"}


def expect(status, code, action=None, access=None, benefit=None):
    return {"benefitStatus": status, "reasonCode": code, "action": action, "accessMethod": access,
            "eligibleBenefit": benefit}


AE = "Windows Server Datacenter: Azure Edition"
AVD = "Azure Virtual Desktop"
ESU = "Extended Security Updates"
ACTIVE = "Active benefits"
INACTIVE = "Inactive benefits"
NONE = "No applicable benefits"

PROD = {
    "description": "AZL-PROD-01-N1 of hci-prod-01: verification on, legacy OS support on, one VM per verdict",
    "computerName": "AZL-PROD-01-N1",
    "prerequisites": {"HyperV": True, "RsatHyperVTools": True, "ClusterManagerExtension": "2.319.2"},
    "cluster": {"ClusterName": "AZL-PROD-01", "AzureResourceName": "hci-prod-01",
                "AzureResourceUri": "/Subscriptions/3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31/resourceGroups/"
                                    "rg-hci-prod-eastus/providers/Microsoft.AzureStackHCI/clusters/hci-prod-01",
                "ClusterStatus": "Clustered", "RegistrationStatus": "Registered", "ConnectionStatus": "Connected",
                "ImdsAttestation": "Enabled", "LastConnected": utc("2026-11-22T08:15:42Z"),
                "NextSync": utc("2026-11-22T20:15:42Z"), "Region": "eastus"},
    "nodes": [("AZL-PROD-01-N{}".format(n), "Active", utc("2026-12-22T08:15:42Z"), "Enabled") for n in (1, 2, 3, 4)],
    "switch": True,
    "vms": [
        vm("ae-web-01", 1, AZURE_EDITION, gsi=True, kvp=True, nic=False),
        vm("ae-web-02", 2, AZURE_EDITION, gsi=False, kvp=True, nic=False),
        vm("avd-w11-01", 3, WIN11_MULTI, gsi=True, kvp=True, nic=False),
        vm("avd-w10-01", 4, WIN10_MULTI, gsi=True, kvp=True, nic=True),
        vm("avd-w10-02", 5, WIN10_MULTI, gsi=False, kvp=True, nic=False, generation=1),
        vm("avd-w10-20h2", 6, WIN10_MULTI_20H2, gsi=True, kvp=True, nic=True),
        vm("esu-sql-2012r2", 7, WS2012R2, gsi=False, kvp=True, nic=True, generation=1),
        vm("app-2019-01", 8, WS2019, gsi=True, kvp=True, nic=False),
        vm("linux-web-01", 9, UBUNTU, gsi=False, kvp=True, nic=False),
        vm("app-kvp-off", 10, WS2019, gsi=True, kvp=False, nic=False),
        vm("ae-stopped-01", 11, AZURE_EDITION, gsi=True, kvp=True, nic=False, state="Off"),
    ],
    "expected": {
        "ae-web-01": expect(ACTIVE, "active", None, "v2", AE),
        "ae-web-02": expect(INACTIVE, "guest-service-interface-off", "Turn on Guest Service Interface", "v2", AE),
        "avd-w11-01": expect(ACTIVE, "active", None, "v2", AVD),
        "avd-w10-01": expect(ACTIVE, "active", None, "v1", AVD),
        "avd-w10-02": expect(INACTIVE, "legacy-networking-missing", "Set up legacy OS networking", "v1", AVD),
        "avd-w10-20h2": expect(INACTIVE, "feature-update-needed", "Install updates", "v1", AVD),
        "esu-sql-2012r2": expect(ACTIVE, "active", None, "v1", ESU),
        "app-2019-01": expect(NONE, "no-applicable-benefit", None, "none", None),
        "linux-web-01": expect(NONE, "no-applicable-benefit", None, "none", None),
        "app-kvp-off": expect("Unknown", "guest-os-unknown", "Turn on Hyper-V data exchange", None, None),
        "ae-stopped-01": expect("Unknown", "guest-os-not-reported", "Collect host facts", None, None),
    },
}

STORE = {
    "description": "AZL-STORE-0017-N1 of hci-store-0017: legacy OS support off",
    "computerName": "AZL-STORE-0017-N1",
    "prerequisites": {"HyperV": True, "RsatHyperVTools": False, "ClusterManagerExtension": "2.318.0"},
    "cluster": {"ClusterName": "AZL-STORE-0017", "AzureResourceName": "hci-store-0017",
                "AzureResourceUri": "/Subscriptions/8c9e4d27-1a3b-4f6c-b2d8-5e7f9a0c1d42/resourceGroups/"
                                    "rg-branch-retail/providers/Microsoft.AzureStackHCI/clusters/hci-store-0017",
                "ClusterStatus": "Clustered", "RegistrationStatus": "Registered",
                "ConnectionStatus": "NotConnectedRecently", "ImdsAttestation": "Enabled",
                "LastConnected": utc("2026-11-19T17:30:05Z"), "NextSync": utc("2026-11-20T05:30:05Z"),
                "Region": "westeurope"},
    "nodes": [("AZL-STORE-0017-N{}".format(n), "Active", utc("2026-12-19T17:30:05Z"), "Disabled") for n in (1, 2)],
    "switch": False,
    "vms": [
        vm("pos-w10-01", 21, WIN10_MULTI, gsi=True, kvp=True, nic=False),
        vm("esu-2008r2-01", 22, WS2008R2, gsi=False, kvp=True, nic=False, generation=1),
        vm("ae-store-01", 23, AZURE_EDITION, gsi=True, kvp=True, nic=False),
    ],
    "expected": {
        "pos-w10-01": expect(INACTIVE, "legacy-os-support-off", "Turn on legacy OS support", "v1", AVD),
        "esu-2008r2-01": expect(INACTIVE, "legacy-os-support-off", "Turn on legacy OS support", "v1", ESU),
        "ae-store-01": expect(ACTIVE, "active", None, "v2", AE),
    },
}

DEV = {
    "description": "AZL-DEV-01-N1 of hci-dev-01: not synced for more than 30 days, attestation Expired",
    "computerName": "AZL-DEV-01-N1",
    "cluster": {"ClusterName": "AZL-DEV-01", "AzureResourceName": "hci-dev-01",
                "AzureResourceUri": "/Subscriptions/3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31/resourceGroups/"
                                    "rg-hci-dev/providers/Microsoft.AzureStackHCI/clusters/hci-dev-01",
                "ClusterStatus": "Clustered", "RegistrationStatus": "Registered", "ConnectionStatus": "Disconnected",
                "ImdsAttestation": "Enabled", "LastConnected": utc("2026-10-09T07:43:17Z"),
                "NextSync": utc("2026-10-09T19:43:17Z"), "Region": "eastus"},
    "nodes": [("AZL-DEV-01-N{}".format(n), "Expired", utc("2026-11-08T07:43:17Z"), "Enabled") for n in (1, 2, 3)],
    "switch": True,
    "vms": [
        vm("dev-ae-01", 31, AZURE_EDITION, gsi=True, kvp=True, nic=False),
        vm("dev-w10-01", 32, WIN10_MULTI, gsi=True, kvp=True, nic=True),
        vm("dev-linux-01", 33, UBUNTU, gsi=False, kvp=True, nic=False),
    ],
    "expected": {
        "dev-ae-01": expect(INACTIVE, "server-not-active", "Sync with Azure", "v2", AE),
        "dev-w10-01": expect(INACTIVE, "server-not-active", "Sync with Azure", "v1", AVD),
        "dev-linux-01": expect(NONE, "no-applicable-benefit", None, "none", None),
    },
}

HOSTILE_NAME = "x'; Remove-VM *; '"
HOSTILE = dict(PROD, description="AZL-PROD-01-N1 with VM names that are PowerShell code, wildcards and quotes",
               vms=[
                   vm(HOSTILE_NAME, 41, AZURE_EDITION, gsi=False, kvp=True, nic=False),
                   vm("web[1]", 42, AZURE_EDITION, gsi=False, kvp=True, nic=False),
                   vm("o\u2019brien-$(Stop-Computer)", 43, AZURE_EDITION, gsi=False, kvp=True, nic=False),
                   vm("kvp-entity-bomb", 44, AZURE_EDITION, gsi=True, kvp=True, nic=False),
               ],
               expected={
                   HOSTILE_NAME: expect(INACTIVE, "guest-service-interface-off", "Turn on Guest Service Interface",
                                        "v2", AE),
                   "web[1]": expect(INACTIVE, "guest-service-interface-off", "Turn on Guest Service Interface",
                                    "v2", AE),
                   "o\u2019brien-$(Stop-Computer)": expect(INACTIVE, "guest-service-interface-off",
                                                           "Turn on Guest Service Interface", "v2", AE),
                   "kvp-entity-bomb": expect(ACTIVE, "active", None, "v2", AE),
               })

# ----------------------------------------------------------------------------- serializing


def kvp_items(name, os_info, bomb=False):
    os_name, version, edition, product_type = os_info
    major, minor, build = (version.split(".") + ["", "", ""])[:3]
    values = [("FullyQualifiedDomainName", "{}.contoso.example".format(name)), ("OSName", os_name),
              ("OSVersion", version), ("CSDVersion", ""), ("OSMajorVersion", major), ("OSMinorVersion", minor),
              ("OSBuildNumber", build), ("OSPlatformId", "2"), ("ServicePackMajor", "0"),
              ("ServicePackMinor", "0"), ("SuiteMask", "400"), ("ProcessorArchitecture", "9"),
              ("IntegrationServicesVersion", "10.0.20348.1"), ("NetworkAddressIPv4", "192.168.10.20")]
    if edition is not None:
        values += [("OSEditionId", edition), ("ProductType", product_type)]
    items = [_kvp_item(key, value) for key, value in values]
    if bomb:
        items.insert(0, '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
                        '<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem"><PROPERTY NAME="Data" TYPE="string">'
                        '<VALUE>&lol2;</VALUE></PROPERTY><PROPERTY NAME="Name" TYPE="string"><VALUE>OSName</VALUE>'
                        '</PROPERTY></INSTANCE>')
        items.append(_kvp_item("OSName", "Windows Server 2022 Datacenter: Azure Edition <not markup> & more"))
    return items


def _kvp_item(key, value):
    def escape(text):
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return ('<INSTANCE CLASSNAME="Msvm_KvpExchangeDataItem">'
            '<PROPERTY NAME="Caption" PROPAGATED="true" TYPE="string"></PROPERTY>'
            '<PROPERTY NAME="Data" TYPE="string"><VALUE>{}</VALUE></PROPERTY>'
            '<PROPERTY NAME="Description" PROPAGATED="true" TYPE="string"></PROPERTY>'
            '<PROPERTY NAME="ElementName" PROPAGATED="true" TYPE="string"></PROPERTY>'
            '<PROPERTY NAME="InstanceID" PROPAGATED="true" TYPE="string"></PROPERTY>'
            '<PROPERTY NAME="Name" TYPE="string"><VALUE>{}</VALUE></PROPERTY>'
            '<PROPERTY NAME="Source" TYPE="uint16"><VALUE>2</VALUE></PROPERTY>'
            '</INSTANCE>').format(escape(value), escape(key))


def plain(value, dialect):
    """Replace Date and Enum markers by what the dialect's ConvertTo-Json writes."""
    if isinstance(value, dict):
        return {key: plain(item, dialect) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item, dialect) for item in value]
    if isinstance(value, datetime):
        value = Date(value)
    if isinstance(value, Date):
        if dialect == "7":
            local = value.moment.astimezone(timezone(timedelta(hours=value.offset)))
            return local.strftime("%Y-%m-%dT%H:%M:%S.") + "{:07d}".format(local.microsecond * 10) + \
                local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]
        text = "/Date({})/".format(int(value.moment.timestamp() * 1000))
        if value.wrapped:
            return {"value": text, "DisplayHint": 2,
                    "DateTime": value.moment.strftime("%A, %B %d, %Y %I:%M:%S %p").replace(" 0", " ")}
        return text
    if isinstance(value, Enum):
        return value.name if dialect == "7" else value.number
    return value


def to_json(rows, dialect):
    """ConvertTo-Json -Compress of a pipeline: nothing for none, an object for one, an array for more."""
    if not rows:
        return ""
    value = plain(rows[0] if len(rows) == 1 else rows, dialect)
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if dialect == "5.1":
        text = text.replace('"/Date(', '"\\/Date(').replace(')/"', ')\\/"')
        for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
            text = text.replace(char, escaped)
    return text + "\n"


def outputs(host, dialect):
    """{probe: stdout} for a host description."""
    ps_version = {"5.1": ("5.1.20348.2849", "Desktop"), "7": ("7.4.6", "Core")}[dialect]
    offset = 1 if dialect == "7" else 0
    cluster = dict(host["cluster"])
    for key in ("LastConnected", "NextSync"):
        cluster[key] = Date(cluster[key], offset)
    nodes = [{"ComputerName": name, "Status": Enum(status, NODE_STATUS[status]),
              "Expiration": Date(expiration, offset, wrapped=(dialect == "5.1" and index == 0)),
              "LegacyOsSupport": Enum(legacy, LEGACY[legacy])}
             for index, (name, status, expiration, legacy) in enumerate(host["nodes"])]
    vms = host["vms"]
    services = []
    for item in vms:
        for service, display, enabled in ((GSI, "Guest Service Interface", item["gsi"]),
                                          (KVP, "Key-Value Pair Exchange", item["kvp"])):
            services.append({"VMName": item["name"], "VMId": item["id"], "Name": display,
                             "Id": "Microsoft:{}\\{}".format(item["id"].upper(), service), "Enabled": enabled})
    return {
        "host-info": to_json([dict({"ComputerName": host["computerName"], "PSVersion": ps_version[0],
                                    "PSEdition": ps_version[1]}, **host.get("prerequisites", {}))], dialect),
        "get-azurestackhci": to_json([cluster], dialect),
        "get-azurestackhciattestation": to_json(nodes, dialect),
        "get-vm": to_json([{"Name": item["name"], "Id": item["id"], "Generation": item["generation"],
                            "State": Enum(item["state"], VM_STATE[item["state"]]),
                            "ComputerName": host["computerName"]} for item in vms], dialect),
        "get-vmintegrationservice": to_json(services, dialect),
        "get-vmnetworkadapter": to_json([{"VMName": item["name"], "VMId": item["id"],
                                          "Name": "AZSHCI_GUEST-IMDS_DO_NOT_MODIFY",
                                          "SwitchName": "AZSHCI_HOST-IMDS_DO_NOT_MODIFY"}
                                         for item in vms if item["nic"]], dialect),
        "get-vmswitch": to_json([{"Name": "AZSHCI_HOST-IMDS_DO_NOT_MODIFY", "SwitchType": "Internal"}]
                                if host["switch"] else [], dialect),
        "get-vmkvp": to_json([{"VMName": item["name"], "VMId": item["id"],
                               "Items": kvp_items(item["name"], item["os"], bomb=item["name"] == "kvp-entity-bomb")
                               if item["items"] else None} for item in vms], dialect),
    }


def write_outputs(directory, files, failures=None):
    """A probe's recorded output (`<probe>.out`) and, for a failing probe, its exit code and stderr."""
    for probe, text in files.items():
        with open(os.path.join(directory, probe + ".out"), "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    for probe, (code, stderr) in (failures or {}).items():
        with open(os.path.join(directory, probe + ".exit"), "w", encoding="utf-8") as handle:
            handle.write("{}\n".format(code))
        with open(os.path.join(directory, probe + ".err"), "w", encoding="utf-8") as handle:
            handle.write(stderr)


def write_scenario(name, host, dialect, hang=(), failures=None, overrides=None):
    directory = os.path.join(RECORDINGS, name)
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    files = outputs(host, dialect) if host else {}
    files.update(overrides or {})
    write_outputs(directory, files, failures)
    scenario = {"description": (host or {}).get("description", ""), "dialect": dialect,
                "computerName": (host or {}).get("computerName"), "hang": list(hang),
                "expected": (host or {}).get("expected", {})}
    with open(os.path.join(directory, "scenario.json"), "w", encoding="utf-8", newline="\n") as handle:
        json.dump(scenario, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


def not_recognized(cmdlet):
    return ("{0} : The term '{0}' is not recognized as the name of a cmdlet, function, script file, or operable "
            "program. Check the spelling of the name, or if a path was included, verify that the path is correct "
            "and try again.\r\n    + CategoryInfo          : ObjectNotFound: ({0}:String) [], "
            "CommandNotFoundException\r\n    + FullyQualifiedErrorId : CommandNotFoundException\r\n".format(cmdlet))


def main():
    write_scenario("ps7", PROD, "7")
    write_scenario("ps51", PROD, "5.1")
    write_scenario("ps51-legacy-off", STORE, "5.1")
    write_scenario("ps7-expired", DEV, "7")
    write_scenario("hostile-names", HOSTILE, "7")
    write_scenario("hang", dict(PROD, description="ps7, but the data exchange probe never finishes"), "7",
                   hang=["get-vmkvp"])
    cmdlets = {"get-azurestackhci": "Get-AzureStackHCI", "get-azurestackhciattestation": "Get-AzureStackHCIAttestation",
               "get-vm": "Get-VM", "get-vmintegrationservice": "Get-VM", "get-vmnetworkadapter": "Get-VMNetworkAdapter",
               "get-vmswitch": "Get-VMSwitch", "get-vmkvp": "Get-VM"}
    workstation = to_json([{"ComputerName": "WORKSTATION7", "PSVersion": "5.1.26100.2161", "PSEdition": "Desktop"}],
                          "5.1")
    write_scenario("no-hyperv", None, "5.1", overrides={"host-info": workstation},
                   failures={probe: (1, not_recognized(cmdlet)) for probe, cmdlet in cmdlets.items()})
    write_scenario("not-registered", None, "5.1", overrides={
        "host-info": to_json([{"ComputerName": "AZL-NEW-N1", "PSVersion": "5.1.26100.2161",
                               "PSEdition": "Desktop"}], "5.1"),
        "get-azurestackhci": to_json([{"ClusterName": None, "AzureResourceName": None, "AzureResourceUri": None,
                                       "ClusterStatus": "NotYet", "RegistrationStatus": "NotYetRegistered",
                                       "ConnectionStatus": "NotYetConnected", "ImdsAttestation": "",
                                       "LastConnected": None, "NextSync": None, "Region": None}], "5.1"),
        "get-azurestackhciattestation": "null\n", "get-vm": "", "get-vmintegrationservice": "",
        "get-vmnetworkadapter": "", "get-vmswitch": "", "get-vmkvp": ""})


if __name__ == "__main__":
    main()
    import trusted_launch_recordings  # the Trusted launch probes' recordings, into the same scenarios
    trusted_launch_recordings.main()
