"""JSON text indented by two spaces, exactly as ``json.dumps(data,
indent=2)`` writes it, in half the time: with an indent the standard
library encodes in pure Python through nested generators (CPython < 3.14),
and a year of one volume's history is 400 kB of it.  Strings are escaped
by the standard library's C functions; anything else than dict, list,
tuple, str, int, float, bool and None (a key that is not a string, a
cycle) is left to the standard library whole."""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring, encode_basestring_ascii


class _Unusual(Exception):
    pass


def indented(data, ensure_ascii: bool = True) -> str:
    """``json.dumps(data, indent=2, ensure_ascii=ensure_ascii)``."""
    quote = encode_basestring_ascii if ensure_ascii else encode_basestring
    out: list[str] = []
    put = out.append

    def encode(value, pad: str, depth: int) -> None:
        if isinstance(value, str):
            put(quote(value))
        elif value is None:
            put("null")
        elif value is True:
            put("true")
        elif value is False:
            put("false")
        elif type(value) is int:
            put(int.__repr__(value))
        elif type(value) is float:
            put(float.__repr__(value) if math.isfinite(value) else json.dumps(value))
        elif depth > 100:  # deeper than any document of ours: maybe a cycle, which json reports
            raise _Unusual
        elif isinstance(value, dict):
            if not value:
                put("{}")
                return
            inner = pad + "  "
            sep = "{\n" + inner
            for key, item in value.items():
                if type(key) is not str:
                    raise _Unusual
                put(sep)
                put(quote(key))
                put(": ")
                encode(item, inner, depth + 1)
                sep = ",\n" + inner
            put("\n" + pad + "}")
        elif isinstance(value, (list, tuple)):
            if not value:
                put("[]")
                return
            inner = pad + "  "
            sep = "[\n" + inner
            for item in value:
                put(sep)
                encode(item, inner, depth + 1)
                sep = ",\n" + inner
            put("\n" + pad + "]")
        else:
            raise _Unusual

    try:
        encode(data, "", 0)
    except _Unusual:
        return json.dumps(data, indent=2, ensure_ascii=ensure_ascii)
    return "".join(out)
