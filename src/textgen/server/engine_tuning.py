"""What an engine's `tune()` is given and reports: hyperparameters, steps and the adapter.

The server resolves every hyperparameter before the run (TuningParams). `Engine.tune` yields a
TuningProgress after each step, then one TuningResult whose adapter the server keeps with the
tuned model and passes back as `GenerationInput.adapter` when that model generates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True)
class TuningParams:
    """Tuning hyperparameters with every default resolved by the servicer."""

    epoch_count: int
    batch_size: int
    learning_rate: float


@dataclass(frozen=True)
class TuningProgress:
    """One finished tuning step: its number and epoch (both from 1) and its mean loss."""

    step: int
    epoch: int
    mean_loss: float


@dataclass(frozen=True)
class TuningResult:
    """The end of a tuning run: what GenerationInput.adapter carries for the tuned model."""

    adapter: object


TuningEvent: TypeAlias = "TuningProgress | TuningResult"
