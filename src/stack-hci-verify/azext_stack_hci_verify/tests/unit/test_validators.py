# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Argument checks, run on plain namespaces: each bad value is refused with a one-line error."""

import json
from types import SimpleNamespace

import pytest
from azure.cli.core import azclierror

from azext_stack_hci_verify import _validators as val
from azext_stack_hci_verify._client_factory import DEFAULT_ARM_TIMEOUT, arm_timeout
from azext_stack_hci_verify.core.vocabulary import BENEFIT_STATUSES

SUB = "11111111-1111-1111-1111-111111111111"
CLUSTER = "/subscriptions/{}/resourceGroups/rg/providers/Microsoft.AzureStackHCI/clusters/c1".format(SUB)


class Default(str):
    is_default = True


def test_cluster_ids_parse_and_split_on_whitespace():
    other = CLUSTER.replace("c1", "c2").replace("microsoft.azurestackhci", "Microsoft.AzureStackHCI")
    assert val.parse_cluster_ids([CLUSTER + " " + other]) == [(SUB, "rg", "c1"), (SUB, "rg", "c2")]


@pytest.mark.parametrize("value, fragment", [
    ("not-an-id", "is not a resource ID"),
    ("/subscriptions/{}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm".format(SUB),
     "is not an Azure Local cluster ID"),
    (CLUSTER + "/arcSettings/default", "is not an Azure Local cluster ID"),
])
def test_bad_cluster_ids(value, fragment):
    with pytest.raises(azclierror.InvalidArgumentValueError) as raised:
        val.parse_cluster_ids([value])
    assert fragment in raised.value.error_msg


def reference(ids=None, name=None, group=None):
    return SimpleNamespace(ids=ids, cluster_name=name, resource_group_name=group)


@pytest.mark.parametrize("namespace", [reference(name="c1", group="rg"), reference(ids=[CLUSTER]),
                                       reference(ids=[CLUSTER], group=Default("rg"))],   # az configured default
                         ids=["name-and-group", "ids", "ids-with-default-group"])
def test_cluster_reference_accepts_a_name_and_group_or_ids(namespace):
    given = dict(vars(namespace))
    assert val.validate_cluster_reference(None, namespace) is None
    assert vars(namespace) == given


@pytest.mark.parametrize("namespace, error", [
    (reference(ids=[CLUSTER], name="c1"), azclierror.MutuallyExclusiveArgumentError),
    (reference(ids=[CLUSTER], group="rg"), azclierror.MutuallyExclusiveArgumentError),
    (reference(name="c1"), azclierror.RequiredArgumentMissingError),
    (reference(), azclierror.RequiredArgumentMissingError),
    (reference(ids=["nope"]), azclierror.InvalidArgumentValueError),
])
def test_cluster_reference_refusals(namespace, error):
    with pytest.raises(error):
        val.validate_cluster_reference(None, namespace)


def test_host_facts_are_read_before_the_command(tmp_path):
    path = tmp_path / "n1.json"
    path.write_text(json.dumps({"schemaVersion": 1, "computerName": "N1", "vms": []}), encoding="utf-8")
    namespace = SimpleNamespace(host_facts=[[str(path)]])
    val.validate_host_facts(None, namespace)
    assert [document.computer_name for document in namespace.host_facts] == ["N1"]


@pytest.mark.parametrize("content, error, fragment", [
    (None, azclierror.FileOperationError, "does not exist"),
    ("{broken", azclierror.InvalidArgumentValueError, "is not valid JSON"),
    ("[" * 200000, azclierror.InvalidArgumentValueError, "nested too deeply"),
    (b"\xff\xfe\x00\xd8", azclierror.InvalidArgumentValueError, "not UTF-8 or UTF-16"),
])
def test_bad_host_facts_name_the_file_and_recommend_the_probe(tmp_path, content, error, fragment):
    path = tmp_path / "n1.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(error) as raised:
        val.validate_host_facts(None, SimpleNamespace(host_facts=[str(path)]))
    assert str(path) in raised.value.error_msg and fragment in raised.value.error_msg
    assert "\n" not in raised.value.error_msg
    assert any("probe -o json" in line for line in raised.value.recommendations)


def test_status_values_are_matched_in_any_case_and_spacing():
    namespace = SimpleNamespace(status=["inactive  BENEFITS", "Unknown"])
    val.validate_vm_status(None, namespace)
    assert namespace.status == ["Inactive benefits", "Unknown"]


@pytest.mark.parametrize("typed, status", [
    ("inactive-benefits", "Inactive benefits"), ("InactiveBenefits", "Inactive benefits"),
    ("ACTIVE_BENEFITS", "Active benefits"), ("no-applicable-benefits", "No applicable benefits"),
    ("unknown", "Unknown"), ("Active benefits", "Active benefits"),
])
def test_status_values_without_spaces_give_windows_admin_centers_words(typed, status):
    namespace = SimpleNamespace(status=[typed])
    val.validate_vm_status(None, namespace)
    assert namespace.status == [status]


def test_every_documented_status_choice_is_accepted():
    namespace = SimpleNamespace(status=list(val.STATUS_CHOICES))
    val.validate_vm_status(None, namespace)
    assert sorted(namespace.status) == sorted(BENEFIT_STATUSES)


def test_unknown_status_lists_the_choices():
    with pytest.raises(azclierror.InvalidArgumentValueError) as raised:
        val.validate_vm_status(None, SimpleNamespace(status=["inactive"]))
    assert "'inactive' is not a benefit status" in raised.value.error_msg
    assert raised.value.recommendations[0] == \
        "Use one or more of: active-benefits inactive-benefits unknown no-applicable-benefits."


def _vm_namespace(**values):
    fields = {"ids": None, "cluster_name": None, "resource_group_name": None, "vm_name": None,
              "deprecated_vm_name": None}
    fields.update(values)
    return SimpleNamespace(**fields)


def test_vm_show_names_the_vm_with_n_and_the_cluster_with_cluster_name():
    namespace = _vm_namespace(vm_name="vm01", cluster_name="c1", resource_group_name="rg")
    val.validate_vm_reference(None, namespace)
    assert (namespace.vm_name, namespace.cluster_name) == ("vm01", "c1")
    assert not hasattr(namespace, "deprecated_vm_name")


def test_the_old_spelling_reads_n_as_the_cluster_when_the_deprecated_vm_name_is_given():
    namespace = _vm_namespace(vm_name="c1", resource_group_name="rg", deprecated_vm_name="vm01")
    val.validate_trusted_launch_vm(None, namespace)
    assert (namespace.vm_name, namespace.cluster_name) == ("vm01", "c1")
    both = _vm_namespace(vm_name="ignored", cluster_name="c1", resource_group_name="rg", deprecated_vm_name="vm01")
    val.validate_vm_reference(None, both)
    assert (both.vm_name, both.cluster_name) == ("vm01", "c1")


@pytest.mark.parametrize("validate", [val.validate_vm_reference, val.validate_trusted_launch_vm])
def test_a_vm_command_without_a_vm_or_a_cluster_says_which_option_to_use(validate):
    with pytest.raises(azclierror.RequiredArgumentMissingError) as raised:
        validate(None, _vm_namespace(cluster_name="c1", resource_group_name="rg"))
    assert raised.value.error_msg == "No VM was named." and "--name/-n" in raised.value.recommendations[0]
    with pytest.raises(azclierror.RequiredArgumentMissingError) as raised:
        validate(None, _vm_namespace(vm_name="vm01", cluster_name="c1"))
    assert raised.value.error_msg == "--resource-group/-g is required with --cluster-name."


def test_a_list_scope_names_cluster_ids_in_its_errors():
    namespace = SimpleNamespace(cluster_ids=["/subscriptions/s/resourceGroups/g/providers/"
                                             "Microsoft.AzureStackHCI/clusters/c"],
                                cluster_name="c", resource_group_name="g", subscriptions=None,
                                all_subscriptions=False, management_groups=None)
    with pytest.raises(azclierror.MutuallyExclusiveArgumentError) as raised:
        val.validate_scope(None, namespace)
    assert "--cluster-ids" in raised.value.error_msg


def attest(**values):
    base = {"at": None, "document": None, "endpoint": None, "nonce": None, "timeout": None}
    base.update(values)
    return SimpleNamespace(**base)


def test_attest_reads_the_time():
    namespace = attest(at="2025-11-19T13:46:40Z")
    val.validate_attest(None, namespace)
    assert namespace.at.year == 2025


@pytest.mark.parametrize("namespace, fragment", [
    (attest(at="yesterday"), "is not a time"),
    (attest(document="d.json", endpoint="http://127.0.0.1:1"), "not both"),
    (attest(endpoint="https://127.0.0.1:1"), "base URL"),
    (attest(endpoint="http://127.0.0.1:1/metadata"), "base URL"),
    (attest(nonce="a b"), "--nonce"),
    (attest(timeout=0), "--timeout"),
    (attest(timeout=301), "--timeout"),
])
def test_attest_refusals(namespace, fragment):
    with pytest.raises(azclierror.AzCLIError) as raised:
        val.validate_attest(None, namespace)
    assert fragment in raised.value.error_msg


def test_probe_timeout_bounds():
    val.validate_probe(None, SimpleNamespace(timeout=600))
    with pytest.raises(azclierror.InvalidArgumentValueError):
        val.validate_probe(None, SimpleNamespace(timeout=601))


class Config:
    def __init__(self, value=None):
        self.value = value

    def get(self, section, option, fallback=None):
        assert (section, option) == ("stack_hci_verify", "arm_timeout")
        return self.value if self.value is not None else fallback


def test_arm_timeout_default_config_and_environment(monkeypatch):
    monkeypatch.delenv("STACK_HCI_VERIFY_ARM_TIMEOUT", raising=False)
    assert arm_timeout(SimpleNamespace(config=Config())) == DEFAULT_ARM_TIMEOUT < 60
    assert arm_timeout(SimpleNamespace(config=Config("45"))) == 45.0
    monkeypatch.setenv("STACK_HCI_VERIFY_ARM_TIMEOUT", "7.5")
    assert arm_timeout(SimpleNamespace(config=Config("45"))) == 7.5


@pytest.mark.parametrize("value", ["soon", "0", "-3", "nan", "601"])
def test_bad_arm_timeout_names_the_setting(monkeypatch, value):
    monkeypatch.setenv("STACK_HCI_VERIFY_ARM_TIMEOUT", value)
    with pytest.raises(azclierror.InvalidArgumentValueError) as raised:
        arm_timeout(SimpleNamespace(config=Config()))
    assert "STACK_HCI_VERIFY_ARM_TIMEOUT" in raised.value.error_msg and repr(value) in raised.value.error_msg
