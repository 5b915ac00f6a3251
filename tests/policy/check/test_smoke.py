from tests.policy.check.support import Scenario, allowed, blocked_by


def test_cn_fourth_call_in_a_batch_is_blocked_by_the_three_before_it():
    """CN-FREQ: three connected calls a day, counting the batch's earlier allowed calls."""
    s = Scenario().borrower("B1", "CN").loan("L1", "B1", "CNY")
    for i, hour in enumerate(("09", "10", "11", "12"), start=1):
        s.action(f"A{i}", "B1", "agent_call", f"2026-03-02T{hour}:00:00+08:00")
    out = {r["action_id"]: r for r in s.check().iter_rows(named=True)}
    assert all(allowed(out[a]) for a in ("A1", "A2", "A3"))
    assert blocked_by(out["A4"], "CN-FREQ")
