"""Which ACD core this process imported: the unit tests run once on the Python sources (the
default of ``make test``'s unit run, for coverage) and once on the mypyc build
(tests/component/native/test_acd_compiled.py runs this directory again with it), and this test
makes sure each run got the core it asked for."""

from __future__ import annotations

import os

import pytest

import callcenter.acd.engine
import callcenter.acd.router
from callcenter import _compiled


def test_the_core_is_the_one_asked_for() -> None:
    expected = os.environ.get("CALLCENTER_EXPECT_ACD_COMPILED")
    if expected is None:
        pytest.skip("no core asked for (CALLCENTER_EXPECT_ACD_COMPILED is unset)")
    files = [callcenter.acd.engine.__file__, callcenter.acd.router.__file__]
    if expected == "1":
        assert _compiled.active(), _compiled.reason()
        assert all(str(f).endswith(".so") for f in files), files
    else:
        assert not _compiled.active()
        assert all(str(f).endswith(".py") for f in files), files
