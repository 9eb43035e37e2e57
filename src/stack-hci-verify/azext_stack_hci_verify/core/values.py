# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Reading values as ARM and PowerShell write them: keys in any case, nulls, strings for numbers."""

_TRUE = {"true": True, "false": False, "enabled": True, "disabled": False, "on": True, "off": False,
         "1": True, "0": False}


def get_path(document, *path):
    """document[path[0]][path[1]]..., tolerating absent keys, nulls and key case."""
    current = document
    for key in path:
        if not isinstance(current, dict):
            return None
        if key in current:
            current = current[key]
            continue
        lowered = key.lower()
        current = next((value for name, value in current.items() if str(name).lower() == lowered), None)
    return current


def text_value(value):
    """A non-empty stripped string, or None (objects and lists are not text)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def bool_value(value):
    """True/False from booleans, 0/1 and their words (true, enabled, on ...); None otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {0: False, 1: True}.get(value)
    if isinstance(value, str):
        return _TRUE.get(value.strip().lower())
    return None


def int_value(value):
    """An int from an int or a string of digits; None otherwise (booleans are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def guid_value(value):
    """A GUID as lower-case text without braces (Hyper-V and ARM write them either way); None if absent."""
    text = text_value(value)
    return text.strip("{}").lower() if text else None


def short_name(name):
    """A computer name without its DNS domain, lower case (NODE1.contoso.example -> node1)."""
    return str(name or "").split(".", maxsplit=1)[0].lower()


def json_kind(value):
    """What a JSON value is, in words, for messages about a value of the wrong type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
