"""French panel titles and hints for the command-line help.

Typer prints its help panels with English module constants (``typer.rich_utils``);
:func:`install` sets them in French before the CLI runs. The usage line ("Usage:") and the
``--help`` option's own text come from the Click copy inside Typer 0.29, whose strings are
fixed in English: they stay as they are.
"""

from __future__ import annotations

TYPER_PANELS = {
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commandes",
    "ERRORS_PANEL_TITLE": "Erreur",
    "ABORTED_TEXT": "Interrompu.",
    "DEFAULT_STRING": "[défaut : {}]",
    "REQUIRED_LONG_STRING": "[obligatoire]",
    "RICH_HELP": "Essayez [blue]« {command_path} {help_option} »[/] pour l'aide.",
}
"""Module constants of ``typer.rich_utils`` → French text."""


def install() -> None:
    """Set Typer's help panel titles and hints in French."""
    import typer.rich_utils

    for name, text in TYPER_PANELS.items():
        if not hasattr(typer.rich_utils, name):
            raise RuntimeError(f"typer.rich_utils.{name} absent : texte d'aide non traduit")
        setattr(typer.rich_utils, name, text)
