"""The offline provider: no network, deterministic, labelled "offline".

It is a marker the factory returns when no key is configured; the callers above
(evaluation, coaching) see it and run their own rule-based evaluator or coach, so
this layer never imports them.
"""

from __future__ import annotations

# v2: markup-blind, meaningful-number and stuffing-resistant signals (scores differ from v1).
MODEL_NAME = "offline-heuristic-v2"


class OfflineProvider:
    name = "offline"
    model = MODEL_NAME
