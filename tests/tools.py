"""External programs some tests drive: skipped where a developer lacks one, a failure under CI.

`.ci/run` installs every one of them, so a missing program there is a broken install step, not a
reason to pass without the test.
"""

import os
import shutil

import pytest


def require_program(command, install):
    """The path of `command`; skips (or, with CI set, fails) naming how to `install` it."""
    path = shutil.which(command)
    if path is None:
        message = f"{command} is not installed: {install}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; .ci/run is expected to install it")
        pytest.skip(message)
    return path
