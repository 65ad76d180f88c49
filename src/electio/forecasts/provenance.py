"""What every forecast output states about its inputs (issue 14, item 6), as plain French sentences.

From the stored ``dim_scrutin_cible`` rows (as-of date, each target's real date and status, the polls behind
its territory totals: ``methode_totaux``, ``nb_sondages``, ``sondage_debut``, ``sondage_fin``, ``instituts``,
``note_totaux``) and, when the présidentielle's polls test several candidate lists, ``dim_hypothese``: which
hypothesis is used and that others exist (never averaged). The report, the slides, the dashboard and the
forecast charts all print these same sentences.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pandas as pd

from electio.forecasts.targets import Target

STATUS = {"officiel": "date officielle", "prevu": "date prévue par la loi", "hypothese": "date hypothétique"}
PROVENANCE_COLUMNS = ("methode_totaux", "nb_sondages", "sondage_debut", "sondage_fin", "instituts", "note_totaux")


def day(value: object) -> str:
    """``11/04/2027`` (empty for a missing date)."""
    return "" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%d/%m/%Y}"


def forecast_targets(targets: pd.DataFrame) -> pd.DataFrame:
    """The forecast targets of ``dim_scrutin_cible`` (``prevu``), in date order."""
    if targets.empty:
        return targets
    shown = targets[targets["prevu"].astype(bool)] if "prevu" in targets else targets
    return shown.sort_values(["date_scrutin", "scrutin_cible"])


def as_of_sentence(targets: pd.DataFrame) -> str:
    """« Prévision établie au 02/12/2026 … » (empty without a stored as-of date)."""
    dates = pd.to_datetime(targets["date_reference"]).dropna() if "date_reference" in targets else pd.Series(dtype="datetime64[ns]")
    if dates.empty:
        return ""
    return (f"Prévision établie au {day(dates.max())} : elle n'utilise que les résultats, sondages et indicateurs "
            "publiés avant cette date.")


def polls_sentence(row: pd.Series) -> str:
    """The polls behind one target's territory totals: count, fieldwork dates and pollsters (or why there are none)."""
    count = int(row["nb_sondages"]) if pd.notna(row.get("nb_sondages")) else 0
    if row.get("methode_totaux") != "sondages" or count == 0:
        return ("aucun sondage publié pour ce scrutin : totaux du territoire tirés du dernier scrutin comparable, "
                "avec l'écart habituel entre deux scrutins (intervalles larges)")
    pollsters = row.get("instituts")
    who = f" ; instituts : {pollsters}" if isinstance(pollsters, str) and pollsters else " ; instituts non renseignés"
    return (f"totaux du territoire tirés de {count} scénario{'s' if count > 1 else ''} de sondage{'s' if count > 1 else ''} nationa{'ux' if count > 1 else 'l'} "
            f"(terrains achevés du {day(row.get('sondage_debut'))} au {day(row.get('sondage_fin'))}{who})")


def target_sentence(row: pd.Series) -> str:
    """« Présidentielle 2027 (1er tour) — scrutin le 11/04/2027 (date officielle) ; totaux tirés de … »."""
    status = STATUS.get(str(row.get("statut")), str(row.get("statut") or ""))
    name = str(row["libelle"]).split(" (")[0] if "libelle" in row else str(row["scrutin_cible"])
    return f"{name} — scrutin le {day(row['date_scrutin'])} ({status}) ; {polls_sentence(row)}."


def target_sentences(targets: pd.DataFrame) -> list[str]:
    """One :func:`target_sentence` per forecast target, in date order."""
    return [target_sentence(row) for _, row in forecast_targets(targets).iterrows()]


def hypothesis_name(label: object) -> str:
    """A hypothesis' label without its leading « Hypothèse » (the sentences say it)."""
    return re.sub(r"^Hypothèse\s+", "", str(label))


def hypothesis_sentence(hypotheses: pd.DataFrame | None) -> str:
    """Which candidate hypothesis of the présidentielle's polls is used, and the others (empty without ``dim_hypothese``)."""
    if hypotheses is None or hypotheses.empty:
        return ""
    flag = "retenue" if "retenue" in hypotheses and hypotheses["retenue"].astype(bool).any() else "par_defaut"
    used = hypotheses[hypotheses[flag].astype(bool)]
    if used.empty:
        return ""
    chosen = used.iloc[0]
    others = hypotheses[hypotheses["hypothese_id"] != chosen["hypothese_id"]]
    polled = int(chosen["sondages"])
    sentence = (f"Présidentielle : les sondages testent {len(hypotheses)} liste{'s' if len(hypotheses) > 1 else ''} de candidats. "
                f"Hypothèse utilisée : « {hypothesis_name(chosen['libelle'])} » (sondée {polled} fois, dernier terrain le "
                f"{day(chosen['dernier_sondage'])}).")
    if others.empty:
        return sentence
    recent = int((others["sondages_recents"] > 0).sum()) if "sondages_recents" in others else 0
    when = f", dont {recent} dans les 60 derniers jours" if recent else ""
    rival = others.sort_values(["sondages_recents", "sondages"], ascending=False).iloc[0] if "sondages_recents" in others else others.iloc[0]
    return (f"{sentence} {len(others)} autre{'s' if len(others) > 1 else ''} liste{'s' if len(others) > 1 else ''} sondée{'s' if len(others) > 1 else ''}"
            f"{when} (la plus sondée récemment : « {hypothesis_name(rival['libelle'])} ») ; elles ne sont pas moyennées avec "
            "celle-ci, car ces candidats ne se présenteront pas tous.")


def provenance_lines(targets: pd.DataFrame, hypotheses: pd.DataFrame | None = None) -> list[str]:
    """Every sentence of the provenance: as-of date, one per target, the candidate hypothesis."""
    return [line for line in (as_of_sentence(targets), *target_sentences(targets), hypothesis_sentence(hypotheses)) if line]


def compact_target(row: pd.Series) -> str:
    """« Présidentielle 2027, 1er tour, 11/04/2027 : 45 scénarios de sondage du 01/10/2026 au 25/11/2026 (Ifop, Elabe) »."""
    name = str(row["libelle"]).split(" (")[0] if "libelle" in row else str(row["scrutin_cible"])
    count = int(row["nb_sondages"]) if pd.notna(row.get("nb_sondages")) else 0
    if row.get("methode_totaux") != "sondages" or count == 0:
        return f"{name}, {day(row['date_scrutin'])} : sans sondage (dernier scrutin comparable)"
    pollsters = row.get("instituts") if isinstance(row.get("instituts"), str) else "instituts non renseignés"
    return (f"{name}, {day(row['date_scrutin'])} : {count} scénario{'s' if count > 1 else ''} de sondage du {day(row.get('sondage_debut'))} "
            f"au {day(row.get('sondage_fin'))} ({pollsters})")


def compact_lines(targets: pd.DataFrame, hypotheses: pd.DataFrame | None = None) -> list[str]:
    """Short provenance for a slide or a chart caption: as-of date, one line per target, the hypothesis used."""
    dates = pd.to_datetime(targets["date_reference"]).dropna() if "date_reference" in targets else pd.Series(dtype="datetime64[ns]")
    lines = [f"Prévision établie au {day(dates.max())} (données publiées avant cette date)"] if not dates.empty else []
    lines += [compact_target(row) for _, row in forecast_targets(targets).iterrows()]
    if hypotheses is not None and not hypotheses.empty:
        flag = "retenue" if hypotheses["retenue"].astype(bool).any() else "par_defaut"
        used = hypotheses[hypotheses[flag].astype(bool)]
        if not used.empty:
            others = len(hypotheses) - 1
            lines.append(f"Hypothèse de candidats : « {hypothesis_name(used.iloc[0]['libelle'])} »"
                         + (f" ({others} autre{'s' if others > 1 else ''} sondée{'s' if others > 1 else ''}, non moyennée{'s' if others > 1 else ''})" if others else ""))
    return lines


def polls_caption(targets: Sequence[Target], described: pd.DataFrame, notes: Mapping[str, Sequence[str]]) -> str:
    """The chart captions' polls sentence: per target (``Target`` list, in order) its real date and polls
    (``described``: :func:`electio.forecasts.stage.totals_provenance` rows), and the candidate hypothesis used
    where the polls test several (the target's territory notes)."""
    known = described.set_index("scrutin_cible") if not described.empty else pd.DataFrame()
    parts = []
    for target in targets:
        row = pd.Series({"libelle": target.libelle, "date_scrutin": target.date,
                         **(known.loc[target.scrutin_cible].to_dict() if target.scrutin_cible in known.index else {})})
        chosen = [n.rstrip(".") for n in notes.get(target.scrutin_cible, ()) if "hypothèse" in n.lower()]
        parts.append(compact_target(row) + (f" — {' ; '.join(chosen)}" if chosen else ""))
    return ("Sondages utilisés : " + " ; ".join(parts) + ".") if parts else ""


HYPOTHESIS_NOTE = re.compile(r"Hypothèse de candidatures retenue : (.+?)\.(?:\s|$)")
OTHERS_NOTE = re.compile(r"(\d+) autre\(s\) hypothèse\(s\)")
CSV_COLUMNS = ("date_reference", "methode_totaux", "nb_sondages", "sondage_debut", "sondage_fin", "instituts", "hypothese_candidats",
               "autres_hypotheses")


def hypothesis_used(note: object) -> str | None:
    """The candidate hypothesis named in a target's ``note_totaux`` (None without polls)."""
    found = HYPOTHESIS_NOTE.search(note) if isinstance(note, str) else None
    return found.group(1) if found else None


def other_hypotheses(note: object) -> int:
    """How many other recent hypotheses a target's ``note_totaux`` reports (0 when none or without polls)."""
    found = OTHERS_NOTE.search(note) if isinstance(note, str) else None
    return int(found.group(1)) if found else 0


def csv_provenance(described: pd.DataFrame) -> pd.DataFrame:
    """Per target, the forecast CSV's provenance columns (:data:`CSV_COLUMNS`) from ``dim_scrutin_cible`` rows."""
    rows = described.reindex(columns=["scrutin_cible", *PROVENANCE_COLUMNS, "date_reference"])
    rows = rows.assign(hypothese_candidats=rows["note_totaux"].map(hypothesis_used), autres_hypotheses=rows["note_totaux"].map(other_hypotheses),
                       nb_sondages=pd.to_numeric(rows["nb_sondages"]).round().astype("Int64"))
    return rows[["scrutin_cible", *CSV_COLUMNS]]
