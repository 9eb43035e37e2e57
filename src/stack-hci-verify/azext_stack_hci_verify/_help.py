# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
# pylint: disable=line-too-long

from knack.help_files import helps  # pylint: disable=unused-import

helps['stack-hci vm-verification'] = """
type: group
short-summary: Check Azure verification for VMs on Azure Local, and get the command that fixes what is off.
long-summary: >
    Reads the cluster's reportedProperties (imdsAttestation, supportedCapabilities, nodes) from ARM and,
    when given, host-facts files collected on the servers, and reports in the words of the Azure portal
    and Windows Admin Center: host status On/Off, legacy OS support, and per-server status
    Active/Expired/Inactive/Error. Attestation certificates are renewed at every sync with Azure and
    last 30 days.
"""

helps['stack-hci vm-verification show'] = """
type: command
short-summary: Show a cluster's Azure verification for VMs status, its servers and the findings to act on.
long-summary: >
    hostStatus is On when reportedProperties.imdsAttestation is Enabled, Off when Disabled, Unknown when
    the cluster has not reported it. attestationExpiresOn is the last sync plus 30 days. Every finding
    carries a reasonCode, and where you can act, the action and the exact command to run on a host.
examples:
  - name: Show the status of a cluster.
    text: az stack-hci vm-verification show -n LocalCluster -g local-rg
  - name: Show only the host status and the days left before attestation expires.
    text: az stack-hci vm-verification show -n LocalCluster -g local-rg --query "{host:hostStatus, daysLeft:daysUntilExpiry}"
  - name: List the commands that fix what is off.
    text: az stack-hci vm-verification show --ids /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local-rg/providers/Microsoft.AzureStackHCI/clusters/LocalCluster --query "findings[?command].command" -o tsv
  - name: Judge ARM data together with facts collected on two servers.
    text: az stack-hci vm-verification show -n LocalCluster -g local-rg --host-facts node1.json --host-facts node2.json
"""

helps['stack-hci vm-verification list'] = """
type: command
short-summary: List the Azure verification for VMs status of every cluster in a subscription or resource group.
long-summary: Follows ARM paging to the last page, so large subscriptions come back whole.
examples:
  - name: Every cluster of the current subscription, as a table.
    text: az stack-hci vm-verification list -o table
  - name: Clusters of a resource group whose host status is not On.
    text: az stack-hci vm-verification list -g local-rg --query "[?hostStatus!='On'].{name:name, hostStatus:hostStatus, lastSync:lastSync}"
  - name: Fail a pipeline when any cluster has an error finding.
    text: test "$(az stack-hci vm-verification list --query "length([].findings[?severity=='error'][])")" = 0
"""

helps['stack-hci vm-verification server'] = """
type: group
short-summary: Per-server Azure verification for VMs status.
"""

helps['stack-hci vm-verification server list'] = """
type: command
short-summary: List a cluster's servers with their Azure verification status and the fix for each.
long-summary: >
    From ARM alone: Inactive when imdsAttestation is Disabled, Expired when the cluster has not synced
    for more than 30 days, otherwise Active; Unknown (with the reason) when the cluster is not
    registered. A host-facts file for a server replaces ARM's view with what the host itself reports
    (statusSource 'host').
examples:
  - name: Servers of a cluster.
    text: az stack-hci vm-verification server list -n LocalCluster -g local-rg -o table
  - name: Servers that are not Active, with the command to run on each.
    text: az stack-hci vm-verification server list -n LocalCluster -g local-rg --query "[?status!='Active'].{server:name, status:status, run:command}"
  - name: Use the status a server reported about itself.
    text: az stack-hci vm-verification server list -n LocalCluster -g local-rg --host-facts node1.json
"""

helps['stack-hci vm-verification attest'] = """
type: command
short-summary: Fetch an attested document from an IMDS endpoint (or read a saved one) and verify it cryptographically.
long-summary: >
    Checks, in order: the document parses; exactly one signer, resolved from the SignerInfo (never the first
    certificate of the bag); the PKCS#7 signature over the content; the signer's DNS name is allowed; the
    signer's chain reaches the trust bundle; the nonce is echoed; the document is not expired (5 minutes of
    clock skew allowed); the signer certificate is valid (on Azure Local it is renewed at each sync and lasts
    30 days, so daysLeft is reported). status is Passed, Failed (the data is bad) or Unknown (it could not be
    decided, e.g. the endpoint did not answer or no chain to the trust bundle could be built). The endpoint is
    called without any proxy, with Metadata: true, no credentials and no redirects.
examples:
  - name: On an Azure Local server, verify what the host endpoint returns.
    text: az stack-hci vm-verification attest
  - name: Inside a VM with legacy OS support, verify the v1 endpoint with your own nonce.
    text: az stack-hci vm-verification attest --target vm --nonce 1234567890 -o table
  - name: Verify a saved Azure document at the time it was issued, with its intermediate certificate.
    text: az stack-hci vm-verification attest --document doc.json --intermediates issuing-ca.pem --at 2025-11-19T13:46:40Z
  - name: Show only the checks that did not pass.
    text: az stack-hci vm-verification attest --trust-bundle local-root.pem --allowed-signer metadata.azure.com --query "checks[?status!='Passed'].{check:check, code:reasonCode, expected:expected, found:found}"
"""
