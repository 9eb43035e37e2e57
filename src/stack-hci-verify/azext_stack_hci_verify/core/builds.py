# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Windows build numbers as ARM, Hyper-V data exchange and the host cmdlets write them.

A Windows version is `major.minor.build.revision` (`10.0.20348.2402`); what matters for Azure
verification for VMs is the build (`20348`, called `major` here, as the docs say "OS build") and
its revision (`2402`, the update level, UBR). Sources differ:

- ARM (`Microsoft.HybridCompute/machines` `osVersion`): `10.0.20348.2402`;
- a KB article title: `20348.2402`;
- Hyper-V data exchange (KVP `OSVersion`): `10.0.20348`, without the revision.

Pure: no I/O. `parse_build` never raises.
"""

import re
from dataclasses import dataclass
from typing import Optional

# One to nine digits a part: longer runs are not Windows version numbers.
_VERSION = re.compile(r"^\s*[vV]?(\d{1,9}(?:\.\d{1,9}){0,3})\s*$", re.ASCII)

# In the one- and two-part forms (`20348`, `20348.2402`) the first number is the build. Windows
# builds have four or five digits (Windows Server 2003 is 3790); a first number below this is a
# product version such as `10.0` or `6.3`, which names no build.
_MIN_BUILD_MAJOR = 1000

BELOW = "below"
MEETS = "meets"
REVISION_UNKNOWN = "revision-unknown"
UNKNOWN = "unknown"


@dataclass(frozen=True, order=True)
class Build:
    """An OS build: `major` (e.g. 20348) and `revision` (e.g. 2402, None when it was not reported)."""
    major: int
    revision: Optional[int] = None

    def __str__(self):
        if self.revision is None:
            return str(self.major)
        return f"{self.major}.{self.revision}"


def parse_build(text):  # pylint: disable=too-many-return-statements
    """A Build from an OS version string, or None when there is none to read.

    `10.0.20348.2402` -> Build(20348, 2402); `10.0.20348` -> Build(20348, None);
    `20348.2402` -> Build(20348, 2402); `20348` -> Build(20348, None); a Build is returned as is;
    `None`, `""`, `10.0`, `5.15.0-1051-azure`, `1.2.3.4` (no build of four or more digits) and
    anything else -> None.
    """
    if isinstance(text, Build):
        return text
    if isinstance(text, bool) or text is None:
        return None
    if isinstance(text, int):
        return Build(text) if text >= _MIN_BUILD_MAJOR else None
    if not isinstance(text, str):
        return None
    match = _VERSION.match(text)
    if not match:
        return None
    parts = [int(part) for part in match.group(1).split(".")]
    if len(parts) >= 3:
        # `major.minor.build[.revision]`: a build below 1000 (`1.2.3.4`, `0.0.0.0`) is no Windows build.
        if parts[2] < _MIN_BUILD_MAJOR:
            return None
        return Build(parts[2], parts[3] if len(parts) == 4 else None)
    if parts[0] < _MIN_BUILD_MAJOR:
        return None
    if len(parts) == 2:
        return Build(parts[0], parts[1])
    return Build(parts[0], None)


def compare_to_minimum(build, minimum):
    """How `build` stands against `minimum` (both Build or None).

    BELOW: a lower build, or the same build with a lower revision.
    MEETS: a higher build, or the same build with the same or a higher revision, or no minimum
        revision to compare.
    REVISION_UNKNOWN: the same build, but the revision of `build` was not reported.
    UNKNOWN: `build` or `minimum` is None.
    """
    if build is None or minimum is None:
        return UNKNOWN
    if build.major != minimum.major:
        return BELOW if build.major < minimum.major else MEETS
    if minimum.revision is None:
        return MEETS
    if build.revision is None:
        return REVISION_UNKNOWN
    return BELOW if build.revision < minimum.revision else MEETS
