"""What a collection message must say and must never say, as data, with pure checks over text.

The same checks run twice: on a template's SOURCE when it loads (so a bad template never ships) and
on the RENDERED text (because a variable's value can smuggle in what the source does not contain).
Every check returns all it finds as ``Finding`` values; nothing here raises or reads a file.

Matching is done on normalised text (``normalise``): NFKC (full-width letters and digits become
ASCII), case-folded, HTML tags stripped and entities decoded (an autoescaped email is checked as the
reader sees it), whitespace folded, and runs of letter-spaced characters joined ("j a i l" -> "jail").
Chinese phrases are also looked for with every space removed, since Chinese has no spaces to lose.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

# --- vocabulary -------------------------------------------------------------------------------

CHANNELS = ("sms", "email", "letter", "agent_call", "robocall")
ELECTRONIC = frozenset({"sms", "email"})  # US-OPTOUT: every email and text carries an opt-out
LANGUAGES = ("en", "zh-CN")
AUDIENCES = ("borrower", "third_party")
JURISDICTIONS = ("CN", "US", "GB")
COLLECTOR_ROLES = ("first_party", "third_party", "debt_buyer")
PURPOSES = (
    "reminder", "demand", "settlement_offer", "plan_offer", "location_enquiry", "validation_notice",
    "cn_prereport_notice", "gb_nosia", "gb_default_notice", "voicemail", "payment_confirmation",
)
# Limited-content messages (Reg F 1006.2(j)) may be heard by anyone: they follow third-party rules
# (no debt words, no debt variables) even though they are meant for the borrower.
LIMITED_CONTENT_PURPOSES = frozenset({"voicemail", "location_enquiry"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One content rule broken: the rule id of FIELD-NOTES §4 (or a platform id) and why."""

    rule: str
    message: str


# --- phrase matching ----------------------------------------------------------------------------
# A phrase is plain text. A trailing "*" makes it a prefix ("arrest*" also finds "arrested");
# otherwise Latin phrases must match whole words ("court" does not find "courtesy"). Words inside a
# phrase may be separated by any whitespace. Chinese phrases match as substrings.

_TAG = re.compile(r"<[^>]{0,200}>")
_SPACES = re.compile(r"\s+")
# three or more single letters separated by single spaces or dots: "j a i l", "j.a.i.l"
_LETTER_SPACED = re.compile(r"\b(?:\w[ .]){2,}\w\b")
_CJK = re.compile(r"[\u3400-\u9fff]")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _TAG.sub("", html.unescape(text)).casefold()
    text = _SPACES.sub(" ", text)
    return _LETTER_SPACED.sub(lambda m: re.sub(r"[ .]", "", m.group()), text)


def _compact(normalised: str) -> str:
    return normalised.replace(" ", "")


@cache
def _pattern(phrase: str) -> re.Pattern[str]:
    prefix = phrase.endswith("*")
    words = phrase.rstrip("*").casefold().split()
    body = r"\s*".join(re.escape(w) for w in words)
    return re.compile(rf"\b{body}" + ("" if prefix else r"\b"))


def find_phrases(text: str, phrases: Iterable[str]) -> tuple[str, ...]:
    """The phrases (as written in the rule data) that occur in ``text``, in rule order."""
    norm = normalise(text)
    compact = _compact(norm)
    found = []
    for phrase in phrases:
        if _CJK.search(phrase):
            hit = phrase in compact
        else:
            hit = _pattern(phrase).search(norm) is not None
        if hit:
            found.append(phrase)
    return tuple(found)


def contains_any(text: str, phrases: Iterable[str]) -> bool:
    return bool(find_phrases(text, phrases))


# --- banned phrases (any language, any template, any audience) -----------------------------------
# Both lists are checked against every text: an English threat in a Chinese message is still a threat.
# kind "threat": arrest, prison, police, criminal talk. kind "exposure": telling family, employer,
# friends, contacts or the public about the debt (the article's "address book explosions").

BANNED: dict[str, tuple[str, ...]] = {
    "threat": (
        "arrest*", "jail*", "prison*", "imprison*", "police*", "criminal*", "warrant*",
        "handcuff*", "detain*", "detention",
        "逮捕", "坐牢", "拘留", "判刑", "入狱", "监狱", "刑事", "犯罪", "公安", "警察", "报警",
    ),
    "exposure": (
        "your family", "your relatives", "your employer", "your boss", "your colleagues",
        "your coworkers", "your co-workers", "your friends", "your neighbours", "your neighbors",
        "your contacts", "contacts will be notified", "address book", "phone book", "social media",
        "expose*", "shame*", "blacklist*", "publish your",
        "通讯录", "联系人", "家人", "家属", "亲友", "亲属", "亲朋", "朋友", "同事", "邻居", "领导",
        "工作单位", "你单位", "您单位", "你的单位", "您的单位", "曝光", "公开你", "公开您",
        "黑名单", "朋友圈", "社交媒体",
    ),
}

# Which rule a banned phrase breaks, per jurisdiction. US: false threats of arrest are 1006.18
# (US-FALSE); telling others is 1006.14 harassment (US-HARASS). CN: both are CN-BEHAV. GB has no
# listed id for threats, so CONC 7.3.10's pressure rule (GB-PRESSURE) and the no-disclosure rule
# (GB-CONTACT) are used.
BANNED_RULES: dict[tuple[str, str], str] = {
    ("US", "threat"): "US-FALSE", ("US", "exposure"): "US-HARASS",
    ("CN", "threat"): "CN-BEHAV", ("CN", "exposure"): "CN-BEHAV",
    ("GB", "threat"): "GB-PRESSURE", ("GB", "exposure"): "GB-CONTACT",
}

# --- time-barred debts: no court or suit wording at all --------------------------------------------
# US-TIMEBAR in the US. CN and GB have no listed id; the platform applies the same rule everywhere as
# ARREARS-TIMEBAR. Statements that the lender will NOT sue (some US states require one on time-barred
# debt) are removed before looking, so the required disclosure is not refused.

COURT_WORDS = (
    "court", "courts", "sue", "sued", "sues", "suing", "lawsuit*", "legal action*",
    "legal proceedings", "litigation", "judgment*", "judgement*", "garnish*", "attorney*", "solicitor*",
    "起诉", "诉讼", "法院", "法律程序", "司法", "仲裁", "律师", "强制执行",
)
NOT_SUING = (
    "we will not sue you", "we cannot sue you", "we can not sue you", "will not take legal action",
    "不会起诉", "不会提起诉讼",
)
TIMEBAR_RULES = {"US": "US-TIMEBAR", "CN": "ARREARS-TIMEBAR", "GB": "ARREARS-TIMEBAR"}


def court_words(text: str) -> tuple[str, ...]:
    norm = normalise(text)
    for phrase in NOT_SUING:
        norm = _pattern(phrase).sub(" ", norm) if not _CJK.search(phrase) else norm.replace(phrase, " ")
    return find_phrases(norm, COURT_WORDS)


# --- third parties are never told of a debt ------------------------------------------------------
# US-3P / US-LOC, CN-3P, GB-CONTACT. Checked on the source, the variables and the rendered text.

DEBT_WORDS = (
    "debt*", "owe", "owed", "owes", "owing", "overdue", "arrears", "loan*", "borrow*", "lend*",
    "credit*", "collect*", "repay*", "payment*", "balance*", "delinquen*", "default*", "instal*",
    "欠", "债", "逾期", "贷款", "借款", "还款", "催收", "账单", "网贷", "贷", "分期",
)
DEBT_VARIABLES = frozenset({
    "amount_due", "balance", "arrears_amount", "settlement_amount", "instalment", "total_due",
    "principal", "interest", "fees", "loan_id", "account_number", "dpd", "due_date", "pay_by",
    "creditor_name", "itemization_date", "amount_on_itemization_date",
})
THIRD_PARTY_RULES = {"US": "US-3P", "CN": "CN-3P", "GB": "GB-CONTACT"}
LOCATION_RULES = {"US": "US-LOC", "CN": "CN-3P", "GB": "GB-CONTACT"}

# --- required disclosures ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Disclosure:
    """Text that must appear: any one of ``any_of`` (normalised match) satisfies it."""

    rule: str
    name: str
    jurisdictions: frozenset[str]
    channels: frozenset[str]
    audiences: frozenset[str]
    collector_roles: frozenset[str]
    any_of: tuple[str, ...]


_ALL_ROLES = frozenset(COLLECTOR_ROLES)
_DEBT_CHANNELS = frozenset(CHANNELS)

# Opt-out: US-OPTOUT in the US; the platform requires the same in CN and GB (ARREARS-OPTOUT).
# Mini-Miranda (FDCPA 807(11), Reg F 1006.18(e)), reported as US-FALSE: a third-party collector or
# debt buyer says "This is a communication from a debt collector" in every borrower message. A lender
# collecting its own loans is not an FDCPA debt collector and must not claim to be one; its letters,
# emails and call scripts say "This is an attempt to collect a debt" instead (the Rosenthal/state-law
# practice). Limited-content voicemails and location enquiries carry neither (a third party must not
# learn of a debt).
DISCLOSURES: tuple[Disclosure, ...] = (
    Disclosure(
        rule="US-OPTOUT", name="opt-out", jurisdictions=frozenset({"US"}), channels=ELECTRONIC,
        audiences=frozenset(AUDIENCES), collector_roles=_ALL_ROLES,
        any_of=("reply stop", "text stop", "unsubscribe", "回复td退订", "回td退订", "退订回t"),
    ),
    Disclosure(
        rule="ARREARS-OPTOUT", name="opt-out", jurisdictions=frozenset({"CN", "GB"}),
        channels=ELECTRONIC, audiences=frozenset(AUDIENCES), collector_roles=_ALL_ROLES,
        any_of=("reply stop", "text stop", "unsubscribe", "回复td退订", "回td退订", "退订回t"),
    ),
    Disclosure(
        rule="US-FALSE", name="mini-Miranda (debt collector)", jurisdictions=frozenset({"US"}),
        channels=_DEBT_CHANNELS, audiences=frozenset({"borrower"}),
        collector_roles=frozenset({"third_party", "debt_buyer"}),
        any_of=("this is a communication from a debt collector",),
    ),
    Disclosure(
        rule="US-FALSE", name="mini-Miranda (creditor)", jurisdictions=frozenset({"US"}),
        channels=frozenset({"letter", "email", "agent_call"}), audiences=frozenset({"borrower"}),
        collector_roles=frozenset({"first_party"}),
        any_of=("this is an attempt to collect a debt",),
    ),
)

# Purpose-specific content: what a statutory notice must name. Variables are checked at load.
PURPOSE_VARIABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "validation_notice": (
        "US-VALID", ("creditor_name", "itemization_date", "amount_on_itemization_date",
                     "amount_due", "validation_end_on"),
    ),
    "cn_prereport_notice": ("CN-CR-NOTICE", ("report_on", "amount_due")),
    "gb_nosia": ("GB-NOSIA", ("arrears_amount", "balance")),
    "gb_default_notice": ("GB-DEFAULT", ("sent_on", "remedy_by", "arrears_amount")),
}
PURPOSE_PHRASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "gb_nosia": ("GB-NOSIA", ("arrears information sheet",)),
    "gb_default_notice": ("GB-DEFAULT", ("default notice",)),
    "cn_prereport_notice": ("CN-CR-NOTICE", ("金融信用信息基础数据库",)),
}
GB_DEFAULT_MIN_DAYS = 14  # s.88(2) CCA 1974: at least 14 days after service to remedy


def limited_content(purpose: str, audience: str) -> bool:
    """True when the message must not reveal a debt (third parties, voicemails)."""
    return audience == "third_party" or purpose in LIMITED_CONTENT_PURPOSES


def required_disclosures(
    jurisdictions: Iterable[str], channel: str, audience: str, purpose: str, collector_role: str
) -> tuple[Disclosure, ...]:
    out = []
    for d in DISCLOSURES:
        if d.rule == "US-FALSE" and limited_content(purpose, audience):
            continue
        if (
            d.jurisdictions.intersection(jurisdictions)
            and channel in d.channels
            and audience in d.audiences
            and collector_role in d.collector_roles
        ):
            out.append(d)
    return tuple(out)


# --- checks ------------------------------------------------------------------------------------


def check_banned(text: str, jurisdictions: Iterable[str]) -> tuple[Finding, ...]:
    out = []
    for kind, phrases in BANNED.items():
        for phrase in find_phrases(text, phrases):
            for j in sorted(set(jurisdictions)):
                out.append(Finding(BANNED_RULES[(j, kind)], f"banned phrase {phrase.rstrip('*')!r}"))
    return tuple(out)


def check_disclosures(
    text: str,
    jurisdictions: Iterable[str],
    channel: str,
    audience: str,
    purpose: str,
    collector_roles: Iterable[str],
) -> tuple[Finding, ...]:
    """Every disclosure required for any of ``collector_roles`` must be present in ``text``."""
    seen: dict[Disclosure, None] = {}
    for role in collector_roles:
        for d in required_disclosures(jurisdictions, channel, audience, purpose, role):
            seen.setdefault(d)
    return tuple(
        Finding(d.rule, f"missing required {d.name} text (one of {', '.join(map(repr, d.any_of))})")
        for d in seen
        if not contains_any(text, d.any_of)
    )


def check_no_debt_disclosure(
    text: str, jurisdictions: Iterable[str], purpose: str
) -> tuple[Finding, ...]:
    rules = LOCATION_RULES if purpose == "location_enquiry" else THIRD_PARTY_RULES
    return tuple(
        Finding(rules[j], f"debt word {phrase.rstrip('*')!r} in a message a third party may read")
        for phrase in find_phrases(text, DEBT_WORDS)
        for j in sorted(set(jurisdictions))
    )


def check_debt_variables(
    variables: Iterable[str], jurisdictions: Iterable[str], purpose: str
) -> tuple[Finding, ...]:
    rules = LOCATION_RULES if purpose == "location_enquiry" else THIRD_PARTY_RULES
    return tuple(
        Finding(rules[j], f"debt variable {v!r} in a message a third party may read")
        for v in sorted(set(variables) & DEBT_VARIABLES)
        for j in sorted(set(jurisdictions))
    )


def check_time_barred(text: str, jurisdictions: Iterable[str]) -> tuple[Finding, ...]:
    return tuple(
        Finding(TIMEBAR_RULES[j], f"court or suit wording {w.rstrip('*')!r} on a time-barred debt")
        for w in court_words(text)
        for j in sorted(set(jurisdictions))
    )
