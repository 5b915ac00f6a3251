"""Candidate time zones of a person, from the oracle's own small region table.

Evidence: an explicit ``timezone`` alone; else the phone's zones (libphonenumber) together with the
address's region zones (a region spans every zone it touches; a missing or unknown region spans its
whole country); else the jurisdiction's zones.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo

from phonenumbers import NumberParseException, parse
from phonenumbers import timezone as phone_timezone

_E, _C, _M, _P = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"
# States crossing a time-zone line span both zones; Arizona keeps standard time but the Navajo
# Nation does not; the Aleutians are on Hawaii-Aleutian time.
_US_STATES = {
    "AL": ("alabama", _C), "AK": ("alaska", "America/Anchorage", "America/Adak"),
    "AZ": ("arizona", "America/Phoenix", _M), "AR": ("arkansas", _C),
    "CA": ("california", _P), "CO": ("colorado", _M), "CT": ("connecticut", _E),
    "DE": ("delaware", _E), "DC": ("districtofcolumbia", _E), "FL": ("florida", _E, _C),
    "GA": ("georgia", _E), "HI": ("hawaii", "Pacific/Honolulu"), "ID": ("idaho", _M, _P),
    "IL": ("illinois", _C), "IN": ("indiana", _E, _C), "IA": ("iowa", _C),
    "KS": ("kansas", _C, _M), "KY": ("kentucky", _E, _C), "LA": ("louisiana", _C),
    "ME": ("maine", _E), "MD": ("maryland", _E), "MA": ("massachusetts", _E),
    "MI": ("michigan", _E, _C), "MN": ("minnesota", _C), "MS": ("mississippi", _C),
    "MO": ("missouri", _C), "MT": ("montana", _M), "NE": ("nebraska", _C, _M),
    "NV": ("nevada", _P, _M), "NH": ("newhampshire", _E), "NJ": ("newjersey", _E),
    "NM": ("newmexico", _M), "NY": ("newyork", _E), "NC": ("northcarolina", _E),
    "ND": ("northdakota", _C, _M), "OH": ("ohio", _E), "OK": ("oklahoma", _C),
    "OR": ("oregon", _P, _M), "PA": ("pennsylvania", _E), "RI": ("rhodeisland", _E),
    "SC": ("southcarolina", _E), "SD": ("southdakota", _C, _M), "TN": ("tennessee", _E, _C),
    "TX": ("texas", _C, _M), "UT": ("utah", _M), "VT": ("vermont", _E), "VA": ("virginia", _E),
    "WA": ("washington", _P), "WV": ("westvirginia", _E), "WI": ("wisconsin", _C),
    "WY": ("wyoming", _M),
}
_CN_ALL = ("Asia/Shanghai", "Asia/Urumqi")  # Xinjiang time is widely kept beside Beijing time
_XINJIANG = frozenset({"xj", "65", "xinjiang", "新疆", "新疆维吾尔自治区", "xinjianguygur"})
_COUNTRY = {"us": "US", "usa": "US", "unitedstates": "US", "cn": "CN", "china": "CN", "中国": "CN",
            "prc": "CN", "gb": "GB", "uk": "GB", "unitedkingdom": "GB", "greatbritain": "GB"}


def _norm(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _us_region(region: str | None) -> tuple[str, ...]:
    key = _norm(region or "")
    for code, (name, *zones) in _US_STATES.items():
        if key in (code.casefold(), name):
            return tuple(zones)
    return tuple(sorted({z for _, *zs in _US_STATES.values() for z in zs}))


def region_zones(country: str, region: str | None) -> tuple[str, ...]:
    if country == "US":
        return _us_region(region)
    if country == "CN":
        key = _norm(region or "").removesuffix("省")
        if not key or key in _XINJIANG or key.startswith("xinjiang") or key.startswith("新疆"):
            return _CN_ALL
        return ("Asia/Shanghai",)
    if country == "GB":
        return ("Europe/London",)
    return ()


def phone_zones(phone: str | None) -> tuple[str, ...]:
    if not phone:
        return ()
    try:
        found = phone_timezone.time_zones_for_number(parse(phone, None))
    except NumberParseException:
        return ()
    return tuple(z for z in found if z != "Etc/Unknown")


def _jurisdiction(jurisdiction: str | None) -> tuple[str, str | None]:
    country, _, state = (jurisdiction or "").partition("-")
    return country.upper(), (state or None)


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def candidate_zones(
    jurisdiction: str | None,
    timezone: str | None = None,
    phone: str | None = None,
    country: str | None = None,
    region: str | None = None,
    has_address: bool = False,
) -> tuple[ZoneInfo, ...]:
    """Every zone the person may be in, sorted by name; empty when nothing at all is known."""
    if timezone:
        return (zone(timezone),)
    j_country, j_state = _jurisdiction(jurisdiction)
    names = set(phone_zones(phone))
    if has_address or country or region:
        c = _COUNTRY.get(_norm(country or ""), j_country)
        names |= set(region_zones(c, region or (j_state if c == j_country else None)))
    if not names:
        names = set(region_zones(j_country, j_state))
    return tuple(zone(n) for n in sorted(names))
