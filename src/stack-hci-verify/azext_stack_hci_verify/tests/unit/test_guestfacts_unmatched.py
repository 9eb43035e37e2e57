# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Guest-facts files that match no VM of the cluster are findings, never silently dropped."""

from types import SimpleNamespace

from azext_stack_hci_verify.core.guestfacts import unmatched_guests


def vm(name, uuid=None):
    return SimpleNamespace(name=name, computer_name=name, vm_uuid=uuid)


def guest(source, computer, uuid=None):
    return SimpleNamespace(source=source, computer_name=computer, smbios_uuid=uuid)


def test_a_guest_file_of_no_vm_here_is_a_finding_and_matched_ones_are_not():
    mine, other = guest("tl01.json", "TL01"), guest("elsewhere.json", "OTHER-VM")
    findings = unmatched_guests([vm("tl01"), vm("tl02")], [mine, other])
    assert [(f["name"], f["reasonCode"], f["severity"]) for f in findings] == [
        ("elsewhere.json", "guest-facts-unmatched", "warning")]
    assert "OTHER-VM" in findings[0]["reason"]


def test_a_uuid_that_differs_is_no_match_even_with_the_same_name():
    findings = unmatched_guests([vm("tl01", uuid="a")], [guest("g.json", "tl01", uuid="b")])
    assert [f["name"] for f in findings] == ["g.json"]
