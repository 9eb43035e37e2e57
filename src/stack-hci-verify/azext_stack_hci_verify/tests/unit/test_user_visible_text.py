# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""What users read cites public documents by their titles, never the project's internal words for them.

Every string literal of the extension's modules (core/, adapters/, pipeline/, attestation/ and the az
surface) that is not a docstring can reach a reason, a finding, a command, help or an error message;
comments and docstrings may keep their citations."""

import ast
import os

import pytest

import azext_stack_hci_verify

_PACKAGE = os.path.dirname(azext_stack_hci_verify.__file__)
_INTERNAL_WORDS = ("seed",)


def _modules():
    for folder in ("", "core", "adapters", "pipeline", "attestation"):
        for name in sorted(os.listdir(os.path.join(_PACKAGE, folder))):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def _strings(path):
    """(line, text) of every string literal in the module at `path` that is not a docstring."""
    with open(os.path.join(_PACKAGE, path), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


@pytest.mark.parametrize("path", list(_modules()))
def test_no_internal_words_in_user_visible_strings(path):
    found = [(line, text) for line, text in _strings(path)
             if any(word in text.lower() for word in _INTERNAL_WORDS)]
    assert not found, "{}: {}".format(path, found)
