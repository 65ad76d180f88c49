"""Territory-level scenarios: the calibrated trend (``tendance``), named scenarios and user overrides.

A scenario changes two things, both on top of ``tendance``:

* bloc swings, in percentage points of the territory's exprimés (``extreme_droite = +3``), and
  abstention swings in points of the inscrits. The swung blocs take their new share exactly; the
  other blocs are scaled proportionally so that the shares still sum to 1 (a bloc's share is kept
  within [0, 1]);
* indicator shifts, added in the indicator's own unit to every commune's projected value
  (``taux_chomage = +2``: two more points of unemployment everywhere). They only act through the
  local model's indicator features, i.e. they move communes relative to one another; the territory
  total stays the scenario's (see the reply / README for how little the current model uses them).

Scenario files are TOML, one table per scenario::

    [poussee_extreme_droite]
    libelle = "Poussée de l'extrême droite"
    description = "…"
    swing = { extreme_droite = 5.0 }
    indicateurs = { taux_chomage = 1.0 }
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from electio import config
from electio.features.modelling_table import ABSTENTION

TREND = "tendance"
CUSTOM = "personnalise"
DEFAULT_FILE = config.PROJECT_DIR / "scenarios" / "exemples.toml"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ASSIGNMENT = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*=\s*([+-]?\d+(?:[.,]\d+)?)\s*$")


@dataclass(frozen=True)
class Scenario:
    """A named scenario: bloc swings (points) and indicator shifts (indicator units)."""

    nom: str
    libelle: str
    description: str
    swing: Mapping[str, float] = field(default_factory=dict)
    indicateurs: Mapping[str, float] = field(default_factory=dict)

    @property
    def parametres(self) -> str:
        """The parameters as JSON text (stored in ``dim_scenario``)."""
        return json.dumps({"swing_points": dict(self.swing), "indicateurs": dict(self.indicateurs)}, ensure_ascii=False, sort_keys=True)


TREND_SCENARIO = Scenario(
    TREND, "Tendance",
    "Totaux du territoire tirés des sondages publiés avant la date de référence (à défaut, du dernier scrutin national du même type), "
    "portés au territoire par son écart à la France ; indicateurs selon leur tendance amortie ; incertitude mesurée sur les scrutins passés.",
)


def parse_assignment(text: str) -> tuple[str, float]:
    """« nom=+3 » (or « nom=-1,5 ») → (nom, value)."""
    found = _ASSIGNMENT.match(text)
    if not found:
        raise ValueError(f"réglage illisible : « {text} » (attendu : nom=+3, nom=-1,5…)")
    return found.group(1), finite(float(found.group(2).replace(",", ".")), f"réglage « {text[:40]} »")


def finite(value: float, what: str) -> float:
    """``value`` if it is a finite number, else a ValueError naming ``what`` (nan, inf or a 400-digit number)."""
    if not math.isfinite(value):
        raise ValueError(f"{what} : nombre invalide ou hors limites ({value}) ; donnez une valeur finie, ex. +3 ou -1,5")
    return value


def custom_scenario(swings: Sequence[str], indicators: Sequence[str]) -> Scenario | None:
    """The user's scenario from command-line settings (None without any)."""
    if not swings and not indicators:
        return None
    swing, shifts = dict(map(parse_assignment, swings)), dict(map(parse_assignment, indicators))
    parts = [f"{k} {v:+g} points" for k, v in swing.items()] + [f"indicateur {k} {v:+g}" for k, v in shifts.items()]
    return Scenario(CUSTOM, "Scénario personnalisé", "Tendance modifiée en ligne de commande : " + ", ".join(parts).replace(".", ","), swing, shifts)


def scenario_from(name: str, table: Mapping[str, object]) -> Scenario:
    """One scenario of a TOML file."""
    if not _NAME.match(name) or name in (TREND, CUSTOM):
        raise ValueError(f"nom de scénario invalide ou réservé : {name}")
    unknown = set(table) - {"libelle", "description", "swing", "indicateurs"}
    if unknown:
        raise ValueError(f"scénario {name} : clés inconnues {sorted(unknown)}")
    numbers = {key: {k: finite(float(v), f"scénario {name}, {key}.{k}") for k, v in dict(table.get(key, {})).items()}
               for key in ("swing", "indicateurs")}
    return Scenario(name, str(table.get("libelle", name)), str(table.get("description", "")), numbers["swing"], numbers["indicateurs"])


def load_scenarios(path: Path) -> dict[str, Scenario]:
    """Named scenarios of a TOML file, in file order."""
    with path.open("rb") as handle:
        content = tomllib.load(handle)
    return {name: scenario_from(name, table) for name, table in content.items()}


def check_scenario(scenario: Scenario, outputs: Sequence[str], indicators: Sequence[str]) -> None:
    """Raise ValueError on an unknown bloc or indicator (``indicators``: every known indicator code)."""
    for key, value in [*scenario.swing.items(), *scenario.indicateurs.items()]:
        finite(value, f"scénario {scenario.nom}, {key}")
    blocs = set(scenario.swing) - set(outputs)
    if blocs:
        raise ValueError(f"scénario {scenario.nom} : bloc(s) inconnu(s) {sorted(blocs)} (blocs : {', '.join(outputs)})")
    missing = set(scenario.indicateurs) - set(indicators)
    if missing:
        raise ValueError(f"scénario {scenario.nom} : indicateur(s) inconnu(s) {sorted(missing)}")


def apply_swings(shares: np.ndarray, abstention: np.ndarray, blocs: Sequence[str], swing: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Shares (… × k) and abstention (…) after swings in points (see module doc)."""
    delta = np.array([swing.get(b, 0.0) for b in blocs]) / 100
    moved = np.array([b in swing for b in blocs])
    new = np.where(moved, np.clip(shares + delta, 0.0, 1.0), shares)
    fixed = np.where(moved, new, 0.0).sum(axis=-1, keepdims=True)
    if np.any(fixed > 1 + 1e-12):
        raise ValueError("les écarts demandés portent les blocs modifiés au-delà de 100 % des exprimés")
    others = np.where(moved, 0.0, shares).sum(axis=-1, keepdims=True)
    scale = np.divide(1 - fixed, others, out=np.zeros_like(others), where=others > 0)
    out = np.where(moved, new, shares * scale)
    return out, np.clip(abstention + swing.get(ABSTENTION, 0.0) / 100, 0.0, 1.0)
