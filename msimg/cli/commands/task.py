"""Every task's command, made from its options dataclass: each field with a flag becomes an option
(`msimg.tasks.fields`), the common options are added (`task_command`), and the values become the task's
options object."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable
from types import ModuleType
from typing import Annotated, Any

import typer

from msimg.cli.options import CommonArgs, task_command
from msimg.cli.run import run_task
from msimg.tasks import TASKS
from msimg.tasks.fields import flag_of


def _parameter(field: dataclasses.Field, hint: Any) -> tuple[inspect.Parameter, Callable[[Any], Any]]:
    """The command-line parameter of one options field, and what turns its value into the field's."""
    flag = flag_of(field.metadata)
    assert flag is not None
    names = [flag.flag] if flag.flag else []
    option = typer.Option(*names, help=flag.help, rich_help_panel=flag.panel)
    if flag.parse is not None:  # read as text: "auto", "R,G,B", ...
        default = flag.shown
        annotation: Any = str if default is not None else str | None
        parse = flag.parse

        def convert(value: Any) -> Any:
            return None if value is None else parse(value)
    else:
        default, annotation = field.default, hint

        def convert(value: Any) -> Any:
            return value

    name = flag.replaces or field.name
    kind = inspect.Parameter.KEYWORD_ONLY
    return inspect.Parameter(name, kind, default=default, annotation=Annotated[annotation, option]), convert


def task_parameters(name: str) -> tuple[ModuleType, list[inspect.Parameter], Callable[[dict[str, Any]], Any]]:
    """Task `name`'s options module, its options as command-line parameters, and what makes its options
    object of their values (by parameter name): its command's, and its stage's in `msimg run`."""
    module = importlib.import_module(f"{TASKS[name]}.options")
    options_type = next(
        v
        for v in vars(module).values()
        if dataclasses.is_dataclass(v) and isinstance(v, type) and v.__module__ == module.__name__
    )
    fields = [f for f in dataclasses.fields(options_type) if flag_of(f.metadata) is not None]
    # only the flagged fields' types: others (a file's facts) may name types imported for checkers only
    made = [_parameter(f, eval(f.type, vars(module)) if isinstance(f.type, str) else f.type) for f in fields]

    def options(values: dict[str, Any]) -> Any:
        return options_type(
            **{f.name: convert(values[p.name]) for f, (p, convert) in zip(fields, made, strict=True)}
        )

    return module, [p for p, _ in made], options


def command_for(name: str) -> tuple[Callable[..., Any], str, str]:
    """The command of task `name`, its help and its one-line summary."""
    module, parameters, options = task_parameters(name)

    def command(common: CommonArgs, **values: Any) -> None:
        raise typer.Exit(run_task(name, common, options(values)))

    common = inspect.Parameter("common", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=CommonArgs)
    params = [common, *parameters]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__name__ = name.replace("-", "_")
    command.__doc__ = module.HELP
    return task_command(command), module.HELP, module.SUMMARY
