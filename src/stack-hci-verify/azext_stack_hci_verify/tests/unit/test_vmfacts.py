# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""What is known about a VM, merged from ARM and the host: the host's data exchange wins for the
guest OS and is never mixed with ARM's edition; facts no source reported stay None."""

import pytest

from azext_stack_hci_verify.core import vocabulary as v
from azext_stack_hci_verify.core.eligibility import eligibility
from azext_stack_hci_verify.core.vmfacts import VmFacts, arm_vm_keys, find_host_vm, merge_vm_facts, normalize_vm_state

from .core_fixtures import AE, AE_2022

MACHINE = {
    "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/vm01",
    "name": "vm01", "type": "Microsoft.HybridCompute/machines", "kind": "HCI",
    "properties": {"osName": "windows", "osSku": "Windows Server 2022 Datacenter Azure Edition",
                   "osVersion": "10.0.20348.2402", "osType": "windows", "vmId": "smbios-id-not-hyper-v",
                   "parentClusterResourceId": "/subscriptions/s/resourceGroups/rg/providers/"
                                              "Microsoft.AzureStackHCI/clusters/c1"},
}
INSTANCE = {
    "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/vm01/providers/"
          "Microsoft.AzureStackHCI/virtualMachineInstances/default",
    "name": "default", "type": "microsoft.azurestackhci/virtualmachineinstances",
    "properties": {
        "securityProfile": {"enableTPM": True, "uefiSettings": {"secureBootEnabled": True},
                            "securityType": "TrustedLaunch"},
        "status": {"powerState": "Running"},
        "vmId": "aaaaaaaa-0000-0000-0000-000000000001",
        "hyperVVmId": "1B4E28BA-2FA1-11D2-883F-0016D3CCA427",
        "hostNodeName": "NODE1",
    },
}
HOST_VM = {"name": "vm01", "vmId": "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "generation": 2, "state": "Running",
           "guestServiceInterface": True, "dataExchange": True, "legacyNetworking": False,
           "guestOs": {"name": AE_2022, "version": "10.0.20348"}}


def machine_with(**properties):
    return {**MACHINE, "properties": {**MACHINE["properties"], **properties}}


def host_with_os(name, version="10.0.20348.2402", **extra):
    return dict(HOST_VM, guestOs=dict({"name": name, "version": version}, **extra))


def test_merge_arm_only_leaves_what_only_a_host_sees_unknown():
    vm = merge_vm_facts(arm_machine=MACHINE, arm_instance=INSTANCE)
    assert (vm.name, vm.vm_id, vm.server, vm.state, vm.guest_os_name, vm.guest_os_version, vm.security_type) == (
        "vm01", "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "NODE1", "Running",
        "Windows Server 2022 Datacenter Azure Edition", "10.0.20348.2402", "TrustedLaunch")
    assert (vm.generation, vm.data_exchange, vm.guest_service_interface, vm.legacy_networking) == (
        None, None, None, None)
    assert set(vm.sources.values()) == {"arm"} and vm.conflicts == () and vm.host_stale is False


def test_merge_host_only():
    vm = merge_vm_facts(host_vm=HOST_VM, host_name="NODE1")
    assert (vm.server, vm.generation, vm.guest_service_interface, vm.guest_os_version) == (
        "NODE1", 2, True, "10.0.20348")
    assert set(vm.sources.values()) == {"host"}


def test_agreeing_sources_keep_the_more_precise_version():
    vm = merge_vm_facts(arm_machine=MACHINE, arm_instance=INSTANCE, host_vm=HOST_VM, host_name="NODE1")
    assert vm.conflicts == ()
    assert (vm.guest_os_version, vm.sources["guestOsVersion"]) == ("10.0.20348.2402", "arm")
    assert (vm.guest_os_name, vm.sources["guestOsName"]) == (AE_2022, "host")


def test_host_wins_and_disagreements_are_recorded():
    host_vm = dict(HOST_VM, state=3, computerName="NODE2",
                   guestOs={"name": "Windows Server 2019 Datacenter", "version": "10.0.17763"})
    vm = merge_vm_facts(arm_machine=MACHINE, arm_instance=INSTANCE, host_vm=host_vm, host_name="NODE2")
    assert (vm.state, vm.server, vm.guest_os_name, vm.guest_os_version) == (
        "Off", "NODE2", "Windows Server 2019 Datacenter", "10.0.17763")
    assert {item["fact"]: (item["arm"], item["host"]) for item in vm.conflicts} == {
        "server": ("NODE1", "NODE2"), "state": ("Running", "Off"),
        "guestOsName": ("Windows Server 2022 Datacenter Azure Edition", "Windows Server 2019 Datacenter"),
        "guestOsVersion": ("10.0.20348.2402", "10.0.17763"),
    }


def test_the_hosts_data_exchange_os_name_wins_over_arms_os_sku():
    # issue 7: ARM's osSku won over the host's data-exchange OS name.
    machine = machine_with(osName="windows", osSku="Windows Server 2022 Datacenter")
    vm = merge_vm_facts(arm_machine=machine, arm_instance=INSTANCE, host_vm=host_with_os(AE_2022), host_name="NODE1")
    assert vm.guest_os_name == AE_2022 and vm.sources["guestOsName"] == "host"
    assert eligibility(vm.guest_os_name, vm.guest_os_version, vm.guest_os_sku).benefit == AE

    machine = machine_with(osName="windows", osSku="Windows Server 2022 Datacenter Azure Edition")
    vm = merge_vm_facts(arm_machine=machine, arm_instance=INSTANCE,
                        host_vm=host_with_os("Windows Server 2022 Datacenter"), host_name="NODE1")
    assert vm.guest_os_name == "Windows Server 2022 Datacenter"
    assert eligibility(vm.guest_os_name, vm.guest_os_version, vm.guest_os_sku).benefit is None


@pytest.mark.parametrize("arm_sku", ["407", "ServerTurbine", "Windows Server 2022 Datacenter Azure Edition"])
def test_arms_edition_is_never_mixed_with_the_hosts_os_name(arm_sku):
    machine = machine_with(osName="Windows Server 2022 Datacenter", osSku=arm_sku, osEdition=arm_sku)
    vm = merge_vm_facts(arm_machine=machine, arm_instance=INSTANCE,
                        host_vm=host_with_os("Windows Server 2022 Datacenter"), host_name="NODE1")
    assert vm.guest_os_sku is None
    assert eligibility(vm.guest_os_name, vm.guest_os_version, vm.guest_os_sku).benefit is None


def test_the_hosts_own_edition_is_used_with_its_name():
    vm = merge_vm_facts(arm_machine=MACHINE, arm_instance=INSTANCE,
                        host_vm=host_with_os("Windows Server 2022 Datacenter", sku="407"),
                        host_name="NODE1")
    assert (vm.guest_os_sku, vm.sources.get("guestOsSku")) == ("407", "host")


def test_arm_product_in_os_sku_when_os_name_is_generic():
    vm = merge_vm_facts(arm_machine=machine_with(osName="windows", osSku="Windows 10 Enterprise multi-session"))
    assert vm.guest_os_name == "Windows 10 Enterprise multi-session"


def test_vm_id_from_hyper_v_id_only():
    vm = merge_vm_facts(arm_machine=MACHINE, arm_instance=INSTANCE,
                        host_vm=dict(HOST_VM, vmId="{99999999-0000-0000-0000-000000000000}"))
    assert vm.vm_id == "99999999-0000-0000-0000-000000000000"
    assert [item["fact"] for item in vm.conflicts] == ["vmId"]
    no_hyperv_id = {**INSTANCE, "properties": {**INSTANCE["properties"], "hyperVVmId": None}}
    vm = merge_vm_facts(arm_machine=MACHINE, arm_instance=no_hyperv_id, host_vm=HOST_VM)
    assert vm.conflicts == () and vm.vm_id == "1b4e28ba-2fa1-11d2-883f-0016d3cca427"


def test_equivalent_states_and_fqdn_are_not_conflicts():
    instance = {**INSTANCE, "properties": {**INSTANCE["properties"], "status": {"powerState": "Stopped"},
                                           "hostNodeName": "node1.contoso.example"}}
    merged = merge_vm_facts(arm_machine=MACHINE, arm_instance=instance, host_vm=dict(HOST_VM, state="Off"),
                            host_name="NODE1")
    assert merged.conflicts == ()


def test_odd_documents_never_raise():
    odd_machine = {"NAME": "vm02", "Properties": {"OSNAME": None, "osSku": None, "osVersion": None}}
    odd_instance = {"properties": {"securityProfile": None, "status": None,
                                   "storageProfile": {"osDisk": {"osType": "Linux"}}}}
    vm = merge_vm_facts(arm_machine=odd_machine, arm_instance=odd_instance, host_vm=None)
    assert (vm.name, vm.guest_os_name, vm.security_type) == ("vm02", "Linux", v.SECURITY_STANDARD)
    for machine, instance, host_vm in ((None, None, None), ([], "x", 5), ({"properties": []}, {"properties": "x"}, {}),
                                       ({"properties": {"osName": 5, "osVersion": ["x"]}}, None, {"guestOs": "x"})):
        assert isinstance(merge_vm_facts(arm_machine=machine, arm_instance=instance, host_vm=host_vm), VmFacts)
    assert merge_vm_facts(arm_machine=None, arm_instance={"id": INSTANCE["id"], "properties": {}}).name == "vm01"


def test_host_numbers_and_strings():
    vm = merge_vm_facts(host_vm={"name": "a", "state": "32779", "generation": "1", "guestServiceInterface": "True",
                                 "dataExchange": 0, "legacyNetworking": None, "guestOs": None})
    assert (vm.state, vm.generation, vm.guest_service_interface, vm.data_exchange, vm.legacy_networking) == (
        "FastSaved", 1, True, False, None)


@pytest.mark.parametrize("raw, expected", [(2, "Running"), (3, "Off"), ("3", "Off"), ("running", "Running"),
                                           (None, None), (True, None), (99999, "99999")])
def test_normalize_vm_state(raw, expected):
    assert normalize_vm_state(raw) == expected


def test_stale_host_facts_are_marked_on_the_facts_they_gave():
    vm = merge_vm_facts(arm_machine=MACHINE, arm_instance=INSTANCE, host_vm=HOST_VM, host_name="NODE1", host_stale=True)
    assert vm.host_stale is True
    assert vm.from_stale_host("guestServiceInterface") and not vm.from_stale_host("guestOsVersion")
    assert merge_vm_facts(arm_machine=MACHINE, arm_instance=INSTANCE, host_vm=None, host_stale=True).host_stale is False


def test_find_host_vm_by_hyper_v_id_then_name():
    vms = [{"name": "VM01", "vmId": "other"}, HOST_VM, {"name": "vm03"}]
    assert find_host_vm(vms, *arm_vm_keys(MACHINE, INSTANCE)) is HOST_VM
    assert find_host_vm(vms, None, "VM03") is vms[2]
    assert find_host_vm(vms, "{1B4E28BA-2FA1-11D2-883F-0016D3CCA427}") is HOST_VM
    assert find_host_vm(vms, None, "nope") is None and find_host_vm(None, "x", "y") is None


def test_to_dict_is_camel_case_in_a_fixed_order():
    vm = merge_vm_facts(arm_machine=MACHINE, arm_instance=INSTANCE, host_vm=HOST_VM)
    assert list(vm.to_dict()) == ["name", "vmId", "server", "generation", "state", "guestOsName", "guestOsVersion",
                                  "guestOsSku", "dataExchange", "guestServiceInterface", "legacyNetworking",
                                  "securityType", "sources", "conflicts"]
    assert isinstance(vm.to_dict()["sources"], list)
