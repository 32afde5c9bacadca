"""Events that leave the engine: small and picklable, so plugins, the watcher and batch
workers can handle progress without importing TensorFlow."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Progress:
    """One optimisation step, as reported to the ``callback``."""

    step: int  # 1-based, over all scales
    total: int  # total steps over all scales
    scale: int  # 1-based pyramid level
    scales: int
    height: int
    width: int
    loss: float
    content_loss: float
    style_loss: float
    tv_loss: float
    seconds: float  # since the run started

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)
