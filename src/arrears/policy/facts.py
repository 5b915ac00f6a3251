"""The facts a pack's parameters are compared against: one registry, checked when a pack loads.

Each parameter key names a limit; the engine compares it with one fact column that the close or the
contact history produces. A key with no fact behind it would be a limit nobody enforces, so loading
a pack fails on it. Counting conventions live here, next to the column, because they are where the
law is most often misread (US-FREQ: unanswered calls count, calls that never connect do not).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Fact:
    key: str  # the parameter key, spelling out comparison and unit
    column: str  # the fact column it is compared against
    meaning: str


FACTS: tuple[Fact, ...] = (
    # Platform
    Fact("visit_min_balance", "balance_outstanding",
         "balance owed, in minor units of the loan's currency"),
    Fact("sms_per_local_day_at_most", "sms_local_day",
         "SMS sent to the person on the borrower's local calendar day"),
    Fact("sms_per_7_days_at_most", "sms_7d", "SMS sent to the person in the last 7 days"),
    Fact("emails_per_local_day_at_most", "emails_local_day",
         "emails sent to the person on the borrower's local calendar day"),
    # Time of day, in the person's location (every candidate zone when unknown or conflicting)
    Fact("local_hours_from", "local_time", "local time at the person's location"),
    Fact("local_hours_until", "local_time", "local time at the person's location"),
    # United States
    Fact("placed_calls_in_7_days_at_most", "placed_calls_7d",
         "calls placed to the person about the debt in 7 consecutive days, all numbers; "
         "unanswered calls count, calls that never connect and inbound calls do not"),
    Fact("days_since_phone_conversation_at_least", "days_since_phone_conversation",
         "days since the last telephone conversation about the debt (conversation day = day 1, "
         "so 7 means the first call allowed is on day 8)"),
    Fact("replies_after_opt_out_at_most", "replies_since_opt_out",
         "messages sent through an opted-out address or number since the opt-out"),
    Fact("days_from_first_communication_to_validation_notice_at_most",
         "days_first_communication_to_validation_notice",
         "days between the first communication and the validation notice"),
    Fact("validation_period_days_at_least", "days_since_validation_notice_receipt",
         "days since the assumed receipt of the validation notice"),
    Fact("location_contacts_per_third_party_at_most", "location_contacts_this_third_party",
         "location-information contacts with this third party"),
    Fact("days_after_pre_furnishing_message_at_least", "days_since_pre_furnishing_message",
         "days since the letter or e-message sent before first furnishing"),
    Fact("servicemember_annual_interest_percent_at_most", "annual_interest_rate_percent",
         "annual interest rate charged, in percent"),
    Fact("consent_revocation_business_days_at_most", "business_days_since_consent_revocation",
         "business days since the consumer revoked consent to robocalls or texts"),
    Fact("calls_texts_voicemails_to_personal_numbers_in_7_days_at_most",
         "calls_texts_voicemails_personal_7d",
         "calls, texts and voicemails to the person's personal numbers in 7 days, per debt"),
    Fact("calls_texts_voicemails_to_other_numbers_in_30_days_at_most",
         "calls_texts_voicemails_other_30d",
         "calls, texts and voicemails to the person's other numbers in 30 days, per debt"),
    Fact("household_visits_in_30_days_at_most", "household_visits_30d",
         "visits to the household in 30 days"),
    # China
    Fact("connected_calls_per_local_day_at_most", "connected_calls_local_day",
         "connected collection calls on the debtor's local day, lender and all agencies together"),
    Fact("conversations_per_local_day_at_most", "conversations_local_day",
         "effective conversations on the debtor's local day, lender and all agencies together"),
    Fact("days_without_right_party_contact_at_least", "days_since_right_party_contact",
         "days since the debtor was last reached"),
    Fact("contacts_per_pre_agreed_contact_at_most", "contacts_this_pre_agreed_contact",
         "contacts ever made with this pre-agreed contact"),
    Fact("credit_report_dispute_reply_days_at_most", "days_since_credit_report_dispute",
         "days since a credit-report dispute was received, while unanswered"),
    # United Kingdom
    Fact("contacts_in_7_days_at_most", "contacts_7d", "contacts with the customer in 7 days"),
    Fact("contacts_in_30_days_at_most", "contacts_30d", "contacts with the customer in 30 days"),
    Fact("recovery_pause_for_debt_advice_days_at_least", "days_since_debt_advice_notice",
         "days since the customer said a plan is being prepared with a debt adviser"),
    Fact("breathing_space_days_at_least", "days_since_breathing_space_start",
         "days since a breathing space started"),
    Fact("missed_payments_before_arrears_notice_at_most", "missed_payments",
         "contractual payments missed"),
    Fact("days_to_remedy_after_default_notice_at_least", "days_since_default_notice",
         "days since the default notice was served"),
    Fact("days_after_default_sums_notice_before_interest_at_least",
         "days_since_default_sums_notice", "days since the notice of default sums"),
)

_BY_KEY = {f.key: f for f in FACTS}


def fact_for(key: str) -> Fact | None:
    return _BY_KEY.get(key)
