# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Unit-test set-up: make the repository's ``emulator`` package importable.

The attestation and IMDS-client tests build documents with ``emulator.imds`` (the same signer
the emulator serves). ``emulator/`` sits at the repository root, outside the wheel; it is put
on ``sys.path`` here when the tests run from a checkout. Tests that need it skip otherwise.
"""

import os
import sys


def _repository_root():
    here = os.path.dirname(os.path.abspath(__file__))
    while True:
        if os.path.isfile(os.path.join(here, "emulator", "imds.py")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


REPOSITORY_ROOT = _repository_root()
if REPOSITORY_ROOT and REPOSITORY_ROOT not in sys.path:
    sys.path.insert(0, REPOSITORY_ROOT)
