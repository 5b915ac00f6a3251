"""A template file: TOML front matter between ``+++`` lines, then the Jinja2 body.

The front matter is strict: unknown keys, unknown values and missing keys are all reported (rule id
``ARREARS-TEMPLATE``), every one of them, never just the first.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from arrears.templates.content_rules import (
    AUDIENCES,
    CHANNELS,
    COLLECTOR_ROLES,
    JURISDICTIONS,
    LANGUAGES,
    PURPOSES,
    Finding,
)

META_RULE = "ARREARS-TEMPLATE"
VARIABLE_KINDS = ("text", "money", "date", "int")
FENCE = "+++"

_REQUIRED = ("id", "channel", "language", "purpose", "audience", "jurisdictions", "variables")
_OPTIONAL = ("collector_roles", "description")


@dataclass(frozen=True, slots=True)
class TemplateMeta:
    id: str
    channel: str
    language: str
    purpose: str
    audience: str
    jurisdictions: tuple[str, ...]
    variables: MappingProxyType[str, str]  # name -> kind (text, money, date, int)
    collector_roles: tuple[str, ...] = COLLECTOR_ROLES  # US only: who may send it
    description: str = ""


def split(raw: str) -> tuple[str, str] | None:
    """(front matter, body), or None when the file does not start with a ``+++`` block."""
    lines = raw.splitlines(keepends=True)
    if not lines or lines[0].strip() != FENCE:
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() == FENCE:
            return "".join(lines[1:i]), "".join(lines[i + 1 :])
    return None


def _one_of(data: dict[str, Any], key: str, allowed: tuple[str, ...], out: list[Finding]) -> None:
    value = data.get(key)
    if value not in allowed:
        out.append(Finding(META_RULE, f"{key} {value!r} is not one of {', '.join(allowed)}"))


def _list_of(
    data: dict[str, Any], key: str, allowed: tuple[str, ...], out: list[Finding]
) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        out.append(Finding(META_RULE, f"{key} must be a non-empty list"))
        return ()
    bad = [v for v in value if v not in allowed]
    if bad:
        out.append(Finding(META_RULE, f"{key} {bad!r}: each must be one of {', '.join(allowed)}"))
    return tuple(value)


def parse(raw: str) -> tuple[TemplateMeta | None, str, tuple[Finding, ...]]:
    """Parse a template file into its metadata and body, with every problem in the metadata."""
    parts = split(raw)
    if parts is None:
        return None, "", (Finding(META_RULE, f"no front matter: the file must start with {FENCE}"),)
    head, body = parts
    try:
        data = tomllib.loads(head)
    except tomllib.TOMLDecodeError as e:
        return None, body, (Finding(META_RULE, f"front matter is not valid TOML: {e}"),)

    out: list[Finding] = []
    for key in _REQUIRED:
        if key not in data:
            out.append(Finding(META_RULE, f"front matter lacks {key!r}"))
    for key in sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL)):
        out.append(Finding(META_RULE, f"unknown front matter key {key!r}"))
    if not isinstance(data.get("id"), str) or not data.get("id", "").isidentifier():
        out.append(Finding(META_RULE, f"id {data.get('id')!r} must be a lower_case identifier"))
    _one_of(data, "channel", CHANNELS, out)
    _one_of(data, "language", LANGUAGES, out)
    _one_of(data, "purpose", PURPOSES, out)
    _one_of(data, "audience", AUDIENCES, out)
    jurisdictions = _list_of(data, "jurisdictions", JURISDICTIONS, out)
    roles = (
        _list_of(data, "collector_roles", COLLECTOR_ROLES, out)
        if "collector_roles" in data
        else COLLECTOR_ROLES
    )
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        out.append(Finding(META_RULE, "variables must be a table of name = kind"))
        variables = {}
    for name, kind in variables.items():
        if kind not in VARIABLE_KINDS:
            out.append(
                Finding(META_RULE, f"variable {name!r}: kind {kind!r} is not one of "
                        f"{', '.join(VARIABLE_KINDS)}")
            )
    if out:
        return None, body, tuple(out)
    meta = TemplateMeta(
        id=data["id"],
        channel=data["channel"],
        language=data["language"],
        purpose=data["purpose"],
        audience=data["audience"],
        jurisdictions=jurisdictions,
        variables=MappingProxyType(dict(variables)),
        collector_roles=roles,
        description=str(data.get("description", "")),
    )
    return meta, body, ()
