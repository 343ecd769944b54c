"""The drawing page in a real headless Chromium.

Debian's `chromium` and `chromium-driver`, driven by selenium through /usr/bin/chromedriver; no
network. Draw on #pad with mouse and touch events, see completions appear in #results as inline
<svg>, undo, clear, change the count, switch to a conditional model and reconstruct, download the
SVG. Skips, saying why, only where the browser or selenium is not installed (`.ci/run` installs
them).

Set SKETCH_RNN_TF_SCREENSHOT=docs/serve.png to keep the screenshot the README shows.
"""

import math
import os
import xml.etree.ElementTree as ET

import pytest

from sketch_rnn_tf.serve import make_server, start_in_thread

from _paths import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1200,760",
    "--force-device-scale-factor=1",
]
WAIT = 180  # seconds for a completion on a busy 2-core machine (the first traces the sampler)


def _need_browser():
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    if missing:
        pytest.skip(
            f"{' and '.join(missing)} not found: the browser test needs Debian's chromium "
            "and chromium-driver (apt-get install -y chromium chromium-driver, as .ci/run "
            "does)"
        )


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """(driver, server, download folder) with the page of the bundled sheep model open."""
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    tmp = tmp_path_factory.mktemp("browser")
    home = tmp / "home"  # no cached models: the picker lists the bundled ones
    home.mkdir()
    old_home = os.environ.get("SKETCH_RNN_TF_HOME")
    os.environ["SKETCH_RNN_TF_HOME"] = str(home)
    server = make_server("sheep", port=0)
    thread = start_in_thread(server)
    downloads = tmp / "downloads"
    downloads.mkdir()
    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={tmp / 'profile'}"]:
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = None
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.execute_cdp_cmd(
            "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
        driver.get(server.url)
        yield driver, server, downloads
    finally:
        if driver is not None:
            driver.quit()
        server.shutdown()
        server.server_close()
        thread.join(10)
        if old_home is None:
            os.environ.pop("SKETCH_RNN_TF_HOME", None)
        else:
            os.environ["SKETCH_RNN_TF_HOME"] = old_home


def _wait(driver, condition, what, timeout=WAIT):
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: condition(d))
    except Exception as e:
        status = driver.find_element("id", "status").text
        raise AssertionError(f"timed out waiting for {what}; the page's status: {status!r}") from e


def _results(driver):
    return driver.find_elements("css selector", "#results > svg")


def _request_count(driver):
    return driver.execute_script(
        "return window.performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('/api/complete')).length"
    )


def _sheep_body(n=72, rx=110, ry=70, cx=-15, cy=-20):
    """Points (screen pixels from the pad's centre) round a cloud-like sheep body."""
    pts = []
    for i in range(n + 1):
        a = 2 * math.pi * i / n
        bump = 1 + 0.14 * abs(math.sin(4.5 * a))  # the scallops of a woolly cloud
        pts.append((cx + rx * bump * math.cos(a), cy + ry * bump * math.sin(a)))
    return pts


def _draw_mouse(driver, points):
    from selenium.webdriver.common.action_chains import ActionChains

    pad = driver.find_element("id", "pad")
    chain = ActionChains(driver, duration=10)
    x0, y0 = points[0]
    chain.move_to_element_with_offset(pad, int(x0), int(y0)).click_and_hold()
    px, py = int(x0), int(y0)
    for x, y in points[1:]:
        chain.move_by_offset(int(x) - px, int(y) - py)
        px, py = int(x), int(y)
    chain.release().perform()


def _draw_touch(driver, points):
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    pad = driver.find_element("id", "pad")
    rect = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return [r.left + r.width / 2, r.top + r.height / 2];",
        pad,
    )
    builder = ActionBuilder(driver, mouse=PointerInput(interaction.POINTER_TOUCH, "finger"))
    finger = builder.pointer_action
    x0, y0 = points[0]
    finger.move_to_location(int(rect[0] + x0), int(rect[1] + y0)).pointer_down()
    for x, y in points[1:]:
        finger.move_to_location(int(rect[0] + x), int(rect[1] + y))
    finger.pointer_up()
    builder.perform()


def _wait_for_results(driver, n, after_requests, what):
    _wait(
        driver,
        lambda d: (
            _request_count(d) > after_requests
            and d.find_element("id", "results").get_attribute("aria-busy") is None
            and len(_results(d)) == n
        ),
        what,
    )


def test_drawing_on_the_pad_brings_completions(page):
    driver, server, downloads = page
    _wait(driver, lambda d: "ready" in d.find_element("id", "status").text, "the model to load")
    options = [o.text for o in driver.find_elements("css selector", "#model option")]
    assert options == sorted(options) and {"sheep", "aaron_sheep_vae", "bird", "ant"} <= set(
        options
    )
    assert driver.find_element("id", "model").get_attribute("value") == "sheep"
    assert not driver.find_element("id", "reconstruct").is_displayed()  # sheep is decoder-only

    # 1. One stroke with the mouse: on pen-up, four completions appear as inline <svg>.
    body = _sheep_body()
    _draw_mouse(driver, body)
    _wait_for_results(driver, 4, 0, "completions of the first stroke")
    lines = driver.find_elements("css selector", "#pad polyline")
    assert len(lines) == 1
    kept = lines[0].get_attribute("points").split()
    assert 6 <= len(kept) < len(body)  # simplified by RDP (epsilon 2 model pixels), not every move
    figures = _results(driver)
    assert all(f.tag_name == "svg" for f in figures)
    for f in figures:  # the drawing (black) in every completion, and the model's lines in colour
        strokes = [p.get_attribute("stroke") for p in f.find_elements("css selector", "polyline")]
        assert "#111" in strokes
    assert any(
        s != "#111"
        for f in figures
        for s in (p.get_attribute("stroke") for p in f.find_elements("css selector", "polyline"))
    )
    assert "completions" in driver.find_element("id", "status").text

    # 2. A second stroke with a finger (touch pointer events): completions of both strokes.
    before = _request_count(driver)
    _draw_touch(driver, [(60, -40), (85, -55), (110, -45), (115, -20), (95, -5), (70, -10)])
    _wait_for_results(driver, 4, before, "completions after a touch stroke")
    assert len(driver.find_elements("css selector", "#pad polyline")) == 2

    # 3. Undo takes the touch stroke away and asks again; the count asks for six.
    before = _request_count(driver)
    driver.find_element("id", "undo").click()
    _wait_for_results(driver, 4, before, "completions after undo")
    assert len(driver.find_elements("css selector", "#pad polyline")) == 1
    count = driver.find_element("id", "count")
    before = _request_count(driver)
    count.clear()
    count.send_keys("6\t")
    _wait_for_results(driver, 6, before, "six completions")

    # 4. Download SVG: one file with the six drawings.
    driver.find_element("id", "download").click()
    target = downloads / "sketch-rnn.svg"
    _wait(driver, lambda d: target.exists() and target.stat().st_size > 0, "the SVG download", 30)
    root = ET.parse(target).getroot()
    assert root.tag.endswith("svg")
    assert len(root.findall("{http://www.w3.org/2000/svg}svg")) == 6

    # 5. The screenshot the README shows: four completions of the sheep's body.
    count.clear()
    count.send_keys("4\t")
    temperature = driver.find_element("id", "temperature")
    driver.execute_script(
        "arguments[0].value = '0.25';"
        "arguments[0].dispatchEvent(new Event('input'));"
        "arguments[0].dispatchEvent(new Event('change'));",
        temperature,
    )
    _wait(
        driver,
        lambda d: (
            len(_results(d)) == 4
            and d.find_element("id", "results").get_attribute("aria-busy") is None
            and "0.25" in d.find_element("id", "status").text
        ),
        "four completions at temperature 0.25",
    )
    # The model's lines are drawn in turn (CSS animations), then stand finished.
    assert driver.execute_script("return document.getAnimations().length") > 0
    _wait(
        driver,
        lambda d: d.execute_script(
            "return document.getAnimations().every(a => a.playState === 'finished')"
        ),
        "the endings to be drawn",
        30,
    )
    shot = os.environ.get("SKETCH_RNN_TF_SCREENSHOT")
    path = os.path.join(REPO, shot) if shot else str(downloads / "serve.png")
    assert driver.save_screenshot(path)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"

    # 6. Clear empties the pad and the results.
    driver.find_element("id", "clear").click()
    assert driver.find_elements("css selector", "#pad polyline") == []
    assert _results(driver) == []
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


def test_conditional_model_reconstructs(page):
    driver, server, downloads = page
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", "model")).select_by_value("aaron_sheep_vae")
    _wait(
        driver,
        lambda d: "aaron_sheep_vae ready" in d.find_element("id", "status").text,
        "the conditional model to load",
    )
    assert "conditional" in driver.find_element("id", "model-info").text
    button = driver.find_element("id", "reconstruct")
    assert button.is_displayed()
    before = _request_count(driver)
    _draw_mouse(driver, _sheep_body(n=40))
    _wait_for_results(driver, 4, before, "completions from the conditional model")
    button.click()
    _wait(
        driver,
        lambda d: (
            d.find_element("id", "results-title").text == "Reconstructions"
            and len(_results(d)) == 4
            and d.find_element("id", "results").get_attribute("aria-busy") is None
        ),
        "reconstructions",
    )
    # A reconstruction is drawn anew from z: no line of the drawing (black) in it.
    for f in _results(driver):
        strokes = {p.get_attribute("stroke") for p in f.find_elements("css selector", "polyline")}
        assert strokes and "#111" not in strokes
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


def test_an_svg_dropped_on_the_pad_starts_the_drawing(page):
    """A Feather icon dropped on the pad (a real drop event) and one chosen in the file input."""
    from _paths import DATA

    driver, server, downloads = page
    driver.find_element("id", "clear").click()
    path = os.path.join(DATA, "svg_feather", "cloud.svg")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    before = _request_count(driver)
    driver.execute_script(
        "const file = new File([arguments[1]], 'cloud.svg', {type: 'image/svg+xml'});"
        "const data = new DataTransfer(); data.items.add(file);"
        "arguments[0].dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true}));",
        driver.find_element("id", "pad"),
        text,
    )
    _wait_for_results(driver, 4, before, "completions of the dropped SVG")
    assert len(driver.find_elements("css selector", "#pad polyline")) == 1  # cloud: one path
    # The file input takes one too (two strokes: the arrow's line and its head).
    before = _request_count(driver)
    arrow = os.path.join(DATA, "svg_feather", "arrow-down.svg")
    driver.find_element("id", "svg-file").send_keys(arrow)
    _wait_for_results(driver, 4, before, "completions of the chosen SVG")
    assert len(driver.find_elements("css selector", "#pad polyline")) == 2
    # A file that is not SVG is refused with the reader's message, and nothing is drawn.
    driver.execute_script(
        "const file = new File(['<svg'], 'broken.svg', {type: 'image/svg+xml'});"
        "const data = new DataTransfer(); data.items.add(file);"
        "arguments[0].dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true}));",
        driver.find_element("id", "pad"),
    )
    _wait(
        driver,
        lambda d: "broken.svg" in d.find_element("id", "status").text,
        "the refusal of a broken SVG",
        30,
    )
    assert "error" in driver.find_element("id", "status").get_attribute("class")
    assert len(driver.find_elements("css selector", "#pad polyline")) == 2
