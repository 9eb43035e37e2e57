#!/usr/bin/env python3
# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""An Azure Automation Python runbook: check the subscriptions given as parameters (or every one the
Automation account's managed identity can read), print what needs a fix, and fail the job when a server
is Expired or a VM's benefits are Inactive.

    check_fleet.py [SUBSCRIPTION ...]
"""

import sys

from azure.identity import ManagedIdentityCredential

from azext_stack_hci_verify.api import Verifier, VerificationError

FAIL_ON = ["expired", "inactive"]


def run(verifier, subscriptions=None, out=sys.stdout):
    """Check and print; the exit status of the job."""
    try:
        result = verifier.check(subscriptions=subscriptions or None, all_subscriptions=not subscriptions,
                                fail_on=FAIL_ON)
    except VerificationError as error:
        print("ERROR: {} {}".format(error.message, error.recommendation or ""), file=out)
        return 2
    for finding in result.report["findings"]:
        if finding["matched"]:
            # the fix: a command and where it runs (server, vm, cloudshell), or the page to follow
            fix = finding["command"] or finding["learnMore"] or ""
            print("\t".join(str(finding[key]) for key in ("cluster", "scope", "name", "reason", "runOn")) +
                  "\t" + fix, file=out)
    print("failed" if result.failed else "passed", file=out)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(run(Verifier(ManagedIdentityCredential()), sys.argv[1:]))
