# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""An Azure Functions timer function: each morning, check every subscription the function app's managed
identity can read, and log each finding that needs a fix (Application Insights keeps them)."""

import logging

import azure.functions as func
from azure.identity import ManagedIdentityCredential

from azext_stack_hci_verify.api import Verifier, VerificationError

app = func.FunctionApp()


def summarize(verifier, fail_on=("expired", "inactive", "off")):
    """(exit code, lines to log) of one check of every subscription."""
    result = verifier.check(all_subscriptions=True, fail_on=list(fail_on))
    lines = [f"{finding['scope']} {finding['name']} ({finding['cluster']}): {finding['reason']} Fix: "
             + (f"{finding['command']} (run on: {finding['runOn']})" if finding["command"]
                else f"{finding['action']}, see {finding['learnMore']}")
             for finding in result.report["findings"] if finding["matched"]]
    totals = result.report["totals"]
    lines.insert(0, "{} clusters, {} servers, {} VMs; {} findings need a fix".format(
        totals["clusters"]["total"], totals["servers"]["total"], totals["vms"]["total"], len(lines)))
    return result.exit_code, lines


@app.timer_trigger(schedule="0 0 6 * * *", arg_name="timer", run_on_startup=False)
def azure_verification_check(timer: func.TimerRequest) -> None:
    del timer
    try:
        code, lines = summarize(Verifier(ManagedIdentityCredential()))
    except VerificationError as error:
        logging.error("%s %s", error.message, error.recommendation or "")
        raise
    for line in lines:
        (logging.warning if code else logging.info)("%s", line)
