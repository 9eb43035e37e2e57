# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The strings users see, exactly as the Azure portal and Windows Admin Center show them."""

from datetime import timedelta

# Cluster level: hostStatus and legacyOsSupport.
ON = "On"
OFF = "Off"
UNKNOWN = "Unknown"

# Values of reportedProperties.imdsAttestation (ARM) and of the host's ImdsAttestation.
IMDS_ENABLED = "Enabled"
IMDS_DISABLED = "Disabled"

# Server level: status (Get-AzureStackHCIAttestation's ImdsAttestationNodeStatus, plus Unknown).
SERVER_ACTIVE = "Active"
SERVER_EXPIRED = "Expired"
SERVER_INACTIVE = "Inactive"
SERVER_ERROR = "Error"
SERVER_STATUSES = (SERVER_ACTIVE, SERVER_EXPIRED, SERVER_INACTIVE, SERVER_ERROR, UNKNOWN)

# The host's enums in value order (Az.StackHCI): Windows PowerShell 5.1 writes them as these numbers.
NODE_STATUS_ENUM = (SERVER_INACTIVE, SERVER_ACTIVE, SERVER_EXPIRED, SERVER_ERROR)  # ImdsAttestationNodeStatus
LEGACY_OS_SUPPORT_ENUM = ("Disabled", "Enabled")                                   # AttestationLegacyOsSupport

# Where a server's status came from.
SOURCE_ARM = "arm"
SOURCE_HOST = "host"
SOURCE_RESOURCE_GRAPH = "resourceGraph"
SOURCE_IMDS = "imds"

# VM level: benefitStatus.
BENEFITS_ACTIVE = "Active benefits"
BENEFITS_INACTIVE = "Inactive benefits"
BENEFITS_UNKNOWN = "Unknown"
BENEFITS_NOT_APPLICABLE = "No applicable benefits"
BENEFIT_STATUSES = (BENEFITS_ACTIVE, BENEFITS_INACTIVE, BENEFITS_UNKNOWN, BENEFITS_NOT_APPLICABLE)

# VM level: eligibleBenefit.
BENEFIT_AZURE_EDITION = "Windows Server Datacenter: Azure Edition"
BENEFIT_AVD = "Azure Virtual Desktop"
BENEFIT_ESU = "Extended Security Updates"

# Actions, as Windows Admin Center words them, and the commands that perform them.
ACTION_INSTALL_UPDATES = "Install updates"
ACTION_TURN_ON_GSI = "Turn on Guest Service Interface"
ACTION_SET_UP_LEGACY_NETWORKING = "Set up legacy OS networking"
ACTION_TURN_ON_LEGACY_OS_SUPPORT = "Turn on legacy OS support"
ACTION_TURN_ON_DATA_EXCHANGE = "Turn on Hyper-V data exchange"
ACTION_SYNC = "Sync with Azure"
# Where the seed has no action of its own.
ACTION_REGISTER = "Register with Azure"
ACTION_COLLECT_HOST_FACTS = "Collect host facts"
ACTION_UPDATE_EXTENSION = "Update the extension"

COMMAND_SYNC = "Sync-AzureStackHCI"
COMMAND_ENABLE_LEGACY_OS_SUPPORT = "Enable-AzStackHCIAttestation"

# VM level: accessMethod and securityType.
ACCESS_V2 = "v2"
ACCESS_V1 = "v1"
ACCESS_BOTH = "v2+v1"
ACCESS_NONE = "none"
SECURITY_TRUSTED_LAUNCH = "TrustedLaunch"
SECURITY_CONFIDENTIAL = "ConfidentialVM"
SECURITY_STANDARD = "Standard"

# reasonCodes shared by every level (cluster, server, VM).
REASON_UNRECOGNIZED_VALUE = "unrecognized-value"      # a value a newer API returns that this version does not know
REASON_MALFORMED_RESOURCE = "malformed-resource"      # an ARM document with a field of the wrong type
REASON_HOST_FACTS_NEEDED = "host-facts-needed"        # a deciding fact only a host probe can see
REASON_HOST_FACTS_STALE = "host-facts-stale"          # host facts older than the certificate lifetime
REASON_CLOCK_SKEW = "clock-skew"                      # a timestamp later than the reference time
REASON_CLUSTER_NOT_REGISTERED = "cluster-not-registered"

# Finding severities, most severe first.
SEVERITY_ERROR = "error"
SEVERITY_WARNING = "warning"
SEVERITY_INFO = "info"

# Attestation certificates are renewed at every sync with Azure and are valid for 30 days
# (seed 000: "if the system disconnects for more than 30 days ... shows as Expired").
CERTIFICATE_LIFETIME = timedelta(days=30)

# Host facts collected longer ago than this cannot make anything green (DESIGN: facts have an age).
HOST_FACTS_MAX_AGE = timedelta(days=30)

# A timestamp later than the reference time by more than this is a clock problem, not a fresh sync.
CLOCK_SKEW_TOLERANCE = timedelta(minutes=5)

# A server whose certificate expires within this window gets a warning finding.
EXPIRY_WARNING_WINDOW = timedelta(days=7)

# reportedProperties.supportedCapabilities values are not documented. A capability token means
# "legacy OS support is on" when, lower-cased with everything but letters and digits removed,
# it contains one of these markers. Extend this tuple when new tokens are observed; anything
# else is left as it is in the raw list and never guessed at.
LEGACY_OS_CAPABILITY_MARKERS = ("legacyos",)
