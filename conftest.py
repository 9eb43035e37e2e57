# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""Rules for every test run of this repository.

A skipped test is a test that did not run: an import that broke, a file that is missing, a tool
that is not installed. A run with any skip fails (exit status 1) and names the skipped tests, so
that a green run always means that every collected test ran and passed.
"""

import pytest

pytest_plugins = ("pytester",)


class SkipsFailTheRun:
    """Collects every skipped test or module; a run that had any ends with exit status 1."""

    def __init__(self):
        self.skipped = []

    def _note(self, report):
        if report.skipped and not hasattr(report, "wasxfail"):
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            reason = reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason
            self.skipped.append("{}: {}".format(report.nodeid or report.fspath, reason))

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report):
        self._note(report)

    @pytest.hookimpl(trylast=True)
    def pytest_collectreport(self, report):
        self._note(report)

    def pytest_sessionfinish(self, session):
        if self.skipped and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        if self.skipped:
            terminalreporter.write_sep("=", "{} skipped: a skipped test did not run, so this run fails".format(
                len(self.skipped)), red=True, bold=True)
            for line in self.skipped:
                terminalreporter.write_line("SKIPPED " + line)


def pytest_configure(config):
    config.pluginmanager.register(SkipsFailTheRun(), "skips-fail-the-run")
