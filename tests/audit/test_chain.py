"""The pure parts: chaining, checking a chain in memory, seal files, retention. No database."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from arrears.audit.chain import GENESIS, AuditRecordError, canonical_json, chain_records, row_hash
from arrears.audit.retention import DEFAULT_RETENTION, RetentionRule, purgeable, purged_too_early
from arrears.audit.seal import Seal, key_from_env, parse_seal_document, seal_document, seal_hmac
from arrears.audit.verify import Segment, check_against_seal, check_segment

DAY = dt.date(2026, 3, 2)
AT = dt.datetime(2026, 3, 2, 20, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def records(n: int) -> list[dict]:
    return [
        {
            "kind": "planned_action",
            "borrower_id": f"B{i}",
            "loan_id": f"L{i}",
            "action_id": f"A{i}",
            "decision": "allowed",
            "rules": ["CN.hours", "CN.frequency"],
            "payload": {"channel": "call", "amount_minor": 12_345 + i},
        }
        for i in range(1, n + 1)
    ]


def chained(n: int = 5) -> list[dict]:
    return chain_records(records(n), partition="CN", day=DAY, recorded_at=AT)


def kinds(problems) -> list[tuple[str, int | None]]:
    return [(p.kind, p.seq) for p in problems]


def test_chain_is_deterministic_and_linked():
    a, b = chained(), chained()
    assert a == b
    assert [r["seq"] for r in a] == [1, 2, 3, 4, 5]
    assert a[0]["prev_hash"] == GENESIS
    assert all(r["prev_hash"] == p["row_hash"] for p, r in zip(a, a[1:]))
    assert a[0]["recorded_at"].tzinfo == dt.UTC and a[0]["recorded_at"].hour == 12
    assert a[0]["payload"] == '{"amount_minor":12346,"channel":"call"}'


def test_a_frame_chains_like_the_same_dicts():
    recs = [{k: v for k, v in r.items() if k != "payload"} for r in records(3)]
    assert chain_records(pl.DataFrame(recs), partition="CN", day=DAY, recorded_at=AT) == chain_records(
        recs, partition="CN", day=DAY, recorded_at=AT
    )


def test_appending_continues_the_chain():
    whole = chained(5)
    head = chain_records(records(5)[:2], partition="CN", day=DAY, recorded_at=AT)
    tail = chain_records(
        records(5)[2:], partition="CN", day=DAY, recorded_at=AT, last_seq=2, last_hash=head[-1]["row_hash"]
    )
    assert head + tail == whole


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"kind": "gossip"}, "kind"),
        ({"kind": "agent_check", "payload": {"rate": 0.24}}, "float"),
        ({"kind": "agent_check", "recorded_at": dt.datetime(2026, 3, 2, 9)}, "time zone"),
        ({"kind": "agent_check", "colour": "red"}, "unknown fields"),
    ],
)
def test_bad_records_are_refused(bad, message):
    with pytest.raises(AuditRecordError, match=message):
        chain_records([bad], partition="CN", day=DAY, recorded_at=AT)


def test_canonical_json_is_one_text_per_value():
    assert canonical_json({"b": 1, "a": [dt.date(2026, 1, 2), "中"]}) == '{"a":["2026-01-02","中"],"b":1}'


def test_clean_chain_has_no_problems():
    segment, problems = check_segment("CN", DAY, chained())
    assert problems == [] and segment.rows == 5 and segment.root == chained()[-1]["row_hash"]


def test_edit_delete_reorder_in_memory():
    rows = chained()
    rows[2] = {**rows[2], "payload": '{"amount_minor":1,"channel":"call"}'}
    assert kinds(check_segment("CN", DAY, rows)[1]) == [("edited", 3)]

    rows = chained()
    del rows[2]
    assert kinds(check_segment("CN", DAY, rows)[1]) == [("deleted", 3)]

    rows = chained()
    rows[1], rows[2] = {**rows[2], "seq": 2}, {**rows[1], "seq": 3}
    assert ("reordered", 2) in kinds(check_segment("CN", DAY, rows)[1])
    assert ("reordered", 3) in kinds(check_segment("CN", DAY, rows)[1])
    assert {p.kind for p in check_segment("CN", DAY, rows)[1]} == {"reordered"}


def test_edit_rehashed_in_place_names_the_edited_row():
    rows = chained()
    rows[1] = {**rows[1], "decision": "blocked"}
    rows[1]["row_hash"] = row_hash(rows[1]["prev_hash"], rows[1])
    assert kinds(check_segment("CN", DAY, rows)[1]) == [("edited", 2)]


def rechain(rows: list[dict]) -> list[dict]:
    prev, out = GENESIS, []
    for r in rows:
        r = {**r, "prev_hash": prev}
        r["row_hash"] = prev = row_hash(prev, r)
        out.append(r)
    return out


def test_truncation_and_rechain_need_a_seal():
    rows = chained()
    seg, _ = check_segment("CN", DAY, rows)
    seal = Seal("CN", DAY, seg.rows, seg.root, seal_hmac(b"k", "CN", DAY, seg.rows, seg.root))
    assert check_against_seal(seg, seal, b"k") == []

    short, problems = check_segment("CN", DAY, rows[:3])
    assert problems == []
    assert kinds(check_against_seal(short, seal, None)) == [("truncated", 4)]

    forged = rechain([{**rows[0], "decision": "blocked"}, *rows[1:]])
    seg2, problems = check_segment("CN", DAY, forged)
    assert problems == []
    assert kinds(check_against_seal(seg2, seal, None)) == [("rechained", None)]
    # The database's seal row rewritten to the forged root: only the key still tells.
    rewritten = Seal("CN", DAY, seg2.rows, seg2.root, seal.hmac)
    assert check_against_seal(seg2, rewritten, None) == []
    assert kinds(check_against_seal(seg2, rewritten, b"k")) == [("rechained", None)]


def test_more_rows_than_sealed_is_named():
    seg = Segment("CN", DAY, rows=6, last_seq=6, root="x", consistent=True)
    assert kinds(check_against_seal(seg, Seal("CN", DAY, 5, "y", None), None)) == [("appended", 6)]


def test_seal_document_is_stable_and_round_trips():
    sealed_at = dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC)
    s = [Seal("US-CA", DAY, 3, "b" * 64, None, sealed_at), Seal("CN", DAY, 5, "a" * 64, None, sealed_at)]
    text = seal_document(DAY, s)
    assert text == seal_document(DAY, list(reversed(s)))
    assert '"keyed": false' in text and "no key configured" in text
    back = parse_seal_document(text, "f.json")
    assert [(x.partition, x.rows, x.root, x.sealed_at) for x in back] == [
        ("CN", 5, "a" * 64, sealed_at),
        ("US-CA", 3, "b" * 64, sealed_at),
    ]


def test_key_comes_from_what_the_shell_passes(tmp_path):
    assert key_from_env({}) is None
    assert key_from_env({"ARREARS_AUDIT_KEY": "s3cret"}) == b"s3cret"
    f = tmp_path / "key"
    f.write_bytes(b"from-a-file\n")
    assert key_from_env({"ARREARS_AUDIT_KEY_FILE": str(f)}) == b"from-a-file"


def test_retention_defaults():
    sealed = [("CN", dt.date(2020, 3, 1)), ("CN", dt.date(2022, 3, 1)), ("US-CA", dt.date(2021, 1, 4)),
              ("platform", dt.date(2001, 1, 1))]
    today = dt.date(2026, 3, 2)
    # US counts from the last collection activity; unknown activity keeps the segment.
    assert purgeable(sealed, today) == [("CN", dt.date(2020, 3, 1))]
    assert purgeable(sealed, today, last_activity={"US-CA": dt.date(2023, 3, 1)}) == [
        ("CN", dt.date(2020, 3, 1)),
        ("US-CA", dt.date(2021, 1, 4)),
    ]
    assert purgeable(sealed, today, last_activity={"US-CA": dt.date(2023, 3, 2)}) == [
        ("CN", dt.date(2020, 3, 1))
    ]
    # Exactly five years is still kept: retention is a minimum.
    assert purgeable([("CN", dt.date(2021, 3, 2))], today) == []
    assert purgeable([("GB", dt.date(2020, 1, 1))], today, {"GB": RetentionRule(7)}) == []
    assert purged_too_early("CN", dt.date(2024, 1, 1), today, DEFAULT_RETENTION)
    assert not purged_too_early("CN", dt.date(2020, 1, 1), today, DEFAULT_RETENTION)


@pytest.mark.parametrize("slice_rows", [2048, 4, 1], ids=["one-slice", "slices", "a-row-a-slice"])
def test_chain_frame_gives_the_same_rows_and_hashes_as_chain_records(slice_rows, monkeypatch):
    """The bulk path (Polars builds the hashed JSON) and the record path agree byte for byte,
    with quotes, backslashes, control characters, Chinese text and nulls in the fields, however
    the rows are sliced between two releases of the GIL (the chain runs on across slices)."""
    import datetime as dt

    import polars as pl

    from arrears.audit import chain
    from arrears.audit.chain import canonical_json, chain_frame, chain_records

    monkeypatch.setattr(chain, "_SLICE", slice_rows)

    texts = ['plain', 'quote " and \\\\ backslash', '中文 – dash', 'tab\tnew\nline\x01', None]
    records = [
        {"kind": "policy_check", "borrower_id": t, "loan_id": "L1", "action_id": f"A{i}",
         "decision": "block" if i % 2 else "allow", "rules": ["CN-HOURS", "ARREARS-SMS"][: i % 3],
         "payload": {"explanation": t, "n": i, "zones": ["Asia/Shanghai"]}}
        for i, t in enumerate(texts * 3)
    ]
    at = dt.datetime(2026, 3, 2, 1, 2, 3, 456789, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    slow = chain_records(records, partition="CN", day=dt.date(2026, 3, 2), recorded_at=at, last_seq=4, last_hash="a" * 64)
    frame = pl.DataFrame([
        {**{k: r[k] for k in ("kind", "borrower_id", "loan_id", "action_id", "decision")},
         "rules": canonical_json(r["rules"]), "payload": canonical_json(r["payload"])} for r in records
    ])
    fast = chain_frame(frame, partition="CN", day=dt.date(2026, 3, 2), recorded_at=at, last_seq=4, last_hash="a" * 64)
    assert fast["row_hash"].to_list() == [r["row_hash"] for r in slow]
    assert fast["prev_hash"].to_list() == [r["prev_hash"] for r in slow]
    assert fast["seq"].to_list() == [r["seq"] for r in slow]


def _independent_hash(prev: str, row: dict, fmt: int) -> str:
    """Both encodings written out again from the README, without ``chain``'s helpers."""
    import hashlib
    import json

    fields = [row["partition"], row["day"].isoformat(), row["kind"], row["borrower_id"], row["loan_id"],
              row["action_id"], row["decision"], row["rules"], row["payload"],
              row["recorded_at"].astimezone(dt.UTC).isoformat(timespec="microseconds")]
    if fmt == 1:
        text = "arrears-audit-row/1\n" + prev + "\n" + json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()
    body = b"".join(b"-" if f is None else str(len(f.encode())).encode() + b":" + f.encode() for f in fields)
    return hashlib.sha256(b"arrears-audit-row/2\n" + prev.encode() + b"\n" + body).hexdigest()


def test_new_rows_are_format_2_and_hash_as_the_readme_says():
    rows = chain_records(records(3) + [{"kind": "screened_count", "payload": {"n": "中文 \"q\""}}],
                         partition="CN", day=DAY, recorded_at=AT)
    assert {r["format"] for r in rows} == {2}
    prev = GENESIS
    for r in rows:
        assert r["row_hash"] == _independent_hash(prev, r, 2)
        prev = r["row_hash"]


def test_rows_written_in_format_1_still_verify_and_tampering_is_still_named():
    """Rows stored before format 2 (no ``format`` key, or ``format`` 1) are hashed as they were."""
    prev, old = GENESIS, []
    for r in chained(4):
        r = {k: v for k, v in r.items() if k != "format"}
        r["prev_hash"] = prev
        r["row_hash"] = prev = _independent_hash(prev, r, 1)
        old.append(r)
    assert check_segment("CN", DAY, old)[1] == []
    assert check_segment("CN", DAY, [{**r, "format": 1} for r in old])[1] == []
    # A format-2 row appended after them continues the same chain.
    new = chain_records(records(1), partition="CN", day=DAY, recorded_at=AT, last_seq=4, last_hash=old[-1]["row_hash"])
    assert check_segment("CN", DAY, old + new)[1] == []
    # Editing an old row, or relabelling its format, is an edit.
    assert kinds(check_segment("CN", DAY, [old[0], {**old[1], "decision": "x"}, *old[2:]])[1]) == [("edited", 2)]
    assert kinds(check_segment("CN", DAY, [old[0], {**old[1], "format": 2}, *old[2:]])[1]) == [("edited", 2)]
    rows = list(old)
    rows[1], rows[2] = {**rows[2], "seq": 2}, {**rows[1], "seq": 3}
    assert {p.kind for p in check_segment("CN", DAY, rows)[1]} == {"reordered"}
    with pytest.raises(AuditRecordError):
        row_hash(GENESIS, {**old[0], "format": 3})
