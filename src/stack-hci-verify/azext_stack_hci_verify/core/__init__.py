# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The pure core: facts -> rules -> views.

Nothing in this package performs I/O, reads the clock or imports azure, knack, requests or
subprocess. Reference times are parameters.
"""
