"""The tables. Money columns are integer minor units (``*_minor``), rates integer nano units.

Rows are written in bulk through SQLAlchemy Core (one INSERT executed for many rows), never one ORM
object per row: a book of millions of loans moves through here.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

products = Table(
    "products",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("definition", Text, nullable=False),  # canonical JSON of the Product
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

borrowers = Table(
    "borrowers",
    metadata,
    Column("borrower_id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("language", String(35), nullable=False),
    Column("jurisdiction", String(16), nullable=False),
    Column("date_of_birth", Date),
    Column("monthly_income_minor", BigInteger),
    Column("monthly_income_currency", String(3)),
    Column("email_is_employer_provided", Boolean),
    Column("servicemember", Boolean),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# Contact details are versioned by business date: which number we had when we called is a fact the
# compliance engine and an auditor both need, so a change adds a version and never overwrites.
# `zones` holds the version's candidate time zones, resolved at import (policy/zones.py): sorted
# IANA names joined by ';'. Derived, so never compared when deciding whether a version changed.
borrower_contacts = Table(
    "borrower_contacts",
    metadata,
    Column("borrower_id", String(64), ForeignKey("borrowers.borrower_id"), primary_key=True),
    Column("valid_from", Date, primary_key=True),
    Column("phone", String(32)),
    Column("email", Text),
    Column("work_phone", String(32)),
    Column("timezone", String(64)),
    Column("address", Text),
    Column("city", Text),
    Column("region", Text),
    Column("postal_code", String(32)),
    Column("country", String(2)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("zones", Text),
)

# `zones`: the reference's candidate time zones, from the phone (else the borrower's jurisdiction),
# resolved at import like borrower_contacts.zones.
references = Table(
    "references",
    metadata,
    Column("reference_id", String(64), primary_key=True),
    Column("borrower_id", String(64), ForeignKey("borrowers.borrower_id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("phone", String(32), nullable=False),
    Column("relation", String(32), nullable=False),
    Column("source", String(32), nullable=False),
    Column("consented_on", Date),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("zones", Text),
)

loans = Table(
    "loans",
    metadata,
    Column("loan_id", String(64), primary_key=True),
    Column("borrower_id", String(64), ForeignKey("borrowers.borrower_id"), nullable=False),
    Column("product", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("principal_minor", BigInteger, nullable=False),
    Column("annual_rate_nano", BigInteger, nullable=False),
    Column("term", Integer, nullable=False),
    Column("frequency", String(16), nullable=False),
    Column("period_days", Integer),
    Column("method", String(16), nullable=False),
    Column("disbursed_on", Date, nullable=False),
    Column("first_due_on", Date),
    Column("penalty_rate_daily_nano", BigInteger, nullable=False),
    Column("contract_date", Date, nullable=False),
    Column("lender_type", String(16)),
    Column("time_barred_on", Date),
    Column("takeon_date", Date),
    Column("takeon_principal_outstanding_minor", BigInteger),
    Column("takeon_interest_due_minor", BigInteger),
    Column("takeon_penalty_due_minor", BigInteger),
    Column("takeon_fees_due_minor", BigInteger),
    Column("takeon_oldest_unpaid_due_on", Date),
    Column("takeon_dofd", Date),
    Column("takeon_credit_minor", BigInteger),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_loans_borrower", "borrower_id"),
)

# The contractual schedule, derived from the loan at import and stored so the close reads it in bulk.
schedule = Table(
    "schedule",
    metadata,
    Column("loan_id", String(64), ForeignKey("loans.loan_id"), primary_key=True),
    Column("n", Integer, primary_key=True),
    Column("due_on", Date, nullable=False),
    Column("adjusted_due_on", Date, nullable=False),
    Column("principal_minor", BigInteger, nullable=False),
    Column("interest_minor", BigInteger, nullable=False),
    Index("ix_schedule_adjusted_due_on", "adjusted_due_on"),
)

imports = Table(
    "imports",
    metadata,
    Column("import_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("business_date", Date, nullable=False),
    Column("rows_in_file", Integer, nullable=False),
    Column("rows_added", Integer, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# --- Foundation II: payments and the state the close derives -----------------------------------

payments = Table(
    "payments",
    metadata,
    Column("payment_id", String(64), primary_key=True),
    Column("loan_id", String(64), ForeignKey("loans.loan_id"), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("paid_on", Date, nullable=False),
    Column("method", String(16), nullable=False),
    Column("reverses", String(64)),
    Column("reason", String(16)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    # The close that took this fact into the book; null until then. A fact whose value date is
    # already closed when it arrives re-derives its loan at the next close.
    Column("applied_by_close", Date),
    Index("ix_payments_loan", "loan_id"),
    Index("ix_payments_unapplied", "applied_by_close"),
)

closed_days = Table(
    "closed_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("closed_at", DateTime(timezone=True), nullable=False),
    Column("loans_stepped", Integer, nullable=False),
    Column("loans_rederived", Integer, nullable=False),
    Column("seconds", Text, nullable=False),
)

loan_state = Table(
    "loan_state",
    metadata,
    Column("loan_id", String(64), ForeignKey("loans.loan_id"), primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("status", String(16), nullable=False),
    *[Column(c, BigInteger, nullable=False) for c in (
        "credit", "penalty_micro", "penalty_paid", "penalty_waived", "fees_micro", "fees_gross",
        "fees_paid", "fees_waived", "capped_micro", "interest_capped_micro", "interest_capped_posted",
        "dpd")],
    Column("dofd", Date),
    Column("bucket", String(16), nullable=False),
    Column("bucket_since", Date, nullable=False),
    Column("charged_off_on", Date),
    Column("closed_on", Date),
    *[Column(c, BigInteger, nullable=False) for c in ("recovered", "written_off", "principal_prepaid")],
    # Foundation III: freezes, settlements, restructures (migration 0004).
    Column("interest_frozen_micro", BigInteger, nullable=False, server_default="0"),
    Column("interest_frozen_posted", BigInteger, nullable=False, server_default="0"),
    Column("settlement_amount", BigInteger),
    Column("settlement_pay_by", Date),
    Column("settlement_paid", BigInteger, nullable=False, server_default="0"),
    Column("forgiven", BigInteger, nullable=False, server_default="0"),
    Column("restructured_on", Date),
    Column("probation_until", Date),
    Column("pre_restructure_bucket", String(16)),
)

instalment_state = Table(
    "instalment_state",
    metadata,
    Column("loan_id", String(64), ForeignKey("loans.loan_id"), primary_key=True),
    Column("n", Integer, primary_key=True),
    Column("period_start", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("adjusted_due_on", Date, nullable=False),
    *[Column(c, BigInteger, nullable=False) for c in (
        "principal", "interest", "interest_capped", "paid_principal", "paid_interest",
        "waived_principal", "waived_interest", "late_fees")],
)

allocations = Table(
    "allocations",
    metadata,
    Column("allocation_id", Integer, primary_key=True, autoincrement=True),
    Column("loan_id", String(64), ForeignKey("loans.loan_id"), nullable=False),
    Column("day", Date, nullable=False),
    Column("source", String(64), nullable=False),
    Column("component", String(16), nullable=False),
    Column("n", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("recovery", Boolean, nullable=False),
    Index("ix_allocations_loan_day", "loan_id", "day"),
)

bucket_transitions = Table(
    "bucket_transitions",
    metadata,
    Column("loan_id", String(64), ForeignKey("loans.loan_id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("from_bucket", String(16), nullable=False),
    Column("to_bucket", String(16), nullable=False),
)

movements = Table(
    "movements",
    metadata,
    Column("loan_id", String(64), ForeignKey("loans.loan_id"), primary_key=True),
    Column("day", Date, primary_key=True),
    *[Column(c, BigInteger, nullable=False) for c in (
        "penalty_micro", "fees_micro", "capped_micro", "collected", "written_off")],
    Column("charged_off", Boolean, nullable=False),
)

# --- Contacts, flags and agents (the facts the compliance engine reads) ------------------------

# What happened when someone was contacted. ``at`` is stored in UTC; ``at_offset`` keeps the offset
# the sender wrote (``+08:00``), so the local time of the contact, which the hours and day-based
# caps are about, is recovered exactly: local = at + offset.
contacts = Table(
    "contacts",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("borrower_id", String(64), ForeignKey("borrowers.borrower_id"), nullable=False),
    Column("loan_id", String(64), ForeignKey("loans.loan_id")),
    Column("loan_ids", Text),  # every loan it is about, loan_id included: sorted, semicolon-separated
    Column("action_id", String(64)),
    Column("channel", String(16), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("at_offset", String(6), nullable=False),
    Column("local_date", Date, nullable=False),
    Column("party", String(64), nullable=False),
    Column("address", Text),
    Column("outcome", String(32), nullable=False),
    Column("written", Boolean),
    Column("promise_amount_minor", BigInteger),
    Column("promise_currency", String(3)),
    Column("promise_date", Date),
    Column("hours_from", String(5)),
    Column("hours_to", String(5)),
    Column("recording_ref", Text),
    Column("agency_id", String(64)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_contacts_borrower_at", "borrower_id", "at"),
)

# Which loans each contact is about (per person per debt counts; the account view). A contact that
# names no loan has no row here: it is about the borrower, so about every loan.
contact_loans = Table(
    "contact_loans",
    metadata,
    Column("event_id", String(64), ForeignKey("contacts.event_id"), primary_key=True),
    Column("loan_id", String(64), ForeignKey("loans.loan_id"), primary_key=True),
    Index("ix_contact_loans_loan", "loan_id"),
)

# Facts with a start and an end. A lift sets ``end_on`` and records when (``lifted_at``) and by which
# flags row (``lifted_by``); ``start_on`` and the rest never change.
flags = Table(
    "flags",
    metadata,
    Column("flag_id", String(64), primary_key=True),
    Column("borrower_id", String(64), ForeignKey("borrowers.borrower_id"), nullable=False),
    Column("loan_id", String(64), ForeignKey("loans.loan_id")),
    Column("flag", String(32), nullable=False),
    Column("value", Text),
    Column("start_on", Date, nullable=False),
    Column("end_on", Date),
    Column("source", String(16), nullable=False),
    Column("written", Boolean),
    Column("event_id", String(64)),  # the contact that set it (source = contact)
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("lifted_at", DateTime(timezone=True)),
    Column("lifted_by", String(64)),
    Index("ix_flags_borrower", "borrower_id"),
    Index("ix_flags_lifted_by", "lifted_by"),
)

promises = Table(
    "promises",
    metadata,
    Column("promise_id", String(64), primary_key=True),  # the contact's event_id
    Column("borrower_id", String(64), ForeignKey("borrowers.borrower_id"), nullable=False),
    Column("loan_id", String(64), ForeignKey("loans.loan_id"), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("promise_date", Date, nullable=False),
    Column("made_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # open; kept / broken by the close (book/promises.py)
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("decided_on", Date),  # the day it was kept or broken (migration 0007)
    Column("paid_toward", BigInteger, nullable=False, server_default="0"),
    Index("ix_promises_loan", "loan_id"),
)

# A payment arrangement accepted on a contact: the contract is unchanged and arrears keep ageing.
arrangements = Table(
    "arrangements",
    metadata,
    Column("arrangement_id", String(64), primary_key=True),  # the contact's event_id
    Column("borrower_id", String(64), ForeignKey("borrowers.borrower_id"), nullable=False),
    Column("loan_id", String(64), ForeignKey("loans.loan_id")),
    Column("made_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# Agents, versioned by business date like borrower contact details: who could collect where, and
# how much, on the day a plan was made stays answerable.
agents = Table(
    "agents",
    metadata,
    Column("agent_id", String(64), primary_key=True),
    Column("valid_from", Date, primary_key=True),
    Column("team", String(64), nullable=False),
    Column("languages", Text, nullable=False),  # semicolon-separated BCP 47 tags
    Column("jurisdictions", Text, nullable=False),  # semicolon-separated: CN, GB, US-XX
    Column("daily_calls", Integer, nullable=False),
    Column("daily_visits", Integer, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)


# --- Foundation III: adjustments (the money-side decisions) and their audit -------------------

adjustments = Table(
    "adjustments",
    metadata,
    Column("adjustment_id", String(64), primary_key=True),
    Column("loan_id", String(64), ForeignKey("loans.loan_id"), nullable=False),
    Column("type", String(16), nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("amount_minor", BigInteger),
    Column("currency", String(3)),
    Column("params", Text),  # canonical JSON
    Column("approved_by", String(64)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    # As for payments: the close that took it into the book; null until then.
    Column("applied_by_close", Date),
    Index("ix_adjustments_loan", "loan_id"),
)

# A correction re-derives a loan from corrected terms; what the loan was before and after is kept.
corrections = Table(
    "corrections",
    metadata,
    Column("adjustment_id", String(64), ForeignKey("adjustments.adjustment_id"), primary_key=True),
    Column("loan_id", String(64), ForeignKey("loans.loan_id"), nullable=False),
    Column("before", Text, nullable=False),
    Column("after", Text, nullable=False),
    Column("approved_by", String(64)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)


# --- The compliance engine: the audit log (arrears.audit; migration 0005) ---------------------

# Append-only and hash-chained per (partition, day): see src/arrears/audit/README.md. No foreign
# keys: the log records what was decided about whom and must outlive (and never block) the rows it
# names.
audit_log = Table(
    "audit_log",
    metadata,
    Column("partition", String(32), primary_key=True),  # jurisdiction (CN, US-CA, GB) or "platform"
    Column("day", Date, primary_key=True),  # the business date
    Column("seq", Integer, primary_key=True),  # 1, 2, 3, ... within (partition, day)
    Column("kind", String(32), nullable=False),
    Column("borrower_id", String(64)),
    Column("loan_id", String(64)),
    Column("action_id", String(64)),
    Column("decision", String(32)),
    Column("rules", Text),  # canonical JSON list of rule ids
    Column("payload", Text, nullable=False),  # canonical JSON
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("row_hash", String(64), nullable=False),
    # How row_hash encodes the fields (audit.chain): 1 for rows written before 2026-11-29, 2 since.
    Column("format", SmallInteger, nullable=False, server_default="1"),
    Index("ix_audit_log_borrower", "borrower_id"),
)

# One seal per sealed segment; a purge deletes the segment's rows and keeps its seal.
audit_seals = Table(
    "audit_seals",
    metadata,
    Column("partition", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("row_count", Integer, nullable=False),
    Column("root_hash", String(64), nullable=False),
    Column("hmac", String(64)),  # null when no key was configured
    Column("sealed_at", DateTime(timezone=True), nullable=False),
    Column("purged_on", Date),
)


# --- The day's portfolio snapshot (book/snapshot.py), written by the close -----------------------

portfolio_snapshots = Table(
    "portfolio_snapshots",
    metadata,
    Column("day", Date, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("bucket", String(16), primary_key=True),
    *[Column(c, BigInteger, nullable=False) for c in (
        "loans", "principal_outstanding", "total_outstanding", "collected", "penalty_accrued",
        "fees_charged", "capped", "written_off", "charged_off")],
)


# --- The daily plan (arrears plan; migration 0009) ---------------------------------------------

# One row per plan run: re-planning a day adds a run and cancels the earlier run's actions.
plan_runs = Table(
    "plan_runs",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("run", Integer, primary_key=True),
    Column("strategy", Text, nullable=False),  # what --strategy named
    Column("planned", Integer, nullable=False),
    Column("deferred", Integer, nullable=False),
    Column("held", Integer, nullable=False),  # proposed, then blocked by the compliance engine
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Every proposal of a run: ``planned`` (passed the engine, written to the actions file), ``deferred``
# (allowed, but no agent had capacity: it waits for the next day, first in line), ``held`` (blocked)
# or ``cancelled`` (a later run of the same day replaced it). The columns are INTERFACE.md's actions.
plan_actions = Table(
    "plan_actions",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("run", Integer, primary_key=True),
    Column("action_id", String(64), primary_key=True),
    Column("borrower_id", String(64), nullable=False),
    Column("loan_id", String(64), nullable=False),
    Column("loan_ids", Text),
    Column("action", String(32), nullable=False),
    Column("channel", String(16)),
    Column("party", String(64), nullable=False),
    Column("window_start", DateTime(timezone=True)),
    Column("window_end", DateTime(timezone=True)),
    Column("template_id", String(64)),
    Column("language", String(16)),
    Column("offer", Text),
    Column("assigned_to", String(64)),
    Column("currency", String(3), nullable=False),
    Column("expected_value_minor", BigInteger, nullable=False),
    Column("strategy", String(128), nullable=False),
    Column("state", String(128), nullable=False),  # the strategy state (or notice) that chose it
    Column("sets_flag", String(32)),  # a statutory notice: the flag its execution sets
    Column("priority", Integer, nullable=False),  # 1 goes first
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("rules", Text),  # held: the rules that blocked it
    Index("ix_plan_actions_borrower", "borrower_id", "business_date"),
    Index("ix_plan_actions_action", "action_id"),
)

# Champion/challenger: the arm a borrower's delinquency episode was given when it started. It never
# changes during the episode, whatever the shares become; a new episode draws again.
strategy_assignments = Table(
    "strategy_assignments",
    metadata,
    Column("borrower_id", String(64), primary_key=True),
    Column("episode_start", Date, primary_key=True),  # the earliest dofd of the borrower's loans
    Column("experiment", String(128), primary_key=True),
    Column("arm", String(128), nullable=False),
    Column("assigned_on", Date, nullable=False),
)


# --- The incremental close (migration 0010) -----------------------------------------------------

# One row per loan in loan_state: what the close knows of the loan without reading its state.
# ``quiet_until``: the last day on which stepping the loan would change nothing but its date
# (book.quiet); null means it changes every day (dpd moving, penalty accruing, credit held, ...) and
# is stepped every day. For a quiet loan, the other columns are its contribution to the portfolio
# snapshot on any day up to quiet_until (``book.quiet.quiet_stocks``); null for the others.
loan_watch = Table(
    "loan_watch",
    metadata,
    Column("loan_id", String(64), ForeignKey("loans.loan_id"), primary_key=True),
    Column("quiet_until", Date),
    Column("currency", String(3)),
    Column("status", String(16)),
    Column("bucket", String(16)),
    Column("principal_outstanding", BigInteger),
    Column("owed", BigInteger),  # total outstanding less the interest accrued in the current period
    Column("period_start", Date),  # the current instalment's period, for its accrued interest
    Column("due_on", Date),
    Column("interest", BigInteger),
    Column("interest_less", BigInteger),  # paid or waived on it
    Column("interest_held", BigInteger),  # capped or frozen interest not yet taken off
    Index("ix_loan_watch_quiet_until", "quiet_until"),
)

# The quiet loans' part of each coming day's portfolio snapshot, per currency and bucket: added
# when a loan's watch row is written (for each day of its quiet span), taken back when a fact
# touches it before the span ends. Rows for closed days are dropped.
quiet_stocks = Table(
    "quiet_stocks",
    metadata,
    Column("day", Date, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("bucket", String(16), primary_key=True),
    *[Column(c, BigInteger, nullable=False) for c in (
        "members", "loans", "principal_outstanding", "total_outstanding")],
)
