"""The oracle's own reading of FIELD-NOTES §4: every number and vocabulary it checks against.

Written out here, not loaded from the policy packs, so that a wrong pack and a wrong engine cannot
agree with each other through shared data. Legal floors and platform defaults are marked.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal

# Hours: from <= local time < until, in every candidate zone. US-TIME legal floor; CN-HOURS platform
# default (the legal bound is 22:00); GB-CONTACT practice.
HOURS = {
    "US": (time(8, 0), time(21, 0), "US-TIME"),
    "CN": (time(8, 0), time(21, 0), "CN-HOURS"),
    "GB": (time(8, 0), time(21, 0), "GB-CONTACT"),
}

US_FREQ_CALLS, US_FREQ_DAYS = 7, 7  # legal floor: more than 7 placed calls in 7 consecutive days
US_FREQ_AFTER_CONVERSATION_DAYS = 7  # the conversation's day is day 1
US_CONSENT_DAYS = 7  # 1006.14(b)(3): calls within 7 days of the consumer's consent are not counted
US_MA_PERSONAL = (2, 7)  # (at most, days): calls, texts and voicemails to a personal number
US_MA_OTHER = (2, 30)  # to any other number
US_MA_VISITS = (1, 30)  # household visits
CN_FREQ_CONNECTED = 3  # a day, lender and agencies together
CN_FREQ_CONVERSATIONS = 3
CN_3P_UNREACHABLE_DAYS = 7  # platform default
SMS_PER_DAY, SMS_PER_WEEK = 1, 3  # platform default (ARREARS-SMS)
EMAIL_PER_DAY = 1  # platform default (ARREARS-EMAIL)
GB_FREQ_WEEK, GB_FREQ_MONTH = 3, 10  # platform default (ACCC/ASIC benchmark); a month is 30 days
GB_BREATHING_DAYS = 60  # the moratorium holds this long even if lifted early

# Platform defaults (ARREARS-VISIT-MIN), in major units. A currency not listed has no minimum, so
# no visit in it is allowed: a visit nobody priced is not a visit anybody approved.
VISIT_MINIMUM = {"CNY": Decimal("3000"), "USD": Decimal("750"), "GBP": Decimal("600")}
MINOR_DIGITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3}

TELEPHONE = frozenset({"agent_call", "robocall"})
TEXTS = frozenset({"sms", "app_push"})  # app_push counts as a text for ARREARS-SMS
CHANNELS = frozenset({"sms", "email", "robocall", "agent_call", "letter", "field_visit", "app_push"})
# An opt-out or an oral "stop" closes a family: "stop calling" is about both telephone channels.
FAMILY = {"agent_call": "call", "robocall": "call", "sms": "sms", "app_push": "app_push",
          "email": "email", "letter": "letter", "field_visit": "field_visit"}
WRITTEN_CHANNELS = frozenset({"letter", "email", "sms"})  # a request through these is in writing

# INTERFACE.md's outcome table, for an outbound telephone call: (placed, connected, conversation).
NEVER_CONNECTED = frozenset({"not_connected", "busy"})
UNANSWERED = frozenset({"no_answer", "voicemail"})
CONVERSATION = frozenset({
    "right_party_contact", "promise_to_pay", "refused_to_pay", "offer_declined",
    "settlement_accepted", "plan_accepted", "hardship", "complaint",
})
# A person stated one of these, so on a call somebody spoke: a conversation, the strict reading.
STATEMENTS = frozenset({
    "dispute", "cease_request", "opt_out", "call_consent", "no_calls_at_work", "preferred_hours",
    "attorney_represented", "bankruptcy", "deceased", "vulnerable", "breathing_space",
})
NOT_DELIVERED = frozenset({"undeliverable", "not_connected", "busy", "no_answer"})
THIRD_PARTY_REFUSAL = frozenset({
    "refused_to_pay", "cease_request", "opt_out", "offer_declined", "complaint",
})

# US-3P: who counts as "the consumer" (1006.6(a)) besides the borrower. A guarantor owes the debt.
US_CONSUMER_RELATIONS = frozenset({"spouse", "guardian", "estate_representative", "guarantor"})
COLLECTOR_ROLES = frozenset({"first_party", "third_party", "debt_buyer"})

# Outcomes (and flag names) that set a borrower fact, with the fact's name.
OUTCOME_FACT = {
    "dispute": "dispute", "attorney_represented": "attorney", "bankruptcy": "bankruptcy",
    "deceased": "deceased", "vulnerable": "vulnerable", "breathing_space": "breathing_space",
    "no_calls_at_work": "no_calls_at_work",
}
