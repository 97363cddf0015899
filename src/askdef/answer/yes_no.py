"""A yes/no answer read from a chat model's next-token probabilities, not from its text.

Scoring both words ("yes", "Yes", " yes" ... against "no", "No" ...) gives a probability that
a threshold can trade off, where the sampled word gives only its sign.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

YES_NO_ALTERNATIVES = 10  # most likely first tokens asked for: yes and no forms are among them


def yes_share(ranked: Iterable[tuple[str, float]]) -> float:
    """P(yes) / (P(yes) + P(no)) over first tokens ``(token, logprob)``, case and spaces
    folded; 0.0 when neither word is among them (the model answered something else)."""
    mass = {"yes": 0.0, "no": 0.0}
    for token, logprob in ranked:
        word = token.strip().casefold()
        if word in mass:
            mass[word] += math.exp(logprob)
    total = mass["yes"] + mass["no"]
    return mass["yes"] / total if total else 0.0
