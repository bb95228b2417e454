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
