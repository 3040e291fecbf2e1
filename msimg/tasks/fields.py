"""How a task option shows on the command line, kept in the options dataclass itself so the CLI, the
API and the help are made from one definition. Light on purpose: the CLI imports every task's options
at start-up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from msimg.errors import UsageError


@dataclass(frozen=True)
class Flag:
    """`help` for --help; `panel` groups options there; `parse` reads the option as text into the field's
    value (its command-line default is then `shown`, e.g. "auto"); `flag` names the option when the
    field's own name would not do; `replaces` is the common option (e.g. "fmt") whose flag this one takes
    over for this task (the common option then keeps its default)."""

    help: str
    panel: str | None = None
    parse: Callable[[str], Any] | None = None
    shown: str | None = None
    flag: str | None = None
    replaces: str | None = None


def option(default: Any, help: str, **how: Any) -> Any:
    """A dataclass field that is also a command-line option (see `Flag`)."""
    return field(default=default, metadata={"cli": Flag(help, **how)})


def flag_of(metadata: Any) -> Flag | None:
    """The `Flag` of a dataclass field, None for fields the command line does not set."""
    return metadata.get("cli")


def auto_or(cast: Callable[[str], Any], option: str, expected: str) -> Callable[[str], Any]:
    """A parser: `auto` -> None, else `cast(value)`; a bad value is a usage error naming the option."""

    def parse(value: str) -> Any:
        if value.strip().lower() == "auto":
            return None
        try:
            return cast(value)
        except ValueError:
            raise UsageError(f"{option} must be auto or {expected}, got '{value}'") from None

    return parse
