"""Encoding and hashing functions: jsonencode jsondecode yamlencode base64encode base64decode sha256 sha1
md5 uuidv5.

jsonencode writes compact JSON with map keys sorted, as Terraform does; yamlencode
writes YAML 1.2 block style. Hashes are of the string's UTF-8 bytes, in hex.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import uuid
from typing import Any

from kvmstate.config.functions.base import FunctionError, function, string


@function
def jsonencode(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise FunctionError(f"the value cannot be written as JSON ({exc})") from None


@function
def jsondecode(text: Any) -> Any:
    text = string(text, "the argument")
    try:
        return json.loads(text, parse_int=lambda s: int(s) if len(s) <= 300 else float(s))
    except (ValueError, RecursionError) as exc:
        raise FunctionError(f"the string is not valid JSON: {str(exc)[:80]}") from None


@function
def yamlencode(value: Any) -> str:
    from ruamel.yaml import YAML
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    out = io.StringIO()
    yaml.dump(value, out)
    return out.getvalue()


@function
def base64encode(text: Any) -> str:
    return base64.b64encode(string(text, "the argument").encode()).decode()


@function
def base64decode(text: Any) -> str:
    try:
        return base64.b64decode(string(text, "the argument"), validate=True).decode()
    except (binascii.Error, ValueError):
        raise FunctionError("the string is not valid base64 of UTF-8 text") from None


def _hash(name: str, text: Any) -> str:
    return hashlib.new(name, string(text, "the argument").encode()).hexdigest()


@function
def sha256(text: Any) -> str:
    return _hash("sha256", text)


@function
def sha1(text: Any) -> str:
    return _hash("sha1", text)


@function
def md5(text: Any) -> str:
    return _hash("md5", text)


_NAMESPACES = {"dns": uuid.NAMESPACE_DNS, "url": uuid.NAMESPACE_URL, "oid": uuid.NAMESPACE_OID,
               "x500": uuid.NAMESPACE_X500}


@function
def uuidv5(namespace: Any, name: Any) -> str:
    """A name-based UUID: the namespace is dns, url, oid, x500 or a UUID."""
    ns = string(namespace, "the namespace")
    try:
        space = _NAMESPACES.get(ns) or uuid.UUID(ns)
    except ValueError:
        raise FunctionError(f"the namespace {ns!r} is neither dns, url, oid, x500 nor a UUID") from None
    return str(uuid.uuid5(space, string(name, "the name")))


