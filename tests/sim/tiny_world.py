"""A world small enough to read: three CN borrowers, one of whom pays only after being called.

Used by the simulation tests as a world given by file path (``--world tests/sim/tiny_world.py:TinyWorld``).
"""

from __future__ import annotations

import datetime as dt

import polars as pl


class TinyWorld:
    def start(self, seed: int) -> dict[str, pl.DataFrame]:
        self.called: set[str] = set()
        borrowers = pl.DataFrame({
            "borrower_id": ["T1", "T2", "T3"], "name": ["王一", "李二", "张三"],
            "phone": ["+8613800000001", "+8613800000002", "+8613800000003"], "language": ["zh-CN"] * 3,
            "jurisdiction": ["CN"] * 3, "timezone": ["Asia/Shanghai"] * 3,
        })
        loans = pl.DataFrame({
            "loan_id": ["TL1", "TL2", "TL3"], "borrower_id": ["T1", "T2", "T3"], "currency": ["CNY"] * 3,
            "principal": ["3000.00", "6000.00", "900.00"], "annual_rate": ["0.18"] * 3, "term": [3] * 3,
            "frequency": ["monthly"] * 3, "method": ["annuity"] * 3,
            "disbursed_on": [dt.date(2026, 1, 1)] * 3, "first_due_on": [dt.date(2026, 1, 10)] * 3,
        })
        agents = pl.DataFrame({"agent_id": ["TA"], "team": ["t"], "languages": ["zh-CN"], "jurisdictions": ["CN"],
                               "daily_calls": [10], "daily_visits": [1]})
        return {"borrowers": borrowers, "loans": loans, "agents": agents}

    def day(self, date: dt.date, actions: pl.DataFrame) -> dict[str, pl.DataFrame]:
        contacts, payments = [], []
        if actions.width:
            for a in actions.iter_rows(named=True):
                if a["channel"] is None:
                    continue
                at = dt.datetime.fromisoformat(a["window_start"]) + dt.timedelta(minutes=5)
                outcome = "right_party_contact" if a["action"] == "agent_call" else (
                    "delivered" if a["channel"] in ("sms", "letter", "email") else "no_answer")
                contacts.append({"event_id": f"E-{a['action_id']}", "borrower_id": a["borrower_id"],
                                 "loan_id": a["loan_id"], "action_id": a["action_id"], "channel": a["channel"],
                                 "direction": "outbound", "at": at.isoformat(), "party": a["party"], "outcome": outcome})
                if a["action"] == "agent_call":
                    self.called.add(a["borrower_id"])
        # T1 pays on time; T3 pays the day after it is first called; T2 never pays.
        for loan, borrower, amount in (("TL1", "T1", "1031.00"), ("TL3", "T3", "400.00")):
            if (borrower == "T1" and date.day == 10) or (borrower == "T3" and borrower in self.called and date.day % 7 == 0):
                payments.append({"payment_id": f"P-{loan}-{date}", "loan_id": loan, "amount": amount,
                                 "currency": "CNY", "paid_on": date, "method": "wallet"})
        return {"contacts": pl.DataFrame(contacts), "payments": pl.DataFrame(payments)}
