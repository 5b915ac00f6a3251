"""Retention follows the packs as a minimum: ``arrears audit purge`` removes whole sealed segments
past it (CN 5 years from the day), keeps the seals, and a portfolio's override can lengthen it."""

from __future__ import annotations

import datetime as dt

from arrears.audit import log
from arrears.comply.retention import retention_rules
from arrears.policy.check.params import Packs
from arrears.policy.overrides import parse_overrides
from tests.audit.test_log import AT, NO_KEY, planned, rows, seal


def test_the_packs_set_the_retention_minimum_and_overrides_lengthen_it():
    rules = retention_rules(Packs.load())
    assert (rules["CN"].years, rules["CN"].since) == (5, "last_activity")
    assert (rules["US"].years, rules["US"].since) == (3, "last_activity")
    assert "GB" not in rules  # no minimum in FIELD-NOTES for GB: never purged
    longer = parse_overrides('[override]\nportfolio = "p"\n[retention]\nyears_at_least = 7\n', "o.toml")
    assert retention_rules(Packs.load("first_party", longer))["CN"].years == 7


def test_audit_purge_removes_sealed_segments_past_the_packs_minimum(engine, db_url, cli, tmp_path):
    old, recent = dt.date(2020, 6, 1), dt.date(2024, 6, 1)
    # CN counts from the last collection activity: the last outbound contact was on 2020-06-01.
    (tmp_path / "b.csv").write_text("borrower_id,name,phone,language,jurisdiction\nB1,王芳,+8613800138000,zh-CN,CN\n")
    (tmp_path / "c.csv").write_text("event_id,borrower_id,channel,direction,at,party,outcome\n"
                                    "C1,B1,sms,outbound,2020-06-01T10:00:00+08:00,borrower,delivered\n")
    for kind, f in (("borrowers", "b.csv"), ("contacts", "c.csv")):
        assert cli("import", kind, str(tmp_path / f), "--date", "2020-06-01", db=db_url).exit_code == 0
    with engine.begin() as conn:
        for day in (old, recent):
            log.append(conn, "CN", day, planned(2), recorded_at=AT)
    for day in (old, recent):
        seal(cli, db_url, tmp_path / f"seal-{day}.json", day=day)
    longer = tmp_path / "longer.toml"
    longer.write_text('[override]\nportfolio = "p"\n[retention]\nyears_at_least = 7\n', encoding="utf-8")
    r = cli("audit", "purge", "--date", "2026-03-02", "--overrides", str(longer), db=db_url)
    assert r.exit_code == 0 and "0 segment(s) purged" in r.output
    r = cli("audit", "purge", "--date", "2026-03-02", db=db_url)
    assert r.exit_code == 0, r.output
    assert "purged: partition CN, day 2020-06-01" in r.output and "1 segment(s) purged" in r.output
    assert rows(engine, "CN", old) == [] and len(rows(engine, "CN", recent)) == 2  # 2024 + 5 > 2026
    assert cli("audit", "verify", "--seals", str(tmp_path), db=db_url, env=NO_KEY).exit_code == 0
