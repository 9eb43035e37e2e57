# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""trusted-launch list/show against fake ARM clients: which reads are made, and what an ARM refusal
of one attestation status, one image or the machines list does to the result."""

import os
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from azure.cli.core import azclierror
from azure.core.exceptions import ServiceRequestError

from azext_stack_hci_verify import custom

from .arm_fakes import arm_body, denied, http_error
from .fake_connection import FakeConnection

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
SAMPLE = os.path.join(REPO_ROOT, "emulator", "fixtures", "sample-fleet")
CMD = SimpleNamespace(cli_ctx=None)
SUB = "3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31"
NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)


@pytest.fixture
def fake_arm(monkeypatch):
    def install(failures=None):
        conn = FakeConnection(SAMPLE, subscription_id=SUB)
        conn.fail.update(failures or {})
        monkeypatch.setattr(custom, "_connection", lambda cmd, scope: conn)
        monkeypatch.setattr(custom, "_now", lambda: NOW)
        monkeypatch.setattr(custom, "_current_subscription", lambda cmd: SUB)
        monkeypatch.setattr(custom, "_Progress", lambda cli_ctx: None)
        return conn
    return install


def rows_of(cmd_result):
    return {row["name"]: row for row in cmd_result}


def test_reads_attestation_for_isolated_vms_only_and_each_image_once(fake_arm):
    conn = fake_arm()
    rows = rows_of(custom.list_trusted_launch(CMD, cluster_name="hci-tl-01", resource_group_name="rg-hci-trusted"))
    assert len(rows) == 11
    assert "attestation:std-w11-01" not in conn.calls and "attestation:tl-w11-01" in conn.calls
    assert rows["std-w11-01"]["status"] == "Not applicable" and rows["std-w11-01"]["reasonCode"] == "not-trusted-launch"
    images = [call for call in conn.calls if call.startswith("image:")]
    assert sorted(images) == sorted(set(images)) and len(images) == 4
    assert rows["tl-w11-01"]["guestAttestation"]["healthStatus"] == "Healthy"


def test_one_refused_attestation_and_one_unanswered_image_stay_on_their_vms(fake_arm):
    fake_arm({"attestation:tl-w11-01": http_error(403, arm_body("AuthorizationFailed", "no")),
              "image:w11-golden-2026-10": ServiceRequestError("connection reset")})
    rows = rows_of(custom.list_trusted_launch(CMD, cluster_name="hci-tl-01", resource_group_name="rg-hci-trusted"))
    attestation = next(f for f in rows["tl-w11-01"]["findings"] if f["check"] == "guest-attestation")
    assert attestation["reasonCode"] == "attestation-not-readable" and "403" in attestation["reason"]
    assert rows["tl-w11-02"]["guestAttestation"]["healthStatus"] == "Healthy"
    image = next(f for f in rows["tl-custom-image"]["findings"] if f["check"] == "guest-image")
    assert image["status"] == "Warning"          # a custom image is not from Azure Marketplace, read or not


def test_a_refused_machines_list_is_a_one_line_error(fake_arm):
    fake_arm({"graph-vms": http_error(403, denied("Microsoft.ResourceGraph/resources/read", "/subscriptions/" + SUB)),
              "machines:" + SUB: http_error(403, denied("Microsoft.HybridCompute/machines/read",
                                                        "/subscriptions/" + SUB))})
    with pytest.raises(azclierror.ForbiddenError):
        custom.list_trusted_launch(CMD, cluster_name="hci-tl-01", resource_group_name="rg-hci-trusted")


def test_show_finds_the_vm_in_any_case_and_says_how_to_list_them(fake_arm):
    fake_arm()
    view = custom.show_trusted_launch(CMD, "TL-TPM-OFF", cluster_name="hci-tl-01", resource_group_name="rg-hci-trusted")
    assert view["status"] == "Failed" and view["clusterChecks"]["name"] == "hci-tl-01"
    with pytest.raises(azclierror.ResourceNotFoundError) as raised:
        custom.show_trusted_launch(CMD, "nope", cluster_name="hci-tl-01", resource_group_name="rg-hci-trusted")
    assert "trusted-launch list -n hci-tl-01 -g rg-hci-trusted" in " ".join(raised.value.recommendations)
