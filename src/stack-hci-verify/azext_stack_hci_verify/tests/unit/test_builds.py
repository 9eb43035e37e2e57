# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Reading OS build numbers and comparing them with a minimum."""

import pytest
from hypothesis import given, strategies as st

from azext_stack_hci_verify.core.builds import (
    BELOW, MEETS, REVISION_UNKNOWN, UNKNOWN, Build, compare_to_minimum, parse_build)


@pytest.mark.parametrize("text, expected", [
    ("10.0.20348.2402", Build(20348, 2402)),      # ARM osVersion
    ("20348.2402", Build(20348, 2402)),           # a KB title
    ("10.0.20348", Build(20348, None)),           # Hyper-V data exchange OSVersion: no revision
    ("20348", Build(20348, None)),
    ("  10.0.22631.3447 \n", Build(22631, 3447)),
    ("6.3.9600", Build(9600, None)),              # Windows Server 2012 R2
    ("6.1.7601.24546", Build(7601, 24546)),
    ("10.0.019045.04291", Build(19045, 4291)),
    ("v10.0.20348.2402", Build(20348, 2402)),
    (20348, Build(20348, None)),
    (Build(1, 2), Build(1, 2)),
])
def test_parse_build(text, expected):
    assert parse_build(text) == expected


@pytest.mark.parametrize("text", [
    None, "", "   ", "10.0", "6.3", "10", "junk", "10.0.20348.2402.1", "10..20348", "10.0.20348.",
    "5.15.0-1051-azure", "22.04.4 LTS", "-20348", "20348.2402a", "1" * 12, True, 3.5, [], {}, b"20348",
    "١٢٣٤٥",   # Arabic-Indic digits are digits to str.isdigit, not to a Windows version
])
def test_parse_build_rejects(text):
    assert parse_build(text) is None


@pytest.mark.parametrize("text", ["1.2.3.4", "0.0.0.0", "0.0.0", "10.0.999.1"])
def test_parse_build_rejects_a_full_version_without_a_windows_build(text):
    # A placeholder or garbage version is an unknown build, not a build below every minimum.
    assert parse_build(text) is None


def test_str():
    assert str(Build(20348, 2402)) == "20348.2402"
    assert str(Build(20348)) == "20348"


@given(st.one_of(st.none(), st.text(), st.integers(), st.floats(), st.binary(), st.booleans()))
def test_parse_build_never_raises(value):
    result = parse_build(value)
    assert result is None or isinstance(result, Build)


_PART = st.integers(min_value=0, max_value=999_999_999)
_VERSIONS = st.lists(_PART, min_size=1, max_size=5).map(lambda parts: ".".join(str(part) for part in parts))


@given(_VERSIONS, st.sampled_from(["", " ", "\t", "\n"]), st.sampled_from(["", " ", "\r\n"]))
def test_version_shaped_strings(version, before, after):
    result = parse_build(before + version + after)
    parts = [int(part) for part in version.split(".")]
    if len(parts) == 5:
        assert result is None
    elif len(parts) >= 3 and parts[2] < 1000:
        assert result is None
    elif len(parts) == 4:
        assert result == Build(parts[2], parts[3])
    elif len(parts) == 3:
        assert result == Build(parts[2], None)
    elif parts[0] < 1000:
        assert result is None
    else:
        assert result == Build(parts[0], parts[1] if len(parts) == 2 else None)


_BUILDS = st.builds(Build, st.integers(min_value=1000, max_value=999_999_999),
                    st.one_of(st.none(), st.integers(min_value=0, max_value=999_999_999)))


@given(_BUILDS)
def test_round_trip(build):
    assert parse_build(str(build)) == build
    assert parse_build("10.0." + str(build)) == build
    assert parse_build(parse_build(str(build))) == build


@pytest.mark.parametrize("build, minimum, expected", [
    (Build(20348, 2401), Build(20348, 2402), BELOW),
    (Build(20348, 2402), Build(20348, 2402), MEETS),
    (Build(20348, 2403), Build(20348, 2402), MEETS),
    (Build(20348, None), Build(20348, 2402), REVISION_UNKNOWN),
    (Build(20347, None), Build(20348, 2402), BELOW),
    (Build(20349, None), Build(20348, 2402), MEETS),
    (Build(17763, 9999), Build(20348, 2402), BELOW),
    (Build(26100, 1), Build(20348, 2402), MEETS),
    (Build(20348, None), Build(20348, None), MEETS),
    (None, Build(20348, 2402), UNKNOWN),
    (Build(20348, 2402), None, UNKNOWN),
])
def test_compare_to_minimum(build, minimum, expected):
    assert compare_to_minimum(build, minimum) == expected


@given(_BUILDS, _BUILDS)
def test_compare_agrees_with_order(build, minimum):
    standing = compare_to_minimum(build, minimum)
    if build.major != minimum.major or (build.revision is not None and minimum.revision is not None):
        assert standing == (BELOW if (build.major, build.revision or 0) < (minimum.major, minimum.revision or 0)
                            else MEETS)
    elif minimum.revision is None:
        assert standing == MEETS
    else:
        assert standing == REVISION_UNKNOWN
