# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
# pylint: disable=line-too-long

from knack.help_files import helps  # pylint: disable=unused-import

# `stack-hci` is also the group of the stack-hci extension; az shows whichever help it loads last, so this
# one says what the group holds without naming either extension's commands.
helps['stack-hci'] = """
type: group
short-summary: Manage Azure Stack HCI and Azure Local systems.
"""

helps['stack-hci vm-verification'] = """
type: group
short-summary: Check Azure verification for VMs on Azure Local and get the fix for what is off.
long-summary: >
    Reads the cluster's reportedProperties (imdsAttestation, supportedCapabilities, nodes) from ARM and,
    when given, host-facts files collected on the servers, and reports in the words of the Azure portal
    and Windows Admin Center: host status On/Off, legacy OS support, and per-server status
    Active/Expired/Inactive/Error. Attestation certificates are renewed at every sync with Azure and
    last 30 days. Wherever something is off there is an action (what to do, in Windows Admin Center's words)
    and the fix: command (only something to run), runOn (where to run it: server, in PowerShell as an
    administrator on an Azure Local machine; vm, inside the VM; cloudshell, in Cloud Shell or any shell
    signed in to Azure with az or Azure PowerShell) and learnMore (the page to follow where no command does
    it). Tables (-o table) fit 120 columns: they name the action and cut long text with "..."; the command
    and the page are in the JSON.
"""

helps['stack-hci vm-verification show'] = """
type: command
short-summary: Show a cluster's Azure verification for VMs status, servers and findings.
long-summary: >
    hostStatus is On when reportedProperties.imdsAttestation is Enabled, Off when Disabled, Unknown when
    the cluster has not reported it, is not registered or reports a value this version does not know.
    attestationExpiresOn is the last sync plus 30 days. --host-facts files count only for this cluster's
    own servers, and a file collected more than 30 days ago can show what is off but never what is on.
    findings lists the cluster, every server and every VM that is not green (scope and name say which),
    and each Trusted launch VM whose secure boot or vTPM is off; each has a reasonCode, an action and the
    exact command. With several --ids, a cluster that cannot be read is a row of its own.
    vmSummary comes from one Azure Resource Graph query for the cluster's VMs, whatever their number
    (vmsReadFrom resourceGraph); where Resource Graph cannot serve them they are read from ARM, vmsReadFrom says
    arm or resourceGraph+arm, and a resource-graph-fallback finding says why. vmSummary.benefits counts, for each
    row of the benefits table of "Azure verification for VMs on Azure Local" (offer), its VMs by status.
examples:
  - name: Show the status of a cluster.
    text: az stack-hci vm-verification show -n LocalCluster -g local-rg
  - name: Show only the host status and the days left before attestation expires.
    text: az stack-hci vm-verification show -n LocalCluster -g local-rg --query "{host:hostStatus, daysLeft:daysUntilExpiry}"
  - name: The commands that fix what is off, one per line with where to run each.
    text: az stack-hci vm-verification show --ids /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local-rg/providers/Microsoft.AzureStackHCI/clusters/LocalCluster --query "findings[?command].[runOn, command]" -o tsv
  - name: Judge ARM data together with facts collected on two servers.
    text: az stack-hci vm-verification show -n LocalCluster -g local-rg --host-facts node1.json --host-facts node2.json
  - name: How many VMs get each benefit of the benefits table.
    text: az stack-hci vm-verification show -n LocalCluster -g local-rg --query "vmSummary.benefits[].{benefit:benefit, offer:offer, active:active, inactive:inactive, unknown:unknown}" -o table
  - name: Collect host facts from every server through Run Command first, then show the cluster.
    text: az stack-hci vm-verification show -n LocalCluster -g local-rg --collect
"""

helps['stack-hci vm-verification list'] = """
type: command
short-summary: List the Azure verification for VMs status of clusters in a group, subscription or fleet.
long-summary: >
    Every scope (the current subscription, -g, --subscriptions, --all-subscriptions or --management-groups) reads
    the same way: one Azure Resource Graph query for the clusters and one for their Azure Local VMs, 1,000 rows a
    request, each VM judged against its own cluster, so every row is exactly what `show` returns for that cluster
    (vmSummary, VM findings and all). Where Resource Graph cannot serve one subscription or group, ARM is asked
    instead and the row says so (vmsReadFrom). vms is "not read" only when the VM list could not be read. Needs
    Microsoft.ResourceGraph/resources/read and read access to the clusters, Arc machines and virtualMachineInstances.
    A subscription or management group that cannot be read is a row of its own (reasonCode scope-not-readable,
    with the role assignment that fixes it); a truncated Resource Graph answer is an error, never a partial list.
    Progress goes to stderr when it is a terminal (never with --only-show-errors).
examples:
  - name: Every cluster of the current subscription, as a table.
    text: az stack-hci vm-verification list -o table
  - name: Clusters of a resource group whose host status is not On.
    text: az stack-hci vm-verification list -g local-rg --query "[?hostStatus!='On'].{name:name, hostStatus:hostStatus, lastSync:lastSync}"
  - name: Every cluster of every subscription you can read, with its VM counts.
    text: az stack-hci vm-verification list --all-subscriptions --query "[].{name:name, subscription:subscriptionId, host:hostStatus, inactiveVms:vmSummary.inactiveBenefits}" -o table
  - name: The clusters of two subscriptions (by ID or name).
    text: az stack-hci vm-verification list --subscriptions 00000000-0000-0000-0000-000000000001 Production -o table
  - name: The clusters of every subscription under a management group.
    text: az stack-hci vm-verification list --management-groups contoso-edge -o table
  - name: The number of error findings across the subscription.
    text: az stack-hci vm-verification list --query "length([].findings[?severity=='error'][])"
"""

helps['stack-hci vm-verification server'] = """
type: group
short-summary: Per-server Azure verification for VMs status.
"""

helps['stack-hci vm-verification server list'] = """
type: command
short-summary: List servers with their Azure verification status and the fix for each.
long-summary: >
    From ARM alone: Inactive when imdsAttestation is Disabled, Expired when the cluster has not synced
    for more than 30 days, otherwise Active; Unknown (with the reason) when the cluster is not
    registered. A host-facts file for a server replaces ARM's view with what the host itself reports
    (statusSource 'host').
examples:
  - name: Servers of a cluster.
    text: az stack-hci vm-verification server list -n LocalCluster -g local-rg -o table
  - name: Servers that are not Active, with the command to run on each.
    text: az stack-hci vm-verification server list -n LocalCluster -g local-rg --query "[?status!='Active'].{server:name, status:status, run:command, runOn:runOn}"
  - name: Use the status a server reported about itself.
    text: az stack-hci vm-verification server list -n LocalCluster -g local-rg --host-facts node1.json
"""

helps['stack-hci vm-verification attest'] = """
type: command
short-summary: Fetch (or read) an IMDS attested document and verify it cryptographically.
long-summary: >
    Checks, in order: the document parses; exactly one signer, resolved from the SignerInfo (never the first
    certificate of the bag); the PKCS#7 signature over the content; the signer's DNS name is allowed; the
    signer's chain reaches the trust bundle; the nonce is echoed; the document is not expired (5 minutes of
    clock skew allowed); the signer certificate is valid (on Azure Local it is renewed at each sync and lasts
    30 days, so daysLeft is reported); with --check-revocation, the signer certificate is not revoked (OCSP).
    status is Passed, Failed (the data is bad) or Unknown (it could not be decided, e.g. the endpoint did not
    answer, no chain to the trust bundle could be built, or a certificate could not be fetched).
    Azure puts only the signer certificate in the document: when the chain stops at a missing issuer, the
    issuer is fetched from the address the certificate names (AIA caIssuers), only from Microsoft and DigiCert
    PKI hosts (setting STACK_HCI_VERIFY_PKI_HOSTS), over http or https, with no redirect to another host, a
    5-second budget and a 64 KiB cap. A fetched certificate is only a candidate: it must chain to the trust
    bundle like any other. Fetched issuers are cached in the az configuration directory while they are valid;
    pki.fetches lists every fetch and chainTrusted.found says where each certificate came from.
    STACK_HCI_VERIFY_PKI_MIRROR maps every PKI address onto a mirror (the path is kept).
    Exit status: 0 only when status is Passed, 1 when it is Failed or Unknown; the full result is printed
    either way. The IMDS endpoint is called without any proxy, with Metadata: true, no credentials and no
    redirects.
examples:
  - name: On an Azure Local server, verify what the host endpoint returns.
    text: az stack-hci vm-verification attest
  - name: Inside a VM with legacy OS support, verify the v1 endpoint with your own nonce.
    text: az stack-hci vm-verification attest --target vm --nonce 1234567890 -o table
  - name: Verify a saved Azure document at the time it was issued; its issuer is fetched from the address it names.
    text: az stack-hci vm-verification attest --document doc.json --at 2025-11-19T13:46:40Z
  - name: Also ask the signer's OCSP responder whether its certificate is revoked.
    text: az stack-hci vm-verification attest --check-revocation
  - name: Offline, with the intermediate at hand and no fetching.
    text: az stack-hci vm-verification attest --document doc.json --intermediates issuing-ca.pem --no-fetch
  - name: In a CI script, fail the job unless the document verifies (exit status 1; the result is still printed).
    text: az stack-hci vm-verification attest -o json
  - name: Show only the checks that did not pass.
    text: az stack-hci vm-verification attest --trust-bundle local-root.pem --allowed-signer metadata.azure.com --query "checks[?status!='Passed'].{check:check, code:reasonCode, expected:expected, found:found}"
"""

helps['stack-hci vm-verification check'] = """
type: command
short-summary: Check clusters, servers, VMs and Trusted launch in one report; a CI gate with --fail-on.
long-summary: >
    Judges every cluster of the scope (one cluster with -n and -g, a resource group with -g alone, clusters by
    --ids, whole subscriptions with --subscriptions, --all-subscriptions or --management-groups, or with no scope
    the current subscription, as `list`), its servers, its VMs and each VM's Trusted launch posture, read and
    judged exactly as the other commands do, and returns one report:
    totals by status (clusters by hostStatus, servers by status, VMs by benefitStatus, Trusted launch by status,
    findings by severity) and every finding with its scope, resourceId, name, cluster, the status of its resource,
    severity, reasonCode, reason, action and command. A cluster that cannot be read is an error finding
    (cluster-not-readable) while the others still come back; a Standard VM's Trusted launch finding is info.
    Each row of the benefits table beyond a VM's Windows Admin Center benefit (Extended Security Updates for SQL
    Server, Azure Update Manager, Azure Machine Configuration) that is not Active is a finding of scope benefit
    (Inactive a warning, Unknown info; Machine Configuration through IMDS always info), with its benefit, offer
    and status; host-side fixes that several VMs of one server need carry bulkCommand, the one command that
    fixes them all (Add-AzStackHCIVMAttestation -AddAll, Enable-AzStackHCIAttestation -AddVM). The host
    prerequisites (Hyper-V and RSAT-Hyper-V-Tools installed, Cluster Manager extension 2.319.0 or later, the
    AZSHCI_HOST-IMDS_DO_NOT_MODIFY switch where legacy OS support is on) are server findings where host facts
    tell them.
    --fail-on levels by status: off (a cluster whose hostStatus is Off), expired (a server Expired), inactive (a
    server Inactive or a VM with Inactive benefits), unknown (a cluster, server, VM or Trusted launch status
    Unknown), benefit-inactive and benefit-unknown (a benefit row Inactive or Unknown); by severity: error (an error finding; every server in status Error, Expired or Inactive has one),
    warning (a warning or error finding), any (any finding, info included). Give several to fail on any of them.
    Exit status: 0 when the report is printed and, with --fail-on, no finding matches (without --fail-on, always
    0 once the report is printed); 1 when a finding matches --fail-on, with the full report still printed on
    stdout (-o, --query and -o none alike) and failed, exitCode and matchedFindings in it; 1 with nothing on
    stdout and the error on stderr when the command itself failed (bad arguments, sign-in, no cluster readable);
    2 for arguments az cannot parse; 3 when no cluster named could be read and the first does not exist.
    --junit writes JUnit XML (one test case per cluster, server, VM and Trusted launch VM) for Azure Pipelines'
    PublishTestResults or a GitHub Actions test reporter; --summary appends Markdown for a job summary
    ($GITHUB_STEP_SUMMARY). Both are written before the report is printed.
examples:
  - name: Report on one cluster; exit 0 whatever it finds.
    text: az stack-hci vm-verification check -n LocalCluster -g local-rg
  - name: Gate a pipeline on expired or inactive servers and VMs, with test results and a job summary.
    text: az stack-hci vm-verification check -g local-rg --fail-on expired inactive --junit verification.xml --summary "$GITHUB_STEP_SUMMARY" -o json
  - name: Fail on any error finding across every subscription you can read.
    text: az stack-hci vm-verification check --all-subscriptions --fail-on error -o table
  - name: Only the commands that fix what makes the gate fail, with where each runs (server, vm or cloudshell).
    text: az stack-hci vm-verification check -g local-rg --fail-on warning --query "findings[?matched && command].[runOn, command]" -o tsv
  - name: Counts only.
    text: az stack-hci vm-verification check --subscriptions Production Staging --query totals
  - name: Judge ARM data together with facts collected on the servers.
    text: az stack-hci vm-verification check -n LocalCluster -g local-rg --host-facts node1.json node2.json --fail-on unknown
  - name: Gate on benefits that are not active (SQL Server ESU, Update Manager, Machine Configuration), listing each.
    text: az stack-hci vm-verification check -g local-rg --fail-on benefit-inactive --query "findings[?scope=='benefit'].{vm:name, benefit:benefit, action:action, command:command}" -o table
  - name: Check every cluster of a group with host facts collected through Run Command first.
    text: az stack-hci vm-verification check -g local-rg --collect --fail-on inactive
"""

helps['stack-hci vm-verification vm'] = """
type: group
short-summary: Per-VM Azure verification benefits, as Windows Admin Center's VMs tab shows them.
"""

helps['stack-hci vm-verification vm list'] = """
type: command
short-summary: List VMs with their eligible benefit, benefit status, benefits of the benefits table and action.
long-summary: >
    VMs are the cluster's Azure Local VMs in ARM (Arc machines of kind HCI whose parentClusterResourceId is the
    cluster, with their virtualMachineInstances), Arc-enabled servers whose parentClusterResourceId is the
    cluster (not Azure Local VMs) and the VMs that host-facts files report; they are paired by
    Hyper-V VM id, else by name, and where both report a fact and disagree the host wins. A VM is judged in this
    order, first match wins: guest OS unknown (Unknown, Turn on Hyper-V data exchange); no eligible benefit (No
    applicable benefits); host attestation not On or its server not Active (Inactive benefits, Sync with Azure);
    build below the minimum (Install updates); needs v2 and Guest Service Interface off; needs v1 and legacy OS
    support off; needs v1 and no AZSHCI_GUEST-IMDS_DO_NOT_MODIFY adapter; otherwise Active benefits. A fact that
    no source reported (for example Guest Service Interface without a host probe) is never taken as off: the VM
    is Unknown and the reason says to run `probe` on its server and pass --host-facts. A cluster's VMs are read
    with one Azure Resource Graph query whatever their number (readFrom resourceGraph); where Resource Graph
    cannot serve (no access, or a type it does not index) they are read from ARM (readFrom arm) with one token
    and at most 8 reads at once. With --subscriptions, --all-subscriptions or --management-groups (and no -n),
    every Azure Local VM of the fleet comes back, each with its cluster, at one request per 1,000 rows.
    eligibleBenefit and benefitStatus are Windows Admin Center's one benefit per VM. benefits lists every row of
    the benefits table of "Azure verification for VMs on Azure Local" that can apply to the VM (benefit, offer,
    eligible, status Active / Inactive / Unknown / Not applicable, through, accessMethod, reasonCode, reason,
    action, command, and the facts with their source): its Windows Admin Center benefit; Extended Security
    Updates for SQL Server (an Arc-enabled SQL Server out of support and in its ESU years, verified on the path
    its OS needs); Azure Update Manager at no cost (an Azure Local VM, or Software Assurance attested on an
    Arc-enabled server); Azure Machine Configuration at no cost (Connected Machine agent 1.39 or later) and
    through IMDS (legacy OS support). The SQL Server instances, agent versions and license profiles come from
    the same Resource Graph query. In tables one column, Benefits, counts the active rows of those that apply.
examples:
  - name: Every VM of a cluster, as a table.
    text: az stack-hci vm-verification vm list -n LocalCluster -g local-rg -o table
  - name: VMs that need an action, with facts collected on the servers.
    text: az stack-hci vm-verification vm list -n LocalCluster -g local-rg --status inactive-benefits --host-facts node1.json node2.json
  - name: Only the commands to run on the servers, one per line.
    text: az stack-hci vm-verification vm list -n LocalCluster -g local-rg --host-facts node1.json --query "[?runOn=='server'].command" -o tsv
  - name: Each VM's benefits that are not active, with the action and command.
    text: az stack-hci vm-verification vm list -n LocalCluster -g local-rg --query "[].{vm:name, missing:benefits[?status!='Active' && status!='Not applicable'].[benefit, status, action]}"
  - name: VMs whose SQL Server needs Extended Security Updates.
    text: az stack-hci vm-verification vm list -g local-rg --query "[?benefits[?offer=='sql-server-esu' && eligible]].{vm:name, status:benefits[?offer=='sql-server-esu'] | [0].status}" -o table
  - name: Every VM of the fleet without active benefits, with its cluster.
    text: az stack-hci vm-verification vm list --all-subscriptions --status inactive-benefits unknown --query "[].{vm:name, cluster:cluster, status:benefitStatus, action:action}" -o table
  - name: The VMs with host facts collected from every server first (Guest Service Interface, legacy NIC, guest OS).
    text: az stack-hci vm-verification vm list -n LocalCluster -g local-rg --collect -o table
"""

helps['stack-hci vm-verification vm show'] = """
type: command
short-summary: Show one VM's verdict with the facts it was judged on and where each came from.
long-summary: >
    steps lists the result of each step of the verdict (guestOs, eligibleBenefit, host, osBuild,
    guestServiceInterface, legacyOsSupport, legacyNetworking); unknown lists the steps that could not be
    told; conflicts lists facts ARM and the host disagree on. trustedLaunch holds the VM's row of
    `trusted-launch list` (security type, secure boot, vTPM, status and findings); `trusted-launch show` with
    the same -n, --cluster-name and -g gives every check. benefits lists every row of the benefits table
    that can apply to the VM, as vm list does.
examples:
  - name: One VM with host facts.
    text: az stack-hci vm-verification vm show -n avd-w10-02 --cluster-name LocalCluster -g local-rg --host-facts node1.json
  - name: Which facts came from the host and which from ARM.
    text: az stack-hci vm-verification vm show -n avd-w10-02 --cluster-name LocalCluster -g local-rg --host-facts node1.json --query "sources"
  - name: Which step decided the verdict.
    text: az stack-hci vm-verification vm show -n avd-w10-02 --cluster-name LocalCluster -g local-rg --query "steps[?result!='Passed']"
  - name: One VM by the resource ID of its Arc machine.
    text: az stack-hci vm-verification vm show --ids /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local-rg/providers/Microsoft.HybridCompute/machines/avd-w10-02
  - name: Every benefit of the VM with its status and the facts it was decided from.
    text: az stack-hci vm-verification vm show -n app-2019-01 --cluster-name LocalCluster -g local-rg --query "benefits[].{benefit:benefit, offer:offer, status:status, facts:facts}"
"""

helps['stack-hci vm-verification probe'] = """
type: command
short-summary: Probe the Azure Local server (or with --guest the VM) this runs on.
long-summary: >
    Runs Get-AzureStackHCI, Get-AzureStackHCIAttestation, Get-VM, Get-VMIntegrationService,
    Get-VMNetworkAdapter (AZSHCI_GUEST-IMDS_DO_NOT_MODIFY), Get-VMSwitch (AZSHCI_HOST-IMDS_DO_NOT_MODIFY) and reads
    the guests' data-exchange items, all at once and each with a timeout; VM names are passed to PowerShell as data.
    It also checks the attested-document endpoints (the host's on 127.0.0.1 port 42542, the legacy VM address
    169.254.169.253 port 80).
    Save the JSON and give it back to show, server list and vm list with --host-facts (one file per server). Off
    an Azure Local host (Linux, Cloud Shell) it says there is no Hyper-V host to probe. PowerShell is found on
    PATH (pwsh, then powershell.exe); the setting STACK_HCI_VERIFY_POWERSHELL names another executable.
examples:
  - name: Collect this server's facts for later evaluation (save the JSON it prints as node1.json).
    text: az stack-hci vm-verification probe -o json
  - name: See which probes could not report, and why.
    text: az stack-hci vm-verification probe --query "probes[?status!='Succeeded']" -o table
  - name: Inside a VM, collect what the guest sees of secure boot, its vTPM and VBS (save it as vm01.guest.json).
    text: az stack-hci vm-verification probe --guest -o json
  - name: Probe only two VMs, with 30 seconds for each probe.
    text: az stack-hci vm-verification probe --vm-name vm01 vm02 --timeout 30
"""

helps['stack-hci vm-verification trusted-launch'] = """
type: group
short-summary: Trusted launch posture of Azure Local VMs and of the system they run on.
long-summary: >
    Trusted launch for Azure Arc VMs on Azure Local enables secure boot, installs a vTPM, transfers the vTPM
    state when the VM migrates or fails over, and supports attesting that the VM started in a known good state.
    These commands say, per VM and per system, whether each of those holds, with the command or document
    section that fixes what does not. Checks are Passed, Failed, Warning, Unknown (cannot be told) or
    NotAvailable (guest boot integrity verification, which Azure Local does not offer). The checks apply to
    Trusted launch and Confidential VMs; a Standard VM is "Not applicable", with one info finding
    (not-trusted-launch), in every command and scope.
"""

helps['stack-hci vm-verification trusted-launch list'] = """
type: command
short-summary: List Azure Local VMs with their Trusted launch posture.
long-summary: >
    Reads each VM's virtualMachineInstances/default (securityType, enableTPM, secureBootEnabled, imageReference),
    its attestationStatus/default (a 404 means not reported: Unknown, not Failed) and its gallery image, and
    judges: TrustedLaunch with enableTPM or secureBootEnabled off is Failed (both must be true for securityType
    to take effect); a custom image, or a marketplace image that is not Windows 11, is a Warning; vTPM state
    transfer needs IgvmAgent running on every machine; VM state files must be in locations only host
    administrators can reach; live migration traffic should be protected with IPsec. The host-side checks need
    host facts (`probe` on each machine, then --host-facts); --guest-facts adds what the guest sees. A VM's
    status is its most severe check: Failed, then Warning, then Unknown, then Passed; each row carries that
    check's reasonCode, reason, action and command at the top level. Any scope of `list` works here too.
examples:
  - name: Every VM of a cluster, as a table.
    text: az stack-hci vm-verification trusted-launch list -n LocalCluster -g local-rg -o table
  - name: With facts collected on the machines and inside one VM.
    text: az stack-hci vm-verification trusted-launch list -n LocalCluster -g local-rg --host-facts node1.json node2.json --guest-facts vm01.guest.json
  - name: Trusted launch VMs that are not Passed, with the first thing to do.
    text: az stack-hci vm-verification trusted-launch list -n LocalCluster -g local-rg --query "[?securityType=='TrustedLaunch' && status!='Passed'].{vm:name, status:status, action:action, command:command, learnMore:learnMore}"
"""

helps['stack-hci vm-verification trusted-launch show'] = """
type: command
short-summary: Show one VM's Trusted launch checks and the system checks they depend on.
long-summary: >
    Every check with {check, status, reasonCode, reason, expected, found, action, command}: security-type,
    secure-boot, vtpm, vtpm-state-transfer, guest-attestation, guest-image, boot-integrity (NotAvailable),
    vm-state-files, live-migration-protection and, with guest facts of a Windows VM, vbs. clusterChecks holds
    attestation-configuration, igvm-agent, vm-state-files and live-migration-protection for the whole system.
examples:
  - name: One VM.
    text: az stack-hci vm-verification trusted-launch show -n vm01 --cluster-name LocalCluster -g local-rg
  - name: Only the checks that are not Passed, with the command or the page that fixes each.
    text: az stack-hci vm-verification trusted-launch show -n vm01 --cluster-name LocalCluster -g local-rg --host-facts node1.json --query "checks[?status!='Passed'].{check:check, status:status, command:command, runOn:runOn, learnMore:learnMore}"
"""

helps['stack-hci vm-verification collect'] = """
type: command
short-summary: Collect the host facts of every server of a cluster through Arc Run Command, from anywhere.
long-summary: >
    Runs the same PowerShell probe that `probe` runs on a server, on every server of the cluster (or of
    every cluster of a resource group) through Azure Arc Run Command (Microsoft.HybridCompute/machines/runCommands,
    Connected Machine agent 1.33 or later), several servers at once, and returns one row per server with its
    host-facts document (hostFacts, the schema `probe` writes, with source runCommand and collectedAt). Each
    run command gets a unique name and is deleted afterwards, also on failure, timeout or Ctrl+C. The script is
    fixed by this extension and carries nothing secret. Run Command returns only the last 4,096 bytes of a
    script's output: the probe's output is compressed, the largest parts come first, and parts that come back
    cut are run again on their own; what still does not fit is Unknown, never judged. A server that cannot be
    collected (disconnected, agent too old, no runCommands/write permission, script error, timeout,
    throttling) is a row of its own saying why and what to do; the others still count. Writes are paced per
    subscription to stay under ARM's write limit. Needs Microsoft.HybridCompute/machines/runCommands/write
    (the built-in role Azure Connected Machine Resource Administrator grants it).
examples:
  - name: Collect the host facts of every server of a cluster.
    text: az stack-hci vm-verification collect -n LocalCluster -g local-rg -o table
  - name: A nightly collection, written as one file per server for later --host-facts.
    text: az stack-hci vm-verification collect -g local-rg --output-dir ./host-facts --timeout 900
  - name: Only the servers that could not be collected, with why.
    text: az stack-hci vm-verification collect -n LocalCluster -g local-rg --query "[?status!='Collected'].{server:server, reason:reason, command:command}"
"""
