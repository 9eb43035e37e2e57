# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""stack-hci-verify: `az stack-hci vm-verification`, and the same answers from Python
(azext_stack_hci_verify.api). az finds its command loader as COMMAND_LOADER_CLS; it is imported only
when asked for, so that the Python API runs without az and imports nothing of it."""


def __getattr__(name):
    if name == "COMMAND_LOADER_CLS":
        from azext_stack_hci_verify._loader import StackHciVerifyCommandsLoader
        return StackHciVerifyCommandsLoader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
