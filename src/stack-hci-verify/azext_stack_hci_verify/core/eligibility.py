# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Which benefit a guest OS is eligible for, the minimum build it needs and the path it uses. Pure.

Source: "Azure verification for VMs on Azure Local" (seed 000), "Benefits available on Azure
Local": the minimum is the update released on April 9, 2024 (KB5036909 for Windows Server 2022
Azure Edition, KB5036893 for Windows 11 22H2/23H2, KB5036894 for Windows 11 21H2, KB5036892 for
Windows 10 21H2/22H2); Windows 10 multi-session and ESU VMs (Windows Server 2012 / 2012 R2 and
older, with the latest servicing stack update, advisory ADV990001) need legacy OS support (v1);
the others use Guest Service Interface (v2). Releases that postdate April 2024 (Windows Server 2025
Azure Edition, Windows 11 24H2 multi-session) include that update. Every other guest OS (Linux,
Windows Server 2019 / 2022 / 2025 other than Azure Edition, single-session Windows) has no benefit
that needs verification.
"""

import re
from dataclasses import dataclass
from typing import Optional

from . import vocabulary as v
from .builds import Build, parse_build

NEEDS_V2 = "v2"
NEEDS_V1 = "v1"

# Why a row has no minimum build to compare (Eligibility.minimum_note).
MINIMUM_SERVICING_STACK = "servicing-stack"       # ESU: the latest servicing stack update, no build number
MINIMUM_INCLUDED = "included-in-release"          # a release that postdates the April 2024 update
MINIMUM_FEATURE_UPDATE = "feature-update-needed"  # Windows 10 older than 21H2: a feature update first
MINIMUM_RELEASE_NOT_LISTED = "release-not-listed"  # a multi-session release the table does not list
MINIMUM_BUILD_UNKNOWN = "build-unknown"           # the release cannot be told without the build


@dataclass(frozen=True)
class EligibilityRow:
    """One row of the benefit table."""
    key: str
    guest_os: str
    benefit: str
    minimum_build: Optional[Build]
    update: Optional[str]
    needs: str
    minimum_note: Optional[str] = None


ELIGIBILITY_TABLE = (
    EligibilityRow("ws2022-azure-edition", "Windows Server 2022 Datacenter: Azure Edition",
                   v.BENEFIT_AZURE_EDITION, Build(20348, 2402), "KB5036909", NEEDS_V2),
    EligibilityRow("ws-azure-edition-later", "Windows Server Datacenter: Azure Edition (2025 or later)",
                   v.BENEFIT_AZURE_EDITION, None, None, NEEDS_V2, MINIMUM_INCLUDED),
    EligibilityRow("w11-multisession-24h2", "Windows 11 Enterprise multi-session 24H2 or later",
                   v.BENEFIT_AVD, None, None, NEEDS_V2, MINIMUM_INCLUDED),
    EligibilityRow("w11-multisession-23h2", "Windows 11 Enterprise multi-session 23H2",
                   v.BENEFIT_AVD, Build(22631, 3447), "KB5036893", NEEDS_V2),
    EligibilityRow("w11-multisession-22h2", "Windows 11 Enterprise multi-session 22H2",
                   v.BENEFIT_AVD, Build(22621, 3447), "KB5036893", NEEDS_V2),
    EligibilityRow("w11-multisession-21h2", "Windows 11 Enterprise multi-session 21H2",
                   v.BENEFIT_AVD, Build(22000, 2899), "KB5036894", NEEDS_V2),
    EligibilityRow("w10-multisession-22h2", "Windows 10 Enterprise multi-session 22H2",
                   v.BENEFIT_AVD, Build(19045, 4291), "KB5036892", NEEDS_V1),
    EligibilityRow("w10-multisession-21h2", "Windows 10 Enterprise multi-session 21H2",
                   v.BENEFIT_AVD, Build(19044, 4291), "KB5036892", NEEDS_V1),
    EligibilityRow("w10-multisession-older", "Windows 10 Enterprise multi-session before 21H2",
                   v.BENEFIT_AVD, None, "the Windows 10 22H2 feature update, then KB5036892", NEEDS_V1,
                   MINIMUM_FEATURE_UPDATE),
    EligibilityRow("ws2012-esu", "Windows Server 2012 / 2012 R2 and older Windows Server",
                   v.BENEFIT_ESU, None, "the latest servicing stack update (ADV990001)", NEEDS_V1,
                   MINIMUM_SERVICING_STACK),
)

ROWS = {row.key: row for row in ELIGIBILITY_TABLE}
_WINDOWS11_FIRST_BUILD = 22000
_WINDOWS11_24H2_BUILD = 26100
_WINDOWS10_21H2_BUILD = 19044
_AZURE_EDITION_2022_BUILD = 20348
_WINDOWS11_ROWS = {row.minimum_build.major: row for row in ELIGIBILITY_TABLE
                   if row.key.startswith("w11-") and row.minimum_build}
_WINDOWS10_ROWS = {row.minimum_build.major: row for row in ELIGIBILITY_TABLE
                   if row.key.startswith("w10-") and row.minimum_build}

# Windows Server releases up to 2012 R2 that still appear as guests, by build: 2012 R2 (9600),
# 2012 (9200), 2008 R2 (7600, 7601), 2008 (6001-6003), 2003 (3790).
_ESU_SERVER_BUILDS = frozenset((9600, 9200, 7601, 7600, 6003, 6002, 6001, 3790))

# Edition identifiers (GetProductInfo / KVP OSEditionId and registry EditionID).
_AZURE_EDITION_SKUS = frozenset(("407", "408", "409", "serverturbine", "serverturbinecor"))
_MULTI_SESSION_SKUS = frozenset(("175", "serverrdsh"))
# A Windows Server release year in a normalized name ("windows server 2022 datacenter azure edition").
_SERVER_YEAR = re.compile(r"\bserver (?:r )?(20\d\d)\b")

# Names that say a guest runs Windows but not which edition: ARM osName/osType.
GENERIC_NAMES = frozenset(("", "windows", "microsoft windows", "windows nt", "win", "windows os"))
_LINUX_MARKERS = ("linux", "ubuntu", "debian", "red hat", "rhel", "centos", "suse", "sles", "rocky", "alma",
                  "mariner", "fedora", "oracle", "freebsd", "photon", "coreos", "flatcar")


@dataclass(frozen=True)
class Eligibility:
    """What a guest OS can get from Azure verification for VMs.

    `benefit` None: no applicable benefit. `determined` False: the guest OS is not known well
    enough to tell (no name, or only "windows"). `minimum_build` None with a benefit: see
    `minimum_note` (one of the MINIMUM_* values).
    """
    benefit: Optional[str]
    minimum_build: Optional[Build]
    needs: Optional[str]
    guest_os: Optional[str] = None
    update: Optional[str] = None
    minimum_note: Optional[str] = None
    determined: bool = True

    @property
    def minimum_text(self):
        if self.minimum_build is not None:
            return f"{self.minimum_build} ({self.update})" if self.update else str(self.minimum_build)
        if self.minimum_note in (MINIMUM_SERVICING_STACK, MINIMUM_FEATURE_UPDATE):
            return self.update
        return None


UNDETERMINED = Eligibility(None, None, None, determined=False)
NOT_ELIGIBLE = Eligibility(None, None, None)


def normalize(text):
    """Lower case, words only, without a leading "microsoft"."""
    text = re.sub(r"[^a-z0-9]+", " ", str(text or "").lower()).strip()
    return text[len("microsoft "):] if text.startswith("microsoft ") else text


def displayed_os_name(os_name, version=None):
    """A guest OS name as Windows Admin Center shows it. Hyper-V data exchange names Windows 11 guests
    "Windows 10 ..." (it reads the registry ProductName), so with a build of 22000 or more the name
    says Windows 11. Every view and every reason that names a guest OS uses this one name."""
    build = parse_build(version)
    if os_name and build is not None and build.major >= _WINDOWS11_FIRST_BUILD:
        return re.sub(r"\bWindows 10\b", "Windows 11", os_name)
    return os_name


def _from_row(row, guest_os=None):
    return Eligibility(row.benefit, row.minimum_build, row.needs, guest_os or row.guest_os, row.update,
                       row.minimum_note)


def eligibility(os_name, version=None, sku=None):
    """The benefit, minimum build and access need of a guest OS (the table ELIGIBILITY_TABLE).

    `os_name`: Hyper-V data exchange `OSName`, ARM `osName` or `osSku` ("Windows Server 2022
    Datacenter: Azure Edition", "Windows 10 Enterprise multi-session", "windows", "linux", ...);
    `version`: any form parse_build reads; `sku`: the edition as the same source reports it
    (ARM `osSku`/`osEdition`, the registry EditionID or the numeric OSEditionId). Windows 11
    multi-session releases are told apart by the build (data exchange reports Windows 11 guests as
    "Windows 10 ..." because it reads the registry ProductName, so a build of 22000 or more wins).
    """
    name = normalize(os_name)
    sku_text = normalize(sku)
    text = (name + " " + sku_text).strip()
    build = parse_build(version)
    if text in GENERIC_NAMES or (name in GENERIC_NAMES and sku_text in GENERIC_NAMES):
        return UNDETERMINED
    if any(marker in text for marker in _LINUX_MARKERS):
        return NOT_ELIGIBLE
    sku_tokens = set(sku_text.split()) | {sku_text.replace(" ", "")}
    if "azure edition" in text or sku_tokens & _AZURE_EDITION_SKUS:
        return _azure_edition(name, sku_text, build)
    if ("multi session" in text or "multisession" in text or "virtual desktops" in text
            or sku_tokens & _MULTI_SESSION_SKUS):
        return _multi_session(name, build)
    if _is_esu_server(name, build) or _is_esu_server(sku_text, build):
        return _from_row(ROWS["ws2012-esu"])
    return NOT_ELIGIBLE


def _azure_edition(name, sku_text, build):
    """Windows Server 2022 Datacenter: Azure Edition has a minimum build; 2025 and later Azure
    Editions postdate it. A release year in the name decides; without one, the build does."""
    year = _SERVER_YEAR.search(name) or _SERVER_YEAR.search(sku_text)
    if year:
        release = int(year.group(1))
        if release == 2022:
            return _from_row(ROWS["ws2022-azure-edition"])
        return _from_row(ROWS["ws-azure-edition-later"]) if release > 2022 else NOT_ELIGIBLE
    if build is not None and build.major > _AZURE_EDITION_2022_BUILD:
        return _from_row(ROWS["ws-azure-edition-later"])
    return _from_row(ROWS["ws2022-azure-edition"])


def _multi_session(name, build):  # pylint: disable=too-many-return-statements
    if build is None:
        if "windows 11" in name:
            return Eligibility(v.BENEFIT_AVD, None, NEEDS_V2, "Windows 11 Enterprise multi-session",
                               minimum_note=MINIMUM_BUILD_UNKNOWN)
        if "windows 10" in name:
            return Eligibility(v.BENEFIT_AVD, None, NEEDS_V1, "Windows 10 Enterprise multi-session",
                               minimum_note=MINIMUM_BUILD_UNKNOWN)
        return Eligibility(v.BENEFIT_AVD, None, None, "Windows Enterprise multi-session",
                           minimum_note=MINIMUM_BUILD_UNKNOWN)
    if build.major >= _WINDOWS11_24H2_BUILD:
        return _from_row(ROWS["w11-multisession-24h2"])
    if build.major >= _WINDOWS11_FIRST_BUILD:
        if build.major in _WINDOWS11_ROWS:
            return _from_row(_WINDOWS11_ROWS[build.major])
        return Eligibility(v.BENEFIT_AVD, None, NEEDS_V2, "Windows 11 Enterprise multi-session",
                           minimum_note=MINIMUM_RELEASE_NOT_LISTED)
    if build.major in _WINDOWS10_ROWS:
        return _from_row(_WINDOWS10_ROWS[build.major])
    if build.major < _WINDOWS10_21H2_BUILD:
        return _from_row(ROWS["w10-multisession-older"])
    return Eligibility(v.BENEFIT_AVD, None, NEEDS_V1, "Windows 10 Enterprise multi-session",
                       minimum_note=MINIMUM_RELEASE_NOT_LISTED)


def _is_esu_server(name, build):
    match = re.search(r"\bwindows (?:small business |web |storage )?server (?:r )?(\d{4})\b", name)
    if match:
        return int(match.group(1)) <= 2012
    return name.startswith("windows") and "server" in name and build is not None and build.major in _ESU_SERVER_BUILDS
