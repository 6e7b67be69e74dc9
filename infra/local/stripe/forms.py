"""Stripe's form encoding: ``a[b][c]=x``, ``items[0][price]=p`` and ``expand[]=y`` into nested dicts.

Every value stays a string (Stripe's SDKs send ``true``/``false`` and decimal digits); lists stay
dicts keyed by their index until ``Params`` reads them as lists, because ``metadata[0]=x`` is a
dict with the key ``"0"``, not a list.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from infra.local.stripe.errors import invalid

MAX_FIELDS = 2000
MAX_DEPTH = 6
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")

Form = dict[str, Any]


def split_key(key: str) -> list[str]:
    """``a[b][0]`` -> ``["a", "b", "0"]``; ``expand[]`` -> ``["expand", ""]``."""
    match = _KEY.match(key)
    if match is None:
        raise invalid(f"Invalid parameter name: {key}", param=key)
    parts = [match.group(1), *_PART.findall(match.group(2))]
    if len(parts) > MAX_DEPTH:
        raise invalid(f"Parameter nested too deeply: {key}", param=key)
    return parts


def parse_form(text: str) -> Form:
    """The nested parameters of an ``application/x-www-form-urlencoded`` body or query string."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError as exc:
        raise invalid(f"Too many parameters (at most {MAX_FIELDS})") from exc
    form: Form = {}
    for key, value in pairs:
        _put(form, split_key(key), value, key)
    return form


def _put(form: Form, parts: list[str], value: str, key: str) -> None:
    node = form
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        name = str(len(node)) if part == "" else part  # "a[]" appends
        if last:
            if isinstance(node.get(name), dict):
                raise invalid(f"Invalid value for {key}: it is also given as a hash", param=key)
            node[name] = value
            return
        child = node.setdefault(name, {})
        if not isinstance(child, dict):
            raise invalid(f"Invalid hash for {key}: it is also given as a string", param=key)
        node = child
