"""Every rule the packs ship is either checked on each action by the engine or named as enforced
elsewhere: a rule nobody enforces cannot hide in a pack."""

from arrears.policy.check.params import Packs
from arrears.policy.check.rules import CHECKS, ENFORCED_ELSEWHERE


def test_every_pack_rule_is_checked_or_said_to_be_enforced_elsewhere():
    shipped = {r for role in ("first_party", "third_party") for p in Packs.load(role).packs.values() for r in p.rule_ids}
    checked = {c.rule for c in CHECKS}
    assert shipped - checked == set(ENFORCED_ELSEWHERE)
    assert checked <= shipped  # no check for a rule that no pack holds
