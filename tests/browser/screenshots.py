"""Save every page (tests/browser/site.py PAGES) at a desktop and a phone size, signed in as
the page's role, on a fresh demo book: `scripts/screenshots [--out DIR]`."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from browser.site import PAGES, chromium_available, demo_server, launch_chromium, signed_in

SIZES = ((1280, 800), (390, 844))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument(
        "--database-url", help="a database to serve (the demo is loaded when it is empty)"
    )
    args = parser.parse_args()
    if not chromium_available():
        sys.exit("error: Chromium is missing at /usr/bin/chromium (apt-get install chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{scratch}/demo.db"
        print("Starting keepwell serve --demo (the demo load takes a while)...", flush=True)
        with demo_server(url) as book:
            _shoot_all(book, args.out)


def _shoot_all(book: object, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for width, height in SIZES:
            for target in PAGES:
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                if target.role is not None:
                    signed_in(page, book.base_url, target.role)  # type: ignore[attr-defined]
                answer = page.goto(target.url(book.base_url, book))  # type: ignore[attr-defined, arg-type]
                path = out / f"{target.name}-{width}x{height}.png"
                page.screenshot(path=str(path), full_page=True)
                status = answer.status if answer else "?"
                print(f"{path}  ({target.path} as {target.role or 'signed out'}: {status})")
                context.close()
        browser.close()


if __name__ == "__main__":
    main()
