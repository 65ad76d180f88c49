"""One place that turns every expected failure into a French message saying what to do.

:func:`explain` maps an exception to a :class:`Failure` (message, advice, exit code), or None
for a genuine bug; the command line prints it (``electio.cli``). Libraries are imported lazily.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from electio.errors import ElectioError, Interrupted

INTERRUPTED_CODE = 130
REBUILD = "Reconstruisez l'entrepôt avec « electio etl » (ou toute la chaîne avec « electio run »)."
CORRUPT_MARKS = ("wal does not match", "not a valid duckdb database", "corrupt", "checksum", "wal file", "database file", "magic bytes")
SCHEMA_MARKS = ("binder error", "catalog error", "does not exist", "not found in from clause", "referenced column")


@dataclass(frozen=True)
class Failure:
    """What to print for a failure, and the exit code."""

    message: str
    advice: str
    code: int = 1


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _interrupted(signal_name: str) -> Failure:
    how = "Ctrl+C" if signal_name == "SIGINT" else signal_name
    return Failure(f"commande interrompue ({how}).",
                   "Rien n'a été écrit à moitié : les fichiers en cours de construction ont été supprimés et l'état précédent est conservé. "
                   "Relancez la commande.", INTERRUPTED_CODE)


def _os_failure(exc: OSError) -> Failure:
    if exc.errno is None:  # raised on purpose with a French message (e.g. « entrepôt absent »)
        return Failure(str(exc), "Suivez l'indication ci-dessus puis relancez la commande.")
    where = exc.filename or "le dossier du projet"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return Failure(f"écriture impossible dans {where} (dossier en lecture seule ou droits insuffisants).",
                       "Donnez les droits d'écriture sur ce dossier ou choisissez un autre dossier de travail (variable ELECTIO_HOME).")
    if exc.errno == errno.ENOSPC:
        return Failure(f"disque plein en écrivant {where}.", "Libérez de la place puis relancez la commande ; l'état précédent est conservé.")
    return Failure(f"erreur d'accès au fichier {where} : {exc.strerror or _first_line(exc)}.", "Vérifiez le fichier puis relancez la commande.")


def _duckdb_failure(exc: BaseException) -> Failure | None:
    import duckdb

    if not isinstance(exc, duckdb.Error):
        return None
    text = _first_line(exc)
    lower = text.lower()
    if isinstance(exc, duckdb.InterruptException) or "interrupted" in lower:
        return _interrupted("SIGINT")
    if "lock" in lower and ("conflicting" in lower or "could not set lock" in lower):
        return Failure(f"l'entrepôt est ouvert en écriture par un autre programme ({text}).",
                       "Fermez ce programme (tableau de bord, notebook…) ou attendez la fin de sa commande, puis relancez.")
    if any(mark in lower for mark in CORRUPT_MARKS) or isinstance(exc, duckdb.SerializationException):
        return Failure(f"l'entrepôt est abîmé ou illisible ({text}).", REBUILD)
    if isinstance(exc, duckdb.BinderException | duckdb.CatalogException) or any(mark in lower for mark in SCHEMA_MARKS):
        return Failure(f"l'entrepôt ne correspond pas à cette version d'Electio (schéma ancien ou incomplet : {text}).", REBUILD)
    return Failure(f"erreur de l'entrepôt : {text}.", "Rien n'a été écrit à moitié. Si l'erreur persiste, " + REBUILD[0].lower() + REBUILD[1:])


def explain(exc: BaseException, signal_name: str | None = None) -> Failure | None:
    """The French message of an expected failure, or None for an unexpected one (a bug)."""
    if signal_name or isinstance(exc, Interrupted | KeyboardInterrupt):
        return _interrupted(signal_name or getattr(exc, "signal_name", "SIGINT"))
    if isinstance(exc, ElectioError):
        return Failure(str(exc), "Corrigez la cause indiquée puis relancez la commande ; l'état précédent est conservé.")
    found = _duckdb_failure(exc)
    if found:
        return found
    if isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower():
        return _interrupted("SIGINT")
    if type(exc).__name__ == "UndefinedError":  # jinja2: the report's template asks for a value the warehouse lacks
        return Failure(f"le rapport attend une donnée absente de l'entrepôt ({_first_line(exc)}).",
                       "L'entrepôt date d'une version antérieure ou une étape manque : relancez « electio run ».")
    if isinstance(exc, OSError):
        return _os_failure(exc)
    if isinstance(exc, OverflowError | ValueError):
        return Failure(str(exc), "Corrigez la valeur puis relancez la commande.")
    return None
