# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The pipeline's way to ARM without az: the one ARM client (adapters.arm_client) built directly on an
azure-core credential (it carries the Resource Graph queries and the raw ARM reads of adapters.arm), with
the same policies az's commands use (only HTTPS to the ARM host, a deadline over every request and its
retries) and one token cache. Imports nothing of az."""

import threading

from azext_stack_hci_verify._client_factory import CONNECT_TIMEOUT, LIST_TIMEOUT_FACTOR
from azext_stack_hci_verify.adapters.credential import TokenCache


class ArmConnection:  # pylint: disable=too-few-public-methods
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
            DeadlinePolicy, DeadlineRetryPolicy, TrustedHostPolicy)
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
        """The one ARM client: Resource Graph queries and the plain ARM reads (adapters.arm.send_json)."""
        with self._lock:
            if "resourcegraph" not in self._clients:
                from azext_stack_hci_verify.adapters.arm_client import ArmClient
                self._clients["resourcegraph"] = self._build(ArmClient)
            return self._clients["resourcegraph"]
