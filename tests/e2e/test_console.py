"""The console in Debian's Chromium: a person's walk from sign-in to delete."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from email_channels.auth.permissions import Permission
from email_channels.ses_setups.records import ExpectedRecord, Purpose
from tests.support.bind import txt_value
from tests.support.browser import assert_accessible
from tests.support.console import ConsoleServer, screenshot
from tests.support.fixtures_bind import TestZone

pytestmark = pytest.mark.bind

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 800}
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def page(browser: Any, console_server: ConsoleServer) -> Any:
    """A fresh browser context (no cookies) on a wide screen, allowed to use the clipboard."""
    context = browser.new_context(viewport=WIDE, base_url=console_server.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def workspace() -> str:
    return f"ws-{uuid.uuid4().hex[:10]}"


def sign_in(page: Page, secret: str) -> None:
    page.goto("/console")
    page.get_by_role("textbox", name="API key").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="SES setups")).to_be_visible()


def statuses(page: Page) -> Any:
    return page.locator("#dns-records tbody tr td[data-label='Status'] .status")


def published_rows(page: Page) -> list[ExpectedRecord]:
    """The records as the page shows them, the way a person would copy them."""
    rows = []
    for row in page.locator("#dns-records tbody tr").all():

        def cell(label: str, row: Any = row) -> Any:
            return row.locator(f"td[data-label='{label}']")

        rows.append(
            ExpectedRecord(
                Purpose.DKIM,  # the purpose does not matter for publishing
                cell("Type").inner_text().strip(),
                cell("Name").locator("code").text_content().strip(),  # type: ignore[union-attr]
                cell("Value").locator("code").text_content().strip(),  # type: ignore[union-attr]
            )
        )
    return rows


def test_sign_in_create_verify_download_and_delete(
    page: Page, console_server: ConsoleServer, dns_zone: TestZone, axe_source: str
) -> None:
    ws = workspace()
    _, secret = console_server.key(ws)
    domain = dns_zone.domain
    native_dialogs: list[str] = []  # confirm() and alert() are never used
    page.on("dialog", lambda dialog: (native_dialogs.append(dialog.message), dialog.dismiss()))

    page.goto("/console")
    expect(page.get_by_role("textbox", name="API key")).to_be_visible()
    assert_accessible(page, axe_source)
    screenshot(page, "sign-in")
    sign_in(page, secret)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert_accessible(page, axe_source)

    # New: the server checks, the messages sit by their fields, and what was typed stays.
    page.get_by_role("link", name="New SES setup").click()
    expect(page.get_by_role("heading", name="New SES setup")).to_be_visible()
    assert_accessible(page, axe_source)
    page.get_by_role("textbox", name="Tenant name").fill("not valid!")
    page.get_by_role("textbox", name="Domain").fill("com")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("alert")).to_have_count(2)
    expect(page.locator("#tenant_name-error")).to_have_attribute("role", "alert")
    expect(page.locator("#domain_identity-error")).to_contain_text("two labels")
    expect(page.get_by_role("textbox", name="Tenant name")).to_have_value("not valid!")
    expect(page.get_by_role("textbox", name="Domain")).to_have_value("com")
    assert_accessible(page, axe_source)
    screenshot(page, "new-setup-errors")

    tenant = f"acme-{uuid.uuid4().hex[:8]}"
    page.get_by_role("textbox", name="Tenant name").fill(tenant)
    page.get_by_role("textbox", name="Domain").fill(domain.upper() + ".")
    page.get_by_role("button", name="Create").click()

    # Detail: the heading is the domain, seven records not checked yet.
    expect(page.get_by_role("heading", name=domain, exact=True)).to_be_visible()
    table = page.get_by_role("table", name="DNS records")
    expect(table).to_be_visible()
    headers = table.get_by_role("columnheader")
    expect(headers).to_have_text(["Type", "Host", "Name", "Value", "Status"])
    expect(statuses(page)).to_have_text(["unknown"] * 7)
    expect(table).to_contain_text("Not checked yet")
    assert_accessible(page, axe_source)
    screenshot(page, "setup-not-checked")
    setup_url = page.url

    # Copy buttons copy the name and the value, exactly, and the domain.
    records = published_rows(page)
    expect(page.get_by_role("button", name="Copy name", exact=True)).to_have_count(7)
    expect(page.get_by_role("button", name="Copy value", exact=True)).to_have_count(7)
    last_row = page.locator("#dns-records tbody tr").last
    last_row.get_by_role("button", name="Copy value", exact=True).click()
    assert page.evaluate("navigator.clipboard.readText()") == records[-1].record
    expect(last_row.get_by_role("button", name="Copied value", exact=True)).to_be_visible()
    last_row.get_by_role("button", name="Copy name", exact=True).click()
    assert page.evaluate("navigator.clipboard.readText()") == records[-1].address
    page.get_by_role("button", name="Copy domain").click()
    assert page.evaluate("navigator.clipboard.readText()") == domain
    expect(page.get_by_role("button", name="Copy value", exact=True)).to_have_count(7)

    # Publish by RFC 2136, then "Verify now": the table changes, the page does not reload.
    dns_zone.publish(records)
    page.evaluate("window.consoleMarker = 'same page'")
    history = page.evaluate("history.length")
    page.get_by_role("button", name="Verify now").click()
    expect(statuses(page)).to_have_text(["verified"] * 7)
    expect(page.get_by_role("status").filter(has_text="7 of 7")).to_be_visible()
    assert page.evaluate("window.consoleMarker") == "same page"
    assert page.evaluate("history.length") == history
    assert page.url == setup_url
    assert_accessible(page, axe_source)
    screenshot(page, "setup-verified")
    page.set_viewport_size(PHONE)
    assert_accessible(page, axe_source)
    screenshot(page, "setup-verified-phone")
    page.set_viewport_size(WIDE)

    # The host to type, relative to the zone the check found, with its own copy button.
    zone = dns_zone.server.zone_of(domain)
    expect(page.locator(".records-zone")).to_contain_text(f"zone {zone}")
    mail_from_mx = page.locator("#dns-records tbody tr").filter(has_text="feedback-smtp")
    mail_from_mx.get_by_role("button", name="Copy host", exact=True).click()
    bounce = f"bounce.{domain.removesuffix('.' + zone)}"
    assert page.evaluate("navigator.clipboard.readText()") == bounce
    expect(mail_from_mx.get_by_role("button", name="Copied host", exact=True)).to_be_visible()
    # "Verify now" renders the table afresh (the button no longer says "Copied").
    page.get_by_role("button", name="Verify now").click()
    expect(page.locator("button.copied")).to_have_count(0)

    # The zone file is a download, served as an attachment.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download zone file").click()
    download = download_info.value
    assert download.suggested_filename == f"{domain}.zone"
    zone_text = Path(download.path()).read_text()
    assert len(zone_text.splitlines()) == 7
    assert f"_dmarc.{domain}.\t3600\tIN\tTXT\t" in zone_text
    href = page.get_by_role("link", name="Download zone file").get_attribute("href")
    answer = page.request.get(str(href))
    assert answer.headers["content-disposition"].startswith("attachment")

    page.get_by_role("button", name="Delete setup").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("heading", name="SES setups")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("deleted")
    expect(page.get_by_role("link", name=domain)).to_have_count(0)

    # Sign out forgets the key: the pages ask for one again.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("textbox", name="API key")).to_be_visible()
    assert all(c["name"] != "email_channels_console" for c in page.context.cookies())
    page.goto(setup_url)
    expect(page.get_by_role("textbox", name="API key")).to_be_visible()
    assert native_dialogs == []


def test_list_pages_and_status_beside_each_domain(
    page: Page, console_server: ConsoleServer, dns_zone: TestZone, axe_source: str
) -> None:
    ws = workspace()
    _, secret = console_server.key(ws)
    with console_server.api(secret) as api:
        domains = [f"d{i}.{dns_zone.domain}" for i in range(22)]
        for name in domains:
            body = {"tenant_name": f"t-{uuid.uuid4().hex[:10]}", "domain_identity": name}
            assert api.post(f"/v1/{ws}/channels/ses-setup", json=body).status_code == 201

    sign_in(page, secret)
    links = page.get_by_role("table", name="SES setups").get_by_role("link")
    expect(links).to_have_count(20)
    expect(links.first).to_have_text(domains[-1])  # newest first
    first_row = page.get_by_role("row").filter(has=page.get_by_role("link", name=domains[-1]))
    expect(first_row).to_contain_text("not verified")
    assert_accessible(page, axe_source)
    screenshot(page, "setups")
    page.get_by_role("link", name="Next page").click()
    expect(links).to_have_text([domains[1], domains[0]])
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.get_by_role("link", name="First page").click()
    expect(links).to_have_count(20)

    page.set_viewport_size(PHONE)
    assert_accessible(page, axe_source)
    screenshot(page, "setups-phone", full_page=False)


def test_a_view_only_key_is_offered_neither_create_nor_delete(
    page: Page, console_server: ConsoleServer, dns_zone: TestZone, axe_source: str
) -> None:
    ws = workspace()
    _, admin = console_server.key(ws)
    _, viewer = console_server.key(ws, [Permission.CHANNEL_VIEW])
    with console_server.api(admin) as api:
        body = {"tenant_name": f"v-{uuid.uuid4().hex[:10]}", "domain_identity": dns_zone.domain}
        assert api.post(f"/v1/{ws}/channels/ses-setup", json=body).status_code == 201

    sign_in(page, viewer)
    expect(page.get_by_role("link", name=dns_zone.domain)).to_be_visible()
    expect(page.get_by_role("link", name="New SES setup")).to_have_count(0)
    assert_accessible(page, axe_source)
    page.get_by_role("link", name=dns_zone.domain).click()
    expect(page.get_by_role("heading", name=dns_zone.domain, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Verify now")).to_be_visible()
    expect(page.get_by_role("link", name="Download zone file")).to_be_visible()
    expect(page.get_by_role("button", name="Delete setup")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete", exact=True)).to_have_count(0)
    assert_accessible(page, axe_source)

    refused = page.goto("/console/setups/new")
    assert refused is not None
    assert refused.status == 403
    expect(page.get_by_role("alert")).to_contain_text("Channel.create")
    assert_accessible(page, axe_source)


def test_a_txt_record_with_markup_shows_as_text_and_runs_nothing(
    page: Page, console_server: ConsoleServer, dns_zone: TestZone, axe_source: str
) -> None:
    ws = workspace()
    _, secret = console_server.key(ws)
    with console_server.api(secret) as api:
        body = {"tenant_name": f"x-{uuid.uuid4().hex[:10]}", "domain_identity": dns_zone.domain}
        created = api.post(f"/v1/{ws}/channels/ses-setup", json=body)
        assert created.status_code == 201
    dns_zone.replace(f"_dmarc.{dns_zone.domain}", "TXT", txt_value(XSS))
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    sign_in(page, secret)
    page.goto(f"/console/setups/{created.json()['id']}")
    page.get_by_role("button", name="Verify now").click()
    dmarc = page.locator("#dns-records tbody tr").last
    expect(dmarc.locator(".status")).not_to_have_text("unknown")
    expect(dmarc.get_by_text(XSS, exact=True)).to_be_visible()
    page.reload()  # and the same when the server renders the whole page
    expect(dmarc.get_by_text(XSS, exact=True)).to_be_visible()
    assert page.locator("#dns-records img").count() == 0
    assert dialogs == []
    assert_accessible(page, axe_source)
    screenshot(page, "setup-with-problems")


def test_a_revoked_key_stops_working_at_once(
    page: Page, console_server: ConsoleServer, axe_source: str
) -> None:
    key_id, secret = console_server.key(workspace())
    sign_in(page, secret)

    console_server.revoke(key_id)
    page.reload()

    expect(page.get_by_role("textbox", name="API key")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("revoked")
    assert all(c["name"] != "email_channels_console" for c in page.context.cookies())
    assert_accessible(page, axe_source)
    screenshot(page, "sign-in-revoked")


def after_post(page: Page, expected_url: str) -> None:
    """The answer to a POST was a redirect: the URL is a GET page's, and reloading it is safe."""
    assert page.url == expected_url, page.url


def reload_changes_nothing(page: Page, use_cases: list[str]) -> None:
    """A reload shows the same state (the one-time message aside) and submits nothing."""
    url = page.url
    page.reload()
    assert page.url == url
    listed = page.get_by_role("table", name="Use cases of this setup").get_by_role("rowheader")
    if use_cases:
        expect(listed).to_have_text(use_cases)
    else:
        expect(listed).to_have_count(0)
    expect(page.get_by_role("alert")).to_have_count(0)


def test_a_refused_delete_has_a_way_forward_and_no_reload_repeats_a_form(
    page: Page, console_server: ConsoleServer, dns_zone: TestZone, axe_source: str
) -> None:
    ws = workspace()
    _, secret = console_server.key(ws)
    domain = f"uc.{dns_zone.domain}"
    with console_server.api(secret) as api:
        body = {"tenant_name": f"u-{uuid.uuid4().hex[:10]}", "domain_identity": domain}
        created = api.post(f"/v1/{ws}/channels/ses-setup", json=body)
        assert created.status_code == 201, created.text
    setup_url = f"{console_server.url}/console/setups/{created.json()['id']}"
    sign_in(page, secret)
    page.get_by_role("link", name=domain).click()
    expect(page.get_by_role("heading", name=domain, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Use cases")).to_be_visible()
    expect(page.get_by_text("No use case references this setup.")).to_be_visible()

    # A use case added on the page.
    page.get_by_role("textbox", name="Use case name").fill("Password resets")
    page.get_by_role("button", name="Add use case").click()
    expect(page.get_by_role("status").filter(has_text="was added")).to_be_visible()
    after_post(page, setup_url)
    reload_changes_nothing(page, ["Password resets"])

    # The delete is refused; the alert names the use case, on the setup's GET page.
    page.get_by_role("button", name="Delete setup").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    assert_accessible(page, axe_source)
    screenshot(page, "delete-dialog", full_page=False)
    dialog.get_by_role("button", name="Delete", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("use cases")
    expect(alert.get_by_role("link", name="Password resets")).to_be_visible()
    after_post(page, setup_url)
    assert_accessible(page, axe_source)
    screenshot(page, "delete-refused")
    reload_changes_nothing(page, ["Password resets"])
    expect(page.get_by_role("heading", name=domain, exact=True)).to_be_visible()

    # The way forward: delete the use case here, then the setup.
    page.get_by_role("button", name="Delete use case Password resets").click()
    expect(page.get_by_role("status").filter(has_text="was deleted")).to_be_visible()
    after_post(page, setup_url)
    reload_changes_nothing(page, [])
    with console_server.api(secret) as api:
        assert api.get(f"/v1/{ws}/use-cases").json()["items"] == []

    page.get_by_role("button", name="Delete setup").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("The SES setup was deleted.")
    after_post(page, f"{console_server.url}/console")
    page.reload()
    expect(page.get_by_role("heading", name="SES setups")).to_be_visible()
    expect(page.get_by_role("status")).to_have_count(0)
    expect(page.get_by_role("link", name=domain)).to_have_count(0)
    page.goto(setup_url)  # the setup's page, asked for again: it is gone
    expect(page.get_by_role("alert")).to_contain_text("No SES setup")
    with console_server.api(secret) as api:
        assert api.get(f"/v1/{ws}/channels/ses-setup").json()["items"] == []


def test_a_view_only_key_is_told_why_it_cannot_create(
    page: Page, console_server: ConsoleServer, axe_source: str
) -> None:
    _, viewer = console_server.key(workspace(), [Permission.CHANNEL_VIEW])
    sign_in(page, viewer)
    expect(page.get_by_text("Your key can view setups but not create them.")).to_be_visible()
    expect(page.get_by_role("link", name="New SES setup")).to_have_count(0)
    assert_accessible(page, axe_source)


def test_copy_buttons_fall_back_to_selecting_the_text_without_the_clipboard_api(
    browser: Any, console_server: ConsoleServer, dns_zone: TestZone
) -> None:
    ws = workspace()
    _, secret = console_server.key(ws)
    with console_server.api(secret) as api:
        body = {"tenant_name": f"c-{uuid.uuid4().hex[:10]}", "domain_identity": dns_zone.domain}
        created = api.post(f"/v1/{ws}/channels/ses-setup", json=body)
        assert created.status_code == 201, created.text
    context = browser.new_context(viewport=WIDE, base_url=console_server.url)
    # As on a plain-HTTP origin other than localhost: no navigator.clipboard at all.
    context.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        sign_in(page, secret)
        page.goto(f"/console/setups/{created.json()['id']}")
        first_row = page.locator("#dns-records tbody tr").first
        address = published_rows(page)[0].address
        first_row.get_by_role("button", name="Copy name", exact=True).click()
        expect(page.locator("#verify-status")).not_to_be_empty()
        assert page.evaluate("window.getSelection().toString()").strip() == address
    finally:
        context.close()
