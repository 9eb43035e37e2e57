# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------

ARM_TIMEOUT_ENV = "STACK_HCI_VERIFY_ARM_TIMEOUT"
ARM_TIMEOUT_SECTION, ARM_TIMEOUT_OPTION = "stack_hci_verify", "arm_timeout"
# Seconds one ARM request may take, its retries and the waits between them included.
DEFAULT_ARM_TIMEOUT = 20.0
MAX_ARM_TIMEOUT = 600.0
# A TCP connection that takes longer than this will not come.
CONNECT_TIMEOUT = 10.0
# One list (ARM nextLink or Resource Graph $skipToken pages) may take this many times the ARM timeout.
LIST_TIMEOUT_FACTOR = 30


def arm_timeout(cli_ctx):
    """The ARM patience: STACK_HCI_VERIFY_ARM_TIMEOUT, else `az config set stack_hci_verify.arm_timeout=N`,
    else 20 seconds."""
    import math
    import os
    from azure.cli.core.azclierror import InvalidArgumentValueError
    raw, source = os.environ.get(ARM_TIMEOUT_ENV), ARM_TIMEOUT_ENV
    if raw is None or not raw.strip():
        raw = cli_ctx.config.get(ARM_TIMEOUT_SECTION, ARM_TIMEOUT_OPTION, fallback=None) if cli_ctx else None
        source = f"{ARM_TIMEOUT_SECTION}.{ARM_TIMEOUT_OPTION}"
    if raw is None or not str(raw).strip():
        return DEFAULT_ARM_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_ARM_TIMEOUT:      # NaN fails too
        raise InvalidArgumentValueError(
            f"The ARM timeout {source} is '{raw}', not a number of seconds.",
            recommendation=f"Set it to a number of seconds above 0 and at most {MAX_ARM_TIMEOUT:.0f}, e.g. "
                           f"{ARM_TIMEOUT_ENV}=30, or unset it for the default of {DEFAULT_ARM_TIMEOUT:.0f} seconds.")
    return value


def _arm_client(cli_ctx, client_type, subscription_id, credential=None, **kwargs):
    """A client from the CLI's factory. `credential`: the command's shared credential
    (adapters.credential.CommandCredential), so that every client of a command uses one token.
    Every client sends only to the cloud's ARM endpoint, over HTTPS (arm_pipeline.TrustedHostPolicy)."""
    from azure.cli.core.commands.client_factory import get_mgmt_service_client
    from azext_stack_hci_verify.adapters.arm_pipeline import (
        DeadlinePolicy, DeadlineRetryPolicy, TrustedHostPolicy)
    timeout = arm_timeout(cli_ctx)
    connect = min(CONNECT_TIMEOUT, timeout)
    if credential is None:      # a credential of its own, so that sign-in errors are said in words too
        from azext_stack_hci_verify.adapters.credential import CommandCredential
        credential = CommandCredential(cli_ctx, subscription_id)
    kwargs["credential"] = credential
    subscription_id = subscription_id or credential.subscription_id
    client = get_mgmt_service_client(
        cli_ctx, client_type, subscription_id=subscription_id, **kwargs,
        retry_policy=DeadlineRetryPolicy(timeout=timeout), connection_timeout=connect, read_timeout=timeout,
        per_retry_policies=[TrustedHostPolicy(cli_ctx.cloud.endpoints.resource_manager),
                            DeadlinePolicy(connection_timeout=connect, read_timeout=timeout)])
    # The patience of this command, for the reads that page through the client (adapters.paging).
    client.stack_hci_verify_arm_timeout = timeout
    client.stack_hci_verify_list_seconds = LIST_TIMEOUT_FACTOR * timeout
    return client


def cf_resourcegraph(cli_ctx, credential=None):
    """The command's one ARM client (adapters.arm_client.ArmClient, not bound to a subscription: Resource
    Graph queries name their scopes). With the command's shared credential, one client per command, so its
    requests share a connection; its azure-mgmt-core pipeline carries the Resource Graph queries and the
    command's plain ARM GETs (adapters.arm.get_document)."""
    cache = getattr(credential, "clients", None)
    cache = cache if isinstance(cache, dict) else {}
    if "resourcegraph" not in cache:
        from azext_stack_hci_verify.adapters.arm_client import ArmClient
        cache["resourcegraph"] = _arm_client(cli_ctx, ArmClient, None, credential, subscription_bound=False)
    return cache["resourcegraph"]


class AzConnection:
    """The pipeline's way to ARM when az runs it: the CLI's client factory (az's cloud, user agent,
    logging) with the command's one credential (adapters.credential.CommandCredential) and ARM
    patience. One ARM client carries every request of the command (its queries, and the raw
    ARM reads of adapters.arm), shared by the command's threads."""

    def __init__(self, cli_ctx, credential):
        import threading
        self.cli_ctx = cli_ctx
        self.credential = credential
        self.timeout = arm_timeout(cli_ctx)
        self._lock = threading.Lock()
        self._clients = {}

    @property
    def subscription_id(self):
        return self.credential.subscription_id

    def resourcegraph(self):
        """The command's one ARM client (adapters.arm_client): its Resource Graph queries and plain ARM GETs."""
        with self._lock:
            return cf_resourcegraph(self.cli_ctx, self.credential)
