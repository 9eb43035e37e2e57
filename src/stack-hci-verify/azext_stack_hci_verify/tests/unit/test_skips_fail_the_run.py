# --------------------------------------------------------------------------------------------
# Copyright (c) stack-hci-verify contributors. All rights reserved.
# Licensed under the MIT License. See License.txt in the project root for license information.
# --------------------------------------------------------------------------------------------
"""The repository's test-run rule (conftest.py at the root): a run in which any test was skipped
fails, so that a broken import or a missing tool never turns tests green by not running them."""

import pytest


@pytest.fixture(name="suite")
def suite_fixture(pytester, pytestconfig):
    """A scratch test suite under the repository's root conftest, with one test that passes."""
    pytester.makeconftest((pytestconfig.rootpath / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_plain="def test_runs():\n    assert 1 + 1 == 2\n")
    return pytester


def test_a_run_without_skips_passes(suite):
    result = suite.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)


def test_any_skip_fails_the_run_and_is_named(suite):
    suite.makepyfile(
        test_skipped="import pytest\n\n\ndef test_not_run():\n    pytest.skip('no tool here')\n",
        test_guarded="import pytest\n\nmissing = pytest.importorskip('no_such_module_here')\n\n\n"
                     "def test_uses_it():\n    assert missing\n",
        test_marked="import pytest\n\n\n@pytest.mark.skipif(True, reason='not on this platform')\n"
                    "def test_marked():\n    assert False\n")
    result = suite.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines_random([
        "*3 skipped: a skipped test did not run, so this run fails*",
        "SKIPPED test_skipped.py::test_not_run: no tool here",
        "SKIPPED test_guarded.py: *no_such_module_here*",
        "SKIPPED test_marked.py::test_marked: not on this platform"])
