"""How borrowers behave: their types, the repayment intensity, and how they react to contact.

Borrower types (index into every per-type table below):

- ``PAYS`` pays each instalment on its due date, now and then late (days to weeks), and cures on
  their own: contacting them only costs money.
- ``NEEDS_CONTACT`` pays on schedule until some instalment (their *onset*), then pays only when
  collection effort raises their intensity.
- ``NEVER`` stops paying at their onset and does not respond to contact.
- ``HOSTILE`` stops paying at their onset, pays little, and reacts to contact with complaints,
  disputes, cease requests and lawyers.

The repayment intensity (FIELD-NOTES §6, Chehrazi, Glynn & Weber 2019) of a loan past its onset:

    dλ = κ(λ∞ − λ)dt + (δ10 + δ11·R)dN + δ2·dℓ

The reference values (λ∞ = 0.10, κ = 0.7, δ10 = 0.02, δ11 = 0.5, δ2 = 1) are read as per *month*
(30 days), the billing period of these loans, and rescaled to days: time is divided by 30, so κ,
λ∞ and each jump in λ (an intensity) are divided by 30. One effective conversation (ℓ = 1) then
adds 1/30 a day to λ, worth δ2/κ ≈ 1.4 expected payments over the following weeks. Each day is
one Euler step: λ decays exactly by exp(−κ), a payment happens with probability 1 − exp(−λ) and
pays a fraction R ~ U(0.1, 1) of the arrears (the whole arrears when R > 0.7).
"""

from __future__ import annotations

import numpy as np

PAYS, NEEDS_CONTACT, NEVER, HOSTILE = 0, 1, 2, 3
TYPE_NAMES = ("pays_anyway", "needs_contact", "never_pays", "hostile")

DAYS_PER_UNIT = 30.0
KAPPA = 0.7 / DAYS_PER_UNIT
DELTA10 = 0.02 / DAYS_PER_UNIT
DELTA11 = 0.5 / DAYS_PER_UNIT
DELTA2 = 1.0 / DAYS_PER_UNIT
# λ∞ per type, per month: only NEEDS_CONTACT has the reference value; PAYS does not use intensity.
LAMBDA_INF = np.array([0.10, 0.10, 0.0, 0.08]) / DAYS_PER_UNIT
# How much a unit of effort moves each type (δ2 is scaled by it).
RESPONSIVE = np.array([0.3, 1.3, 0.0, 0.25])
# An agency working the account lifts the long-run intensity (per month).
AGENCY_LIFT = 0.25 / DAYS_PER_UNIT
FULL_PAYMENT_R = 0.7

# Right-party contact on an outbound agent call to the borrower, per type (calibrated to ≈ 26 %
# over the delinquent book); fatigue lowers it further (people screen a number that keeps calling).
RPC = np.array([0.37, 0.33, 0.22, 0.26])
# A promise made is kept with this probability (the payment is arranged when it is made).
KEEP = np.array([0.65, 0.36, 0.05, 0.20])
# Settlement and plan offers: the base acceptance; a settlement's discount adds to it.
ACCEPT = np.array([0.30, 0.50, 0.05, 0.12])
HONOUR = np.array([0.95, 0.80, 0.20, 0.50])  # an accepted settlement is paid / a plan instalment kept
# A daily chance to call in, per type, while in arrears; recent effort adds to it.
INBOUND = np.array([0.004, 0.003, 0.0005, 0.004])

# What a conversation with the borrower ends in, per type (rows sum to 1). Complaint and cease
# weights are raised by fatigue before drawing.
CONVERSATION = (
    "promise_to_pay", "right_party_contact", "refused_to_pay", "hardship", "complaint", "dispute",
    "cease_request", "attorney_represented", "preferred_hours",
)
CONVERSATION_P = np.array([
    [0.62, 0.27, 0.03, 0.03, 0.02, 0.005, 0.005, 0.000, 0.02],
    [0.48, 0.22, 0.14, 0.07, 0.03, 0.02, 0.015, 0.005, 0.02],
    [0.10, 0.25, 0.50, 0.05, 0.04, 0.03, 0.02, 0.01, 0.00],
    [0.08, 0.10, 0.25, 0.02, 0.22, 0.15, 0.14, 0.04, 0.00],
])
FATIGUE_SENSITIVE = np.array([c in ("complaint", "cease_request") for c in CONVERSATION])
# Contact fatigue: attempts decay with a half-life of a week; each unit multiplies the complaint
# and cease weights by (1 + FATIGUE_WEIGHT · fatigue).
FATIGUE_DECAY = float(np.exp(-np.log(2) / 7))
FATIGUE_WEIGHT = 0.35

# What calling in ends in, per type.
INBOUND_OUTCOMES = (
    "promise_to_pay", "right_party_contact", "hardship", "dispute", "complaint", "cease_request",
    "attorney_represented", "preferred_hours",
)
INBOUND_P = np.array([
    [0.55, 0.35, 0.05, 0.01, 0.02, 0.00, 0.00, 0.02],
    [0.40, 0.30, 0.15, 0.04, 0.05, 0.02, 0.01, 0.03],
    [0.05, 0.30, 0.15, 0.20, 0.10, 0.10, 0.10, 0.00],
    [0.05, 0.10, 0.05, 0.30, 0.25, 0.15, 0.10, 0.00],
])

# Rare life events, a daily hazard: death for anyone, bankruptcy for loans past their onset.
DEATH_DAILY = 0.004 / 365
BANKRUPTCY_DAILY = 0.03 / 365


def choose(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One draw per row of a [rows, k] probability matrix (rows need not be normalised)."""
    cum = np.cumsum(probabilities, axis=1)
    u = rng.random(probabilities.shape[0]) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probabilities.shape[1] - 1)


def conversation_weights(types: np.ndarray, fatigue: np.ndarray) -> np.ndarray:
    weights = CONVERSATION_P[types].copy()
    weights[:, FATIGUE_SENSITIVE] *= (1 + FATIGUE_WEIGHT * fatigue)[:, None]
    return weights


def step_intensity(
    lam: np.ndarray, lam_inf: np.ndarray, paid_r: np.ndarray, effort: np.ndarray, responsive: np.ndarray
) -> np.ndarray:
    """One day of dλ: decay towards λ∞, a jump per payment (paid_r: R, or 0 without a payment),
    and a jump per unit of collection effort."""
    decayed = lam_inf + (lam - lam_inf) * np.exp(-KAPPA)
    jump = np.where(paid_r > 0, DELTA10 + DELTA11 * paid_r, 0.0)
    return decayed + jump + DELTA2 * effort * responsive
