# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The one ARM client: azure-mgmt-core's pipeline (which az ships) with the policies a generated
management client puts in it, and nothing else. Every request of a command goes through it raw
(adapters.arm.send_json: Resource Graph queries and plain ARM reads), so no resource provider SDK is
installed with the extension. az's client factory builds it as it builds a generated client
(`get_mgmt_service_client(cli_ctx, ArmClient, subscription_bound=False)`), and so does
adapters.connection without az."""

DEFAULT_ENDPOINT = "https://management.azure.com"


def _sdk_moniker():
    try:
        from importlib.metadata import PackageNotFoundError, version
        return f"stack-hci-verify/{version('stack-hci-verify')}"
    except (ImportError, PackageNotFoundError):
        return "stack-hci-verify"


class ArmClient:
    """`credential`: an azure-core TokenCredential; `base_url`: the cloud's ARM endpoint; keywords as a
    generated client takes them (credential_scopes, retry_policy, per_retry_policies, connection_timeout,
    read_timeout, user_agent, logging_enable, ...)."""

    def __init__(self, credential, base_url=None, **kwargs):
        from azure.core.pipeline import policies
        from azure.mgmt.core import ARMPipelineClient
        from azure.mgmt.core.policies import (ARMAutoResourceProviderRegistrationPolicy,
                                              ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy)
        if credential is None:
            raise ValueError("ArmClient needs a credential.")
        base_url = (base_url or DEFAULT_ENDPOINT).rstrip("/")
        scopes = kwargs.pop("credential_scopes", None) or [f"{DEFAULT_ENDPOINT}/.default"]
        kwargs.setdefault("sdk_moniker", _sdk_moniker())
        redirect = kwargs.get("redirect_policy") or policies.RedirectPolicy(**kwargs)
        pipeline = [
            policies.RequestIdPolicy(**kwargs),
            kwargs.get("headers_policy") or policies.HeadersPolicy(**kwargs),
            kwargs.get("user_agent_policy") or policies.UserAgentPolicy(**kwargs),
            kwargs.get("proxy_policy") or policies.ProxyPolicy(**kwargs),
            policies.ContentDecodePolicy(**kwargs),
            ARMAutoResourceProviderRegistrationPolicy(),
            redirect,
            kwargs.get("retry_policy") or policies.RetryPolicy(**kwargs),
            kwargs.get("authentication_policy") or ARMChallengeAuthenticationPolicy(credential, *scopes, **kwargs),
            kwargs.get("custom_hook_policy") or policies.CustomHookPolicy(**kwargs),
            kwargs.get("logging_policy") or policies.NetworkTraceLoggingPolicy(**kwargs),
            policies.DistributedTracingPolicy(**kwargs),
            policies.SensitiveHeaderCleanupPolicy(**kwargs),
            kwargs.get("http_logging_policy") or ARMHttpLoggingPolicy(**kwargs),
        ]
        for name in ("policies", "subscription_id", "api_version", "profile"):
            kwargs.pop(name, None)
        self.credential = credential
        self.base_url = base_url
        self._client = ARMPipelineClient(base_url=base_url, policies=pipeline, **kwargs)

    def send_request(self, request, *, stream=False, **kwargs):
        """Runs `request` (an azure.core.rest.HttpRequest whose URL may be a path) through the pipeline."""
        from copy import deepcopy
        request = deepcopy(request)
        request.url = self._client.format_url(request.url)
        return self._client.send_request(request, stream=stream, **kwargs)

    def close(self):
        self._client.close()

    def __enter__(self):
        self._client.__enter__()
        return self

    def __exit__(self, *exc_details):
        self._client.__exit__(*exc_details)
