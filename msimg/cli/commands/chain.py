"""`msimg run`: stages in one pass. The stages' options are their own commands' (`task_parameters`),
prefixed with the stage's name; Typer hands them over unparsed (`CONTEXT`), and each stage's words are
parsed here by a command made of that task's parameters alone, so they convert as in `msimg <task>`.
A `--pipeline` TOML file's options become such words too, put before the command line's, which win."""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer

from msimg.cli.commands.task import task_parameters
from msimg.cli.options import CommonArgs, task_command
from msimg.cli.run import run_stages
from msimg.errors import UsageError
from msimg.tasks import TASKS, check_stages

# the stages' options (--denoise.sigma 10) reach the command as arguments, to be parsed here
CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}
ARGUMENTS = Annotated[
    list[str],
    typer.Argument(
        metavar="STAGES INPUT",
        help="The stages, with commas (denoise,super-resolve; --pipeline may name them instead), then image "
        "files, folders (walked recursively) or globs; - for stdin.",
    ),
]


@functools.cache
def _stage_command(name: str) -> Any:
    """A command of task `name`'s own options and its `--model` (each stage's own: --denoise.model),
    whose result is (options, model)."""
    _, parameters, options = task_parameters(name)

    def stage(**values: Any) -> tuple[Any, str | None]:
        model = values.pop("model")
        return options(values), model

    model = inspect.Parameter(
        "model",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[str | None, typer.Option("--model")],
    )
    params = [*parameters, model]
    stage.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    stage.__annotations__ = {p.name: p.annotation for p in params}
    app = typer.Typer(add_completion=False)
    app.command(name)(stage)
    return typer.main.get_command(app)


def _option(stage: str, flag: str) -> Any:
    """The option `flag` (`--sigma`, `--no-defects`) of a stage's command, None if it has none."""
    return next((p for p in _stage_command(stage).params if flag in (*p.opts, *p.secondary_opts)), None)


def _known(stage: str) -> str:
    flags = [f for p in _stage_command(stage).params for f in (*p.opts, *p.secondary_opts)]
    return f"{stage} takes {', '.join(f'--{stage}.{f[2:]}' for f in flags)}"


def _split_words(words: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The command's arguments -> the positional ones, and each stage's options as its own command's
    words (`--denoise.sigma 10` -> denoise: `--sigma 10`)."""
    positional: list[str] = []
    given: dict[str, list[str]] = {}
    rest = list(words)
    while rest:
        word = rest.pop(0)
        if not word.startswith("-") or word == "-":
            positional.append(word)
            continue
        flag, equals, value = word.partition("=")
        stage, dot, name = flag[2:].partition(".")
        if not flag.startswith("--") or not dot:
            raise UsageError(f"no such option: {flag}")
        if stage not in TASKS:
            raise UsageError(f"{flag}: unknown stage '{stage}' (stages: {', '.join(TASKS)})")
        option = _option(stage, f"--{name}")
        if option is None:
            raise UsageError(f"no such option: {flag} ({_known(stage)})")
        own = [f"--{name}={value}" if equals else f"--{name}"]
        if not option.is_flag and not equals:
            if not rest:
                raise UsageError(f"{flag} needs a value")
            own.append(rest.pop(0))
        given.setdefault(stage, []).extend(own)
    return positional, given


def _toml() -> ModuleType:
    """tomllib (Python 3.11+), else the tomli package it came from."""
    try:
        import tomllib
    except ModuleNotFoundError:
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise UsageError("--pipeline reads TOML: on Python 3.10, install the tomli package") from None
    return tomllib


def _file_words(path: str, stage: str, key: str, value: Any) -> list[str]:
    """One option of a stage's table in a pipeline file as command-line words: keys are the flag's
    spelling or its snake_case (input-space, input_space), lists are comma-separated, booleans the flag
    or its negation."""
    flag = "--" + key.replace("_", "-")
    option = _option(stage, flag)
    if option is None:
        raise UsageError(f"--pipeline {path}: {stage} has no option '{key}' ({_known(stage)})")
    if option.is_flag:
        if not isinstance(value, bool):
            raise UsageError(f"--pipeline {path}: {stage}'s {key} is true or false, got {value!r}")
        on = flag in option.opts
        return (option.opts if value == on else option.secondary_opts)[:1]
    if isinstance(value, dict):
        raise UsageError(f"--pipeline {path}: {stage}'s {key} is a value, not a table")
    return [flag, ",".join(map(str, value)) if isinstance(value, list) else str(value)]


def _pipeline_file(path: str) -> tuple[list[str] | None, dict[str, list[str]]]:
    """A pipeline file's stages (None when it names none) and each stage's options as command-line
    words."""
    toml = _toml()
    try:
        data = toml.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise UsageError(f"--pipeline {path}: {err.strerror or err}") from None
    except (UnicodeDecodeError, toml.TOMLDecodeError) as err:
        raise UsageError(f"--pipeline {path}: {err}") from None
    stages = data.pop("stages", None)
    if stages is not None and not (isinstance(stages, list) and all(isinstance(s, str) for s in stages)):
        raise UsageError(f'--pipeline {path}: stages is a list of names, such as ["denoise", "dejpeg"]')
    words: dict[str, list[str]] = {}
    for stage, table in data.items():
        if stage not in TASKS or not isinstance(table, dict):
            raise UsageError(
                f"--pipeline {path}: '{stage}' is neither stages nor a stage's table of options (stages: "
                f"{', '.join(TASKS)})"
            )
        words[stage] = [w for key, value in table.items() for w in _file_words(path, stage, key, value)]
    return stages, words


def _stages_and_inputs(
    positional: list[str], listed: list[str] | None, pipeline: str | None
) -> tuple[list[str], list[str]]:
    """The stages and the inputs. The first argument names the stages; with --pipeline, whose file may
    name them, only when it has a comma or is a task's name. Named twice, they must agree."""
    named = None
    if positional and (pipeline is None or "," in positional[0] or positional[0] in TASKS):
        named, positional = positional[0].split(","), positional[1:]
    if named is not None and listed is not None and named != listed:
        raise UsageError(f"the stages {','.join(named)} differ from --pipeline's {','.join(listed)}")
    stages = named if named is not None else listed
    if stages is None:
        where = "" if pipeline is None else f" (--pipeline {pipeline} names none: stages = [...] there)"
        raise UsageError(f"give the stages as the first argument, such as denoise,super-resolve{where}")
    return stages, positional


def _stage_options(name: str, words: list[str]) -> tuple[str, Any, str | None]:
    """A stage's (task, options, model) from its words, converted as its own command converts them."""
    command = _stage_command(name)
    try:
        with command.make_context(name, words) as ctx:
            options, model = command.invoke(ctx)
    except typer.TyperException as err:  # a value of the wrong type
        raise UsageError(f"{name}: {err.format_message()}") from None
    except UsageError as err:  # a value the task refuses
        raise UsageError(f"{name}: {err}") from None
    return name, options, model


def run_command(
    common: CommonArgs,
    pipeline: Annotated[
        str | None,
        typer.Option(
            "--pipeline",
            help="A TOML file naming the stages (stages = [...]) and, in a table per stage, their options; "
            "the command line's options win.",
            rich_help_panel="Stages",
        ),
    ] = None,
) -> None:
    """Run stages one after another on each image in one pass: demosaic, denoise, super-resolve, ...

    Each stage's model is loaded once, and each image goes from stage to stage in memory, in floating point
    (never rounded to 8 bits); only the last stage's result is written, at the bit depth of the first
    stage's result (an 8-bit photo stays 8-bit; demosaic gives its --output-depth). demosaic, which reads
    RAW files, can only be the first stage; segment, whose result is no image to restore, only the last.

    The first argument names the stages, with commas; the others are the inputs. A stage takes its own
    command's options (see msimg denoise --help), prefixed with its name: --denoise.sigma 10,
    --super-resolve.scale 2, --denoise.model NAME. The options below apply to every stage. Outputs are
    skipped on a re-run unless a stage's options changed.

    Examples:

      msimg run denoise,super-resolve photos/ -o large/ --super-resolve.scale 2

      msimg run demosaic,denoise,super-resolve frames/ -o rgb/ --demosaic.pattern quad-bayer-evs

      msimg run --pipeline hybridevs.toml frames/ -o rgb/ --denoise.sigma 5
    """
    positional, given = _split_words(common.inputs)
    listed, from_file = _pipeline_file(pipeline) if pipeline is not None else (None, {})
    names, inputs = _stages_and_inputs(positional, listed, pipeline)
    check_stages(names)
    strays = sorted((set(given) | set(from_file)) - set(names))
    if strays:
        raise UsageError(f"options for {', '.join(strays)}, which is not a stage of {','.join(names)}")
    stages = [_stage_options(name, [*from_file.get(name, []), *given.get(name, [])]) for name in names]
    raise typer.Exit(run_stages(stages, dataclasses.replace(common, inputs=inputs)))


command = task_command(run_command, omit=("model",), inputs=ARGUMENTS)  # a model per stage: --denoise.model
