"""Fixtures of the commerceml tests: where the real CommerceML collection lives.

The real files are read in place, never copied into the repository: ``CML_REAL_FIXTURES``, by default
``<repo>/../shared/fixtures/real``. Without them the tests that need them skip with the reason; when
``CI`` is set they fail instead, so a CI run can never pass by skipping the conformance suite.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["real_fixtures_dir", "require_real_fixtures"]


def real_fixtures_dir() -> Path:
    """The folder of real CommerceML files (may not exist)."""
    default = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "real"
    return Path(os.environ.get("CML_REAL_FIXTURES", default))


def require_real_fixtures() -> Path:
    """The real-files folder; skips the test when it is absent (fails when ``CI`` is set)."""
    folder = real_fixtures_dir()
    if not folder.is_dir():
        reason = f"real CommerceML fixtures not found at {folder} (set CML_REAL_FIXTURES)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so this is a failure, not a skip")
        pytest.skip(reason)
    return folder


@pytest.fixture(scope="session")
def real_fixtures() -> Path:
    """The folder of real CommerceML files (``CML_REAL_FIXTURES``)."""
    return require_real_fixtures()
