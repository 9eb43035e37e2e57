# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""ARM errors as the user reads them: `translate_error`, read failures, and the deadline the ARM
pipeline keeps (retry policy against a fake transport; nothing sleeps)."""

import pytest
from azext_stack_hci_verify import errors
from azure.core.exceptions import (
    DecodeError, ServiceRequestError, ServiceResponseTimeoutError)

from azext_stack_hci_verify.adapters import arm

from .arm_fakes import OBJECT_ID, FakeResponse, arm_body, denied, http_error

SUB = "11111111-1111-1111-1111-111111111111"
SCOPE = "/subscriptions/{}".format(SUB)
READ = arm.ArmRead("The Arc machines of subscription '{}'".format(SUB), SCOPE, arm.PERMISSION_MACHINES,
                   "Check the subscription with `az account show`.", 20.0)
GATEWAY_PAGE = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>nginx</body>\r\n</html>\r\n"


def assert_one_line(error):
    assert "\n" not in error.error_msg and "\r" not in error.error_msg
    assert error.error_msg.endswith(".") or error.error_msg.endswith("Gateway")


def test_forbidden_names_the_permission_arm_reports_and_the_grant():
    error = arm.translate_error(http_error(403, denied("Microsoft.HybridCompute/machines/read", SCOPE)), READ)
    assert isinstance(error, errors.PermissionDeniedError)
    assert "'Microsoft.HybridCompute/machines/read'" in error.error_msg and SCOPE in error.error_msg
    assert "clusters/read" not in error.error_msg and "Reader" not in error.error_msg
    assert_one_line(error)
    (recommendation,) = error.recommendations
    assert "az role assignment create --assignee {} --role Reader --scope {}".format(OBJECT_ID, SCOPE) \
        in recommendation


def test_forbidden_without_arms_words_names_the_permission_the_read_needs():
    error = arm.translate_error(http_error(403, arm_body("Forbidden", "No.")), READ)
    assert "'Microsoft.HybridCompute/machines/read' on scope '{}'".format(SCOPE) in error.error_msg
    assert "--assignee <object-id>" in error.recommendations[0]


def test_not_found_puts_the_fix_in_the_recommendation():
    error = arm.translate_error(http_error(404, arm_body("ResourceNotFound", "gone")), READ)
    assert isinstance(error, errors.NotFoundError)
    assert error.error_msg == "The Arc machines of subscription '{}' was not found (ResourceNotFound).".format(SUB)
    assert error.recommendations == ["Check the subscription with `az account show`."]


def test_unauthorized_asks_for_login():
    error = arm.translate_error(http_error(401, arm_body("InvalidAuthenticationToken", "expired")), READ)
    assert isinstance(error, errors.AuthenticationError) and "az login" in error.recommendations[0]


def test_long_retry_after_says_how_long_arm_asked_and_how_to_wait_longer():
    error = arm.translate_error(http_error(429, arm_body("SubscriptionRequestsThrottled", "slow down"),
                                           headers={"Retry-After": "120"}), READ)
    assert "asked to wait 120 seconds (Retry-After)" in error.error_msg and "20 seconds" in error.error_msg
    assert "STACK_HCI_VERIFY_ARM_TIMEOUT" in error.recommendations[0]
    assert "stack_hci_verify.arm_timeout" in error.recommendations[0]


@pytest.mark.parametrize("content_type", ["text/html", "application/json"])
def test_gateway_page_shows_status_and_first_line(content_type):
    error = arm.translate_error(http_error(502, GATEWAY_PAGE, reason="Bad Gateway", content_type=content_type),
                                READ)
    assert isinstance(error, errors.ServiceError)
    assert error.error_msg.startswith("ARM answered 502 Bad Gateway reading the Arc machines")
    assert error.error_msg.endswith(": 502 Bad Gateway") and "<" not in error.error_msg
    assert_one_line(error)


def test_undecodable_body_is_not_reported_as_invalid_json():
    response = FakeResponse(502, GATEWAY_PAGE, reason="Bad Gateway")
    error = arm.translate_error(DecodeError("JSON is invalid: Expecting value", response=response), READ)
    assert "JSON" not in error.error_msg and "502 Bad Gateway" in error.error_msg


def test_long_first_line_is_clipped():
    error = arm.translate_error(http_error(500, "x" * 1000, content_type="text/plain"), READ)
    assert len(error.error_msg) < 400 and error.error_msg.endswith("...")


@pytest.mark.parametrize("exception", [ServiceResponseTimeoutError("Response timeout"),
                                       ServiceRequestError("Connection refused")])
def test_no_answer_names_the_patience_and_the_setting(exception):
    error = arm.translate_error(exception, READ)
    assert isinstance(error, errors.NoAnswerError)
    assert "within 20 seconds" in error.error_msg and "STACK_HCI_VERIFY_ARM_TIMEOUT" in error.recommendations[0]
    assert_one_line(error)


def instance_failure(name):
    scope = "/subscriptions/{}/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/{}".format(SUB, name)
    read = arm.ArmRead("The Azure Local VM instance of '{}'".format(name), scope, arm.PERMISSION_INSTANCES)
    return arm.read_failure(http_error(403, denied(arm.PERMISSION_INSTANCES, scope)), read)


def test_a_forbidden_read_failure_carries_the_grant():
    failure = instance_failure("vm1")
    assert failure.action == arm.ACTION_GRANT_READ
    assert failure.command.startswith("az role assignment create --assignee {} --role Reader".format(OBJECT_ID))
    assert arm.PERMISSION_INSTANCES in failure.reason


def test_instance_failures_count_and_grant_on_the_scope_they_share():
    # pylint: disable=protected-access
    combined = arm._instances_failure([instance_failure("vm1"), instance_failure("vm2")], 5)
    assert combined.reason.startswith("2 of 5 Azure Local VM instances")
    assert combined.command.endswith("--scope /subscriptions/{}/resourceGroups/rg".format(SUB))
    assert isinstance(combined.error, errors.PermissionDeniedError)


def test_instance_failures_of_other_kinds_have_no_grant():
    # pylint: disable=protected-access
    read = arm.ArmRead("The Azure Local VM instance of 'vm2'", SCOPE, arm.PERMISSION_INSTANCES, timeout=20.0)
    other = arm.read_failure(ServiceResponseTimeoutError("Response timeout"), read)
    combined = arm._instances_failure([instance_failure("vm1"), other], 2)
    assert combined.action is None and combined.command is None


@pytest.mark.parametrize("scopes, common", [
    (["/subscriptions/s/resourceGroups/a/providers/P/t/x", "/subscriptions/s/resourceGroups/a/providers/P/t/y"],
     "/subscriptions/s/resourceGroups/a"),
    (["/subscriptions/s/resourceGroups/a/providers/P/t/x", "/subscriptions/s/resourceGroups/b/providers/P/t/y"],
     "/subscriptions/s"),
    (["/subscriptions/s/resourceGroups/a/x"], "/subscriptions/s/resourceGroups/a/x"),
])
def test_common_scope(scopes, common):
    assert arm._common_scope(scopes) == common  # pylint: disable=protected-access


def test_scope_with_shell_characters_is_quoted():
    failure = instance_failure("vm (1)")
    assert "'/subscriptions/{}/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/vm (1)'".format(SUB) \
        in failure.command


def test_cluster_api_version_is_the_sdks():
    """The cluster GET goes through a shared pipeline without importing azure-mgmt-azurestackhci; its
    api-version stays the one the pinned SDK uses."""
    from azure.mgmt.azurestackhci._configuration import AzureStackHCIClientConfiguration
    configuration = AzureStackHCIClientConfiguration(credential=object(), subscription_id="s")
    assert configuration.api_version == arm.CLUSTER_API_VERSION


def test_instances_api_version_is_the_sdks():
    """The VM instances, attestation statuses and images are read raw with the api-version of the pinned
    azure-mgmt-azurestackhcivm."""
    from azure.mgmt.azurestackhcivm._configuration import AzureStackHCIVmClientConfiguration
    configuration = AzureStackHCIVmClientConfiguration(credential=object(), subscription_id="s")
    assert configuration.api_version == arm.INSTANCES_API_VERSION
