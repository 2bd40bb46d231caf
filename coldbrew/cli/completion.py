"""``coldbrew completion bash|zsh``: a shell completion script made from the parser.

``shtab`` writes it from the argparse tree, so every subcommand and flag
(``coldbrew service cr<TAB>`` -> ``create``) completes without a second list to
keep in step. Load it with ``source <(coldbrew completion bash)`` or, for zsh,
write it to a file named ``_coldbrew`` on ``$fpath``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

SHELLS = ("bash", "zsh")


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        "completion", help="print a bash or zsh completion script"
    )
    p.add_argument("shell", choices=SHELLS)
    return p


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    import shtab  # only here: every other command starts without it

    return str(shtab.complete(parser, shell=shell))


def run(parser: argparse.ArgumentParser, shell: str) -> int:
    sys.stdout.write(script(parser, shell))
    return 0
