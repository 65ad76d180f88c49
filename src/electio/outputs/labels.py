"""French labels of the model's variables (``f_*`` columns of the modelling table), for every deliverable.

Indicator variables (``f_ind_<code>``) take the indicator's label from ``dim_indicateur`` instead.
"""

from __future__ import annotations

FEATURE_LABELS = {
    "f_ref_z": "Écart de référence de la commune au département",
    "f_moy_z": "Écart moyen de la commune au département (scrutins passés)",
    "f_der_z": "Écart relatif au département au dernier scrutin",
    "f_der_ecart": "Écart au département au dernier scrutin (points)",
    "f_der_part": "Part du bloc au dernier scrutin",
    "f_der_annees": "Ancienneté du dernier scrutin (années)",
    "f_meme_z": "Écart relatif au département au dernier scrutin du même type",
    "f_meme_ecart": "Écart au département au dernier scrutin du même type (points)",
    "f_meme_part": "Part du bloc au dernier scrutin du même type",
    "f_meme_annees": "Ancienneté du dernier scrutin du même type (années)",
    "f_meme_type_connu": "Scrutin du même type déjà connu",
    "f_T_ref": "Part du bloc dans le département (scrutin comparable)",
    "f_log_inscrits": "Taille de la commune (inscrits, échelle log)",
    "f_nb_scrutins_connus": "Nombre de scrutins connus",
    "f_est_abstention": "Sortie « abstention »",
    "f_type_presidentielle": "Type de scrutin : présidentielle",
    "f_type_legislatives": "Type de scrutin : législatives",
    "f_type_europeennes": "Type de scrutin : européennes",
    "f_rappel_bruit": "Correction du hasard des petites communes (rappel vers leur tendance)",
}


def feature_label(variable: str, indicator_label: str | None = None) -> str:
    """The French label of a model variable: the indicator's label, the table above, else the code itself."""
    return indicator_label or FEATURE_LABELS.get(variable, variable)
