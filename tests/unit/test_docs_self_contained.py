"""The README, docs/, the code and `./dev` stand alone: no pointer to a file the repo lacks."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("README.md", "docs", "src", "dev")
# Files that people read instead of the repository: a design document kept elsewhere.
OUTSIDE_DOCUMENTS = ("DESIGN.md",)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_nothing_shipped_points_to_design_md() -> None:
    # The `grep -r` a reader would run, exactly: no match is exit status 1.
    for name in OUTSIDE_DOCUMENTS:
        found = subprocess.run(
            ["grep", "-rn", "--binary-files=without-match", name, *SHIPPED],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert found.returncode == 1, f"`grep -r {name}` found:\n{found.stdout}{found.stderr}"


def test_every_relative_link_of_the_readme_and_docs_names_a_file_of_the_repo() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    missing = []
    for page in pages:
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            if not (page.parent / target).exists():
                missing.append(f"{page.relative_to(ROOT)}: {target}")
    assert not missing, "links to files the repository does not hold:\n" + "\n".join(missing)
