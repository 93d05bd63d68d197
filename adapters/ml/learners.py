"""The model libraries by name: the trainer to fit with and how to read a stored model back.

``lightgbm`` (gradient-boosted trees, the default) and ``river`` (an online learner: scaled
logistic or linear regression that can go on learning live). A model's record names its
library, so a stored model is always read back by the library that wrote it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from adapters.ml.lightgbm_model import LightGBMTrainer, load_model
from adapters.ml.river_model import RiverTrainer, load_river_model
from domain.errors import InvalidParameter

LEARNERS: Final = ("lightgbm", "river")


def trainer_for(library: str) -> LightGBMTrainer | RiverTrainer:
    """A trainer of ``library`` with its default settings (InvalidParameter for another name)."""
    if library == "lightgbm":
        return LightGBMTrainer()
    if library == "river":
        return RiverTrainer()
    raise InvalidParameter("learner", library, f"must be one of {', '.join(LEARNERS)}")


def loader_for(library: str) -> Callable[[bytes], Any]:
    """How a model ``library`` stored is read back (InvalidParameter for another name)."""
    if library == "lightgbm":
        return load_model
    if library == "river":
        return load_river_model
    raise InvalidParameter("trainer.library", library, f"must be one of {', '.join(LEARNERS)}")
