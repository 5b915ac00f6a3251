"""Load every template at start, refuse the bad ones all together, and render with a second check.

Load: each file's front matter must be valid, its Jinja2 must parse, the variables it uses must be
exactly the ones it declares, the required disclosures must be in its SOURCE, no banned phrase may be
in it, and a message a third party may read may use no debt variable and no debt word. Every problem
of every file is reported in one ``BadInput``.

Render: the context is checked against the declared variables (money as integer minor units plus one
``currency``, dates as ``datetime.date``), money and dates are formatted for the template's language
(Babel), Jinja2 renders with ``StrictUndefined`` (and autoescape for email and letters), and the
rendered text is checked again, because a value can smuggle in what the source does not say.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jinja2
import jinja2.meta
from babel.dates import format_date
from babel.numbers import format_decimal

from arrears.money import MoneyError, display, exponent
from arrears.problems import BadInput, Problem
from arrears.templates import content_rules as cr
from arrears.templates.front_matter import META_RULE, TemplateMeta, parse

MESSAGES = Path(__file__).parent / "messages"
SUFFIX = ".j2"
AUTOESCAPED = frozenset({"email", "letter"})
INJECTED = frozenset({"collector_role"})  # set by render(), never by the caller's context


@dataclass(frozen=True, slots=True)
class LoadedTemplate:
    meta: TemplateMeta
    source: str
    file: str
    compiled: jinja2.Template
    mentions_court: bool  # static court/suit wording: never usable on a time-barred debt


def _environment(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _problem(where: str, finding: cr.Finding) -> Problem:
    return Problem(None, None, f"{where}: {finding.rule}: {finding.message}")


def load_checks(meta: TemplateMeta, source: str, used: frozenset[str]) -> tuple[cr.Finding, ...]:
    """The load-time content rules for one parsed template (pure)."""
    out: list[cr.Finding] = []
    declared = frozenset(meta.variables)
    for name in sorted(used - declared - INJECTED):
        out.append(cr.Finding(META_RULE, f"uses undeclared variable {name!r}"))
    for name in sorted(declared - used):
        out.append(cr.Finding(META_RULE, f"declares variable {name!r} but never uses it"))
    for name in sorted(declared & INJECTED):
        out.append(cr.Finding(META_RULE, f"{name!r} is set by render() and cannot be declared"))
    out += cr.check_disclosures(
        source, meta.jurisdictions, meta.channel, meta.audience, meta.purpose, meta.collector_roles
    )
    out += cr.check_banned(source, meta.jurisdictions)
    if cr.limited_content(meta.purpose, meta.audience):
        out += cr.check_debt_variables(declared | used, meta.jurisdictions, meta.purpose)
        out += cr.check_no_debt_disclosure(source, meta.jurisdictions, meta.purpose)
    if meta.purpose in cr.PURPOSE_VARIABLES:
        rule, names = cr.PURPOSE_VARIABLES[meta.purpose]
        for name in names:
            if name not in declared:
                out.append(cr.Finding(rule, f"a {meta.purpose} must state {name!r}"))
    if meta.purpose in cr.PURPOSE_PHRASES:
        rule, phrases = cr.PURPOSE_PHRASES[meta.purpose]
        if not cr.contains_any(source, phrases):
            out.append(cr.Finding(rule, f"a {meta.purpose} must contain {phrases[0]!r}"))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class TemplateSet:
    """Every template, keyed by (template_id, language)."""

    templates: Mapping[tuple[str, str], LoadedTemplate]

    def get(self, template_id: str, language: str) -> LoadedTemplate:
        try:
            return self.templates[(template_id, language)]
        except KeyError:
            raise BadInput(
                [Problem(None, None, f"no template {template_id!r} in language {language!r}")]
            ) from None

    def render(
        self,
        template_id: str,
        language: str,
        context: Mapping[str, Any],
        *,
        time_barred: bool,
        audience: str,
        collector_role: str = "third_party",
    ) -> str:
        t = self.get(template_id, language)
        where = f"{template_id}.{language}"
        findings = _context_findings(t.meta, context, audience, collector_role)
        if findings:
            raise BadInput([_problem(where, f) for f in findings])
        values = _formatted(t.meta, context)
        text = t.compiled.render(**values, collector_role=collector_role)
        findings = render_checks(t.meta, text, time_barred=time_barred, collector_role=collector_role)
        if findings:
            raise BadInput([_problem(where, f) for f in findings])
        return text


def render_checks(
    meta: TemplateMeta, text: str, *, time_barred: bool, collector_role: str
) -> tuple[cr.Finding, ...]:
    """The render-time content rules over the final text (pure)."""
    out = list(
        cr.check_disclosures(
            text, meta.jurisdictions, meta.channel, meta.audience, meta.purpose, (collector_role,)
        )
    )
    out += cr.check_banned(text, meta.jurisdictions)
    if cr.limited_content(meta.purpose, meta.audience):
        out += cr.check_no_debt_disclosure(text, meta.jurisdictions, meta.purpose)
    if time_barred:
        out += cr.check_time_barred(text, meta.jurisdictions)
    return tuple(out)


def _context_findings(
    meta: TemplateMeta, context: Mapping[str, Any], audience: str, collector_role: str
) -> list[cr.Finding]:
    out: list[cr.Finding] = []
    if audience != meta.audience:
        if audience == "third_party":
            rules = cr.LOCATION_RULES if meta.purpose == "location_enquiry" else cr.THIRD_PARTY_RULES
            out += [
                cr.Finding(rules[j], "a borrower's message cannot be sent to a third party")
                for j in meta.jurisdictions
            ]
        else:
            out.append(cr.Finding(META_RULE, f"template is for audience {meta.audience!r}, "
                                             f"not {audience!r}"))
    if collector_role not in cr.COLLECTOR_ROLES:
        out.append(cr.Finding(META_RULE, f"collector_role {collector_role!r} is not one of "
                                         f"{', '.join(cr.COLLECTOR_ROLES)}"))
    elif "US" in meta.jurisdictions and collector_role not in meta.collector_roles:
        out.append(cr.Finding("US-FALSE", f"not written for a {collector_role} collector"))
    needs_currency = "money" in meta.variables.values()
    expected = set(meta.variables) | ({"currency"} if needs_currency else set())
    for name in sorted(expected - set(context)):
        out.append(cr.Finding(META_RULE, f"context lacks {name!r}"))
    for name in sorted(set(context) - expected):
        out.append(cr.Finding(META_RULE, f"context has unexpected {name!r}"))
    if needs_currency and "currency" in context:
        try:
            exponent(context["currency"])
        except MoneyError as e:
            out.append(cr.Finding(META_RULE, str(e)))
    for name, kind in meta.variables.items():
        if name not in context:
            continue
        v = context[name]
        ok = {
            "money": isinstance(v, int) and not isinstance(v, bool),
            "int": isinstance(v, int) and not isinstance(v, bool),
            "date": isinstance(v, dt.date) and not isinstance(v, dt.datetime),
            "text": isinstance(v, str),
        }[kind]
        if not ok:
            what = "integer minor units" if kind == "money" else kind
            out.append(cr.Finding(META_RULE, f"{name!r} must be {what}, got {type(v).__name__}"))
    if meta.purpose == "gb_default_notice" and not out:
        days = (context["remedy_by"] - context["sent_on"]).days
        if days < cr.GB_DEFAULT_MIN_DAYS:
            out.append(cr.Finding("GB-DEFAULT", f"remedy_by is {days} days after sent_on; "
                                                f"at least {cr.GB_DEFAULT_MIN_DAYS} are required"))
    return out


def _formatted(meta: TemplateMeta, context: Mapping[str, Any]) -> dict[str, Any]:
    locale = meta.language.replace("-", "_")
    out: dict[str, Any] = {}
    for name, kind in meta.variables.items():
        v = context[name]
        if kind == "money":
            out[name] = display(v, context["currency"], meta.language)
        elif kind == "date":
            out[name] = format_date(v, "long", locale=locale)
        elif kind == "int":
            out[name] = format_decimal(v, locale=locale)
        else:
            out[name] = v
    return out


def load_templates(directory: Path | None = None) -> TemplateSet:
    """Load and check every ``*.j2`` file under ``directory`` (default: the shipped messages)."""
    directory = MESSAGES if directory is None else directory
    problems: list[Problem] = []
    loaded: dict[tuple[str, str], LoadedTemplate] = {}
    envs = {True: _environment(True), False: _environment(False)}
    for path in sorted(directory.rglob(f"*{SUFFIX}")):
        name = path.relative_to(directory).as_posix()
        meta, body, findings = parse(path.read_text(encoding="utf-8"))
        if meta is None:
            problems += [_problem(name, f) for f in findings]
            continue
        found: list[cr.Finding] = []
        if path.name != f"{meta.id}.{meta.language}{SUFFIX}":
            found.append(cr.Finding(META_RULE, f"file must be named {meta.id}.{meta.language}{SUFFIX}"))
        if (meta.id, meta.language) in loaded:
            found.append(cr.Finding(META_RULE, f"{meta.id} in {meta.language} is defined twice"))
        env = envs[meta.channel in AUTOESCAPED]
        try:
            used = frozenset(jinja2.meta.find_undeclared_variables(env.parse(body)))
            compiled = env.from_string(body)
        except jinja2.TemplateSyntaxError as e:
            problems.append(_problem(name, cr.Finding(META_RULE, f"Jinja2 syntax: {e} (line {e.lineno})")))
            continue
        found += load_checks(meta, body, used)
        if found:
            problems += [_problem(name, f) for f in found]
            continue
        loaded[(meta.id, meta.language)] = LoadedTemplate(
            meta=meta, source=body, file=name, compiled=compiled,
            mentions_court=bool(cr.court_words(body)),
        )
    problems += _translation_problems(loaded)
    if problems:
        raise BadInput(problems, source=str(directory))
    return TemplateSet(MappingProxyType(loaded))


def _translation_problems(loaded: Mapping[tuple[str, str], LoadedTemplate]) -> list[Problem]:
    """Translations of one template id must be the same message: same channel, purpose, variables."""
    first: dict[str, LoadedTemplate] = {}
    out = []
    for (tid, _), t in sorted(loaded.items()):
        ref = first.setdefault(tid, t)
        m, r = t.meta, ref.meta
        if (m.channel, m.purpose, m.audience, m.jurisdictions, dict(m.variables)) != (
            r.channel, r.purpose, r.audience, r.jurisdictions, dict(r.variables)
        ):
            out.append(_problem(t.file, cr.Finding(
                META_RULE, f"differs from {ref.file} in channel, purpose, audience, "
                           "jurisdictions or variables")))
    return out


@cache
def default_templates() -> TemplateSet:
    """The shipped templates, loaded (and checked) on first use."""
    return load_templates()


def render(
    template_id: str,
    language: str,
    context: Mapping[str, Any],
    *,
    time_barred: bool,
    audience: str,
    collector_role: str = "third_party",
) -> str:
    """Render a shipped template, refusing (``BadInput``) anything a content rule forbids."""
    return default_templates().render(
        template_id, language, context,
        time_barred=time_barred, audience=audience, collector_role=collector_role,
    )
