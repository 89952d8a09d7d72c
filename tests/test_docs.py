"""The documentation lives in the repository: every relative link of README.md and docs/
resolves to a file (and its anchor to a heading), and the README links every page of docs/."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


def links(page: Path) -> list[str]:
    """The relative targets of the page's Markdown links, code spans and blocks left out."""
    text = CODE.sub("", page.read_text(encoding="utf-8"))
    return [t for t in LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of the page's headings: lower case, punctuation dropped, spaces to
    hyphens."""
    found = set()
    for line in CODE.sub("", page.read_text(encoding="utf-8")).splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


# The topics the documentation must cover (issue 18, section 6).
TOPICS = {
    "requests.md", "business-hours.md", "scorecard.md", "health.md", "revenue.md",
    "import-format.md", "configuration.md", "deployment.md",
}  # fmt: skip


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        missing = not file.exists()
        if missing or (anchor and (file.suffix != ".md" or anchor not in anchors(file))):
            broken.append(target)
    return broken


def test_every_relative_link_of_the_readme_and_the_docs_resolves() -> None:
    assert {page.name for page in PAGES} >= TOPICS
    assert {page.name: broken_links(page) for page in PAGES} == {page.name: [] for page in PAGES}


def test_the_readme_links_every_page_of_the_docs() -> None:
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in links(ROOT / "README.md")}
    pages = [ROOT / "docs" / name for name in sorted(TOPICS)] + PAGES[1:]
    assert sorted({p.name for p in pages if p.resolve() not in linked}) == []


def test_the_readme_sends_nobody_outside_the_repository() -> None:
    assert "../shared" not in (ROOT / "README.md").read_text(encoding="utf-8")
