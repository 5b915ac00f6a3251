"""The exact rule ids of FIELD-NOTES.md §4, and the words a rule's ``applies_to`` may use.

A blocked action names the rules that blocked it, so a misspelt id would quietly stop matching
reports, tests and the regulator's vocabulary. Packs may add an id not listed here only when they
mark the rule ``new = true`` and give a ``reason``.
"""

from __future__ import annotations

PLATFORM_IDS = (
    "ARREARS-HOLD",
    "ARREARS-VISIT-MIN",
    "ARREARS-SMS",
    "ARREARS-EMAIL",
    "ARREARS-3P-SOURCE",
)
US_IDS = (
    "US-FREQ",
    "US-TIME",
    "US-ATTY",
    "US-WORK",
    "US-OPTOUT",
    "US-VALID",
    "US-DISPUTE",
    "US-CEASE",
    "US-3P",
    "US-LOC",
    "US-PASSIVE",
    "US-TIMEBAR",
    "US-HARASS",
    "US-FALSE",
    "US-UNFAIR",
    "US-MA",
    "US-BK",
    "US-DECEASED",
    "US-SCRA",
    "US-TCPA",
)
CN_IDS = (
    "CN-HOURS",
    "CN-FREQ",
    "CN-3P",
    "CN-BEHAV",
    "CN-REC",
    "CN-AMOUNT",
    "CN-CAP",
    "CN-CR-NOTICE",
)
GB_IDS = (
    "GB-FORB",
    "GB-PRESSURE",
    "GB-CONTACT",
    "GB-DISPUTE",
    "GB-VULN",
    "GB-BREATHING",
    "GB-SFS",
    "GB-FREQ",
    "GB-NOSIA",
    "GB-DEFAULT",
    "GB-DEFAULT-SUMS",
)
RULE_IDS = PLATFORM_IDS + US_IDS + CN_IDS + GB_IDS

# What a rule may be about. "Channels" include the non-contact actions that rules also stop
# (furnishing to a bureau, legal action, placing the debt with an agency), because US-DISPUTE,
# US-PASSIVE, US-TIMEBAR and the holds name them. ``["*"]`` in a pack includes them; an explicit
# list of contact channels (the hours rules) does not.
CHANNELS = (
    "call",
    "robocall",
    "voicemail",
    "sms",
    "email",
    "letter",
    "visit",
    "social_media",
    "bureau_report",
    "legal_action",
    "agency_placement",
)
PARTIES = (
    "consumer",
    "attorney",
    "co_signer",
    "estate_representative",
    "pre_agreed_contact",
    "third_party",
    "address_book_contact",
)
COLLECTOR_ROLES = ("first_party", "third_party", "debt_buyer")
