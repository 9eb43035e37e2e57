#!/usr/bin/env python

# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------

from codecs import open
from setuptools import setup, find_packages

# HISTORY.rst entry.
VERSION = '0.2.0'

CLASSIFIERS = [
    'Development Status :: 4 - Beta',
    'Intended Audience :: Developers',
    'Intended Audience :: System Administrators',
    'Programming Language :: Python',
    'Programming Language :: Python :: 3',
    'Programming Language :: Python :: 3.10',
    'Programming Language :: Python :: 3.11',
    'Programming Language :: Python :: 3.12',
    'Programming Language :: Python :: 3.13',
]

# Only what azure-cli does not already ship (it ships azure-core, azure-mgmt-core, knack and
# cryptography, and the extension uses those). Every ARM read, Resource Graph queries included, goes raw
# through one azure-mgmt-core pipeline (adapters/arm_client.py), so no management SDK is installed with
# the extension; the api-versions of the SDKs pinned in requirements-dev.txt are kept in adapters/arm.py
# and adapters/resourcegraph.py and checked by tests.
DEPENDENCIES = [
    'asn1crypto>=1.5.0,<2.0.0',
]

# The Python API (azext_stack_hci_verify.api) without az: what az would otherwise bring.
# `pip install "stack_hci_verify-<version>-py3-none-any.whl[api]"`.
API_DEPENDENCIES = [
    'azure-identity>=1.15.0',
    'azure-core>=1.30.0',
    'azure-mgmt-core>=1.4.0',
    'cryptography>=42.0.0',
    'certifi',
]

# The package's description is the README's opening (what it is, how to install it) and the history:
# pip keeps it in the installed METADATA and az keeps the wheel, and the whole README (the manual, 60 KB)
# would count twice against the installed-size budget. The manual is the README itself.
with open('README.md', 'r', encoding='utf-8') as f:
    README = f.read().split('\n## Commands', 1)[0].rstrip()
with open('HISTORY.rst', 'r', encoding='utf-8') as f:
    HISTORY = f.read()

setup(
    name='stack-hci-verify',
    version=VERSION,
    description='Azure verification for VMs on Azure Local: host, server and VM status with the fix to run.',
    long_description=README + '\n\n' + HISTORY,
    long_description_content_type='text/markdown',
    license='MIT',  # an SPDX expression; setuptools 77+ wants no license classifier beside it
    author='stack-hci-verify contributors',
    classifiers=CLASSIFIERS,
    packages=find_packages(exclude=['tests', '*.tests', '*.tests.*']),
    install_requires=DEPENDENCIES,
    extras_require={'api': API_DEPENDENCIES},
    package_data={'azext_stack_hci_verify': ['azext_metadata.json']},
)
