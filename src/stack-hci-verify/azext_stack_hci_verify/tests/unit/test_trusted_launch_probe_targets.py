# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Trusted launch checks that cannot tell without host facts name the machines the probe must run on."""

from types import SimpleNamespace

import pytest
from hypothesis import given, strategies as st

from azext_stack_hci_verify.core import fixes
from azext_stack_hci_verify.core import trusted_launch as tl
from azext_stack_hci_verify.core.trusted_launch.checks import evaluate_vm
from azext_stack_hci_verify.core.trusted_launch.hosts import evaluate_cluster

VM_ID = "6f1c0041-7d2e-4c1d-9b3a-5e8d7c6b0041"
ADMINS = {"identity": "BUILTIN\\Administrators", "sid": "S-1-5-32-544", "type": "Allow", "rights": "FullControl"}
REQUIRE_6600 = {"name": "lm", "enabled": True, "inboundSecurity": "Require", "outboundSecurity": "Require",
                "protocol": "TCP", "localPorts": ["6600"], "remotePorts": ["Any"]}
REQUIRE_6600_OUT = dict(REQUIRE_6600, name="lm-out", localPorts=["Any"], remotePorts=["6600"])
PROBE = fixes.COMMAND_PROBE


def cluster(nodes=("N1", "N2")):
    return SimpleNamespace(name="c1", nodes=tuple(SimpleNamespace(name=n) for n in nodes),
                           has_reported_properties=True, isolated_vm_attestation_configuration=None)


def host_facts(name, acl=True, igvm=True, ipsec=True):
    section = {
        "igvmAgent": {"present": True, "status": "Running"} if igvm else None,
        "vmConfigurationAcl": [{"path": "C:\\VMs", "vms": [{"name": "vm01", "vmId": VM_ID}], "access": [ADMINS]}]
        if acl else None,
        "ipsecRules": [REQUIRE_6600, REQUIRE_6600_OUT] if ipsec else None,
    }
    return SimpleNamespace(computer_name=name, collected_at=None, source=name + ".json",
                           document={"schemaVersion": 1, "trustedLaunch": section})


def trusted_vm(host="N2"):
    machine = {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/vm01",
               "name": "vm01"}
    instance = {"properties": {"hostNodeName": host, "hyperVVmId": VM_ID, "securityProfile": {
        "enableTPM": True, "uefiSettings": {"secureBootEnabled": True}, "securityType": "TrustedLaunch"}}}
    return tl.vm_facts_from_arm(machine, instance)


def test_igvm_agent_unknown_on_one_machine_collects_there():
    check = evaluate_cluster(cluster(), [host_facts("N1")]).check("igvm-agent")
    assert (check.status, check.action) == (tl.UNKNOWN, tl.ACTION_COLLECT_HOST_FACTS)
    assert check.command == fixes.probe_command("N2")


def test_igvm_agent_unknown_on_every_machine_collects_on_each():
    check = evaluate_cluster(cluster(), []).check("igvm-agent")
    assert check.command == fixes.probe_command(servers=["N1", "N2"]) and "N1, N2" in check.command


def test_a_cluster_that_reports_no_machines_collects_on_each_server_of_the_cluster():
    check = evaluate_cluster(cluster(()), []).check("igvm-agent")
    assert check.command == fixes.probe_command() and "each server of the cluster" in check.command


def test_live_migration_unseen_collects_on_the_machines_where_it_cannot_be_seen():
    check = evaluate_cluster(cluster(), [host_facts("N1")]).check("live-migration-protection")
    assert (check.status, check.reason_code) == (tl.WARNING, "live-migration-protection-unseen")
    assert check.command == fixes.probe_command("N2")


def test_vm_state_files_of_the_system_unknown_collects_on_the_machines_without_facts():
    check = evaluate_cluster(cluster(), [host_facts("N1")]).check("vm-state-files")
    assert (check.status, check.action) == (tl.UNKNOWN, tl.ACTION_COLLECT_HOST_FACTS)
    assert check.command == fixes.probe_command("N2")


def test_vm_state_files_of_a_vm_collects_on_its_machine():
    context = evaluate_cluster(cluster(), [host_facts("N1", acl=False)])
    check = context.vm_state_files(trusted_vm(host="N1"))
    assert check.status == tl.UNKNOWN and check.command == fixes.probe_command("N1")
    check = context.vm_state_files(trusted_vm(host="N2"))
    assert check.status == tl.UNKNOWN and check.command == fixes.probe_command("N2")


def test_vm_state_files_of_a_vm_on_an_unknown_machine_collects_on_each():
    check = evaluate_cluster(cluster(), []).vm_state_files(trusted_vm(host=None))
    assert check.status == tl.UNKNOWN and check.command == fixes.probe_command(servers=["N1", "N2"])


_FACTS = st.sampled_from([None, dict(), dict(acl=False), dict(igvm=False), dict(ipsec=False),
                          dict(acl=False, igvm=False, ipsec=False)])


@given(nodes=st.sampled_from([(), ("N1",), ("N1", "N2"), ("N1", "N2", "N3")]),
       facts=st.lists(_FACTS, min_size=3, max_size=3), host=st.sampled_from(["N1", "N2", "N9", None]))
def test_every_collect_host_facts_command_names_where_the_probe_runs(nodes, facts, host):
    given_facts = [host_facts(name, **spec) for name, spec in zip(("N1", "N2", "N3"), facts) if spec is not None]
    context = evaluate_cluster(cluster(nodes), given_facts)
    verdict = evaluate_vm(trusted_vm(host), None, None, context, None)
    for check in tuple(context.checks) + tuple(verdict.checks):
        if check.action == tl.ACTION_COLLECT_HOST_FACTS:
            assert check.command.startswith(PROBE + " -o json > "), check
            assert "host-facts-host" not in check.command
            # The machines are the cluster's nodes, or, when it reports none, the ones host facts describe.
            machines = tuple(machine.name for machine in context.machines)
            named = [name for name in machines + (host,) if name and name in check.command]
            assert named or "each server of the cluster" in check.command, check


@pytest.mark.parametrize("name", ["N\n2", "N2'; Remove-Item C:\\ -Recurse"])
def test_machine_names_stay_data_in_the_probe_command(name):
    check = evaluate_cluster(cluster(("N1", name)), [host_facts("N1")]).check("igvm-agent")
    assert "\n" not in check.command and check.command.startswith(PROBE)
