"""ETL step for the units of analysis below the commune (arrondissements municipaux)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from electio.catalogue import Source, get_source
from electio.fetch import fetch
from electio.harmonise import units
from electio.parse.ballot import ParsedBallot
from electio.pipeline.lineage import Lineage, now

Parser = Callable[[Source, Path, str], ParsedBallot]


@dataclass
class UnitFrames:
    """Measured unit frames of the ballots read so far (split communes of the territory only)."""

    units: pd.DataFrame
    bureau_sources: dict[str, str]
    participation: list[pd.DataFrame] = field(default_factory=list)
    voix: list[pd.DataFrame] = field(default_factory=list)
    audit: list[pd.DataFrame] = field(default_factory=list)

    def add(self, lineage: Lineage, parsed: ParsedBallot, path: Path, parser: Parser) -> None:
        """Units of one ballot: from its own bureaux, or from the extra bureau file declared for it."""
        if self.units.empty:
            return
        if parsed.bureaux is None:
            source_id = self.bureau_sources.get(parsed.scrutin_id)
            if source_id is None:
                return
            t0 = now()
            source = get_source(source_id)
            path = lineage.record_input(fetch(source))
            parsed = parser(source, path, parsed.scrutin_id)
            rows = 0 if parsed.bureaux is None else len(parsed.bureaux)
            lineage.record_step("bureaux_unites", source_id, rows, rows, 0, t0)
        part, voix, audit = units.measured(parsed, self.units, path)
        self.participation.append(part)
        self.voix.append(voix)
        self.audit.append(audit)

    def tables(self, fact_participation: pd.DataFrame, fact_resultat: pd.DataFrame, scrutins: pd.DataFrame,
               dim_candidat: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """Measured and estimated unit facts, and the bureau audit."""
        part = _concat(self.participation, units.PART_COLUMNS[:-2]).assign(estime=False, scrutin_reference=None)
        voix = units.attach_candidates(_concat(self.voix, ["scrutin_id", "code_unite", "code_commune", *units.VOTE_KEYS, "voix"]), dim_candidat)
        est_part, est_voix = units.estimate(fact_participation, fact_resultat, part, voix, scrutins, dim_candidat)
        audit = _concat(self.audit, ["scrutin_id", "code_commune", "bureau", "code_unite"])
        return {
            "fact_participation_arrondissement": pd.concat([part, est_part], ignore_index=True)[units.PART_COLUMNS],
            "fact_resultat_arrondissement": pd.concat([voix, est_voix], ignore_index=True)[units.VOIX_COLUMNS],
            "map_bureau_unite": audit,
        }


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """Frames stacked, or an empty frame with ``columns``."""
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
