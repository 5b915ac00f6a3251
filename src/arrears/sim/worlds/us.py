"""ConsumerUS: instalment loans of $500–5,000 across several US time zones, some in Massachusetts."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import polars as pl
from faker import Faker

from arrears.sim.worlds.people import (
    People,
    first_reference,
    pools,
    references_frame,
    unique_numbers,
)
from arrears.sim.worlds.population import Book, LoanTerms
from arrears.sim.worlds.world import World

# State, weight, and (city, area code, zone) places. Florida's panhandle (850) is on Central time
# and El Paso (915) on Mountain time, so those states span two zones in the platform's table.
STATES = (
    ("MA", 12, (("Boston", 617, "America/New_York"), ("Worcester", 508, "America/New_York"),
                ("Springfield", 413, "America/New_York"))),
    ("NY", 9, (("New York", 212, "America/New_York"), ("Brooklyn", 718, "America/New_York"),
               ("Buffalo", 716, "America/New_York"))),
    ("FL", 8, (("Miami", 305, "America/New_York"), ("Orlando", 407, "America/New_York"),
               ("Pensacola", 850, "America/Chicago"))),
    ("GA", 5, (("Atlanta", 404, "America/New_York"),)),
    ("PA", 5, (("Philadelphia", 215, "America/New_York"), ("Pittsburgh", 412, "America/New_York"))),
    ("OH", 5, (("Columbus", 614, "America/New_York"), ("Cleveland", 216, "America/New_York"))),
    ("NC", 3, (("Charlotte", 704, "America/New_York"),)),
    ("IL", 7, (("Chicago", 312, "America/Chicago"), ("Chicago", 773, "America/Chicago"))),
    ("TX", 10, (("Houston", 713, "America/Chicago"), ("Dallas", 214, "America/Chicago"),
                ("El Paso", 915, "America/Denver"))),
    ("MN", 3, (("Minneapolis", 612, "America/Chicago"),)),
    ("CO", 4, (("Denver", 303, "America/Denver"),)),
    ("AZ", 4, (("Phoenix", 602, "America/Phoenix"), ("Tucson", 520, "America/Phoenix"))),
    ("CA", 12, (("Los Angeles", 213, "America/Los_Angeles"), ("San Francisco", 415, "America/Los_Angeles"),
                ("San Diego", 619, "America/Los_Angeles"))),
    ("WA", 4, (("Seattle", 206, "America/Los_Angeles"),)),
    ("NV", 3, (("Las Vegas", 702, "America/Los_Angeles"),)),
    ("AK", 1, (("Anchorage", 907, "America/Anchorage"),)),
    ("HI", 1, (("Honolulu", 808, "Pacific/Honolulu"),)),
)
PLACES = tuple((state, *place) for state, _, places in STATES for place in places)
RELATIONS = (("spouse", "parent", "other", "friend"), (0.45, 0.3, 0.15, 0.1))
# Massachusetts caps small loans (a licence and 23 % APR); elsewhere up to 36 %.
MA_MAX_RATE_NANO = 230_000_000


class ConsumerUS(World):
    prefix = "US"
    locale = "en_US"
    terms = LoanTerms(
        currency="USD",
        principal=(500, 5000, 100),
        terms=(6, 12, 18, 24),
        rate=(0.15, 0.36),
        methods=("annuity",),
        method_p=(1.0,),
        penalty_rate_daily=None,
        capped=False,
        type_shares=(0.75, 0.22, 0.015, 0.015),
    )
    written_share = 0.4
    payment_methods = (("card", "bank_transfer", "auto_debit", "other"), (0.4, 0.3, 0.25, 0.05))

    def draw_people(self, rng: np.random.Generator, fake: Faker, book: Book) -> People:
        n = book.borrower_type.shape[0]
        firsts, lasts, streets, companies = pools(fake, 400, "first_name", "last_name", "street_address", "company")
        fi, li = rng.integers(0, 400, n), rng.integers(0, 400, n)
        names = [f"{firsts[i]} {lasts[j]}" for i, j in zip(fi, li)]
        weights = np.array([w for _, w, places in STATES for _ in places], dtype=float)
        weights /= np.array([len(p) for _, _, p in STATES for _ in p])
        place = rng.choice(len(PLACES), n, p=weights / weights.sum())
        state = np.array([PLACES[p][0] for p in place], dtype=object)
        home = np.array([PLACES[p][3] for p in place], dtype=object)
        # Some kept a mobile number from another state when they moved.
        moved = rng.random(n) < 0.15
        phone_place = np.where(moved, rng.integers(0, len(PLACES), n), place)
        phone = _numbers([PLACES[p][2] for p in phone_place], 0, rng)
        work = rng.random(n) < 0.3
        work_phone = np.where(work, np.array(_numbers([PLACES[p][2] for p in place], 5_000_000, rng), dtype=object), None)
        has_email = rng.random(n) < 0.85
        employer = has_email & (rng.random(n) < 0.04)
        email = np.array([
            None if not e else
            f"{_slug(firsts[i])}.{_slug(lasts[j])}{k % 1000}@"
            + (f"{_slug(companies[k % 400])}.example.com" if w else "example.com")
            for i, j, k, e, w in zip(fi, li, unique_numbers(0, n, 10**6, 3), has_email, employer)
        ], dtype=object)
        explicit = rng.random(n) < 0.4
        born = self.start_date.toordinal() - rng.integers(21 * 365, 65 * 365, n)
        zips = {s: [fake.zipcode_in_state(s) for _ in range(20)] for s, _, _ in STATES}
        borrowers = pl.DataFrame({
            "borrower_id": [f"US-B{i:06d}" for i in range(n)],
            "name": names,
            "phone": phone,
            "email": list(email),
            "language": ["en-US"] * n,
            "jurisdiction": [f"US-{s}" for s in state],
            "timezone": [z if e else None for z, e in zip(home, explicit)],
            "address": [streets[i] for i in rng.integers(0, 400, n)],
            "city": [PLACES[p][1] for p in place],
            "region": list(state),
            "postal_code": [zips[s][k] for s, k in zip(state, rng.integers(0, 20, n))],
            "country": ["US"] * n,
            "date_of_birth": pl.Series([dt.date.fromordinal(int(b)) for b in born], dtype=pl.Date),
            "monthly_income": [f"{k * 50}.00" for k in rng.integers(36, 180, n)],
            "monthly_income_currency": ["USD"] * n,
            "work_phone": list(work_phone),
            "email_is_employer_provided": [("true" if w else "false") if e else None for e, w in zip(has_email, employer)],
            "servicemember": ["true" if s else "false" for s in rng.random(n) < 0.02],
        }, schema_overrides={c: pl.String for c in ("timezone", "email", "work_phone", "email_is_employer_provided")})
        refs = _references(rng, book, n, firsts, lasts, place)
        postal = np.array([f"{a}, {c}, {s}" for a, c, s in zip(borrowers["address"], borrowers["city"], state)], dtype=object)
        return People(
            borrowers=borrowers,
            references=refs,
            agents=_agents(self.loans),
            phone=np.array(phone, dtype=object),
            email=email,
            postal=postal,
            home_zone=home,
            first_reference=first_reference(refs, n, "US"),
            reference_phone=dict(zip(refs["reference_id"], refs["phone"])),
        )

    def rate_ceiling(self, book: Book, people: People) -> np.ndarray | None:
        in_ma = (people.borrowers["jurisdiction"] == "US-MA").to_numpy()[book.loan_borrower]
        return np.where(in_ma, MA_MAX_RATE_NANO, np.iinfo(np.int64).max)


def _numbers(area_codes: list[int], start: int, rng: np.random.Generator) -> list[str]:
    # Exchanges 200–999, so the number is well-formed under the North American plan.
    sub = 2_000_000 + unique_numbers(start, len(area_codes), 8_000_000, int(rng.integers(0, 1000)))
    return [f"+1{a}{s:07d}" for a, s in zip(area_codes, sub)]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower()) or "x"


def _references(rng, book: Book, n: int, firsts, lasts, place) -> pl.DataFrame:
    owners = np.flatnonzero(rng.random(n) < 0.25)
    k = owners.shape[0]
    names = [f"{firsts[i]} {lasts[j]}" for i, j in zip(rng.integers(0, 400, k), rng.integers(0, 400, k))]
    phones = _numbers([PLACES[place[b]][2] for b in owners], 7_000_000, rng)
    first_loan = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_loan, book.loan_borrower, book.ledger.disbursed.astype(np.int64))
    return references_frame(rng, "US", owners, names, phones, RELATIONS, 0.2, first_loan[owners])


def _agents(loans: int) -> pl.DataFrame:
    n = max(2, loans // 500)
    jurisdictions = ";".join(f"US-{s}" for s, _, _ in STATES)
    return pl.DataFrame({
        "agent_id": [f"US-A{i:03d}" for i in range(n)],
        "team": ["boston" if i % 2 == 0 else "phoenix" for i in range(n)],
        "languages": ["en-US;es-US" if i % 4 == 3 else "en-US" for i in range(n)],
        "jurisdictions": [jurisdictions] * n,
        "daily_calls": np.full(n, 80, dtype=np.int64),
        "daily_visits": np.zeros(n, dtype=np.int64),
    })
