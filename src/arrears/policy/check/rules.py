"""Each rule the engine checks, as a Polars expression over the facts of many actions at once.

A ``Check`` names its rule id, the condition that blocks, and the plain explanation. It binds an
action only when the rule is in the effective pack of the action's borrower (pack key and collector
role), the action's channel is in the rule's ``applies_to.channels`` and the party's kind in its
``parties``. ``cap`` checks depend on counts that earlier actions of the batch change; they are
re-evaluated until the batch's decisions are stable (``engine``).

Rules in the packs that no action can break are enforced elsewhere, named in ``ENFORCED_ELSEWHERE``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from arrears.money import EXPONENTS


@dataclass(frozen=True)
class Check:
    rule: str
    blocked: pl.Expr
    why: pl.Expr
    cap: bool = False


def P(rule: str, key: str) -> pl.Expr:  # noqa: N802 - reads like the pack: P("US-FREQ", "...")
    return pl.col(f"{rule}.{key}")


def _t(text: str) -> pl.Expr:
    return pl.lit(text)


def money(minor: pl.Expr) -> pl.Expr:
    """Minor units as ``CNY 4200.00``, in the action's loan currency (exponents are 0, 2 or 3)."""
    exp = pl.col("currency").replace_strict(EXPONENTS, default=2, return_dtype=pl.Int64)
    scale = pl.lit(10, pl.Int64).pow(exp)
    whole = (minor // scale).cast(pl.String)
    frac = (minor % scale).cast(pl.String)
    return (
        pl.when(exp == 0).then(pl.format("{} {}", pl.col("currency"), whole))
        .when(exp == 3).then(pl.format("{} {}.{}", pl.col("currency"), whole, frac.str.zfill(3)))
        .otherwise(pl.format("{} {}.{}", pl.col("currency"), whole, frac.str.zfill(2)))
    )


col = pl.col
action = col("action")
kind = col("party_kind")
third = ~kind.is_in(["consumer", "attorney"])
offer_too_high = col("offer_amount").is_not_null() & (col("receivable").is_null() | (col("offer_amount") > col("receivable")))
# The latest local date among the candidate zones: barred if barred in any of them.
time_barred = col("time_barred_on").is_not_null() & (col("time_barred_on") <= col("d_max"))
suit = (action == "legal_action") | col("t_court").fill_null(False)
needs_template = col("channel").is_in(["sms", "email", "letter", "app_push"]) & action.is_in(
    ["sms", "email", "letter", "settlement_offer", "plan_offer"])
bad_template = (
    (needs_template & col("template_id").is_null())
    | (col("template_id").is_not_null() & col("t_purpose").is_null())
    | (col("t_channel").is_not_null() & (col("t_channel") != col("channel"))
       & ~((col("channel") == "app_push") & (col("t_channel") == "sms")))
    | (col("t_jurisdictions").is_not_null() & ~col("t_jurisdictions").list.contains(col("jurisdiction").str.slice(0, 2)))
    | (col("t_roles").is_not_null() & col("jurisdiction").str.starts_with("US-")
       & ~col("t_roles").list.contains(col("collector_role")))
)
borrower_text_to_third = third & (col("template_id").is_null() | (col("t_audience") != "third_party"))
hours_bad = ~col("hours_ok").fill_null(True) | ~col("pref_ok").fill_null(True)
hours_why = pl.when(~col("pref_ok").fill_null(True)).then(
    pl.format("outside the hours the person asked for ({}–{} local time)",
              col("pref_from_text"), col("pref_until_text"))
).otherwise(pl.format("outside {}–{} local time in {}", col("hours_from_text"), col("hours_until_text"),
                      col("zones").list.join(", ")))
at_work = col("no_calls_at_work") & col("address_used").eq_missing(col("work_phone")) & col("work_phone").is_not_null()
optout_closed = col("opted_out") & ~(col("inbound_after_optout") & ~col("oral_stop_since_optout")
    & (col("replies_since_optout") < P("ARREARS-OPTOUT", "replies_after_opt_out_at_most")))
optout_closed_us = col("opted_out") & ~(col("inbound_after_optout") & ~col("oral_stop_since_optout")
    & (col("replies_since_optout") < P("US-OPTOUT", "replies_after_opt_out_at_most")))
optout_why = pl.format("the person opted out of {} at this address on {}", col("family"), col("optout_on"))
validation_end = col("validation_sent_on") + pl.duration(days=7 + 30)  # receipt assumed 5 business days (≤ 7 days) after sending
tcpa_consent = col("tcpa_consent") | (
    (col("party") == "borrower") & (col("address_used").eq_missing(col("phone")) | col("address_used").eq_missing(col("work_phone"))))
days_since = lambda c: (col("d_min") - col(c)).dt.total_days()  # noqa: E731

CHECKS: tuple[Check, ...] = (
    # --- platform -----------------------------------------------------------------------------
    Check("ARREARS-HOLD", col("dispute_written") | col("cease") | col("contact_hold"),
          pl.when(col("contact_hold")).then(_t("a contact hold is in force (pause)"))
          .otherwise(_t("a written dispute or cease is in force: no contact but letters until it is lifted"))),
    Check("ARREARS-VISIT-MIN", col("visit_min").is_null() | col("receivable").is_null() | (col("receivable") < col("visit_min")),
          pl.when(col("visit_min").is_null()).then(pl.format("no minimum balance for visits is set for {}", col("currency")))
          .otherwise(pl.format("balance {} is below the visit minimum {}", money(col("receivable")), money(col("visit_min"))))),
    Check("ARREARS-SMS", (col("sms_day") >= P("ARREARS-SMS", "sms_per_local_day_at_most"))
          | (col("sms_7d") >= P("ARREARS-SMS", "sms_per_7_days_at_most")),
          pl.format("{} text(s) today and {} in 7 days already (at most {} a day, {} a week)", col("sms_day"),
                    col("sms_7d"), P("ARREARS-SMS", "sms_per_local_day_at_most"), P("ARREARS-SMS", "sms_per_7_days_at_most")),
          cap=True),
    Check("ARREARS-EMAIL", col("email_day") >= P("ARREARS-EMAIL", "emails_per_local_day_at_most"),
          pl.format("{} e-mail(s) today already (at most {})", col("email_day"), P("ARREARS-EMAIL", "emails_per_local_day_at_most")),
          cap=True),
    Check("ARREARS-3P-SOURCE", kind == "address_book_contact", _t("the person comes from a phone's address book")),
    Check("ARREARS-OPTOUT", optout_closed, optout_why, cap=True),
    Check("ARREARS-TIMEBAR", time_barred & suit, pl.format("the debt is time-barred since {}: no suit or threat of suit", col("time_barred_on"))),
    Check("ARREARS-AMOUNT", offer_too_high, pl.format("offer {} is more than the lawful receivable {}", money(col("offer_amount")), money(col("receivable")))),
    Check("ARREARS-ADDRESS", col("wrong_number") | col("undeliverable"),
          pl.format("{} is marked wrong or undeliverable", col("address_used"))),
    Check("ARREARS-VULN", col("vulnerable"), _t("the borrower is vulnerable: no visits or automated calls")),
    Check("ARREARS-TEMPLATE", bad_template,
          pl.when(col("template_id").is_null()).then(_t("a message needs a template"))
          .otherwise(pl.format("template {} ({}) does not fit this channel, jurisdiction or collector", col("template_id"), col("language")))),
    # --- United States ------------------------------------------------------------------------
    Check("US-FREQ", ~(col("days_since_call_consent") < 7).fill_null(False) & (
        (col("placed_7d") >= P("US-FREQ", "placed_calls_in_7_days_at_most"))
        | (col("days_since_conversation") < P("US-FREQ", "days_since_phone_conversation_at_least")).fill_null(False)),
          pl.when(col("placed_7d") >= P("US-FREQ", "placed_calls_in_7_days_at_most"))
          .then(pl.format("{} calls placed about this debt in 7 days (at most {})", col("placed_7d"), P("US-FREQ", "placed_calls_in_7_days_at_most")))
          .otherwise(pl.format("a telephone conversation {} day(s) ago: no call for {} days", col("days_since_conversation"),
                               P("US-FREQ", "days_since_phone_conversation_at_least"))), cap=True),
    Check("US-TIME", hours_bad, hours_why),
    Check("US-ATTY", col("attorney"), _t("the consumer is represented by an attorney: contact the attorney")),
    Check("US-WORK", at_work | ((col("family") == "email") & col("email_is_employer_provided").fill_null(False)
                                & col("address_used").eq_missing(col("email"))),
          pl.when(at_work).then(_t("the consumer said not to contact them at work"))
          .otherwise(_t("an employer-provided e-mail address is never used"))),
    Check("US-OPTOUT", optout_closed_us, optout_why, cap=True),
    Check("US-VALID",
          (col("validation_sent_on").is_null() & (col("days_since_first_contact") > P("US-VALID", "days_from_first_communication_to_validation_notice_at_most")).fill_null(False)
           & col("t_purpose").ne_missing("validation_notice"))
          | (col("offer_pay_by").is_not_null() & (col("offer_pay_by") < validation_end).fill_null(False)),
          pl.when(col("validation_sent_on").is_null()).then(_t("the validation notice is overdue: send it first"))
          .otherwise(pl.format("the offer's deadline falls inside the validation period (ends {})", validation_end.dt.date()))),
    Check("US-DISPUTE", col("dispute_written") & col("collector_role").is_in(["third_party", "debt_buyer"])
          & (col("dispute_written_on") <= validation_end).fill_null(False),
          _t("a written dispute within the validation period: collection stops until verification is sent")),
    Check("US-CEASE", col("cease"), _t("the consumer asked in writing to stop communication")),
    Check("US-3P", kind.is_in(["third_party", "co_signer"]) & col("t_purpose").ne_missing("location_enquiry"),
          _t("a third party may only be asked for location information, without a word of the debt")),
    Check("US-LOC", (kind == "third_party") & ((col("party_contacts") >= P("US-LOC", "location_contacts_per_third_party_at_most")) | borrower_text_to_third),
          pl.when(borrower_text_to_third).then(_t("a location enquiry must use a third-party template (no debt details)"))
          .otherwise(_t("this third party was already asked for location information")), cap=True),
    Check("US-PASSIVE", (action == "bureau_report") & col("days_since_conversation").is_null()
          & ~(col("days_since_pre_furnishing") >= P("US-PASSIVE", "days_after_pre_furnishing_message_at_least")).fill_null(False),
          _t("speak to the consumer or send a message 14 days before furnishing")),
    Check("US-TIMEBAR", time_barred & suit, pl.format("the debt is time-barred since {}: no suit or threat of suit", col("time_barred_on"))),
    Check("US-FALSE", offer_too_high, pl.format("offer {} is more than the amount owed {}", money(col("offer_amount")), money(col("receivable")))),
    Check("US-MA", pl.when(col("family") == "visit").then(col("visits_30d") >= P("US-MA", "household_visits_in_30_days_at_most"))
          .when(col("address_used").eq_missing(col("work_phone")) & col("work_phone").is_not_null())
          .then(col("ma_other_30d") >= P("US-MA", "calls_texts_voicemails_to_other_numbers_in_30_days_at_most"))
          .otherwise(col("ma_personal_7d") >= P("US-MA", "calls_texts_voicemails_to_personal_numbers_in_7_days_at_most")),
          pl.when(col("family") == "visit").then(pl.format("{} household visit(s) in 30 days", col("visits_30d")))
          .otherwise(pl.format("{} call(s) or text(s) to personal numbers in 7 days, {} to other numbers in 30 days",
                               col("ma_personal_7d"), col("ma_other_30d"))), cap=True),
    Check("US-BK", col("bankruptcy"), _t("a bankruptcy stay is in force")),
    Check("US-DECEASED", col("deceased") & ~(col("estate_rep_known") & col("relation").eq_missing("estate_representative")),
          _t("the borrower has died: only the estate's representative, once known")),
    Check("US-TCPA", ~tcpa_consent, _t("no prior express consent for automated calls or texts to this number")),
    # --- China --------------------------------------------------------------------------------
    Check("CN-HOURS", hours_bad, hours_why),
    Check("CN-FREQ", (col("connected_day") >= P("CN-FREQ", "connected_calls_per_local_day_at_most"))
          | (col("conversations_day") >= P("CN-FREQ", "conversations_per_local_day_at_most")),
          pl.format("{} connected call(s) and {} conversation(s) with the debtor today, lender and agencies together (at most {})",
                    col("connected_day"), col("conversations_day"), P("CN-FREQ", "connected_calls_per_local_day_at_most")), cap=True),
    Check("CN-3P",
          (kind == "address_book_contact") | col("consented_on").is_null() | (col("consented_on") > col("d_min")).fill_null(True)
          | col("party_refused") | (col("party_contacts") >= P("CN-3P", "contacts_per_pre_agreed_contact_at_most"))
          | borrower_text_to_third
          | ~(col("deceased") | ((col("days_since_reached").is_null() | (col("days_since_reached") >= P("CN-3P", "days_without_right_party_contact_at_least")))
                                 & (col("days_since_first_attempt") >= P("CN-3P", "days_without_right_party_contact_at_least")).fill_null(False))),
          pl.when(col("party_refused")).then(_t("this contact refused before: never again"))
          .when(col("consented_on").is_null() | (col("consented_on") > col("d_min")).fill_null(True)).then(_t("the borrower did not agree that this person may be contacted"))
          .when(col("party_contacts") >= P("CN-3P", "contacts_per_pre_agreed_contact_at_most")).then(_t("this contact was already reached once"))
          .when(borrower_text_to_third).then(_t("a contact may only be reached without debt details (third-party template)"))
          .otherwise(pl.format("the debtor is not unreachable: tried without reaching them for {} day(s) ({} needed)",
                               col("days_since_first_attempt").fill_null(0),
                               P("CN-3P", "days_without_right_party_contact_at_least"))), cap=True),
    Check("CN-BEHAV", (col("rule_channel") == "visit") & col("recording_ref").is_null(),
          _t("a field visit must be recorded in full: give the recording reference")),
    Check("CN-AMOUNT", offer_too_high, pl.format("offer {} exceeds the lawful receivable {} (capped amounts are not collectible)",
                                                 money(col("offer_amount")), money(col("receivable")))),
    Check("CN-CR-NOTICE", (action == "bureau_report") & ~col("cn_prereport"), _t("tell the borrower before reporting negative information")),
    # --- United Kingdom -----------------------------------------------------------------------
    Check("GB-CONTACT", hours_bad | at_work | borrower_text_to_third,
          pl.when(hours_bad).then(hours_why).when(at_work).then(_t("the customer asked not to be contacted at work"))
          .otherwise(_t("no disclosure to third parties: a third-party template is required"))),
    Check("GB-DISPUTE", col("dispute"), _t("the debt is disputed: recovery is suspended")),
    Check("GB-VULN", col("vulnerable"), _t("the customer is vulnerable: no field visits or automated dialling")),
    Check("GB-BREATHING", col("breathing_space") | (col("days_since_breathing_space") < P("GB-BREATHING", "breathing_space_days_at_least")).fill_null(False),
          _t("breathing space: no payment requests or enforcement")),
    Check("GB-FREQ", (col("contacts_7d") >= P("GB-FREQ", "contacts_in_7_days_at_most"))
          | (col("contacts_30d") >= P("GB-FREQ", "contacts_in_30_days_at_most")),
          pl.format("{} contacts in 7 days and {} in 30 (at most {} and {})", col("contacts_7d"), col("contacts_30d"),
                    P("GB-FREQ", "contacts_in_7_days_at_most"), P("GB-FREQ", "contacts_in_30_days_at_most")), cap=True),
    Check("GB-DEFAULT", col("gb_default_notice_on").is_null()
          | (days_since("gb_default_notice_on") < P("GB-DEFAULT", "days_to_remedy_after_default_notice_at_least")),
          _t("no enforcement before the default notice's 14 days to remedy have passed")),
    Check("GB-FORB", (col("days_since_debt_advice") < P("GB-FORB", "recovery_pause_for_debt_advice_days_at_least")).fill_null(False),
          _t("recovery is paused while a plan is prepared with a debt adviser")),
)

# Rules in the packs that no single action breaks. They are enforced where the thing they govern is.
ENFORCED_ELSEWHERE = {
    "US-HARASS": "the frequency caps (US-FREQ, ARREARS-SMS/EMAIL) and the templates' banned phrases",
    "US-UNFAIR": "the templates (no fees or postcards) and the channels offered (no social media)",
    "US-SCRA": "interest: the book's caps (the 6% servicemember cap is not modelled yet)",
    "CN-REC": "the audit log and its retention (arrears.audit)",
    "CN-CAP": "arrears.book.caps, day by day",
    "GB-PRESSURE": "the templates' banned phrases; the plan's offers",
    "GB-SFS": "the plan's offers (affordability)",
    "GB-NOSIA": "the plan (a duty to send, not a prohibition)",
    "GB-DEFAULT-SUMS": "the book (no compounding penalty on GB loans)",
}
