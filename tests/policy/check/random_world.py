"""Random worlds and proposed actions for the engine's property tests and its benchmark.

Seeded NumPy, so every run of a seed builds the same world. Borrowers are spread over the five
kinds of jurisdiction; each has loans, a contact history of the last 10 days (calls with every
outcome kind, texts, e-mails, visits, inbound calls), sometimes references and flags. Proposed
actions cover every action type, channel and party, at random minutes of two local days, some as
windows, some with templates (right or wrong), offers and addresses.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from arrears.policy.check.world import (
    BORROWERS,
    CONTACTS,
    FLAGS,
    LOANS,
    REFERENCES,
    World,
    actions_frame,
)

JURISDICTIONS = ("CN", "GB", "US-NY", "US-MA", "US-CA")
ZONES = {"CN": ["Asia/Shanghai"], "GB": ["Europe/London"], "US-NY": ["America/New_York"],
         "US-MA": ["America/New_York"], "US-CA": ["America/Los_Angeles"]}
CURRENCY = {"CN": "CNY", "GB": "GBP"}
OUTCOMES = ("no_answer", "voicemail", "not_connected", "busy", "right_party_contact", "promise_to_pay",
            "refused_to_pay", "wrong_party", "delivered")
FLAG_NAMES = ("dispute", "cease", "attorney", "bankruptcy", "deceased", "vulnerable", "no_calls_at_work",
              "opt_out", "tcpa_consent", "call_consent", "preferred_hours", "validation_notice_sent",
              "cn_prereport_notice_sent", "gb_default_notice_sent", "breathing_space", "contact_hold")
ACTIONS = ("agent_call", "agent_call", "agent_call", "sms", "sms", "email", "robocall", "letter", "field_visit",
           "settlement_offer", "legal_action", "bureau_report", "agency_placement")
TEMPLATES = {"CN": {"sms": "cn_reminder_sms", "email": "cn_reminder_email", "letter": "cn_demand_letter"},
             "GB": {"sms": "gb_reminder_sms", "email": "gb_reminder_email", "letter": "gb_demand_letter"},
             "US": {"sms": "us_reminder_sms", "email": "us_reminder_email", "letter": "us_demand_letter"}}
START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def world(n_borrowers: int, seed: int, *, contacts_per_borrower: int = 6) -> World:
    rng = np.random.default_rng(seed)
    ids = [f"B{i:07d}" for i in range(n_borrowers)]
    jur = rng.choice(JURISDICTIONS, n_borrowers)
    phones = [f"+1212555{i % 10000:04d}" if j.startswith("US") else (f"+86138{i:08d}" if j == "CN" else f"+447700{i % 1000000:06d}")
              for i, j in enumerate(jur)]
    borrowers = pl.DataFrame({
        "borrower_id": ids, "jurisdiction": jur.tolist(), "zones": [ZONES[j] for j in jur],
        "phone": phones, "email": [f"b{i}@example.com" for i in range(n_borrowers)],
        "work_phone": [p[:-1] + "9" if w else None for p, w in zip(phones, rng.random(n_borrowers) < 0.3)],
        "email_is_employer_provided": (rng.random(n_borrowers) < 0.05).tolist(),
    }, schema=BORROWERS)
    n_loans = rng.integers(1, 3, n_borrowers)
    loan_owner = np.repeat(np.arange(n_borrowers), n_loans)
    loans = pl.DataFrame({
        "loan_id": [f"L{i:08d}" for i in range(len(loan_owner))],
        "borrower_id": [ids[b] for b in loan_owner],
        "currency": [CURRENCY.get(jur[b], "USD") for b in loan_owner],
        "receivable": rng.integers(10_000, 1_000_000, len(loan_owner)).tolist(),
        "time_barred_on": [dt.date(2026, 1, 1) if x else None for x in rng.random(len(loan_owner)) < 0.05],
    }, schema=LOANS)
    has_ref = rng.random(n_borrowers) < 0.3
    ref_b = np.flatnonzero(has_ref)
    references = pl.DataFrame({
        "reference_id": [f"R{i:07d}" for i in ref_b], "borrower_id": [ids[b] for b in ref_b],
        "relation": rng.choice(["spouse", "friend", "parent", "attorney", "colleague"], len(ref_b)).tolist(),
        "source": ["borrower_provided"] * len(ref_b),
        "consented_on": [dt.date(2025, 6, 1) if x else None for x in rng.random(len(ref_b)) < 0.7],
        "phone": [f"+86137{i:08d}" for i in ref_b], "zones": [[] for _ in ref_b],
    }, schema=REFERENCES)
    n_c = n_borrowers * contacts_per_borrower
    cb = rng.integers(0, n_borrowers, n_c)
    channel = rng.choice(["agent_call", "agent_call", "robocall", "sms", "email", "field_visit"], n_c)
    outcome = np.where(np.isin(channel, ["sms", "email", "field_visit"]), "delivered", rng.choice(OUTCOMES[:-1], n_c))
    first_loan = loans.group_by("borrower_id").agg(pl.col("loan_id").first())
    loan_of = dict(zip(first_loan["borrower_id"], first_loan["loan_id"]))
    contacts = pl.DataFrame({
        "event_id": [f"E{i:08d}" for i in range(n_c)], "borrower_id": [ids[b] for b in cb],
        "loan_ids": [[loan_of[ids[b]]] if x else [] for b, x in zip(cb, rng.random(n_c) < 0.8)],
        "channel": channel.tolist(),
        "direction": np.where((channel == "agent_call") & (rng.random(n_c) < 0.1), "inbound", "outbound").tolist(),
        "at": [START - dt.timedelta(minutes=int(m)) for m in rng.integers(1, 10 * 24 * 60, n_c)],
        "party": ["borrower"] * n_c, "address": [phones[b] if c in ("agent_call", "robocall", "sms") else None for b, c in zip(cb, channel)],
        "outcome": outcome.tolist(),
    }, schema=CONTACTS)
    n_f = max(1, n_borrowers // 4)
    fb = rng.integers(0, n_borrowers, n_f)
    fname = rng.choice(FLAG_NAMES, n_f)
    value = [("sms" if rng.random() < 0.5 else f"agent_call:{phones[b]}") if f == "opt_out" else ("10:00-18:00" if f == "preferred_hours" else None)
             for b, f in zip(fb, fname)]
    start = [dt.date(2026, 2, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 30, n_f)]
    flags = pl.DataFrame({
        "borrower_id": [ids[b] for b in fb], "loan_id": [None] * n_f, "flag": fname.tolist(), "value": value,
        "start_on": start, "end_on": [s + dt.timedelta(days=40) if x else None for s, x in zip(start, rng.random(n_f) < 0.3)],
        "written": (rng.random(n_f) < 0.5).tolist(),
    }, schema=FLAGS)
    return World(borrowers, references, contacts, flags, loans)


def actions(w: World, n: int, seed: int) -> pl.DataFrame:
    """``n`` proposed actions over the world's borrowers; instants are distinct per borrower (the
    batch orders equal instants by action_id, the history counts only strictly earlier events)."""
    rng = np.random.default_rng(seed + 1)
    b = w.borrowers
    idx = rng.integers(0, b.height, n)
    kind = rng.choice(ACTIONS, n)
    refs = dict(zip(w.references["borrower_id"], w.references["reference_id"]))
    first_loan = w.loans.group_by("borrower_id").agg(pl.col("loan_id").first(), pl.col("currency").first())
    loan_of = dict(zip(first_loan["borrower_id"], first_loan["loan_id"]))
    receivable = dict(zip(w.loans["loan_id"], w.loans["receivable"]))
    minutes = rng.integers(0, 2 * 24 * 60, n)
    rows = []
    seen: set[tuple[str, int]] = set()
    for i in range(n):
        bid = b["borrower_id"][int(idx[i])]
        j = b["jurisdiction"][int(idx[i])]
        m = int(minutes[i])
        while (bid, m) in seen:
            m += 1
        seen.add((bid, m))
        a = str(kind[i])
        channel = {"settlement_offer": "sms"}.get(a, None if a in ("legal_action", "bureau_report", "agency_placement") else a)
        party = refs.get(bid, "borrower") if rng.random() < 0.1 else "borrower"
        family = TEMPLATES["US" if j.startswith("US") else j]
        template = family.get(channel or "") if rng.random() < 0.9 else None
        loan = loan_of[bid]
        start = START + dt.timedelta(minutes=m)
        window = rng.random() < 0.2
        rows.append({
            "action_id": f"A{i:07d}", "borrower_id": bid, "loan_id": loan, "action": a, "channel": channel,
            "party": party, "start": start, "end": start + dt.timedelta(hours=2) if window else start,
            "template_id": template, "language": "zh-CN" if j == "CN" else "en",
            "offer_amount": int(receivable[loan] * (0.5 + rng.random())) if a == "settlement_offer" else None,
            "address": b["work_phone"][int(idx[i])] if channel == "agent_call" and rng.random() < 0.1 else None,
            "recording_ref": "cam-1" if a == "field_visit" and rng.random() < 0.5 else None,
        })
    return actions_frame(rows)
