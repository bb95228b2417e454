"""Arguments as the contracts define them, and usage errors as one line."""

import argparse
from typing import NoReturn, TypeAlias

from podium.cli.exits import BAD_INPUT

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class Parser(argparse.ArgumentParser):
    """Usage errors as one line too (argparse prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        from contracts.problems import one_line

        self.exit(BAD_INPUT, f"podium: {one_line(message, 300)} (see `{self.prog} -h`)\n")


def identifier(text: str) -> str:
    """An order or customer id as the contracts define it (checked before any server is asked)."""
    from pydantic import TypeAdapter, ValidationError

    from contracts.order import Identifier

    try:
        return TypeAdapter(Identifier).validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(
            "an id is 1 to 64 letters, digits, '_' or '-', starting with a letter or digit"
        ) from None


MAX_TIMEOUT_SECONDS = 86_400.0


def seconds(text: str) -> float:
    """A wait in seconds: more than 0, at most a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a number of seconds") from None
    if not 0 < value <= MAX_TIMEOUT_SECONDS:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(
            f"give more than 0 and at most {MAX_TIMEOUT_SECONDS:.0f} seconds"
        )
    return value
