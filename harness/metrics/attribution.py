"""Where the driving score went: split the drop in mean DS from a base run to another run of the
same routes and seeds into its causes, so "it lost 60 points" reads "58 to getting blocked, 2 to
red lights".

Per route pair (``b`` base, ``o`` other), with ``DS = RC * P``:

- The drop ``RC_b P_b - RC_o P_o`` is split exactly into a completion part
  ``(RC_b - RC_o) (P_b + P_o) / 2`` and a penalty part ``(P_b - P_o) (RC_b + RC_o) / 2`` (the
  Shapley split of a product of two factors: no order between them is preferred).
- The completion part goes to how the route ended in the run that drove less of it:
  blocked (ActorBlockedTest), split by what the ground truth had in front of the ego in its final
  stand-still (``RouteScore.blocked_by``): ``blocked_nothing`` (a clear road at green or no light
  for over 5 s of it: the agent stood for something its sensors made up, or through a green),
  ``blocked_actor`` (a vehicle or pedestrian in its path), ``blocked_red_light``, or ``blocked``
  where the record does not say; ``timeout``; ``deviation``; ``failure`` (agent or simulation
  crashed); ``missing`` (planned, never recorded: counts 0 as on the leaderboard, and the whole
  difference of the pair goes here); or ``unfinished`` (stopped early by a step limit). Completion
  lost is positive; completion gained (the other run drove further) is negative and goes to how
  the base run ended.
- The penalty part goes to the infraction kinds in proportion to each kind's change in ``log P``
  (``P`` is a product of factors per infraction, so ``log P`` is their sum): the logarithmic-mean
  (LMDI) split, exact and free of an order between kinds. A kind the other run committed more of
  costs points; one it committed less of gives points back (negative).

Means over the planned (route, repetition) keys, like the DS itself, so the parts add up to the
drop in mean DS. Everything is from the scores alone: no re-driving.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.errors import ConfigError
from harness.metrics import rules as R
from harness.metrics.aggregate import keyed_scores, planned_keys, sort_keys
from harness.metrics.records import RouteScore

# how a route ended, in the order reports list them
END_CAUSES = ("blocked_nothing", "blocked_actor", "blocked_red_light", "blocked", "timeout", "deviation", "failure",
              "unfinished", "missing")
END_LABELS = {"blocked_nothing": "blocked, nothing ahead", "blocked_actor": "blocked behind an actor",
              "blocked_red_light": "blocked at a red light"}  # the others read as their key
_MIN_FACTOR = 1e-9  # a penalty factor of 0 (100 % outside route lanes) as a finite log
_VARIABLE = (R.MIN_SPEED, R.OUTSIDE_ROUTE_LANES)  # kinds whose factor depends on a measured value
_IS_ROUNDING = 5e-5  # drive --json rounds IS to 4 digits


@dataclass(frozen=True)
class RouteOutcome:
    """What the attribution needs of one route run."""

    RC: float  # [%] route completion
    IS: float  # infraction penalty P, 0..1
    end: str  # "completed" or one of END_CAUSES
    log_penalty: Mapping[str, float]  # infraction kind -> sum of log(factor) over its infractions (<= 0)

    @classmethod
    def missing(cls) -> RouteOutcome:
        return cls(0.0, 0.0, "missing", {})


def end_cause(status: str, kinds: Sequence[str], completed: bool, blocked_by: str | None = None) -> str:
    """How a route ended, from its status string, the kinds of its infractions and, when blocked,
    what was ahead (``RouteScore.blocked_by``)."""
    if completed:
        return "completed"
    if R.VEHICLE_BLOCKED in kinds or R.MSG_BLOCKED in status:
        return f"blocked_{blocked_by}" if f"blocked_{blocked_by}" in END_CAUSES else "blocked"
    if R.ROUTE_DEVIATION in kinds or R.MSG_DEVIATED in status:
        return "deviation"
    if R.ROUTE_TIMEOUT in kinds or R.MSG_TIMED_OUT in status:
        return "timeout"
    if any(msg in status for _, msg in R.FAILURE_MESSAGES.values()):
        return "failure"
    return "unfinished"


def penalty_by_kind(score: RouteScore) -> dict[str, float]:
    """Product of the penalty factors per infraction kind (kinds that cost nothing left out); their
    product is the route's P up to rounding."""
    out: dict[str, float] = {}
    for inf in score.infractions:
        if inf.penalty < 1.0:
            out[inf.kind] = out.get(inf.kind, 1.0) * inf.penalty
    return {k: float(f"{v:.6g}") for k, v in out.items()}


def outcome_of_score(score: RouteScore | None) -> RouteOutcome:
    """From a :class:`RouteScore` (None: a planned run that was never recorded)."""
    if score is None:
        return RouteOutcome.missing()
    logs: dict[str, float] = {}
    for inf in score.infractions:
        if inf.penalty < 1.0:
            logs[inf.kind] = logs.get(inf.kind, 0.0) + math.log(max(inf.penalty, _MIN_FACTOR))
    return RouteOutcome(score.RC, score.IS, end_cause(score.status, [i.kind for i in score.infractions], score.success,
                                                      score.blocked_by), logs)


def outcome_of_row(row: Mapping) -> RouteOutcome:
    """From a route row of ``harness drive --json`` (``RC``, ``IS``, ``status``, ``infractions``:
    counts per kind; since 2026-11-28 ``penalties``: the product of factors per kind, and
    ``blocked_by``: what stood ahead of a blocked ego). Rows
    without ``penalties`` get the fixed factors from the counts, and whatever of ``log IS`` those do
    not explain goes to the kinds with measured factors they have (min speed first)."""
    try:
        rc, p, status, counts = float(row["RC"]), float(row["IS"]), str(row["status"]), dict(row.get("infractions", {}))
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"a route row needs RC, IS and status (harness drive --json writes them); got keys "
                          f"{sorted(row) if isinstance(row, Mapping) else type(row).__name__}") from err
    completed = status in R.SUCCESS_STATUSES
    end = end_cause(status, list(counts), completed, row.get("blocked_by"))
    if "penalties" in row:
        logs = {k: math.log(max(float(f), _MIN_FACTOR)) for k, f in row["penalties"].items() if float(f) < 1.0}
        return RouteOutcome(rc, p, end, logs)
    logs = {k: n * math.log(R.PENALTY_FACTORS[k]) for k, n in counts.items() if k in R.PENALTY_FACTORS and n}
    fixed = sum(logs.values())
    rest = math.log(max(p, _MIN_FACTOR)) - fixed
    variable = [k for k in _VARIABLE if counts.get(k)]
    if rest < -1e-6 and (variable or abs(p - math.exp(fixed)) > _IS_ROUNDING):
        logs[variable[0] if variable else "other"] = rest
    return RouteOutcome(rc, p, end, logs)


@dataclass(frozen=True)
class LossAttribution:
    """Mean DS points lost from base to other, by cause (positive: lost; negative: gained)."""

    n_pairs: int
    loss: float  # mean over pairs of DS_base - DS_other, from RC * P
    completion: dict[str, float]  # end cause -> points; every END_CAUSES key present
    penalties: dict[str, float]  # infraction kind -> points; kinds with a non-zero share only

    @property
    def completion_total(self) -> float:
        return sum(self.completion.values())

    @property
    def penalty_total(self) -> float:
        return sum(self.penalties.values())

    def share(self, *causes: str) -> float:
        """Fraction of the loss that the given end causes and infraction kinds account for."""
        pts = sum(self.completion.get(c, 0.0) + self.penalties.get(c, 0.0) for c in causes)
        return pts / self.loss if self.loss else 0.0

    def to_dict(self) -> dict:
        return {"n_pairs": self.n_pairs, "loss": self.loss, "completion": dict(self.completion),
                "penalties": dict(self.penalties)}

    @classmethod
    def from_dict(cls, d: Mapping) -> LossAttribution:
        return cls(int(d["n_pairs"]), float(d["loss"]), dict(d["completion"]), dict(d["penalties"]))


def split_loss(pairs: Sequence[tuple[RouteOutcome, RouteOutcome]]) -> LossAttribution:
    """The attribution over (base, other) outcome pairs; see the module docstring."""
    if not pairs:
        raise ConfigError("split_loss: no route pairs; run both variants on the same routes and seeds")
    completion = dict.fromkeys(END_CAUSES, 0.0)
    penalties: dict[str, float] = {}
    loss = 0.0
    for b, o in pairs:
        pair = b.RC * b.IS - o.RC * o.IS
        loss += pair
        if "missing" in (b.end, o.end):  # nothing to split: the run that is missing scores 0
            completion["missing"] += pair
            continue
        c = (b.RC - o.RC) * (b.IS + o.IS) / 2.0
        if c > 0.0:
            completion[o.end if o.end in completion else "unfinished"] += c
        elif c < 0.0:
            completion[b.end if b.end in completion else "unfinished"] += c
        q = (b.IS - o.IS) * (b.RC + o.RC) / 2.0
        if q == 0.0:
            continue
        kinds = sorted(set(b.log_penalty) | set(o.log_penalty))
        delta = {k: b.log_penalty.get(k, 0.0) - o.log_penalty.get(k, 0.0) for k in kinds}
        total = sum(delta.values())
        if abs(total) < 1e-12:  # P moved (rounding, or a kind the row does not name) but no kind did
            penalties["other"] = penalties.get("other", 0.0) + q
            continue
        for k, d in delta.items():
            if d:
                penalties[k] = penalties.get(k, 0.0) + q * d / total
    n = len(pairs)
    return LossAttribution(n, loss / n, {k: v / n for k, v in completion.items()},
                           {k: v / n for k, v in penalties.items() if abs(v) > 1e-12})


def attribute_loss(base: Mapping, other: Mapping, planned: Sequence | None = None) -> LossAttribution:
    """Attribution of ``mean DS(base) - mean DS(other)`` over matched keys.

    ``base`` and ``other`` map ``(route_id, repetition)`` to :class:`RouteScore`. With ``planned``,
    every planned key is a pair and a missing record counts 0 (as in the global mean); without, the
    pairs are the keys both recorded."""
    a, b = keyed_scores(base), keyed_scores(other)
    keys = planned_keys(planned) if planned is not None else sort_keys(set(a) & set(b))
    return split_loss([(outcome_of_score(a.get(k)), outcome_of_score(b.get(k))) for k in keys])
