"""Candidate time zones: every zone a person may be in when an action reaches them.

The evidence, in order:

1. An explicit IANA ``timezone`` decides alone.
2. Otherwise the union of the address's zones and the phone number's zones.
   - The address: a region maps to *every* zone it spans (``data/region_zones.toml``). A region that
     is missing or unknown maps to every zone of its country. A partial address is completed from
     the jurisdiction: a region without a country takes the jurisdiction's country, and a country
     without a region takes the jurisdiction's region (``US-FL`` gives ``US`` and ``FL``).
   - The phone: libphonenumber's prefix data (``phonenumbers.timezone``); its ``Etc/Unknown`` counts
     as nothing known.
3. With neither, the jurisdiction's zones (``US-XX``: the state's; ``CN``; ``GB``).
4. Otherwise nothing: ``()``.

Several candidates mean an action must be allowed in every one of them (FIELD-NOTES US-TIME). They
are resolved at import and stored as text: the names sorted and joined by ``;`` (``join_zones``,
``split_zones``). ``zones_column`` does the same for a whole frame, calling the rules once per
distinct input.

Pure: the standard library, Polars and phonenumbers only. phonenumbers is imported on first use.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from types import MappingProxyType

import polars as pl

from arrears.problems import BadInput, Problem

SEPARATOR = ";"
TABLE = "data/region_zones.toml"
_UNKNOWN = "Etc/Unknown"  # what phonenumbers answers when it knows nothing
# Tried, one at a time, when a region's name is not found as written: "浙江省" is 浙江, "New York
# City" is New York. Compared after normalising (case folded, only letters and digits kept).
_SUFFIXES = (
    "autonomousregion", "municipality", "province", "zizhiqu", "sheng", "state", "city", "shi",
    "自治区", "省", "市",
)


@dataclass(frozen=True, slots=True)
class Country:
    """One country of the table: its regions by every accepted spelling, and all of its zones."""

    zones: tuple[str, ...]  # every zone of the country: for a missing or unknown region
    regions: Mapping[str, tuple[str, ...]]  # normalised code or name -> the region's zones


# --------------------------------------------------------------------------- scalar API


def candidate_zones(
    timezone: str | None,
    country: str | None,
    region: str | None,
    phone: str | None,
    jurisdiction: str | None = None,
) -> tuple[str, ...]:
    """The candidate zones of one person, sorted and unique (see the module docstring)."""
    if _clean(timezone) is not None:
        return (timezone.strip(),)
    return _decide(None, country, region, jurisdiction, phone_zones(phone))


def phone_zones(phone: str | None) -> tuple[str, ...]:
    """The zones libphonenumber gives an E.164 number, sorted; () when it knows none."""
    phone = _clean(phone)
    return () if phone is None else _phone_zones_cached(phone)


def phone_zones_uncached(phone: str | None) -> tuple[str, ...]:
    """``phone_zones`` without its cache, for callers that deduplicate numbers themselves."""
    phone = _clean(phone)
    if phone is None:
        return ()
    parse, error, zones_for = _phonenumbers()
    try:
        number = parse(phone, None)
    except error:
        return ()
    return tuple(sorted(z for z in zones_for(number) if z != _UNKNOWN))


def region_zones(country: str | None, region: str | None) -> tuple[str, ...]:
    """The zones of an address: its region's, or every zone of its country; () for an unknown country."""
    code = _country_code(country)
    entry = _table().get(code)
    if entry is None:
        return ()
    region = _clean(region)
    if region is None:
        return entry.zones
    return _find_region(entry, code, region) or entry.zones


def jurisdiction_zones(jurisdiction: str | None) -> tuple[str, ...]:
    """The zones of a jurisdiction: ``US-XX`` the state's, ``CN`` and ``GB`` the country's."""
    country, region = _split_jurisdiction(jurisdiction)
    return region_zones(country, region)


def join_zones(zones: Iterable[str]) -> str | None:
    """The stored form: sorted unique names joined by ``;``, or None for no zone at all."""
    names = sorted(set(zones))
    return SEPARATOR.join(names) if names else None


def split_zones(text: str | None) -> tuple[str, ...]:
    """The zones of a stored value (None or empty: no zone)."""
    return tuple(z for z in (text or "").split(SEPARATOR) if z)


# --------------------------------------------------------------------------- frames


def zones_column(
    frame: pl.DataFrame,
    *,
    timezone: str | None = "timezone",
    country: str | None = "country",
    region: str | None = "region",
    phone: str | None = "phone",
    jurisdiction: str | None = "jurisdiction",
    name: str = "zones",
) -> pl.Series:
    """``join_zones(candidate_zones(...))`` for every row of ``frame``, as a String Series.

    Each argument names the column holding that evidence; None (or a column the frame lacks) means
    the evidence is absent for every row. Work is done per distinct value, never per row: a phone is
    looked up once per distinct number, and only where no explicit zone decides; the rules run once
    per distinct (timezone, country, region, jurisdiction, phone zones). The phone's zones depend on
    the whole number (libphonenumber checks that the number is valid for its type before using the
    prefix), so numbers are deduplicated whole, not by prefix.
    """
    n = frame.height

    def column(c: str | None) -> pl.Series:
        if c is None or c not in frame.columns:
            return pl.Series([None] * n, dtype=pl.String)
        return frame.get_column(c).cast(pl.String)

    tz, ph = column(timezone), column(phone)
    deciding = [z for z in tz.drop_nulls().unique().to_list() if _clean(z) is not None]
    looked_up = ph.filter(~tz.is_in(deciding).fill_null(False) & ph.is_not_null()).unique().to_list()
    by_phone = {p: SEPARATOR.join(phone_zones_uncached(p)) for p in looked_up}
    keys = pl.DataFrame(
        {
            "timezone": tz,
            "country": column(country),
            "region": column(region),
            "jurisdiction": column(jurisdiction),
            # A phone is replaced by its zones: rows differing only in the number group together.
            "from_phone": ph.replace_strict(by_phone, default=None, return_dtype=pl.String)
            if by_phone
            else pl.Series([None] * n, dtype=pl.String),
        }
    )
    # group_by treats nulls as equal keys; the rules run once per group and the answers go back to
    # the rows through their indices.
    groups = keys.with_row_index("row").group_by(keys.columns).agg("row")
    answers = [
        join_zones(_decide(tz_, country_, region_, jurisdiction_, split_zones(from_phone)))
        for tz_, country_, region_, jurisdiction_, from_phone in groups.drop("row").iter_rows()
    ]
    return (
        groups.select("row", pl.Series(name, answers, dtype=pl.String))
        .explode("row")
        .sort("row")
        .get_column(name)
    )


# --------------------------------------------------------------------------- the rules


def _decide(
    timezone: str | None,
    country: str | None,
    region: str | None,
    jurisdiction: str | None,
    from_phone: tuple[str, ...],
) -> tuple[str, ...]:
    if _clean(timezone) is not None:
        return (timezone.strip(),)
    j_country, j_region = _split_jurisdiction(jurisdiction)
    country, region = _clean(country), _clean(region)
    found = set(from_phone)
    if country is not None or region is not None:
        if country is None:
            country = j_country
        if region is None and (country or "").upper() == j_country:
            region = j_region
        found.update(region_zones(country, region))
    if not found:
        found.update(region_zones(j_country, j_region))
    return tuple(sorted(found))


def _split_jurisdiction(jurisdiction: str | None) -> tuple[str | None, str | None]:
    """``US-MA`` -> (US, MA); ``CN`` -> (CN, None)."""
    j = _clean(jurisdiction)
    if j is None:
        return None, None
    country, _, region = j.upper().partition("-")
    return country, (region or None)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _country_code(country: str | None) -> str:
    return (_clean(country) or "").upper()


def _normalise(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _find_region(entry: Country, country: str, region: str) -> tuple[str, ...] | None:
    if region.upper().startswith(f"{country}-"):  # an ISO 3166-2 code written whole: US-FL
        region = region[len(country) + 1 :]
    key = _normalise(region)
    if key in entry.regions:
        return entry.regions[key]
    for suffix in _SUFFIXES:
        if key.endswith(suffix) and key[: -len(suffix)] in entry.regions:
            return entry.regions[key[: -len(suffix)]]
    return None


@lru_cache(maxsize=65_536)
def _phone_zones_cached(phone: str) -> tuple[str, ...]:
    return phone_zones_uncached(phone)


@cache
def _phonenumbers():
    """phonenumbers' parse, its error and the time zone lookup, imported on first use."""
    from phonenumbers import NumberParseException, parse
    from phonenumbers.timezone import time_zones_for_number

    return parse, NumberParseException, time_zones_for_number


# --------------------------------------------------------------------------- the table


@cache
def _table() -> Mapping[str, Country]:
    text = files("arrears.policy").joinpath(TABLE).read_text(encoding="utf-8")
    return parse_table(text, TABLE)


def parse_table(text: str, source: str) -> Mapping[str, Country]:
    """The region table from TOML text; every problem in it is reported together (BadInput)."""
    problems: list[Problem] = []

    def bad(where: str, message: str) -> None:
        problems.append(Problem(None, f"{source}: {where}", message))

    def zone_list(raw: object, where: str) -> tuple[str, ...]:
        if not isinstance(raw, list) or not raw or not all(isinstance(z, str) and z for z in raw):
            bad(where, "must be a non-empty list of zone names")
            return ()
        if list(raw) != sorted(set(raw)):
            bad(where, "must be sorted, without repeats")
        return tuple(raw)

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise BadInput([Problem(None, source, f"not valid TOML: {e}")], source=source) from e
    out: dict[str, Country] = {}
    for code, body in doc.items():
        if len(code) != 2 or not code.isupper() or not isinstance(body, dict):
            bad(code, "must be a table named by an ISO 3166 country code")
            continue
        for k in set(body) - {"zones", "regions"}:
            bad(f"{code}.{k}", "unknown key")
        own = zone_list(body["zones"], f"{code}.zones") if "zones" in body else ()
        regions: dict[str, tuple[str, ...]] = {}
        owner: dict[str, str] = {}  # normalised spelling -> the region code it names
        every = set(own)
        raw_regions = body.get("regions", {})
        if not own and not raw_regions:
            bad(code, "needs zones or regions")
        for rcode, entry in raw_regions.items():
            where = f"{code}.regions.{rcode}"
            if not isinstance(entry, dict) or set(entry) - {"names", "zones"} or "zones" not in entry:
                bad(where, "must be { names = [...], zones = [...] }")
                continue
            zones = zone_list(entry["zones"], f"{where}.zones")
            every.update(zones)
            names = entry.get("names", [])
            if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
                bad(f"{where}.names", "must be a list of strings")
                names = []
            for spelling in (rcode, *names):
                key = _normalise(spelling)
                if not key:
                    bad(f"{where}.names", f"{spelling!r} has no letters or digits")
                elif owner.setdefault(key, rcode) != rcode:
                    bad(f"{where}.names", f"{spelling!r} also names {code}.regions.{owner[key]}")
                else:
                    regions[key] = zones
        out[code] = Country(tuple(sorted(every)), MappingProxyType(regions))
    if problems:
        raise BadInput(problems, source=source)
    return MappingProxyType(out)


def table() -> Mapping[str, Country]:
    """The shipped region table (read once)."""
    return _table()
