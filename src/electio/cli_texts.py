"""French panel titles and hints for the command-line help.

Typer prints its help panels with English module constants (``typer.rich_utils``);
:func:`install` sets them in French before the CLI runs, and gives the ``--help`` option of every
command a French text (the Click copy inside Typer 0.29 hard-codes "Show this message and exit.").
The usage line ("Usage:") stays as Click prints it. :class:`PipelineGroup` lists the commands in
the order of the pipeline rather than in the order the code declares them.
"""

from __future__ import annotations

import typer.core

HELP_OPTION = "Afficher cette aide et quitter."
COMMAND_ORDER = ("sources", "etl", "explore", "evaluate", "forecast", "export", "report", "serve", "load", "run")
"""``electio --help``: the stages in the order they run, then the dashboard, the PostgreSQL load and the whole run."""


class PipelineGroup(typer.core.TyperGroup):
    """The command group, listing its commands in :data:`COMMAND_ORDER` (unknown ones last, in declaration order)."""

    def list_commands(self, ctx) -> list[str]:  # type: ignore[no-untyped-def]
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: COMMAND_ORDER.index(n) if n in COMMAND_ORDER else len(COMMAND_ORDER))

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
    """Set Typer's help panel titles and hints, and the ``--help`` option's text, in French."""
    import typer.rich_utils
    from typer._click import core as click_core

    for name, text in TYPER_PANELS.items():
        if not hasattr(typer.rich_utils, name):
            raise RuntimeError(f"typer.rich_utils.{name} absent : texte d'aide non traduit")
        setattr(typer.rich_utils, name, text)
    original = click_core.Command.get_help_option
    if getattr(original, "french", False):
        return

    def get_help_option(self, ctx):  # type: ignore[no-untyped-def]
        option = original(self, ctx)
        if option is not None:
            option.help = HELP_OPTION
        return option

    get_help_option.french = True  # type: ignore[attr-defined]
    click_core.Command.get_help_option = get_help_option


class FrenchBadParameter(typer.BadParameter):
    """A usage error on one option, worded in French (Click's own wording is English)."""

    def format_message(self) -> str:
        return f"Valeur invalide pour {self.param_hint} : {self.message}"
