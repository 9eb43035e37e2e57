# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Runs `azdev linter stack-hci-verify` and `azdev style stack-hci-verify` (azdev 0.2.13) as
azure-cli-extensions' CI runs them, with no network access. Started by scripts/azdev-check in azdev's
virtual environment.

azdev expects a clone of the azure-cli repository (it reads scripts/ci/cmdcov.yml from it when the
linter is imported), a clone of azure-cli-extensions (it finds an extension by the egg-info in its
source folder and az loads it from there), and it downloads the example-count configuration. Here the
CLI repository is a stub holding that one file, the extension repository is a copy of
src/stack-hci-verify with its egg-info, and the configuration is the copy azdev ships, served on
loopback. Nothing is written into the working tree.

broken_site_link asks each link in the help for a page. Links to a loopback, link-local or private
address are reported without a request (no reader can open them); other links are checked only with
--check-links (which needs the network) and are listed as not checked otherwise."""

import argparse
import functools
import http.server
import ipaddress
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXTENSION = "stack-hci-verify"
SOURCE = os.path.join(ROOT, "src", EXTENSION)

# Stand-in for azure-cli's scripts/ci/cmdcov.yml: the patterns azdev's command-coverage rules use to
# find `self.cmd('az ...')` calls in test files (those rules need a git diff and do not run here).
CMDCOV = r"""CMD_PATTERN:
  - 'self.cmd\(\s*[''"]az (.*?)[''"]'
  - 'cmd\s*=\s*[''"]az (.*?)[''"]'
  - 'self.cmd\(\s*f[''"]az (.*?)[''"]'
  - 'cmd\s*=\s*f[''"]az (.*?)[''"]'
QUO_PATTERN: '[''"](.*?)[''"]'
END_PATTERN: '(\))$'
DOCS_END_PATTERN: '^\s*[''"]{3}'
NOT_END_PATTERN: '^\s*#'
NUMBER_SIGN_PATTERN: '^\s*#'
"""

UNCHECKED_LINKS = []


def _copy_extension(destination):
    def ignore(_, names):
        return [name for name in names if name in ("__pycache__", "build", "dist") or name.endswith(".egg-info")]
    shutil.copytree(SOURCE, destination, ignore=ignore)
    subprocess.run([sys.executable, "setup.py", "-q", "egg_info"], cwd=destination, check=True,
                   stdout=subprocess.DEVNULL)


def stage(work):
    """The stand-ins under `work`; returns the environment azdev and az run with."""
    cli_repo = os.path.join(work, "azure-cli")
    os.makedirs(os.path.join(cli_repo, "scripts", "ci"))
    with open(os.path.join(cli_repo, "scripts", "ci", "cmdcov.yml"), "w", encoding="utf-8") as handle:
        handle.write(CMDCOV)
    ext_repo = os.path.join(work, "azure-cli-extensions")
    _copy_extension(os.path.join(ext_repo, "src", EXTENSION))
    for name in ("azdev", "azure", "extensions"):
        os.makedirs(os.path.join(work, name))
    env = {
        "AZDEV_CONFIG_DIR": os.path.join(work, "azdev"),
        "AZDEV_CLI_REPO_PATH": cli_repo,
        "AZDEV_EXT_REPO_PATHS": ext_repo,
        "AZURE_CONFIG_DIR": os.path.join(work, "azure"),
        "AZURE_EXTENSION_DIR": os.path.join(work, "extensions"),
        "AZURE_EXTENSION_DEV_SOURCES": os.path.join(ext_repo, "src"),
        "AZURE_CORE_COLLECT_TELEMETRY": "false",
        "AZURE_CORE_NO_COLOR": "true",
    }
    os.environ.update(env)
    os.environ["VIRTUAL_ENV"] = sys.prefix     # azdev keeps its configuration per virtual environment
    # `azdev setup` puts the pylint and flake8 configurations of azure-cli and its extensions here.
    import azdev
    from azdev.utilities import get_azdev_config_dir
    shutil.copytree(os.path.join(os.path.dirname(azdev.__file__), "config"),
                    os.path.join(get_azdev_config_dir(), "config_files"))
    return env


def serve_example_config():
    """azdev's own copy of the example-count configuration, on loopback; returns its URL."""
    from azdev.operations import constant
    directory = os.path.dirname(constant.CMD_EXAMPLE_CONFIG_FILE_PATH)
    handler = functools.partial(_QuietHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    name = os.path.basename(constant.CMD_EXAMPLE_CONFIG_FILE_PATH)
    return f"http://127.0.0.1:{server.server_address[1]}/{name}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


def _unreachable(url):
    """True for a link to a loopback, link-local, private or unspecified address, or localhost."""
    host = urlsplit(url.rstrip(",;:")).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_link_local or address.is_private or address.is_unspecified


def patch_link_rule(check_links):
    from azdev.operations.linter import util
    from azdev.operations.linter.rules import command_group_rules, command_rules, parameter_rules
    original = util.has_broken_site_links

    def has_broken_site_links(help_message, filtered_lines=None):
        urls = [re.sub(r'[.")\'\s]*$', '', url) for url in re.findall(util._HTTP_LINK_RE, help_message)]
        broken = [url for url in urls if _unreachable(url)]
        others = [url for url in urls if not _unreachable(url)]
        if others and check_links:
            broken += original(" ".join(others))
        elif others:
            UNCHECKED_LINKS.extend(url for url in others if url not in UNCHECKED_LINKS)
        if filtered_lines:
            broken = [url for url in broken if any(url in line for line in filtered_lines)]
        return broken

    for module in (util, command_group_rules, command_rules, parameter_rules):
        module.has_broken_site_links = has_broken_site_links


def run_azdev(*args):
    from azdev.__main__ import main
    sys.argv = ["azdev", *args]
    try:
        main()
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("checks", nargs="*", metavar="{linter,style}",
                        help="which azdev checks to run (default: both)")
    parser.add_argument("--check-links", action="store_true",
                        help="ask each documentation link in the help for its page (needs the network)")
    options = parser.parse_args()
    checks = options.checks or ["linter", "style"]
    if set(checks) - {"linter", "style"}:
        parser.error(f"unknown check in {checks}: use linter, style or both")
    work = tempfile.mkdtemp(prefix="azdev-check-")
    try:
        stage(work)
        from azdev.operations.linter import util
        util.CMD_EXAMPLE_CONFIG_FILE_URL = serve_example_config()
        patch_link_rule(options.check_links)
        failed = []
        for check in checks:
            # azure-cli-extensions' CI fails on medium-severity linter rules too (azdev's default is high).
            extra = ["--min-severity", "medium"] if check == "linter" else []
            if run_azdev(check, EXTENSION, *extra) != 0:
                failed.append(check)
        if UNCHECKED_LINKS:
            print(f"broken_site_link: not checked without --check-links: {', '.join(UNCHECKED_LINKS)}")
        print(f"azdev {' and '.join(checks)}: {'FAILED (' + ', '.join(failed) + ')' if failed else 'passed'}")
        return 1 if failed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
