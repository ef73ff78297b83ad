"""Metrics: score routes as the CARLA leaderboard does, aggregate them with confidence intervals,
and read/write the leaderboard's ``simulation_results.json``."""

from harness.metrics.aggregate import (PairedDifference, PairedRatio, Summary, bootstrap_ci, infractions_per_km,
                                       paired_difference, paired_ratio, summarize)
from harness.metrics.attribution import LossAttribution, attribute_loss
from harness.metrics.leaderboard_json import (build_results, read_results, route_scores_from_results,
                                              write_results)
from harness.metrics.records import Infraction, RouteScore
from harness.metrics.route import RouteMonitor, score_route

__all__ = [
    "Infraction", "RouteScore", "RouteMonitor", "score_route",
    "Summary", "PairedDifference", "PairedRatio", "summarize", "bootstrap_ci", "paired_difference", "paired_ratio",
    "infractions_per_km",
    "LossAttribution", "attribute_loss",
    "build_results", "write_results", "read_results", "route_scores_from_results",
]
