"""France and département totals of a ballot, from a national commune file or a département file.

A commune file is summed per département of each commune's COG 2026 code (before the ETL
keeps only the territory's communes); a département file is used as published. Both then
get a France row (the sum of every row, abroad and overseas included). Territory codes:
INSEE département codes, ``ZX`` for Saint-Martin and Saint-Barthélemy (one unit in the
Ministry's totals, so communes 977xx and 978xx are counted there too) and ``ZZ`` for abroad.
"""

from __future__ import annotations

import pandas as pd

from electio.parse.ballot import CODE, COUNT_COLUMNS, ParsedBallot
from electio.parse.departement_totals import TERRITORY, ParsedTotals

FRANCE = "FR"
LEVEL = "niveau"
VOTE_KEYS: tuple[str, ...] = ("candidat", "prenom", "nuance")
SAINT_BARTH_MARTIN = ("977", "978")


def departement_of(codes: pd.Series) -> pd.Series:
    """Département (territory code) of COG commune codes: 2 characters, 3 overseas, ZX, ZZ."""
    overseas = codes.str.startswith(("97", "98"))
    departement = codes.str[:2].where(~overseas, codes.str[:3])
    return departement.where(~departement.isin(SAINT_BARTH_MARTIN), "ZX")


def from_communes(parsed: ParsedBallot, cog_codes: pd.Series) -> ParsedTotals:
    """Totals per département of a commune-level ballot; ``cog_codes`` aligns with its participation."""
    departement = departement_of(pd.Series(cog_codes, dtype="str").reset_index(drop=True))
    part = parsed.participation[list(COUNT_COLUMNS)].reset_index(drop=True).assign(**{TERRITORY: departement})
    participation = _sum(part, [TERRITORY], list(COUNT_COLUMNS))
    of_source = pd.Series(departement.to_numpy(), index=parsed.participation[CODE].to_numpy())
    votes = parsed.voix  # up to ~1.3 M rows (France): grouped in place, no copy of the frame
    keys = [votes[CODE].map(of_source).rename(TERRITORY), *(votes[key] for key in VOTE_KEYS)]
    voix = votes.groupby(keys, sort=False, dropna=False)["voix"].sum(min_count=1).reset_index()
    return ParsedTotals(parsed.scrutin_id, participation, voix)


def _sum(frame: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
    """``values`` summed per ``keys``; a group with a missing value stays missing (not a partial sum)."""
    grouped = frame.groupby(keys, sort=False, dropna=False)[values]
    summed = grouped.sum(min_count=1)
    incomplete = grouped.count() < grouped.size().to_numpy()[:, None]
    return summed.mask(incomplete).astype("Int64").reset_index()


def territory_frames(totals: ParsedTotals, source_id: str, methode: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(participation, voix) of the totals with a France row, ``niveau`` and the scrutin."""
    part = totals.participation[[TERRITORY, *COUNT_COLUMNS]]
    france = _sum(part.assign(**{TERRITORY: FRANCE}), [TERRITORY], list(COUNT_COLUMNS))
    participation = pd.concat([france.assign(**{LEVEL: "france"}), part.assign(**{LEVEL: "departement"})], ignore_index=True)
    voix = totals.voix[[TERRITORY, *VOTE_KEYS, "voix"]]
    voix_fr = _sum(voix.assign(**{TERRITORY: FRANCE}), [TERRITORY, *VOTE_KEYS], ["voix"])
    voix = pd.concat([voix_fr.assign(**{LEVEL: "france"}), voix.assign(**{LEVEL: "departement"})], ignore_index=True)
    participation = participation.assign(scrutin_id=totals.scrutin_id, source_id=source_id, methode=methode)
    return participation, voix.assign(scrutin_id=totals.scrutin_id)


def territory_results(voix: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """``fact_resultat_territoire``: territory votes keyed by ``candidat_id`` of ``dim_candidat``."""
    keys = ["scrutin_id", "candidat", "nuance"]
    facts = voix.merge(candidates[["candidat_id", *keys]], on=keys, how="left")
    return facts.groupby(["scrutin_id", LEVEL, TERRITORY, "candidat_id"], as_index=False)["voix"].sum()
