"""The README's fenced shell blocks, their command lines, and where each section starts."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SHELL_LANGUAGES = {"sh", "bash", "shell", "console", "zsh"}
_FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)\s*$")
_HEADING = re.compile(r"^(#{2,6}) (.+?)\s*$")


@dataclass(frozen=True)
class Command:
    """One command line of a shell block: continuation lines joined, as bash reads it."""

    line: int  # where it starts in README.md, 1-based
    section: str  # the heading it is under
    text: str

    @property
    def key(self) -> str:
        """The command as bash splits it, without its comment: what allow-lists name."""
        try:
            return " ".join(shlex.split(self.text, comments=True))
        except ValueError:  # unbalanced quotes: the text itself
            return self.text

    def __str__(self) -> str:
        return f"README.md:{self.line} (under {self.section!r}): {self.text}"


@dataclass(frozen=True)
class Block:
    """A fenced block of shell, with the heading it is under."""

    line: int  # the line of its first command, 1-based
    section: str
    text: str
    language: str = "sh"

    def commands(self) -> list[Command]:
        """The block's command lines; a trailing backslash joins the next line."""
        commands: list[Command] = []
        pending: list[str] = []
        start = self.line
        for number, raw in enumerate(self.text.splitlines(), start=self.line):
            if not pending:
                start = number
                if not raw.strip() or raw.lstrip().startswith("#"):
                    continue
            stripped = raw.rstrip()
            if stripped.endswith("\\"):
                pending.append(stripped[:-1].rstrip())
                continue
            pending.append(stripped)
            joined = " ".join(part.strip() for part in pending)
            commands.append(Command(line=start, section=self.section, text=joined))
            pending = []
        assert not pending, f"README.md:{start}: a command ends in a backslash"
        return commands


COMMAND_WORDS = {"./dev", "curl", "docker", "email-channels", "export", "pip", "python3", "uv"}


def commands_outside_shell_blocks(markdown: str | None = None) -> list[str]:
    """Lines of fenced blocks in another language (or none) that read like commands."""
    found = []
    for block in fenced_blocks(markdown):
        if block.language in SHELL_LANGUAGES:
            continue
        for number, line in enumerate(block.text.splitlines(), start=block.line):
            words = line.split()
            if words and words[0] in COMMAND_WORDS:
                found.append(f"README.md:{number} (a ```{block.language} block): {line}")
    return found


def shell_blocks(markdown: str | None = None) -> list[Block]:
    """Every fenced block of README.md in a shell language, in order."""
    return [block for block in fenced_blocks(markdown) if block.language in SHELL_LANGUAGES]


def fenced_blocks(markdown: str | None = None) -> list[Block]:
    """Every fenced block of README.md, in order."""
    lines = (README.read_text() if markdown is None else markdown).splitlines()
    blocks: list[Block] = []
    body: list[str] = []
    section, language, body_start = "(top)", None, 0
    for number, line in enumerate(lines, start=1):
        fence = _FENCE.match(line)
        if language is None:
            heading = _HEADING.match(line)
            if heading:
                section = line.strip()
            elif fence:
                language, body, body_start = fence[1].lower(), [], number + 1
            continue
        if line.strip() == "```":
            text = "\n".join(body)
            blocks.append(Block(line=body_start, section=section, text=text, language=language))
            language = None
        else:
            body.append(line)
    assert language is None, "README.md ends inside a fenced block"
    return blocks


def blocks_under(heading: str, *, until: str | None = None) -> list[Block]:
    """The shell blocks under `heading` and its subsections (up to the heading `until`)."""
    level = len(heading) - len(heading.lstrip("#"))
    found: list[Block] = []
    inside = False
    for block in shell_blocks():
        if block.section == heading:
            inside = True
        elif inside and (block.section == until or _level(block.section) <= level):
            break
        if inside:
            found.append(block)
    assert found, f"README.md has no shell block under {heading!r}"
    return found


def _level(section: str) -> int:
    return len(section) - len(section.lstrip("#"))


def only_command(blocks: list[Block], *, starting: str) -> Command:
    """The one command of `blocks` that starts with `starting`."""
    matches = [c for block in blocks for c in block.commands() if c.text.startswith(starting)]
    assert len(matches) == 1, f"README.md: {len(matches)} commands start with {starting!r}"
    return matches[0]
