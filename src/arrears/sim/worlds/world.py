"""A world: borrowers and the outside systems (dialer, gateways, payment processor) around them.

``start`` draws the book; ``day`` carries out the day's plan and says what happened: contacts,
payments, and the settlements agreed. Days must move forward. When ``day`` is first called for a
date after the earliest disbursement (the simulation started later), the days in between are
played first, with no contact and only the payments borrowers make on their own, so the book has
its history; those payments carry their own ``paid_on``.

Determinism: every draw comes from ``numpy.random.default_rng((seed, day, stream))``; Faker is
seeded with ``seed_instance``; nothing reads the clock. Rows are sorted by id before they leave.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from faker import Faker

from arrears.sim.worlds import behaviour as bh
from arrears.sim.worlds import frames as fr
from arrears.sim.worlds.dialer import honour_what_was_said
from arrears.sim.worlds.outcomes import execute_plan, inbound_calls
from arrears.sim.worlds.people import People
from arrears.sim.worlds.population import (
    Book,
    LoanTerms,
    draw_book,
    loans_frame,
    minor_text,
    with_rates,
)

UNIT = 100  # a whole yuan or dollar: people pay round amounts
EPOCH = dt.date(1970, 1, 1).toordinal()  # Polars dates count days from here


class World:
    """What OnlineLendingCN and ConsumerUS share; subclasses give the terms and the people."""

    loans: int = 20_000
    start_date: dt.date = dt.date(2026, 1, 1)
    prefix: str = "W"
    locale: str = "en_US"
    terms: LoanTerms
    lender_type: str | None = None
    payment_methods: tuple[tuple[str, ...], tuple[float, ...]] = (("bank_transfer",), (1.0,))
    records_settlements: bool = True  # an accepted settlement is returned as a settlement adjustment
    bankruptcy_scale: float = 1.0  # times behaviour.BANKRUPTCY_DAILY
    written_share: float = 0.0  # disputes and cease requests that come in writing

    def __init__(self, loans: int | None = None, start_date: dt.date | None = None, *, take_on: bool = False) -> None:
        if loans is not None:
            self.loans = loans
        if start_date is not None:
            self.start_date = start_date
        # The lender moves its book to the platform the day before ``start_date``: the days before
        # are played inside the world (with no contact, as in the loop's first day) and the loans
        # arrive with their take-on balances, so the platform starts from that state rather than
        # replaying months of history. For a loop that starts on ``start_date``.
        self.take_on = take_on
        self._book: Book | None = None

    # ------------------------------------------------------------------ what subclasses provide

    def draw_people(self, rng: np.random.Generator, fake: Faker, book: Book) -> People:
        raise NotImplementedError

    def rate_ceiling(self, book: Book, people: People) -> np.ndarray | None:
        """The highest rate each loan may carry where its borrower lives (None: no ceiling)."""
        return None

    # ------------------------------------------------------------------ start

    def start(self, seed: int) -> dict[str, pl.DataFrame]:
        self._seed = seed
        rng = np.random.default_rng((seed, 0, 0))
        fake = Faker(self.locale)
        fake.seed_instance(seed)
        book = draw_book(rng, self.terms, self.loans, self.start_date)
        people = self.draw_people(rng, fake, book)
        ceiling = self.rate_ceiling(book, people)
        if ceiling is not None and (book.rate_nano > ceiling).any():
            book = with_rates(book, np.minimum(book.rate_nano, ceiling), self.terms)
        self._book, self._people = book, people
        n_loans, n_people = book.principal.shape[0], book.borrower_type.shape[0]
        owner_type = book.borrower_type[book.loan_borrower]
        self._lam_inf = bh.LAMBDA_INF[owner_type].copy()
        self._lam = self._lam_inf.copy()
        self._responsive = bh.RESPONSIVE[owner_type]
        self._agency = np.zeros(n_loans, dtype=bool)
        self._fatigue = np.zeros(n_people)
        self._recent = np.zeros(n_people)
        self._gone = np.zeros(n_people, dtype=bool)  # dead or bankrupt: pays nothing more
        self._dead = np.zeros(n_people, dtype=bool)
        self._represented = np.zeros(n_people, dtype=bool)  # a lawyer, or asked us to stop
        self._agenda = fr.empty_agenda()
        idx = np.arange(book.ledger.due.shape[1])
        on_schedule = idx[None, :] < book.onset[:, None]
        self._pay_day = np.where(on_schedule, book.ledger.due + book.lag, np.iinfo(np.int32).max)
        self._last = min(book.ledger.disbursed) - 1
        self._loan_index = pl.DataFrame({
            "loan_id": [f"{self.prefix}-L{i:06d}" for i in range(n_loans)],
            "_l": np.arange(n_loans, dtype=np.int64),
        })
        self._borrower_index = people.borrowers.select(
            "borrower_id", pl.int_range(pl.len(), dtype=pl.Int64).alias("_b"))
        out = {
            "borrowers": people.borrowers,
            "references": people.references,
            "loans": loans_frame(book, self.terms, self.prefix, self.lender_type),
        }
        if people.agents is not None:
            out["agents"] = people.agents
        if self.take_on:
            out["loans"] = out["loans"].hstack(self._take_on())
        return out

    def _take_on(self) -> pl.DataFrame:
        """Play the days before ``start_date`` and state each loan's balances at the end of the day
        before it, as the lender's previous system would hand them over (``takeon_*`` columns).

        The previous system spent each payment on the penalty owed at the time, then on the
        instalments oldest first. Money held when an instalment fell due paid that instalment's
        interest; what is left without paying a whole instalment (a part-payment, amounts rounded
        up) it holds as credit, which the platform's next step spends as it spends any credit. So
        the platform starts where replaying the history would have put it, but for the penalty
        (see below). The date of first delinquency is the day after the oldest unpaid due date
        *when the delinquency began*, as the previous system recorded it: a part-payment moves
        the oldest unpaid date on without ending the episode."""
        day = self.start_date.toordinal() - 1
        ledger = self._book.ledger
        rows = np.arange(ledger.size)
        began = np.zeros(ledger.size, dtype=np.int64)  # 0: not delinquent
        for past in range(self._last + 1, day + 1):
            self._play_quiet(past)
            late_today, oldest_today = _arrears_since(ledger, past)
            began = np.where(late_today, np.where(began > 0, began, oldest_today + 1), 0)
        k = ledger.due_count(day)
        rest = ledger.paid - ledger.penalty_paid
        paid_up_to = np.minimum(_wholly_paid(ledger), k)  # instalments wholly paid among those due
        credit = rest - ledger.cum_principal[rows, paid_up_to] - ledger.cum_interest[rows, paid_up_to]
        principal = ledger.cum_principal[:, -1] - ledger.cum_principal[rows, paid_up_to]
        interest = ledger.cum_interest[rows, k] - ledger.cum_interest[rows, paid_up_to]
        # Money held when an instalment fell due paid its interest that day, before any penalty
        # accrued since (hold_as_credit): what is left over stays credit.
        applied = np.minimum(credit, interest)
        credit, interest = credit - applied, interest - applied
        # No penalty is handed over. The world's penalty is an estimate that runs a little above
        # the platform's (it applies the CN cap its own way); handed over, the platform owed a few
        # minor units more than replaying would have made it owe, payments the world sized to
        # clear the arrears fell short (the tolerance is 0) and, over 30 days, 8-10% more loans
        # stayed delinquent than in the same run replayed (docs/simulation.md). Penalty from the
        # take-on on is the platform's.
        no_penalty = np.zeros(ledger.size, dtype=np.int64)
        running = ledger.disbursed <= day  # a loan paid out later simply starts on its day
        late = running & (paid_up_to < k)
        oldest = ledger.due[rows, np.minimum(paid_up_to, ledger.due.shape[1] - 1)]
        oldest = pl.Series(np.where(late, oldest, day) - EPOCH, dtype=pl.Int32).cast(pl.Date)
        money = lambda minor: pl.when(pl.lit(pl.Series(running))).then(minor_text(minor))  # noqa: E731
        return pl.select(
            pl.when(pl.lit(pl.Series(running))).then(pl.lit(dt.date.fromordinal(day))).alias("takeon_date"),
            money(principal).alias("takeon_principal_outstanding"),
            money(interest).alias("takeon_interest_due"),
            money(no_penalty).alias("takeon_penalty_due"),
            money(no_penalty).alias("takeon_fees_due"),
            pl.when(pl.lit(pl.Series(late))).then(pl.lit(oldest)).alias("takeon_oldest_unpaid_due_on"),
            pl.when(pl.lit(pl.Series(late & (began > 0))))
            .then(pl.lit(pl.Series(np.where(began > 0, began, day) - EPOCH, dtype=pl.Int32).cast(pl.Date)))
            .alias("takeon_dofd"),
            money(credit).alias("takeon_credit"),
        )

    # ------------------------------------------------------------------ one day

    def day(self, date: dt.date, actions: pl.DataFrame) -> dict[str, pl.DataFrame]:
        if self._book is None:
            raise RuntimeError("call start(seed) before day()")
        d = date.toordinal()
        if d <= self._last:
            raise ValueError(f"{date}: days must move forward (last played: {dt.date.fromordinal(self._last)})")
        paid = [self._play_quiet(past) for past in range(self._last + 1, d)]
        rng = self._rng(d, 1)
        payments, paid_r, arrears, cap = self._pay(d, rng)
        plan = execute_plan(self, date, actions, arrears, cap, self._rng(d, 2))
        inbound = inbound_calls(self, date, arrears, cap, self._rng(d, 3))
        self._close(d, paid_r, plan.effort + inbound.effort)
        self._fatigue += plan.fatigue
        self._last = d
        return {
            "payments": fr.concat_sorted([*paid, payments], "payment_id", fr.PAYMENTS),
            "contacts": honour_what_was_said(fr.concat_sorted([plan.contacts, inbound.contacts], "event_id", fr.CONTACTS)),
            "adjustments": fr.concat_sorted([plan.adjustments], "adjustment_id", fr.ADJUSTMENTS),
        }

    def _rng(self, d: int, stream: int) -> np.random.Generator:
        return np.random.default_rng((self._seed, d, stream))

    def _play_quiet(self, d: int) -> pl.DataFrame:
        payments, paid_r, _, _ = self._pay(d, self._rng(d, 1))
        self._close(d, paid_r, np.zeros(self._fatigue.shape[0]))
        self._last = d
        return payments

    def _pay(self, d: int, rng: np.random.Generator):
        """The day's payments: instalments paid on schedule, promises, settlements and plan
        instalments falling due today, and payments drawn from the intensity."""
        book, ledger = self._book, self._book.ledger
        n = ledger.size
        arrears, cap, _ = ledger.figures(d)
        alive = ~self._gone[book.loan_borrower]
        penalty = (ledger.penalty_micro + 999_999) // 1_000_000

        hit = self._pay_day == d
        scheduled = hit.any(axis=1)
        # The latest instalment paid today: a late one may fall on the next one's due date.
        latest = hit.shape[1] - 1 - hit[:, ::-1].argmax(axis=1)
        upto = ledger.upto(latest) + penalty - ledger.paid
        on_schedule = np.where(scheduled, _round_up(np.maximum(upto, 0)), 0)

        today = self._agenda.filter(pl.col("day") == d)
        self._agenda = self._agenda.filter(pl.col("day") > d)
        agreed = np.zeros(n, dtype=np.int64)
        np.add.at(agreed, today["loan"].to_numpy(), today["amount"].to_numpy())
        settling = np.zeros(n, dtype=bool)
        settling[today.filter(pl.col("kind") == fr.SETTLEMENT)["loan"].to_numpy()] = True

        u, r = rng.random(n), rng.uniform(0.1, 1.0, n)
        drawn = (arrears > 0) & ~scheduled & (u < 1 - np.exp(-self._lam))
        part = np.where(r > bh.FULL_PAYMENT_R, arrears, (r * arrears).astype(np.int64))
        by_intensity = np.where(drawn, _round_up(part), 0)

        amount = np.minimum(on_schedule + agreed + by_intensity, cap)
        amount = np.where(alive & ~ledger.closed, amount, 0)
        pays = amount > 0
        paid_r = np.where(pays & (arrears > 0), np.minimum(1.0, amount / np.maximum(arrears, 1)), 0.0)
        ledger.pay(amount)
        ledger.closed |= settling & pays
        methods, weights = self.payment_methods
        method = np.array(methods, dtype=object)[rng.choice(len(methods), size=n, p=np.array(weights))]
        method = np.where(self._agency, "agency", method)
        rows = np.flatnonzero(pays)
        frame = fr.payments_frame(
            self.prefix, dt.date.fromordinal(d), self._loan_index["loan_id"].gather(rows),
            amount[rows], self.terms.currency, method[rows],
        )
        return frame, paid_r, arrears - amount, cap - amount

    def _close(self, d: int, paid_r: np.ndarray, effort_by_borrower: np.ndarray) -> None:
        book = self._book
        effort = effort_by_borrower[book.loan_borrower]
        self._lam = bh.step_intensity(self._lam, self._lam_inf, paid_r, effort, self._responsive)
        self._fatigue *= bh.FATIGUE_DECAY
        self._recent = self._recent * 0.8 + effort_by_borrower
        book.ledger.accrue_penalty(d)

    def schedule_payments(self, days: np.ndarray, loans: np.ndarray, amounts: np.ndarray, kind: int) -> None:
        """Payments a borrower has committed to and will make (kept promises, settlements, plans)."""
        if days.shape[0]:
            self._agenda = pl.concat([self._agenda, fr.agenda(days, loans, amounts, kind)])


def _wholly_paid(ledger) -> np.ndarray:
    """How many instalments, oldest first, what was paid beyond penalty covers in full."""
    rest = ledger.paid - ledger.penalty_paid
    return ((ledger.cum_principal + ledger.cum_interest)[:, 1:] <= rest[:, None]).sum(axis=1)


def _arrears_since(ledger, day: int) -> tuple[np.ndarray, np.ndarray]:
    """(late, oldest unpaid due day) at the end of ``day``, each payment having paid the penalty
    owed at the time first and then the instalments oldest first."""
    rows = np.arange(ledger.size)
    covered = _wholly_paid(ledger)
    late = (covered < ledger.due_count(day)) & (ledger.disbursed <= day) & ~ledger.closed
    return late, ledger.due[rows, np.minimum(covered, ledger.due.shape[1] - 1)].astype(np.int64)


def _round_up(minor: np.ndarray) -> np.ndarray:
    return -(-minor // UNIT) * UNIT
