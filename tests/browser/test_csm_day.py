"""A CSM's day in a real browser on the demo book (issue 13, "Done when"): resolve and
escalate from Today, set a next step, log a check-in, filter and search the accounts, read an
account's timeline and history, a client's script shown as text; each by mouse and by
keyboard alone; a manager's Today and what a manager or viewer may not write.

The server is the session's one `keepwell serve --demo` (conftest): each test claims its own
request or account (`claim`), so the tests hold in any order and alone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from browser.site import USERS, Book, signed_in
from keepwell.store.db import make_engine, transaction
from keepwell.store.models import Account, Contact, Escalation, Request, User

SCRIPT = "<script>alert(1)</script>"
# Today's reasons a next step clears (the demo book gives every account one, some overdue)
NEEDS_A_STEP = re.compile(r"no next step|next step overdue")


# The requests and accounts the tests of this module have taken to write on.
TAKEN: set[str] = set()


def claim(candidates: list[str], avoid: str = "") -> str:
    """The first of `candidates` no test has taken yet, taken now."""
    for candidate in candidates:
        if candidate not in TAKEN and candidate != avoid:
            TAKEN.add(candidate)
            return candidate
    raise AssertionError(f"no candidate left to claim among {candidates}")


# -- what Today shows


def inbox_rows(page: Any) -> Any:
    return page.locator("ol.inbox > li.row[id^='req-']")


def a_request(page: Any, book: Book) -> tuple[str, Any]:
    """A request in the signed-in CSM's inbox that no other test writes on, and its row;
    not one on the account the page tests open (book.account_id)."""
    rows = inbox_rows(page)
    expect(rows.first).to_be_visible()
    elsewhere = rows.filter(has_not=page.locator(f"a[href='/accounts/{book.account_id}']"))
    ids = [row.get_attribute("id").removeprefix("req-") for row in elsewhere.all()]
    request_id = claim(ids)
    return request_id, page.locator(f"li#req-{request_id}")


def attention_items(page: Any) -> Any:
    return page.locator("section[aria-labelledby='attention-h'] ul.attention > li")


def an_account_needing(page: Any, book: Book, reason: str | re.Pattern[str]) -> tuple[str, str]:
    """An account of the signed-in CSM whose Today entry gives `reason` (id, name)."""
    items = attention_items(page).filter(has_text=reason)
    expect(items.first).to_be_visible()
    found = {}
    for item in items.all():
        link = item.locator("a").first
        found[link.get_attribute("href").removeprefix("/accounts/")] = link.inner_text()
    account_id = claim(sorted(found), avoid=book.account_id)
    return account_id, found[account_id]


def attention_of(page: Any, account_id: str) -> Any:
    return attention_items(page).filter(has=page.locator(f"a[href='/accounts/{account_id}']"))


def history_rows(page: Any) -> Any:
    return page.locator("section[aria-labelledby='history-h'] tbody tr")


def timeline(page: Any) -> Any:
    return page.locator("ol.timeline")


# -- the keyboard


def tab_to(page: Any, target: Any, presses: int = 400) -> None:
    """Press Tab until `target` has the focus, as someone without a mouse would."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("node => node === document.activeElement"):
            return
    raise AssertionError(f"{target} is not reachable with Tab")


def focus_is_visible(page: Any) -> bool:
    """Whether the focused element draws a focus ring (an outline or a box shadow)."""
    return bool(
        page.evaluate(
            """() => {
              const node = document.activeElement;
              if (!node || node === document.body) return false;
              const style = getComputedStyle(node);
              const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
              return outline || style.boxShadow !== "none";
            }"""
        )
    )


def press(page: Any, target: Any, key: str) -> None:
    """Tab to `target`, check its focus shows, and press `key` on it."""
    tab_to(page, target)
    assert focus_is_visible(page), f"no visible focus on {target}"
    page.keyboard.press(key)


@pytest.fixture
def dialogs(page: Any) -> Iterator[list[str]]:
    """Every dialog (alert, confirm) the page opens: a script that ran would open one."""
    opened: list[str] = []

    def seen(dialog: Any) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", seen)
    yield opened


# -- resolve


def test_resolving_a_request_from_today_takes_it_out_of_the_inbox(page: Any, book: Book) -> None:
    signed_in(page, book.base_url, "csm")
    request_id, row = a_request(page, book)
    account = row.locator("p.head a").first.get_attribute("href")
    before = inbox_rows(page).count()
    row.get_by_label("Resolution note").fill("Re-ran the export for them")
    row.get_by_role("button", name=re.compile(f"^Resolve request {re.escape(request_id)} ")).click()
    # htmx swapped the row for what was done, in place; the rest of the inbox stays
    expect(page.locator(f"li#req-{request_id}")).to_have_count(0)
    notice = page.locator("ol.inbox > li.notice")
    expect(notice).to_have_text("Resolved.")
    expect(notice).to_be_focused()
    expect(inbox_rows(page)).to_have_count(before - 1)
    page.reload()
    expect(page.locator(f"li#req-{request_id}")).to_have_count(0)
    expect(page.locator("#inbox-h .count")).to_have_text(f"({before - 1})")
    # the account's timeline and history say who resolved it, with the note
    page.goto(book.base_url + account)
    resolved = timeline(page).locator("li.event-resolve").filter(has_text="Re-ran the export")
    expect(resolved.first).to_contain_text(USERS["csm"].name)
    expect(history_rows(page).filter(has_text="resolve").first).to_contain_text(USERS["csm"].name)


def test_resolving_works_from_the_keyboard_alone(page: Any, book: Book) -> None:
    signed_in(page, book.base_url, "csm")
    request_id, row = a_request(page, book)
    page.locator("body").focus()
    tab_to(page, row.get_by_label("Resolution note"))
    assert focus_is_visible(page)
    page.keyboard.type("Answered by phone")
    press(page, row.get_by_role("button", name=re.compile("^Resolve ")), "Enter")
    expect(page.locator(f"li#req-{request_id}")).to_have_count(0)
    expect(page.locator("ol.inbox > li.notice")).to_be_focused()
    page.reload()
    expect(page.locator(f"li#req-{request_id}")).to_have_count(0)


# -- escalate


def test_escalating_a_request_as_novel_shows_it_escalated_on_today_and_the_timeline(
    page: Any, book: Book
) -> None:
    signed_in(page, book.base_url, "csm")
    request_id, row = a_request(page, book)
    account = row.locator("p.head a").first.get_attribute("href")
    row.locator("summary").click()
    row.get_by_label("Escalate to").select_option(label=USERS["manager"].name)
    row.get_by_label("Reason").fill("Their SSO broke after our release")
    row.get_by_label("A novel situation").check()
    row.get_by_role("button", name="Escalate", exact=True).click()
    expect(row.locator(".notice")).to_have_text("Escalated.")
    expect(row.locator("details.escalate")).to_have_count(0)
    page.reload()
    expect(page.locator(f"li#req-{request_id} .tag.escalated")).to_have_text("Escalated (novel)")
    page.goto(book.base_url + account)
    escalation = timeline(page).locator("li.event-escalation").filter(has_text="SSO broke")
    expect(escalation.first).to_contain_text(f"to {USERS['manager'].name} (novel)")
    expect(escalation.first).to_contain_text(USERS["csm"].name)
    expect(history_rows(page).filter(has_text="escalate").first).to_contain_text(USERS["csm"].name)


def test_escalating_works_from_the_keyboard_alone(page: Any, book: Book) -> None:
    signed_in(page, book.base_url, "csm")
    request_id, row = a_request(page, book)
    page.locator("body").focus()
    press(page, row.locator("summary"), "Enter")  # opens the form
    expect(row.locator("details.escalate")).to_have_attribute("open", "")
    tab_to(page, row.get_by_label("Escalate to"))
    assert focus_is_visible(page)
    page.keyboard.press("Tab")
    assert row.get_by_label("Reason").evaluate("n => n === document.activeElement")
    page.keyboard.type("Nobody has seen this one")
    press(page, row.get_by_label("A novel situation"), "Space")
    expect(row.get_by_label("A novel situation")).to_be_checked()
    press(page, row.get_by_role("button", name="Escalate", exact=True), "Enter")
    expect(row.locator(".notice")).to_have_text("Escalated.")
    expect(row.locator(".notice")).to_be_focused()
    page.reload()
    expect(page.locator(f"li#req-{request_id} .tag.escalated")).to_have_text("Escalated (novel)")


# -- next step


def test_setting_a_next_step_shows_it_and_takes_no_next_step_off_today(
    page: Any, book: Book
) -> None:
    signed_in(page, book.base_url, "csm")
    account_id, name = an_account_needing(page, book, NEEDS_A_STEP)
    attention_of(page, account_id).get_by_role("link", name=f"Set a next step for {name}").click()
    page.wait_for_url(f"{book.base_url}/accounts/{account_id}#next-step")
    due = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    page.get_by_label("What").fill("Send the Q1 plan to their sponsor")
    page.get_by_label("Due").fill(due)
    page.get_by_role("button", name="Set next step").click()
    expect(page.locator("#done")).to_have_text("Next step set.")
    expect(page.locator("#done")).to_be_focused()
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(f"Send the Q1 plan to their sponsor (due {due})")
    expect(timeline(page).locator("li.event-next-step").first).to_contain_text(
        "Send the Q1 plan to their sponsor"
    )
    expect(history_rows(page).filter(has_text="next step").first).to_contain_text(USERS["csm"].name)
    page.goto(f"{book.base_url}/")
    for entry in attention_of(page, account_id).all():
        assert not NEEDS_A_STEP.search(entry.inner_text())


def test_a_bad_due_date_is_refused_at_its_field_and_nothing_is_set(page: Any, book: Book) -> None:
    signed_in(page, book.base_url, "csm")
    account_id, _ = an_account_needing(page, book, "")
    page.goto(f"{book.base_url}/accounts/{account_id}")
    history = history_rows(page).count()
    # an old browser without a date picker: the field is text, and the server judges it
    page.locator("#step-due").evaluate("node => { node.type = 'text'; node.required = false; }")
    page.get_by_label("What").fill("Call them")
    page.get_by_label("Due").fill("next week")
    page.get_by_role("button", name="Set next step").click()
    message = page.locator("#next-step-due-error [role=alert]")
    expect(message).to_have_text("due: a date, YYYY-MM-DD")
    expect(page.get_by_label("Due")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Due")).to_be_focused()
    expect(page.get_by_label("What")).to_have_value("Call them")  # the form was kept
    expect(page.locator("dl.facts")).to_contain_text("Next step")
    expect(page.locator("dl.facts")).not_to_contain_text("Call them")
    # fixed, the same form goes through and its message goes away
    page.get_by_label("Due").fill((datetime.now(UTC) + timedelta(days=3)).date().isoformat())
    page.get_by_role("button", name="Set next step").click()
    expect(page.locator("#done")).to_have_text("Next step set.")
    expect(page.locator("dl.facts")).to_contain_text("Call them")
    expect(history_rows(page)).to_have_count(history + 1)


def test_setting_a_next_step_works_from_the_keyboard_alone(page: Any, book: Book) -> None:
    signed_in(page, book.base_url, "csm")
    account_id, name = an_account_needing(page, book, NEEDS_A_STEP)
    page.locator("body").focus()
    press(page, page.get_by_role("link", name=f"Set a next step for {name}"), "Enter")
    page.wait_for_url(f"{book.base_url}/accounts/{account_id}#next-step")
    tab_to(page, page.get_by_label("What"))
    page.keyboard.type("Book the renewal call")
    page.keyboard.press("Tab")
    assert page.get_by_label("Due").evaluate("n => n === document.activeElement")
    press(page, page.get_by_role("button", name="Set next step"), "Space")
    expect(page.locator("#done")).to_be_focused()
    expect(page.locator("dl.facts")).to_contain_text("Book the renewal call")


# -- activity


def test_logging_a_check_in_takes_no_proactive_touch_off_today(page: Any, book: Book) -> None:
    signed_in(page, book.base_url, "csm")
    account_id, name = an_account_needing(page, book, "no proactive touch this week")
    attention_of(page, account_id).get_by_role("link", name=f"Log a touch for {name}").click()
    page.wait_for_url(f"{book.base_url}/accounts/{account_id}#log-activity")
    page.get_by_label("Kind").select_option("check_in")
    page.get_by_label("Note").fill("Checked in on the rollout")
    page.get_by_role("button", name="Log activity").click()
    expect(page.locator("#done")).to_have_text("Activity logged.")
    expect(timeline(page).locator("li.event-activity").first).to_contain_text(
        "Checked in on the rollout"
    )
    expect(history_rows(page).filter(has_text="activity").first).to_contain_text(USERS["csm"].name)
    page.goto(f"{book.base_url}/")
    for entry in attention_of(page, account_id).all():
        assert "no proactive touch" not in entry.inner_text()


def test_logging_an_activity_works_from_the_keyboard_alone(page: Any, book: Book) -> None:
    signed_in(page, book.base_url, "csm")
    account_id, name = an_account_needing(page, book, "no proactive touch this week")
    page.locator("body").focus()
    press(page, page.get_by_role("link", name=f"Log a touch for {name}"), "Enter")
    page.wait_for_url(f"{book.base_url}/accounts/{account_id}#log-activity")
    tab_to(page, page.get_by_label("Kind"))
    assert focus_is_visible(page)
    press(page, page.get_by_role("button", name="Log activity"), "Enter")
    expect(page.locator("#done")).to_have_text("Activity logged.")
    expect(page.locator("#done")).to_be_focused()
    page.goto(f"{book.base_url}/")
    for entry in attention_of(page, account_id).all():
        assert "no proactive touch" not in entry.inner_text()


# -- the accounts list


def _column(page: Any, index: int) -> list[str]:
    cells = page.locator(f"table tbody tr > :nth-child({index})")
    return [text.strip() for text in cells.all_inner_texts()]


def _total(page: Any) -> int:
    status = page.locator("main p[role=status]").inner_text()
    found = re.match(r"(\d+) accounts?", status)
    assert found, status
    return int(found.group(1))


@pytest.mark.parametrize(
    ("label", "column"),
    [("Owner", 2), ("Health", 3), ("Segment", 6), ("Country", 7), ("Stage", 8)],
)
def test_filtering_the_accounts_keeps_only_the_ones_asked_for(
    page: Any, book: Book, label: str, column: int
) -> None:
    signed_in(page, book.base_url, "viewer")
    page.goto(f"{book.base_url}/accounts")
    everyone = _total(page)
    field = page.get_by_label(label, exact=True)
    option = field.locator("option:not([value=''])").first
    value, shown = option.get_attribute("value"), option.inner_text().strip()
    field.select_option(value)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(rf"[?&]{field.get_attribute('name')}="))
    expect(page.get_by_label(label, exact=True)).to_have_value(value)
    kept = _total(page)
    assert 0 < kept < everyone
    cells = _column(page, column)
    assert cells and all(cell.split()[0] == shown.split()[0] for cell in cells), cells


def _a_contact(book: Book) -> tuple[str, str, str]:
    """A contact of the demo book with a name and an email: (account name, contact name,
    email)."""
    engine = make_engine(book.database_url)
    try:
        with transaction(engine) as session:
            row = session.execute(
                select(Account.name, Contact.name, Contact.email)
                .join(Contact, Contact.account_id == Account.id)
                .where(Contact.name.is_not(None), Contact.email.is_not(None))
                .order_by(Contact.id)
                .limit(1)
            ).one()
    finally:
        engine.dispose()
    return row[0], row[1], row[2]


def test_searching_finds_accounts_by_name_contact_name_email_and_domain(
    page: Any, book: Book
) -> None:
    account, contact, email = _a_contact(book)
    signed_in(page, book.base_url, "viewer")
    names = page.locator("table tbody th[scope=row] a")
    for needle in (account.split()[0], contact, email, email.split("@")[1]):
        page.goto(f"{book.base_url}/accounts")
        page.get_by_label("Search").fill(needle)
        page.get_by_label("Search").press("Enter")  # the keyboard sends the search form
        page.wait_for_url(re.compile(r"[?&]q="))
        expect(names.filter(has_text=account).first).to_be_visible()
        assert _total(page) >= 1
    page.goto(f"{book.base_url}/accounts?q=no-such-account-anywhere")
    expect(page.locator("main p[role=status]")).to_have_text("0 accounts.")


def _mrr(cell: str) -> float:
    return float(cell.split()[0].replace(",", "")) if cell[0].isdigit() else -1.0


def test_sorting_and_paging_the_accounts(page: Any, book: Book) -> None:
    signed_in(page, book.base_url, "viewer")
    page.goto(f"{book.base_url}/accounts")
    page.get_by_label("Sort by").select_option("mrr")
    page.get_by_label("Order").select_option("desc")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"sort=mrr"))
    first = [_mrr(cell) for cell in _column(page, 4)]
    assert first == sorted(first, reverse=True) and len(first) == 50
    expect(page.locator("nav.pager")).to_contain_text("Page 1 of")
    page.get_by_role("link", name="Next page").click()
    page.wait_for_url(re.compile(r"page=2"))
    expect(page.locator("nav.pager")).to_contain_text("Page 2 of")
    second = [_mrr(cell) for cell in _column(page, 4)]
    assert second and max(second) <= min(first)  # the order goes on across pages
    assert "sort=mrr" in page.url and "order=desc" in page.url
    page.get_by_role("link", name="Previous page").click()
    page.wait_for_url(re.compile(r"page=1"))
    assert [_mrr(cell) for cell in _column(page, 4)] == first


def test_filtering_works_from_the_keyboard_alone(page: Any, book: Book) -> None:
    signed_in(page, book.base_url, "csm")
    page.goto(f"{book.base_url}/accounts")
    everyone = _total(page)
    page.locator("body").focus()
    tab_to(page, page.get_by_label("Owner", exact=True))
    assert focus_is_visible(page)
    page.keyboard.press("ArrowDown")  # the first owner
    owner = page.get_by_label("Owner", exact=True).evaluate("n => n.selectedOptions[0].text")
    press(page, page.get_by_role("button", name="Show"), "Enter")
    page.wait_for_url(re.compile(r"owner="))
    assert 0 < _total(page) < everyone
    assert set(_column(page, 2)) == {owner}
    press(page, page.get_by_role("link", name="Clear"), "Enter")
    page.wait_for_url(f"{book.base_url}/accounts")
    assert _total(page) == everyone


# -- the account page


def test_an_account_page_shows_its_timeline_with_clocks_escalations_and_history(
    page: Any, book: Book
) -> None:
    signed_in(page, book.base_url, "csm")
    page.goto(f"{book.base_url}/accounts/{book.account_id}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text(USERS["csm"].name)
    events = timeline(page).locator("li.event")
    expect(events).to_have_count(30)  # a page of the timeline; older ones a link away
    kinds = set()
    for item in events.all():
        kinds.update(c for c in (item.get_attribute("class") or "").split() if c != "event")
    page.get_by_role("link", name="Older").click()
    page.wait_for_url(re.compile(r"timeline=2"))
    for item in timeline(page).locator("li.event").all():
        kinds.update(c for c in (item.get_attribute("class") or "").split() if c != "event")
    assert {"event-message", "event-request", "event-activity", "event-next-step"} <= kinds
    # a client's message names its contact (never a contact's id)
    page.goto(f"{book.base_url}/accounts/{book.account_id}")
    client_said = timeline(page).locator("li.event-message").filter(has_text="from client")
    if client_said.count():
        by = client_said.first.locator("p.head").inner_text().rsplit("·", 1)[-1].strip()
        assert not by.startswith(("c-", "contact")), by
    # the requests' SLA clocks: due times, and breaches marked
    requests = timeline(page).locator("li.event-request")
    expect(requests.first).to_contain_text("Request")


def _an_escalated_account(book: Book) -> str:
    engine = make_engine(book.database_url)
    try:
        with transaction(engine) as session:
            chloe = select(User.id).where(User.email == USERS["csm"].email).scalar_subquery()
            found = session.scalars(
                select(Request.account_id)
                .join(Escalation, Escalation.thread_id == Request.thread_id)
                .join(Account, Account.id == Request.account_id)
                .where(Account.owner_id == chloe, Request.resolution_breached.is_(True))
                .group_by(Request.account_id)
                .order_by(func.count().desc(), Request.account_id)
            ).all()
    finally:
        engine.dispose()
    assert found, "the demo book has no escalated, breached request on Chloe's accounts"
    return found[0]


def test_the_timeline_shows_escalations_and_breached_clocks(page: Any, book: Book) -> None:
    account_id = _an_escalated_account(book)
    signed_in(page, book.base_url, "csm")
    seen_escalation = seen_breach = False
    for number in range(1, 20):
        page.goto(f"{book.base_url}/accounts/{account_id}?timeline={number}")
        line = timeline(page)
        seen_escalation |= line.locator("li.event-escalation").count() > 0
        seen_breach |= line.locator("li.event-request.breached .late").count() > 0
        if (seen_escalation and seen_breach) or not page.get_by_role("link", name="Older").count():
            break
    assert seen_escalation and seen_breach


# -- a client's script


def _import(book: Book, *records: dict[str, Any], tmp: Path) -> None:
    path = tmp / "lines.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n")
    keepwell = Path(sys.executable).with_name("keepwell")
    env = {"KEEPWELL_DATABASE_URL": book.database_url, "KEEPWELL_ENVIRONMENT": "test"}
    done = subprocess.run(
        [str(keepwell), "import", str(path)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_clients_script_shows_as_text_and_never_runs(
    page: Any, book: Book, dialogs: list[str], tmp_path: Path
) -> None:
    signed_in(page, book.base_url, "csm")
    account_id, _ = an_account_needing(page, book, "")
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    text = f"Help {SCRIPT} the export is empty"
    _import(
        book,
        {"type": "message", "id": "m-script-1", "account": account_id, "thread": "t-script-1",
         "at": now.isoformat(), "direction": "inbound", "channel": "email", "text": text},
        tmp=tmp_path,
    )  # fmt: skip
    page.reload()
    row = page.locator("li#req-m-script-1")
    expect(row.locator("blockquote.said")).to_have_text(text)
    page.goto(f"{book.base_url}/accounts/{account_id}")
    expect(timeline(page).locator("li.event-message p.said").first).to_have_text(text)
    assert page.locator("main script").count() == 0
    assert dialogs == []


# -- a manager, a viewer


def _breached_on_today(page: Any) -> set[str]:
    rows = page.locator("ol.inbox > li.row.breached[id^='req-']")
    return {row.get_attribute("id") for row in rows.all()}


def test_a_managers_today_shows_the_teams_breaches_and_accounts_at_risk_by_csm(
    browser: Any, page: Any, book: Book
) -> None:
    signed_in(page, book.base_url, "manager")
    team = page.locator("section.member")
    expect(team.first).to_be_visible()
    assert USERS["csm"].name in team.locator("h3").all_inner_texts()
    chloe = team.filter(has=page.get_by_role("heading", name=USERS["csm"].name, exact=True))
    breached = chloe.locator("ol.inbox > li.breached")
    at_risk = chloe.locator("ul.attention > li")
    breaches = re.compile(rf"^Breached requests \({breached.count()}\)$")
    risks = re.compile(rf"^Accounts at risk \({at_risk.count()}\)$")
    expect(chloe.get_by_role("heading", name=breaches)).to_be_visible()
    expect(chloe.get_by_role("heading", name=risks)).to_be_visible()
    # the team's: other tests resolve Chloe's requests, no test the other CSMs'
    assert team.locator("ol.inbox > li.breached").count() > 0
    assert team.locator("ul.attention > li").count() > 0
    for row in team.locator("ol.inbox > li.breached").all():
        expect(row.locator("strong.late")).to_contain_text("Breached")
    # the same breaches as on the CSM's own Today
    context = browser.new_context()
    try:
        own = context.new_page()
        signed_in(own, book.base_url, "csm")
        assert _breached_on_today(own) == {row.get_attribute("id") for row in breached.all()}
    finally:
        context.close()
    # a manager writes on no account: no resolve or escalate controls
    expect(page.get_by_role("button", name=re.compile("^Resolve"))).to_have_count(0)
    expect(page.locator("details.escalate")).to_have_count(0)


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_a_manager_or_viewer_sees_no_write_controls_on_an_account(
    page: Any, book: Book, role: str
) -> None:
    signed_in(page, book.base_url, role)
    page.goto(f"{book.base_url}/accounts/{book.account_id}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("main form[method=post]")).to_have_count(0)
    writes = re.compile("Resolve|Escalate|Set next step|Log")
    expect(page.get_by_role("button", name=writes)).to_have_count(0)
    expect(page.get_by_role("heading", name="Actions")).to_have_count(0)


def test_a_csm_sees_no_write_controls_on_an_account_they_do_not_own(page: Any, book: Book) -> None:
    signed_in(page, book.base_url, "csm")
    page.goto(f"{book.base_url}/accounts")
    rows = page.locator("table tbody tr").filter(
        has_not=page.locator("td", has_text=USERS["csm"].name)
    )
    other = rows.first.locator("th a").get_attribute("href")
    page.goto(book.base_url + other)
    expect(page.locator("main form[method=post]")).to_have_count(0)


def test_a_write_refused_by_the_server_shows_its_message_in_the_form(page: Any, book: Book) -> None:
    """A form drawn while the CSM could write, sent after the server stopped them (the CSRF
    token of another session here): htmx shows the 403's message in the form."""
    signed_in(page, book.base_url, "csm")
    _, row = a_request(page, book)
    TAKEN.discard(row.get_attribute("id").removeprefix("req-"))  # nothing written
    row.locator("form[id^=resolve-] input[name=csrf_token]").evaluate("n => n.value = 'forged'")
    page.evaluate("document.querySelector('meta[name=csrf-token]').content = 'forged'")
    row.get_by_role("button", name=re.compile("^Resolve ")).click()
    message = row.locator(".form-error [role=alert]")
    expect(message).to_contain_text("csrf_token: missing or not this session's")
    expect(row).to_be_visible()  # the request stays, with its form


def test_htmx_sends_the_csrf_token_of_the_meta_tag_with_every_write(page: Any, book: Book) -> None:
    """Without the form's hidden token, the write still goes through: htmx sent the
    session's token from <meta name="csrf-token"> in the X-CSRF-Token header (app.js)."""
    signed_in(page, book.base_url, "csm")
    request_id, row = a_request(page, book)
    row.locator("form[id^=resolve-] input[name=csrf_token]").evaluate("n => n.remove()")
    with page.expect_request(re.compile(r"/requests/.+/resolve$")) as sent:
        row.get_by_role("button", name=re.compile("^Resolve ")).click()
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    assert sent.value.headers.get("x-csrf-token") == token
    assert "csrf_token=" not in (sent.value.post_data or "")
    expect(page.locator(f"li#req-{request_id}")).to_have_count(0)
    expect(page.locator("ol.inbox > li.notice")).to_have_text("Resolved.")
