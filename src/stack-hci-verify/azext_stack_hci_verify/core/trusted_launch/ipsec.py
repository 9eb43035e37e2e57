# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Seed 002: VM live migration network traffic is not encrypted; protect it with a network layer
encryption technology such as IPsec. Pure.

An IPsec rule of the host facts (`trustedLaunch.ipsecRules[]`, from Get-NetIPsecRule with its
port filter): `{"name", "displayName", "enabled", "inboundSecurity", "outboundSecurity",
"protocol", "localPorts", "remotePorts"}`. Live migration uses TCP 6600, or SMB (TCP 445) when
the host's migration performance option is SMB. The traffic is protected when enabled TCP (or Any)
rules that require protection cover both directions: local port 6600 from any remote port (the
receiving machine) and any local port to remote port 6600 (the sending one).
"""

from ..values import bool_value as _bool, get_path as _get, int_value as _int, text_value as _text

LIVE_MIGRATION_TCP_PORT = 6600
SMB_PORT = 445
# Get-NetIPsecRule's SecurityPolicy values as PowerShell 5.1 writes them (numbers).
_SECURITY_POLICY = {0: "None", 1: "Request", 2: "Require"}
_PROTOCOL_NUMBERS = {"6": "tcp"}


def security(value):
    """InboundSecurity / OutboundSecurity as None / Request / Require (or the text as written)."""
    number = _int(value)
    if number is not None:
        return _SECURITY_POLICY.get(number, str(number))
    text = _text(value)
    if text is None:
        return None
    return next((name for name in _SECURITY_POLICY.values() if name.lower() == text.lower()), text)


def _ports(value):
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    result = []
    for item in items:
        result.extend(part.strip() for part in str(item).split(",") if part.strip())
    return result


def port_matches(spec, port):
    """True when a port filter entry ('Any', '6600', '6600-6610') includes `port`."""
    text = str(spec).strip().lower()
    if text == "any":
        return True
    if "-" in text:
        low, _, high = text.partition("-")
        return low.strip().isdigit() and high.strip().isdigit() and int(low) <= port <= int(high)
    return text.isdigit() and int(text) == port


def migration_ports(live_migration):
    raw = _get(live_migration, "performanceOption")
    option = {0: "tcpip", 1: "compression", 2: "smb"}.get(_int(raw), (_text(raw) or "").lower())
    return (SMB_PORT,) if option == "smb" else (LIVE_MIGRATION_TCP_PORT,) if option else \
        (LIVE_MIGRATION_TCP_PORT, SMB_PORT)


def _matches(specs, port):
    """A port filter side: no entry, or 'Any', matches every port."""
    return not specs or any(port_matches(spec, port) for spec in specs)


def _is_any(specs):
    return not specs or any(str(spec).strip().lower() == "any" for spec in specs)


def covers(rule, port, direction):
    """True when an enabled rule matches live migration TCP traffic on `port`: "in" on the machine that
    receives (local port `port`, any remote port), "out" on the one that sends (the reverse)."""
    if _bool(_get(rule, "enabled")) is False:
        return False
    protocol = (_text(_get(rule, "protocol")) or "any").lower()
    if _PROTOCOL_NUMBERS.get(protocol, protocol) not in ("tcp", "any"):
        return False
    local, remote = _ports(_get(rule, "localPorts")), _ports(_get(rule, "remotePorts"))
    if direction == "in":
        return _matches(local, port) and _is_any(remote)
    return _is_any(local) and _matches(remote, port)


def _required(rule):
    return security(_get(rule, "inboundSecurity")) == "Require" and \
        security(_get(rule, "outboundSecurity")) == "Require"


def ipsec_state(machine):
    """(state, names of the rules that count): 'required' (both directions of the migration port covered
    by rules that require protection), 'requested' (covered, some only requesting it), 'none' or 'unseen'."""
    if machine.ipsec_rules is None:
        return "unseen", []
    best = ("none", [])
    for port in migration_ports(machine.live_migration):
        sides = [[rule for rule in machine.ipsec_rules if covers(rule, port, direction)]
                 for direction in ("in", "out")]
        if not all(sides):
            continue
        names = sorted({_text(_get(rule, "displayName")) or _text(_get(rule, "name"))
                        for side in sides for rule in side})
        if all(any(_required(rule) for rule in side) for side in sides):
            return "required", names
        best = ("requested", names)
    return best


def live_migration_command():
    """Two IPsec rules (inbound to and outbound from TCP 6600) that require protection."""
    return (f"New-NetIPsecRule -DisplayName 'Live migration in (TCP {LIVE_MIGRATION_TCP_PORT})' -Protocol TCP "
            f"-LocalPort {LIVE_MIGRATION_TCP_PORT} -InboundSecurity Require -OutboundSecurity Require; "
            f"New-NetIPsecRule -DisplayName 'Live migration out (TCP {LIVE_MIGRATION_TCP_PORT})' -Protocol TCP "
            f"-RemotePort {LIVE_MIGRATION_TCP_PORT} -InboundSecurity Require -OutboundSecurity Require")
