"""The web page in headless Chromium: upload a real invoice + schema, see JSON and boxes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
                                reason="needs Debian's chromium and chromium-driver")


@pytest.fixture()
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


def test_upload_shows_json_and_highlighted_boxes(live, invoice, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    pdf, schema, truth = invoice
    browser.get(live.url + "/")
    wait = WebDriverWait(browser, 120)
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#example option[value]")))
    browser.find_element(By.ID, "file").send_keys(str(pdf))
    area = browser.find_element(By.ID, "schema")
    area.clear()
    browser.execute_script("arguments[0].value = arguments[1]", area, json.dumps(schema))
    browser.find_element(By.ID, "run").click()
    wait.until(lambda d: d.find_element(By.ID, "result").text.strip().startswith("{"))
    data = json.loads(browser.find_element(By.ID, "result").text)
    assert data["invoice_number"] == truth["invoice_number"]
    assert data["total"] == truth["total"]
    boxes = browser.find_elements(By.CSS_SELECTOR, ".page .box")
    assert len(boxes) >= 10
    paths = {b.get_attribute("data-path") for b in boxes}
    assert {"invoice_number", "total"} <= paths
    # the page image loads and the total's box lies inside it
    wait.until(lambda d: d.execute_script(
        "const i = document.querySelector('.page img'); return i && i.naturalWidth > 0"))
    img = browser.find_element(By.CSS_SELECTOR, ".page img").rect
    box = browser.find_element(By.CSS_SELECTOR, '.box[data-path="total"]').rect
    assert img["x"] <= box["x"] and box["x"] + box["width"] <= img["x"] + img["width"] + 1
    assert img["y"] <= box["y"] and box["y"] + box["height"] <= img["y"] + img["height"] + 1
    # hovering a value row highlights its box
    from selenium.webdriver import ActionChains

    row = browser.find_element(By.CSS_SELECTOR, '#leaves tr[data-path="total"]')
    ActionChains(browser).move_to_element(row).perform()
    assert "active" in browser.find_element(
        By.CSS_SELECTOR, '.box[data-path="total"]').get_attribute("class")


def test_pick_example_and_error_message(live, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(live.url + "/")
    wait = WebDriverWait(browser, 120)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#example option")) > 1)
    Select(browser.find_element(By.ID, "example")).select_by_value("sample_invoice")
    assert '"invoice_number"' in browser.find_element(By.ID, "schema").get_attribute("value")
    browser.find_element(By.ID, "run").click()
    wait.until(lambda d: d.find_element(By.ID, "result").text.strip().startswith("{"))
    assert browser.find_elements(By.CSS_SELECTOR, ".page .box")
    # a broken schema shows the server's 422 message
    browser.execute_script("document.getElementById('schema').value = '{oops'")
    browser.find_element(By.ID, "run").click()
    wait.until(lambda d: "422" in d.find_element(By.ID, "status").text)


def test_keyed_server_key_field_works_before_the_lists_and_boxes_cover_no_text(live_keyed,
                                                                              browser):
    """A server with an API key: the page opens with empty lists and says a key is needed; a
    wrong key says so; typing the right key fills the lists (no reload). An extraction of the
    bundled invoice draws boxes with no text over the page image: a box's path shows on hover
    (its title) and in the side table; hovering a box highlights its table row."""
    from selenium.webdriver import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from tests.api.conftest import API_KEY

    browser.get(live_keyed.url + "/")
    wait = WebDriverWait(browser, 120)
    status = lambda d: d.find_element(By.ID, "status").text  # noqa: E731
    wait.until(lambda d: "401" in status(d) and "API key" in status(d))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#example option")) == 1
    key = browser.find_element(By.ID, "apikey")
    key.send_keys("wrong")
    wait.until(lambda d: "wrong API key" in status(d))
    key.clear()
    key.send_keys(API_KEY)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                         '#example option[value="sample_invoice"]'))
    wait.until(lambda d: "401" not in status(d))  # the key message is gone
    Select(browser.find_element(By.ID, "example")).select_by_value("sample_invoice")
    browser.find_element(By.ID, "run").click()
    wait.until(lambda d: d.find_element(By.ID, "result").text.strip().startswith("{"))
    wait.until(lambda d: d.execute_script(
        "const i = document.querySelector('.page img'); return i && i.naturalWidth > 0"))
    boxes = browser.find_elements(By.CSS_SELECTOR, ".page .box")
    assert len(boxes) >= 10
    # nothing but the image and empty boxes over the page: no label text covers the values
    page_text = browser.execute_script(
        "return [...document.querySelectorAll('.page *')].filter(e => e.tagName !== 'IMG')"
        ".map(e => e.textContent).join('')")
    assert page_text == ""
    assert all(b.get_attribute("class") == "box" for b in boxes)
    fill = browser.execute_script(
        "return getComputedStyle(document.querySelector('.page .box')).backgroundColor")
    assert fill in ("rgba(0, 0, 0, 0)", "transparent")
    total = browser.find_element(By.CSS_SELECTOR, '.box[data-path="total"]')
    assert total.get_attribute("title").startswith("total: ")
    ActionChains(browser).move_to_element(total).perform()
    row = browser.find_element(By.CSS_SELECTOR, '#leaves tr[data-path="total"]')
    assert "active" in row.get_attribute("class")
    assert browser.find_elements(By.CSS_SELECTOR, "#missing li")  # the missing list is shown
