"""Active associations per commune from the RNA (fichier Waldec), one snapshot (NTD aggregate).

``ntd_rna_waldec_associations_actives_par_commune.csv`` (``,``, UTF-8): ``CODGEO, nb_assos,
nb_environnement, nb_culture, nb_social, nb_sport, nb_sante, nb_auto, pop, densite_*``.
A third party (NTD project) aggregated the RNA Waldec file (positions A and R per its code)
without publishing its build script: theme classification and ``pop`` source undocumented,
so only ``nb_assos`` is kept (``associations``); the rate per 1,000 inhabitants is derived in
``electio.harmonise.indicators`` from the project's own populations.

The RNA extract date is not documented; the file was committed on 2026-06-15, so the snapshot
is dated **2026** (``annee``) and published 2026-06-15 (``indicateurs_disponibilite.csv``).
Paris, Lyon, Marseille appear only by arrondissement municipal: summed on 75056, 69123, 13055
(flagged ``derive``). Codes: COG 2026 (the only COG with every code of the file). A commune absent
from the file has NO row (missing, not zero): the file lacks communes that certainly have
associations (L'Arbresle, Belleville-en-Beaujolais; only 51 of 277 communes of Finistère),
so absence is not evidence of zero. Alsace-Moselle (local-law register) is not in the RNA.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.parse.indicators_common import keep_communes, read_text_table, sum_arrondissements, wide_to_long

SNAPSHOT_YEAR = 2026
COG = 2026
COLUMNS = {"nb_assos": ("associations", SNAPSHOT_YEAR)}


def parse_associations(path: Path) -> pd.DataFrame:
    """Long frame of ``associations`` (active associations, count) per commune for the snapshot year."""
    path = Path(path)
    frame = keep_communes(read_text_table(path, sep=","), "CODGEO", path)
    long = wide_to_long(frame, path, code_column="CODGEO", columns=COLUMNS, cog_annee=COG, secret_tokens=frozenset())
    return sum_arrondissements(long)
