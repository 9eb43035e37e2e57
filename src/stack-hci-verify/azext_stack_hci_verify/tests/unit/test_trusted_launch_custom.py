# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""trusted-launch list/show against fake ARM clients: which reads are made, and what an ARM refusal
of one attestation status, one image or the machines list does to the result."""

import json
import os
from types import SimpleNamespace

import pytest
from azure.cli.core import azclierror
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from azext_stack_hci_verify import custom
from azext_stack_hci_verify.adapters import arm, arm_trusted_launch, resourcegraph
from azext_stack_hci_verify.core.inventory import ArmVm

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
GROUP_DIR = os.path.join(REPO_ROOT, "emulator", "fixtures", "sample-fleet", "rg-hci-trusted")
CMD = SimpleNamespace(cli_ctx=None)
SUB = "3f2b8c1e-6d4a-4e7b-9c15-2a8d0e6f7b31"
REF = (SUB, "rg-hci-trusted", "hci-tl-01")


def fixture(*parts):
    path = os.path.join(GROUP_DIR, *parts)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def error(status):
    ex = HttpResponseError(message="ARM says no")
    ex.status_code = status
    return ex


class FakeVmClient:
    """The azurestackhcivm client's three operation groups, answering from the fixture files."""

    def __init__(self, failures):
        self.calls, self.failures = [], failures
        self.attestation_statuses = SimpleNamespace(get=self._attestation)
        self.marketplace_gallery_images = SimpleNamespace(get=self._image)
        self.gallery_images = SimpleNamespace(get=self._image)

    def _answer(self, key, document):
        self.calls.append(key)
        if key in self.failures:
            raise self.failures[key]
        if document is None:
            raise error(404)
        return document

    def _attestation(self, resource_uri, cls=None):
        del cls
        name = resource_uri.rsplit("/", 1)[-1]
        return self._answer(name + "/attestation", fixture("machines", name + ".attestation.json"))

    def _image(self, group, name, cls=None):
        del cls, group
        return self._answer(name, fixture("images", name + ".json"))


@pytest.fixture
def fake_arm(monkeypatch):
    def install(failures=None, machines_failure=None):
        client = FakeVmClient(failures or {})
        monkeypatch.setattr(custom, "_cluster_refs", lambda *args: [REF])
        monkeypatch.setattr(arm_trusted_launch, "cf_azurestackhcivm",
                            lambda cli_ctx, subscription=None, credential=None: client)
        monkeypatch.setattr(arm, "get_cluster", lambda *args, **kwargs: fixture("clusters", "hci-tl-01.json"))
        monkeypatch.setattr(custom, "_command_credential", lambda cmd, refs: None)
        names = sorted(name[:-5] for name in os.listdir(os.path.join(GROUP_DIR, "machines"))
                       if name.endswith(".json") and name.count(".") == 1)
        vms = [ArmVm(fixture("machines", name + ".json"), fixture("machines", name + ".instance.json"), None)
               for name in names]
        monkeypatch.setattr(resourcegraph, "read_cluster_vms", lambda cli_ctx, facts, credential=None: SimpleNamespace(
            vms=SimpleNamespace(vms=vms, machines_failure=machines_failure, instances_failure=None)))
        return client
    return install


def rows_of(cmd_result):
    return {row["name"]: row for row in cmd_result}


def test_reads_attestation_for_isolated_vms_only_and_each_image_once(fake_arm):
    client = fake_arm()
    rows = rows_of(custom.list_trusted_launch(CMD, "hci-tl-01", "rg-hci-trusted"))
    assert len(rows) == 11
    assert "std-w11-01/attestation" not in client.calls
    images = [call for call in client.calls if "/" not in call]
    assert sorted(images) == sorted(set(images)) and len(images) == 4
    assert rows["tl-w11-01"]["guestAttestation"]["healthStatus"] == "Healthy"


def test_one_refused_attestation_and_one_unanswered_image_stay_on_their_vms(fake_arm):
    fake_arm({"tl-w11-01/attestation": error(403), "w11-golden-2026-10": ServiceRequestError("connection reset")})
    rows = rows_of(custom.list_trusted_launch(CMD, "hci-tl-01", "rg-hci-trusted"))
    attestation = next(f for f in rows["tl-w11-01"]["findings"] if f["check"] == "guest-attestation")
    assert attestation["reasonCode"] == "attestation-not-readable" and "403" in attestation["reason"]
    assert rows["tl-w11-02"]["guestAttestation"]["healthStatus"] == "Healthy"
    image = next(f for f in rows["tl-custom-image"]["findings"] if f["check"] == "guest-image")
    assert image["status"] == "Warning"          # a custom image is not from Azure Marketplace, read or not


def test_a_refused_machines_list_is_a_one_line_error(fake_arm):
    failure = SimpleNamespace(error=azclierror.ForbiddenError("Access denied to the Arc machines."))
    fake_arm(machines_failure=failure)
    with pytest.raises(azclierror.ForbiddenError):
        custom.list_trusted_launch(CMD, "hci-tl-01", "rg-hci-trusted")


def test_show_finds_the_vm_in_any_case_and_says_how_to_list_them(fake_arm):
    fake_arm()
    view = custom.show_trusted_launch(CMD, "TL-TPM-OFF", "hci-tl-01", "rg-hci-trusted")
    assert view["status"] == "Failed" and view["clusterChecks"]["name"] == "hci-tl-01"
    with pytest.raises(azclierror.ResourceNotFoundError) as raised:
        custom.show_trusted_launch(CMD, "nope", "hci-tl-01", "rg-hci-trusted")
    assert "trusted-launch list -n hci-tl-01 -g rg-hci-trusted" in " ".join(raised.value.recommendations)
