"""The independent re-check of executed contacts: ``violations(...)`` behind the simulation report.

A deliberately separate, row-by-row re-implementation of the contact rules of FIELD-NOTES §4. It
imports nothing from the rest of ``arrears``: the engine (``policy/``) decides with vectorised
Polars expressions over packs; this walks the contacts one at a time in time order with per-person
lists, from its own table of numbers (``params``). Where the two disagree, one of them is wrong.

Modules: ``read`` (frames to records), ``zones`` (candidate time zones), ``people`` (borrowers and
references), ``facts`` (flags and closed channels), ``history`` (per-person counts), ``rules`` (one
function per rule), ``walk`` (the loop and ``violations``).

Readings where FIELD-NOTES is silent (docs/simulation.md repeats them):
- Only outbound contacts can breach a rule; inbound ones set facts and count as conversations.
- Facts set by a contact bind the contacts after it; a flags row binds on the person's local days
  ``start_on <= d < end_on`` (any candidate zone). A contact's fact is lifted by a flags row of the
  same kind whose ``end_on`` is on or after the day it was set.
- ``written`` decides whether a dispute or cease is written; left empty, one made by letter, e-mail
  or text is written, one made by call or visit is oral.
- On a call, an outcome where the person stated something (dispute, opt-out, bankruptcy…) is a
  conversation. An outcome not in INTERFACE's table is a placed call that nobody answered.
- US-FREQ is per person per debt; a contact naming no loan is about every loan of the borrower.
  Calls placed within 7 days of the consumer's call consent are neither checked nor counted.
- US-MA counts placed calls, voicemails and texts; a number other than ``phone`` is "another number".
- CN-FREQ counts inbound conversations in the day's total, but only an outbound call breaches.
- GB-FREQ counts what reached the customer: connected calls, voicemails, delivered messages and
  visits; letters and unanswered calls do not. A week is 7 local days, a month 30.
- US third parties: everyone but spouse, guardian, estate representative, guarantor and attorney.
  US-LOC: a second contact that reaches them; US-3P: contact after the consumer was reached (their
  location is then known, so there is no lawful reason left).
- CN-3P: every reference is a third party; it needs ``consented_on``, the debtor dead or tried for 7
  days since last reached (not trying is not unreachability), at most one contact that reaches them,
  and none after a refusal.
- Oral "stop" closes that channel family (both telephone channels for a call) for that person, at
  every address: US-CEASE in the US, ARREARS-OPTOUT elsewhere. An opt-out closes the family at that
  address (US-OPTOUT / ARREARS-OPTOUT); an inbound message through it earns one reply.
- ARREARS-HOLD, US-CEASE (written), GB-DISPUTE and GB-BREATHING spare letters. US-ATTY, US-BK and
  US-DECEASED do not. Breathing space lasts at least 60 days even if lifted early.
- ARREARS-VISIT-MIN sums the visit's loans at the latest balance before the visit's day; a currency
  with no minimum fails; an unknown balance is not judged.
"""

from arrears.sim.oracle.walk import violations

__all__ = ["violations"]
