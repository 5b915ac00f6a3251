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
)

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
