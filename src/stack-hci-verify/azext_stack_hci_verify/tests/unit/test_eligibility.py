# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The benefit table of DESIGN "Rules": every row, as data exchange, ARM osName and ARM osSku write it."""

import pytest
from hypothesis import given, strategies as st

from azext_stack_hci_verify.core.builds import Build
from azext_stack_hci_verify.core.eligibility import ELIGIBILITY_TABLE, MINIMUM_SERVICING_STACK, eligibility

from .core_fixtures import AE, AVD, ESU, W10_MS, W11_MS


@pytest.mark.parametrize("name, version, sku, benefit, minimum, needs", [
    # Windows Server 2022 Datacenter: Azure Edition, as data exchange, ARM osName and ARM osSku say it.
    ("Windows Server 2022 Datacenter: Azure Edition", "10.0.20348", None, AE, Build(20348, 2402), "v2"),
    ("Windows Server 2022 Datacenter Azure Edition", "10.0.20348.2402", None, AE, Build(20348, 2402), "v2"),
    ("Microsoft Windows Server 2022 Datacenter: Azure Edition", None, None, AE, Build(20348, 2402), "v2"),
    ("windows", "10.0.20348.2402", "Windows Server 2022 Datacenter Azure Edition", AE, Build(20348, 2402), "v2"),
    ("Windows Server 2022 Datacenter: Azure Edition Core", None, None, AE, Build(20348, 2402), "v2"),
    ("Windows Server 2022 Datacenter", "10.0.20348", "407", AE, Build(20348, 2402), "v2"),
    ("Windows Server 2022 Datacenter", "10.0.20348", "ServerTurbineCor", AE, Build(20348, 2402), "v2"),
    # Windows 11 Enterprise multi-session, told apart by build.
    ("Windows 11 Enterprise multi-session", "10.0.22631.3447", None, AVD, Build(22631, 3447), "v2"),
    ("Windows 11 Enterprise multi-session", "10.0.22621", None, AVD, Build(22621, 3447), "v2"),
    ("Windows 11 Enterprise multi-session", "10.0.22000.1", None, AVD, Build(22000, 2899), "v2"),
    # Data exchange reads ProductName, which says Windows 10 on Windows 11: the build decides.
    ("Windows 10 Enterprise multi-session", "10.0.22631", None, AVD, Build(22631, 3447), "v2"),
    ("windows", "10.0.22621.3447", "Windows 11 Enterprise multi-session", AVD, Build(22621, 3447), "v2"),
    # Windows 10 Enterprise multi-session 21H2 / 22H2.
    ("Windows 10 Enterprise multi-session", "10.0.19045", None, AVD, Build(19045, 4291), "v1"),
    ("Windows 10 Enterprise multi-session", "10.0.19044.4291", None, AVD, Build(19044, 4291), "v1"),
    ("Windows 10 Enterprise for Virtual Desktops", "10.0.19044", None, AVD, Build(19044, 4291), "v1"),
    ("Windows 10 Enterprise", "10.0.19045", "175", AVD, Build(19045, 4291), "v1"),
    ("Windows 10 Enterprise", "10.0.19045", "ServerRdsh", AVD, Build(19045, 4291), "v1"),
    # Windows Server 2012 / 2012 R2 and older: ESU, latest servicing stack update, v1.
    ("Windows Server 2012 R2 Datacenter", "6.3.9600", None, ESU, None, "v1"),
    ("Windows Server 2012 Standard", "6.2.9200", None, ESU, None, "v1"),
    ("Windows Server 2008 R2 Enterprise", "6.1.7601", None, ESU, None, "v1"),
    ("Windows Server (R) 2008 Standard", "6.0.6002", None, ESU, None, "v1"),
    ("windows", "6.3.9600.21620", "Windows Server 2012 R2 Standard", ESU, None, "v1"),
    ("Windows Server Datacenter", "6.3.9600", None, ESU, None, "v1"),
    # Windows Server 2025 Datacenter: Azure Edition and later Azure Editions: no minimum (issue 7).
    ("Windows Server 2025 Datacenter: Azure Edition", "10.0.26100.1742", None, AE, None, "v2"),
    ("Windows Server 2025 Datacenter: Azure Edition", None, None, AE, None, "v2"),
    ("windows", "10.0.26100.1742", "Windows Server 2025 Datacenter Azure Edition", AE, None, "v2"),
    ("Windows Server 2025 Datacenter", "10.0.26100", "407", AE, None, "v2"),
    ("windows", "10.0.26100", "ServerTurbine", AE, None, "v2"),
    ("Windows Server Datacenter: Azure Edition", "10.0.26100", None, AE, None, "v2"),
    # Windows 11 Enterprise multi-session 24H2 and later: no minimum.
    ("Windows 11 Enterprise multi-session", "10.0.26100.1", None, AVD, None, "v2"),
    ("Windows 10 Enterprise multi-session", "10.0.26100.2033", None, AVD, None, "v2"),
    # Windows 10 Enterprise multi-session older than 21H2: a feature update first, then 19044/19045.4291.
    ("Windows 10 Enterprise multi-session", "10.0.19042", None, AVD, None, "v1"),
    ("Windows 10 Enterprise multi-session", "10.0.19043.2364", None, AVD, None, "v1"),
    ("Windows 10 Enterprise multi-session", "10.0.17763", None, AVD, None, "v1"),
])
def test_eligible(name, version, sku, benefit, minimum, needs):
    result = eligibility(name, version, sku)
    assert (result.benefit, result.minimum_build, result.needs, result.determined) == (benefit, minimum, needs, True)


@pytest.mark.parametrize("version", ["10.0.19042", "10.0.19043", "10.0.17763"])
def test_windows10_before_21h2_needs_a_feature_update_not_kb5036892_alone(version):
    result = eligibility("Windows 10 Enterprise multi-session", version)
    assert "feature update" in (result.minimum_text or "").lower()


@pytest.mark.parametrize("name, version, sku", [
    ("Windows Server 2022 Datacenter", "10.0.20348", None),
    ("Windows Server 2022 Standard", "10.0.20348.2402", None),
    ("Windows Server 2019 Datacenter", "10.0.17763", None),
    ("Windows Server 2016 Datacenter", "10.0.14393", None),
    ("Windows Server 2025 Datacenter", "10.0.26100", None),
    ("Windows Server 2025 Standard", "10.0.26100.1742", None),
    ("Windows 11 Enterprise", "10.0.22631", None),
    ("Windows 10 Enterprise", "10.0.19045", None),
    ("Windows 10 Pro", "10.0.19045", None),
    ("Ubuntu", "5.15.0-1051-azure", None),
    ("linux", "22.04", "Ubuntu 22.04.4 LTS"),
    ("Red Hat Enterprise Linux", "9.4", None),
    ("CBL-Mariner", None, None),
    ("Windows Server Datacenter", "10.0.17763", None),
])
def test_not_eligible(name, version, sku):
    result = eligibility(name, version, sku)
    assert (result.benefit, result.needs, result.determined) == (None, None, True)


@pytest.mark.parametrize("name, sku", [
    (None, None), ("", ""), ("windows", None), ("Windows", ""), ("Microsoft Windows", None), (None, "windows")])
def test_undetermined(name, sku):
    assert eligibility(name, "10.0.20348", sku).determined is False


def test_multi_session_without_a_build_keeps_the_access_need_of_the_named_release():
    windows11, windows10 = eligibility(W11_MS), eligibility(W10_MS)
    assert (windows11.benefit, windows11.needs) == (AVD, "v2")
    assert (windows10.benefit, windows10.needs) == (AVD, "v1")
    assert eligibility("Windows Enterprise multi-session").benefit == AVD


def test_esu_minimum_is_the_servicing_stack():
    result = eligibility("Windows Server 2012 R2 Datacenter", "6.3.9600")
    assert result.minimum_note == MINIMUM_SERVICING_STACK
    assert "servicing stack" in result.minimum_text


def test_table_is_the_design_table():
    rows = {(row.benefit, str(row.minimum_build) if row.minimum_build else None, row.needs)
            for row in ELIGIBILITY_TABLE}
    assert rows == {
        (AE, "20348.2402", "v2"),            # Windows Server 2022 Datacenter: Azure Edition
        (AVD, "22631.3447", "v2"),           # Windows 11 multi-session 23H2
        (AVD, "22621.3447", "v2"),           # 22H2
        (AVD, "22000.2899", "v2"),           # 21H2
        (AVD, "19045.4291", "v1"),           # Windows 10 multi-session 22H2
        (AVD, "19044.4291", "v1"),           # 21H2
        (ESU, None, "v1"),                   # Windows Server 2012 / 2012 R2 and older
        (AE, None, "v2"),                    # Windows Server 2025 Azure Edition and later
        (AVD, None, "v2"),                   # Windows 11 multi-session 24H2 and later
        (AVD, None, "v1"),                   # Windows 10 multi-session before 21H2
    }
    updates = {str(row.minimum_build): row.update for row in ELIGIBILITY_TABLE if row.minimum_build}
    assert updates == {"20348.2402": "KB5036909", "22631.3447": "KB5036893", "22621.3447": "KB5036893",
                       "22000.2899": "KB5036894", "19045.4291": "KB5036892", "19044.4291": "KB5036892"}


@given(st.one_of(st.none(), st.text(max_size=80)), st.one_of(st.none(), st.text(max_size=30)),
       st.one_of(st.none(), st.text(max_size=30)))
def test_eligibility_never_raises(name, version, sku):
    result = eligibility(name, version, sku)
    assert result.benefit in (None, AE, AVD, ESU)
    assert result.needs in (None, "v1", "v2")
