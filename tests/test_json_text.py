"""json_text.indented writes exactly what json.dumps(indent=2) writes."""

import json
import math

import pytest
from hypothesis import given, strategies as st

from coda_restore.json_text import indented

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)


@given(documents, st.booleans())
def test_same_text_as_the_standard_library(doc, ensure_ascii):
    assert indented(doc, ensure_ascii) == json.dumps(doc, indent=2, ensure_ascii=ensure_ascii)


@pytest.mark.parametrize("doc", [{1: "int key"}, {"x": [1, {None: 2}]}, {"nan": math.nan, "inf": -math.inf},
                                 {"flag": True, "n": 0, "e": [], "o": {}}])
def test_unusual_documents_as_the_standard_library_writes_them(doc):
    assert indented(doc) == json.dumps(doc, indent=2)


def test_what_json_refuses_is_refused():
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError):
        indented(loop)
    with pytest.raises(TypeError):
        indented({"x": object()})
