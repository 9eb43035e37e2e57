# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The pipeline's way to ARM without az: the management SDK clients built directly on an azure-core
credential, with the same policies az's commands use (only HTTPS to the ARM host, a deadline over every
request and its retries) and one token cache for all of them. Imports nothing of az."""

import threading

from azext_stack_hci_verify._client_factory import CONNECT_TIMEOUT, LIST_TIMEOUT_FACTOR
from azext_stack_hci_verify.adapters.credential import TokenCache

_CLIENTS = {
    "azurestackhci": ("azure.mgmt.azurestackhci", "AzureStackHCIClient"),
    "hybridcompute": ("azure.mgmt.hybridcompute", "HybridComputeManagementClient"),
    "azurestackhcivm": ("azure.mgmt.azurestackhcivm", "AzureStackHCIVmClient"),
}


class ArmConnection:
    """`credential`: any azure-core TokenCredential; `arm_endpoint`: the cloud's ARM URL; `audience`: the
    token audience (its scope is audience + "/.default"); `timeout`: seconds one request may take,
    retries included."""

    def __init__(self, credential, arm_endpoint, audience, timeout=20.0, subscription_id=None):
        self.credential = credential if isinstance(credential, TokenCache) else TokenCache(credential,
                                                                                           subscription_id)
        self.arm_endpoint = arm_endpoint.rstrip("/")
        self.audience = audience.rstrip("/")
        self.timeout = float(timeout)
        self.subscription_id = subscription_id
        self._lock = threading.Lock()
        self._clients = {}

    def _build(self, client_type, **kwargs):
        from azext_stack_hci_verify.adapters.arm_pipeline import (
            DeadlinePolicy, DeadlineRetryPolicy, TrustedHostPolicy, quiet_failsafe_warnings)
        quiet_failsafe_warnings()
        connect = min(CONNECT_TIMEOUT, self.timeout)
        client = client_type(
            credential=self.credential, base_url=self.arm_endpoint, credential_scopes=[self.audience + "/.default"],
            retry_policy=DeadlineRetryPolicy(timeout=self.timeout), connection_timeout=connect,
            read_timeout=self.timeout,
            per_retry_policies=[TrustedHostPolicy(self.arm_endpoint),
                                DeadlinePolicy(connection_timeout=connect, read_timeout=self.timeout)],
            **kwargs)
        client.stack_hci_verify_arm_timeout = self.timeout
        client.stack_hci_verify_list_seconds = LIST_TIMEOUT_FACTOR * self.timeout
        return client

    def resourcegraph(self):
        """The Resource Graph client; it also carries the plain ARM reads (adapters.arm.send_json)."""
        with self._lock:
            if "resourcegraph" not in self._clients:
                from azure.mgmt.resourcegraph import ResourceGraphClient
                self._clients["resourcegraph"] = self._build(ResourceGraphClient)
            return self._clients["resourcegraph"]

    def client(self, kind, subscription_id):
        """A management client of `kind` (azurestackhci, hybridcompute, azurestackhcivm) for a subscription."""
        import importlib
        module, name = _CLIENTS[kind]
        key = (kind, (subscription_id or "").lower())
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._build(getattr(importlib.import_module(module), name),
                                                 subscription_id=subscription_id)
            return self._clients[key]
