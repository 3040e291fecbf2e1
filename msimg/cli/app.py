"""The `msimg` command. Errors become exit codes here and only here:
0 ok, 1 some files failed (or a non-usage error), 2 usage error, 130 interrupted."""

from __future__ import annotations

import gc
import inspect
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from msimg import __version__
from msimg.cli.commands import chain, doctor, evaluate, models, report, train
from msimg.cli.commands.task import command_for
from msimg.errors import MsimgError, UsageError
from msimg.tasks import TASKS

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _no_type(ctx: object) -> str:
    return ""


def _untyped(get_params: Callable[[Any], list[Any]]) -> Callable[[Any], list[Any]]:
    def params(ctx: Any) -> list[Any]:
        found = get_params(ctx)
        for param in found:
            param.display_type_rich = _no_type
        return found

    return params


def _commands(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _commands(sub)


class _Root(TyperGroup):
    """The `msimg` group. Typer's help has a type column (`<str>`, `<list[str]>`, `<bool>`): noise next to
    help that says in words what each option takes. The group is built with every command under it, so it
    drops that column for all of them here, where the help reads their parameters (`--help` included)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for command in _commands(self):
            command.get_params = _untyped(command.get_params)


app = typer.Typer(
    name="msimg",
    cls=_Root,
    help="Restore whole folders of images with multi-scale neural networks on a tiled engine (CPU or GPU).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"msimg {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    """msimg: image restoration for folders of any size."""
    _state["debug"] = debug


def reflow(doc: str) -> str:
    """Join each prose paragraph of a docstring into one line, so the help wraps to the terminal's width
    rather than breaking where the source did; indented paragraphs (examples) keep their lines."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(p if p.startswith(" ") else " ".join(p.split("\n")) for p in paragraphs)


for _name in TASKS:
    _command, _help, _summary = command_for(_name)
    app.command(_name, help=reflow(_help), short_help=_summary, no_args_is_help=True)(_command)
app.command(
    "run", help=reflow(chain.command.__doc__ or ""), no_args_is_help=True, context_settings=chain.CONTEXT
)(chain.command)
for _name, _command in (
    ("doctor", doctor.doctor),
    ("train", train.train),
    ("eval", evaluate.evaluate),
    ("report", report.report),
):
    app.command(_name, help=reflow(_command.__doc__ or ""), no_args_is_help=_name != "doctor")(_command)
app.add_typer(models.app, name="models")


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _error(message: str) -> None:
    sys.stderr.write(f"msimg: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and map every outcome to an exit code."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        result = app(args=argv, standalone_mode=False)
        return result if isinstance(result, int) else EXIT_OK
    except typer.Exit as e:
        return e.exit_code
    except (typer.Abort, KeyboardInterrupt):
        _error("interrupted")
        return EXIT_INTERRUPTED
    except typer.TyperException as e:  # bad options and arguments, reported by Typer itself
        show = getattr(e, "show", None)
        if show is not None:
            show()
        else:
            _error(e.format_message())
        return e.exit_code
    except UsageError as e:
        _error(str(e))
        return EXIT_USAGE
    except MsimgError as e:
        if _state["debug"]:
            raise
        _error(str(e))
        return EXIT_FAILED


def run() -> None:
    """Console-script entry point: this process is msimg's own, so it takes the allocator policy."""
    from msimg.engine.allocator import keep_freed_memory

    keep_freed_memory()
    code = main()
    # The interpreter's shutdown runs full collections over every object torch created, about 0.4 s of
    # every run. Nothing left needs collecting: the outputs are written and renamed, and standard output
    # is flushed at exit as before; so the shutdown skips what exists now.
    gc.freeze()
    sys.exit(code)
