# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""One credential, and so one token request, per command.

Every SDK client keeps its own token, and concurrent requests of one client each ask for one before
the first arrives: a command with three clients and eight worker threads asked the identity endpoint
ten times. CommandCredential wraps the signed-in account's credential once; every client of the
command shares it, and it asks for a token once per scope (under a lock) and reuses it until shortly
before it expires. A claims challenge (continuous access evaluation) always asks anew."""

import threading
import time

# Ask anew this many seconds before a token expires.
_REFRESH_MARGIN = 300


class CommandCredential:
    """azure.core's TokenCredential and SupportsTokenInfo over az's credential for the subscription
    (default: the current one). `credential`: the credential to wrap, for tests."""

    def __init__(self, cli_ctx, subscription_id=None, credential=None):
        self._cli_ctx = cli_ctx
        self._inner = credential
        self._lock = threading.Lock()
        self._tokens = {}
        self.subscription_id = subscription_id
        self.token_requests = 0
        self.clients = {}           # clients the command shares (one connection pool each), by kind
        if credential is None or subscription_id is None:
            self._resolve_subscription()

    def _resolve_subscription(self):
        if self.subscription_id is None and self._cli_ctx is not None:
            from azure.cli.core.commands.client_factory import get_subscription_id
            self.subscription_id = get_subscription_id(self._cli_ctx)

    def _credential(self):
        if self._inner is None:
            from azure.cli.core._profile import Profile
            self._inner, _, _ = Profile(cli_ctx=self._cli_ctx).get_login_credentials(
                subscription_id=self.subscription_id)
        return self._inner

    def _ask(self, fetch):
        """fetch(az's credential), with az's sign-in errors said in words (see token_error)."""
        from azure.cli.core.azclierror import AuthenticationError
        try:
            return fetch(self._credential())
        except AuthenticationError as ex:
            raise token_error(ex) from ex

    def _cached(self, key, fetch):
        with self._lock:
            token = self._tokens.get(key)
            if token is not None and token.expires_on - _REFRESH_MARGIN > time.time():
                return token
            token = self._ask(fetch)
            self.token_requests += 1
            self._tokens[key] = token
            return token

    def get_token(self, *scopes, **kwargs):
        if kwargs.get("claims"):
            return self._ask(lambda inner: inner.get_token(*scopes, **kwargs))
        return self._cached(("token",) + scopes, lambda inner: inner.get_token(*scopes, **kwargs))

    def get_token_info(self, *scopes, options=None):
        if options and options.get("claims"):
            return self._ask(lambda inner: inner.get_token_info(*scopes, options=options))
        return self._cached(("info",) + scopes, lambda inner: inner.get_token_info(*scopes, options=options))

    def get_auxiliary_tokens(self, *scopes, **kwargs):
        """az's cross-tenant tokens, as its own credential gives them."""
        getter = getattr(self._credential(), "get_auxiliary_tokens", None)
        return getter(*scopes, **kwargs) if getter else None


# What az's sign-in says when the token service fails without a reason: MSAL writes the missing
# statusCode and message of a managed-identity endpoint's error as "None, None".
_NO_REASON = ("", "none", "none, none")


def token_error(ex):
    """az's AuthenticationError from getting a token, as one that says what failed: az's own words when
    it has some, else that the token service answered with an error and gave no reason."""
    from azure.cli.core.azclierror import AuthenticationError
    said = " ".join(str(ex.error_msg or "").split())
    reason = "the token service answered with an error and gave no reason" if said.lower() in _NO_REASON \
        else f"az's sign-in said: {said.rstrip('.')}"
    error = getattr(ex, "msal_error", None)
    code = error.get("error") if isinstance(error, dict) else None
    return AuthenticationError(
        f"No access token for ARM could be obtained: {reason}{(f' ({code})' if code else '')}.",
        msal_error=error,
        recommendation="Run `az account get-access-token` to see the sign-in on its own. With a managed identity "
                       "(`az login --identity`) its token endpoint failed: run the command again later. Otherwise sign "
                       "in again with `az login`.")


class TokenCache(CommandCredential):
    """The same one-token cache over any azure-core TokenCredential (azure-identity's and others), for
    callers without az (azext_stack_hci_verify.api): nothing of az is imported."""

    def __init__(self, credential, subscription_id=None):
        super().__init__(None, subscription_id, credential=credential)

    def _ask(self, fetch):
        return fetch(self._inner)

    def get_token_info(self, *scopes, options=None):
        """azure-core asks for token info when the credential offers it; a credential that implements only
        get_token (the TokenCredential protocol) is answered from its get_token."""
        if hasattr(self._inner, "get_token_info"):
            return super().get_token_info(*scopes, options=options)
        from azure.core.credentials import AccessTokenInfo
        claims = (options or {}).get("claims")
        token = self.get_token(*scopes, **({"claims": claims} if claims else {}))
        return AccessTokenInfo(token.token, token.expires_on)
