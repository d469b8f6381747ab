"""The web page at ``/`` driven in a real headless Chromium (Playwright over the system's
``chromium`` package): ask, read the streamed answer, click a citation, see the cited page with
its quoted lines highlighted; the documents view; the key kept in the tab; offline API docs.

Screenshots go to ``test-artifacts/web/`` (git-ignored). Skipped, saying why, where no Chromium is
installed (``apt-get install chromium``): Playwright's own browser downloads need the internet.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import ADMIN_KEY, HEAT, WIRE_KEY, Api

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "web"
HEAT_QUESTION = (
    "Quelle température record a été relevée à Lorvennes pendant la canicule d'août 2003 ?"
)
ARABIC_NOTE = """---
title: ملاحظة عن الأرشيف
language: ar
---
<!-- page 1 -->
# ملاحظة عن الأرشيف

افتتح أرشيف مدينة لورفين قاعة القراءة الجديدة في الرابع من فبراير،
وتضم القاعة أربعين مقعدا للباحثين.
"""

# ReDoc's footer logo: the script asks for it and hides it when it does not load
DECORATIVE = {"https://cdn.redoc.ly/redoc/logo-mini.svg"}


def _chromium() -> str | None:
    """The system Chromium: ``ARCHIVIST_CHROMIUM``, else Debian's binary, else one on PATH."""
    named = os.environ.get("ARCHIVIST_CHROMIUM")
    if named:
        return named
    for path in ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    """Playwright for this module only, where pytest-playwright keeps one for the whole session.

    Its sync API runs an asyncio loop in the test thread while it is started; Prefect's sync
    calls in later test modules would see that loop and hand back coroutines.
    """
    from playwright.sync_api import sync_playwright

    started = sync_playwright().start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def browser_type(playwright: Any, browser_name: str) -> Any:
    return getattr(playwright, browser_name)


@pytest.fixture(scope="module")
def browser(browser_type: Any, browser_type_launch_args: dict[str, Any]) -> Iterator[Any]:
    launched = browser_type.launch(**browser_type_launch_args)
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def browser_context_args() -> dict[str, Any]:
    """New tabs' options (pytest-playwright's would hold the session's Playwright)."""
    return {}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch options, pointed at the system's Chromium."""
    path = _chromium()
    if path is None:
        pytest.skip(
            "no Chromium installed (apt-get install chromium): Playwright cannot download "
            "its own browser offline"
        )
    return {**browser_type_launch_args, "executable_path": path}


@pytest.fixture
def page(page: Any, api: Api) -> Any:
    """A browser tab on the page; anything it fetches from elsewhere fails the test."""
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(api.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.set_default_timeout(60_000)
    yield page
    unexpected = set(outside) - DECORATIVE
    assert not unexpected, f"the page fetched from outside the server: {sorted(unexpected)}"


def _screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def _use_key(page: Any, key: str) -> None:
    page.fill("#key", key)
    page.click("#key-form button[type=submit]")


def _ask(page: Any, question: str) -> None:
    page.fill("#question", question)
    page.click("#ask-button")
    page.wait_for_selector("#citations li")


def test_ask_click_a_citation_and_see_the_page_highlighted(page: Any, api: Api) -> None:
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(api.url + "/")
    page.select_option("#ui-lang", "fr")
    assert page.inner_text("#ask-button") == "Demander"
    _use_key(page, ADMIN_KEY)
    assert page.evaluate("sessionStorage.getItem('archivist.key')") == ADMIN_KEY
    assert page.evaluate("localStorage.getItem('archivist.key')") is None
    _ask(page, HEAT_QUESTION)

    answer = page.inner_text("#answer")
    assert "41,7" in answer
    assert "[1]" in answer  # the marks are buttons inside the answer
    heat = api.doc_ids[HEAT]
    items = page.locator("#citations li")
    assert items.count() >= 1
    # the first citation's page is shown at once; click another mark (or the same) to switch
    target = items.nth(items.count() - 1).locator(".cite")
    n = target.get_attribute("data-n")
    target.click()
    page.wait_for_function(
        "() => { const i = document.getElementById('page-image');"
        " return i.complete && i.naturalWidth > 0 && i.src.startsWith('blob:'); }"
    )
    assert page.locator(f"#citations li[data-n='{n}']").get_attribute("class") == "active"
    image = page.locator("#page-image").bounding_box()
    assert image is not None and image["width"] > 300
    marks = page.locator("#highlights .highlight")
    page.wait_for_function("() => document.querySelectorAll('#highlights .highlight').length > 0")
    for i in range(marks.count()):
        box = marks.nth(i).bounding_box()
        assert box is not None and box["width"] > 10 and box["height"] > 4
        assert (
            image["x"] - 2 <= box["x"]
            and box["x"] + box["width"] <= image["x"] + image["width"] + 2
        )
        assert (
            image["y"] - 2 <= box["y"]
            and box["y"] + box["height"] <= image["y"] + image["height"] + 2
        )
    cited = page.evaluate(f"state.citations.find(c => c.n === {n})")  # as the API said
    assert cited["page_image"].endswith(f"/pages/{cited['page_start']}.png")
    # the first mark sits where the first region's box is, scaled from points to the image
    with api.client() as c:
        width_pt = float(c.get(cited["page_image"]).headers["X-Page-Width"])
    regions = [r for r in cited["regions"] if r["page"] == cited["page_start"]]
    assert regions and marks.count() == len(regions)
    first = marks.nth(0).bounding_box()
    scale = image["width"] / width_pt
    assert first is not None
    assert first["x"] == pytest.approx(image["x"] + (regions[0]["box"]["x0"] - 1.5) * scale, abs=2)
    assert first["y"] == pytest.approx(image["y"] + (regions[0]["box"]["y0"] - 1.5) * scale, abs=2)
    assert any(c["doc_id"] == heat for c in page.evaluate("state.citations"))
    _screenshot(page, "ask-fr.png")


def test_filters_narrow_the_answer(page: Any, api: Api) -> None:
    page.goto(api.url + "/")
    _use_key(page, ADMIN_KEY)
    page.fill("#date-from", "2011-01-01")
    page.fill("#date-to", "2011-12-31")
    page.fill("#collection", "wire")
    _ask(page, "How high did the River Brennach rise?")
    cited = page.evaluate("state.citations")
    assert cited and {c["doc_id"] for c in cited} == {
        api.doc_ids["2011-04-19_brennach-flood_en.pdf"]
    }


def test_a_missing_key_says_so(page: Any, api: Api) -> None:
    page.goto(api.url + "/")
    page.select_option("#ui-lang", "en")
    page.fill("#question", "Anything?")
    page.click("#ask-button")
    page.wait_for_function("() => document.getElementById('status').textContent.includes('key')")
    assert "API key" in page.inner_text("#status")


def test_documents_view_pages_through_the_index(page: Any, api: Api) -> None:
    page.goto(api.url + "/")
    page.select_option("#ui-lang", "en")
    _use_key(page, ADMIN_KEY)
    page.click(".tab[data-view=documents]")
    page.wait_for_selector("#documents tbody tr td")
    rows = page.locator("#documents tbody tr")
    assert rows.count() >= 3
    assert "of" in page.inner_text("#doc-range")
    titles = page.inner_text("#documents tbody")
    assert "Canicule" in titles and "Brennach" in titles
    # a scoped key sees its collection only
    _use_key(page, WIRE_KEY)
    page.click(".tab[data-view=ask]")
    page.click(".tab[data-view=documents]")
    page.wait_for_function(
        "() => document.querySelectorAll('#documents tbody tr').length === 1"
        " && document.getElementById('doc-range').textContent.includes('1')"
    )
    assert "Brennach" in page.inner_text("#documents tbody")
    assert page.locator("#doc-next").is_disabled()


def test_right_to_left_text_reads_right_to_left(page: Any, api: Api) -> None:
    with api.client() as c:
        r = c.post(
            "/v1/ingest",
            files={"files": ("note-ar.md", ARABIC_NOTE.encode(), "text/markdown")},
            data={"collection": "arabic"},
        )
        assert r.status_code == 200 and r.json()["files"][0]["status"] == "ok", r.text
    page.goto(api.url + "/")
    _use_key(page, ADMIN_KEY)
    page.fill("#collection", "arabic")
    _ask(page, "كم مقعدا في قاعة القراءة الجديدة؟")
    assert "أربعين" in page.inner_text("#answer")
    assert page.evaluate("document.getElementById('answer').matches(':dir(rtl)')")
    assert page.evaluate("document.querySelector('#citations .quote').matches(':dir(rtl)')")
    assert page.evaluate("document.getElementById('question').matches(':dir(rtl)')")
    # a Markdown source: its page is a rendered text view
    page.wait_for_function("() => document.getElementById('page-image').naturalWidth > 0")
    _screenshot(page, "ask-rtl.png")


def test_api_docs_work_offline(page: Any, api: Api) -> None:
    page.goto(api.url + "/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.locator(".swagger-ui .opblock").count() > 5
    page.goto(api.url + "/redoc")
    page.wait_for_selector("[role=navigation], .menu-content")
