"""Property tests: any JSON-shaped event payload and any typed parameter value comes back equal
from both databases (JSON columns and the typed key/value table are portable)."""

import itertools
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.storage import Storage, ValidationFailed

from .helpers import at

# JSON as the event bus produces it: finite numbers, any unicode text except NUL (which
# PostgreSQL text cannot hold), nested lists and objects.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_keys = itertools.count()


@SETTINGS
@given(payload=st.dictionaries(TEXT, JSON, max_size=5))
def test_event_payload_round_trips(store: Storage, payload: dict[str, Any]) -> None:
    seq = store.events.append("Probe", payload, at())
    (event,) = store.events.since(seq - 1, limit=1)
    assert event.payload == payload


@SETTINGS
@given(
    value=st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
    | st.dictionaries(TEXT, JSON, max_size=3)
    | st.lists(JSON, max_size=3)
)
def test_param_value_and_type_round_trip(store: Storage, value: Any) -> None:
    key = f"p{next(_keys)}"
    store.params.set(key, value, at())
    got = store.params.get(key)
    assert got == value
    assert type(got) is type(value)


def test_non_finite_numbers_are_refused_on_both_databases(store: Storage) -> None:
    start = store.events.last_seq()
    for bad in (math.nan, math.inf):
        with pytest.raises(ValidationFailed):
            store.events.append("Probe", {"x": bad}, at())
    assert store.events.since(start) == []
