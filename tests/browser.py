"""The web console as a person meets it: a seeded appliance, `cdr console` running on it as
a real process (gunicorn on a free loopback port), and Debian's Chromium driven headless by
Selenium through Debian's chromedriver.

The appliance is made the way a town's is: folders named in a CDR_CONFIG, a policy with a
contact, real files run through the real `cli.py batch` (a PPAP zip holding a PDF, a
program named .pdf, a macro document the town's policy holds, hostile names), accounts made
with `cdr users add`. Nothing here talks to anything but loopback and local files.

Run as a script, it writes the screenshots of the README (docs/console/*.png):
    .venv/bin/python tests/browser.py --screenshots
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script (--screenshots) as well as under pytest
    sys.path.insert(0, str(ROOT))

import pikepdf  # noqa: E402
import pytest  # noqa: E402

from tests import office_builders  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # the tests run as root in a container; Chromium's own sandbox needs user namespaces
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no update checks, no safe-browsing lists: loopback only
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)

CONTACT = "総務課 情報係（内線 123）"
PPAP_PASSWORD = "Kuma#2026-yama"  # the password a sender mails separately; must appear nowhere
PASSWORDS = {  # long enough for any length rule the accounts may have
    "admin": "admin-pass-Sakura-2026",
    "tanaka": "tanaka-pass-Ume-2026",
    "suzuki": "suzuki-pass-Matsu-2026",
    "sato": "sato-pass-Kiri-2026",
    "kato": "kato-pass-Kaede-2026",
}
# name → (role, departments)
ACCOUNTS = {
    "admin": ("admin", ()),
    "tanaka": ("staff", ("soumu",)),
    "suzuki": ("approver", ("soumu",)),
    "sato": ("staff", ("kikaku",)),
    "kato": ("staff", ("kikaku",)),  # the lockout test locks him out: no other test needs him
}

# the files of the seeded day, by their path under the inbox
CLEAN_PDF = "soumu/議事録.pdf"
PROGRAM = "soumu/請求書.pdf"  # /bin/true named .pdf: its original must never be released by the console
PPAP = "soumu/見積書.zip"  # AES zip holding a real PDF, the password mailed separately
MACRO = "soumu/集計マクロ.docm"  # the town's policy holds macro documents for a person to decide
FORM = "soumu/申請様式.docm"  # the approver asks for this one himself
KIKAKU_MACRO = "kikaku/予算案.docm"
KIKAKU_PDF = "kikaku/計画.pdf"
XSS_NAME = "<img src=x onerror=alert(1)>.pdf"
RTLO_NAME = "請求書\u202efdp.exe"  # shows as 請求書exe.pdf where bidi is obeyed
# 240 characters (250 bytes: a file system's name holds 255 at most)
LONG_NAME = "長い報告書_" + ("2026-nendo-yosan-" * 14)[:230] + ".pdf"
HOSTILE = (f"soumu/{XSS_NAME}", f"soumu/{RTLO_NAME}", f"soumu/{LONG_NAME}")

POLICY = f"""\
name: town
types:
  docm: block  # macro documents wait for a person (原本取り出し申請)
notice:
  contact: "{CONTACT}"
"""


def pdf_bytes(text: str = "見積") -> bytes:
    """A small real PDF (one page, a document title), as a scanner or a word processor makes."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.docinfo["/Title"] = text
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def ppap_zip(password: str, member: bytes) -> bytes:
    import pyzipper

    out = io.BytesIO()
    with pyzipper.AESZipFile(out, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(password.encode())
        archive.writestr("見積書.pdf", member)
    return out.getvalue()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None. Under CI a missing browser is a
    failure, not a skip: a green CI must mean the browser tests ran."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if not missing:
        return None
    reason = "the console's browser tests need " + ", ".join(missing) + " (make system venv)"
    if os.environ.get("CI"):
        pytest.fail(reason + " — under CI they must run", pytrace=False)
    return reason


@dataclass
class Appliance:
    """One town's appliance in a temporary folder, and the CLI run against it."""

    root: Path
    lines: dict[str, dict[str, Any]] = field(default_factory=dict)  # batch result line by input

    @property
    def config(self) -> Path:
        return self.root / "cdr.yaml"

    def place(self, name: str) -> Path:
        return self.root / name

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def audit(self) -> Path:
        return self.root / "log" / "audit.jsonl"

    @property
    def console_db(self) -> Path:
        return self.root / "console.db"

    @property
    def server_log(self) -> Path:
        return self.root / "console.log"

    def env(self) -> dict[str, str]:
        return {**os.environ, "CDR_CONFIG": str(self.config), "LANG": "C.UTF-8", "PYTHONPATH": str(ROOT)}

    def cdr(self, *args: str | Path, stdin: str | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), *map(str, args)],
            capture_output=True,
            text=True,
            encoding="utf-8",
            input=stdin,
            timeout=timeout,
            cwd=self.root,
            env=self.env(),
        )

    def records(self) -> list[dict[str, Any]]:
        from cdr.audit import records

        return list(records(self.audit))

    def events(self, event: str) -> list[dict[str, Any]]:
        return [r for r in self.records() if r.get("event") == event]

    def qid(self, name: str) -> str:
        """The quarantine ID of a seeded file, by its path under the inbox."""
        qid = self.lines[name]["quarantine_id"]
        assert qid, self.lines[name]
        return qid

    def audit_text(self) -> str:
        """Every byte of every file of the audit log, for 'this never appears' assertions."""
        return "".join(p.read_text(encoding="utf-8", errors="replace") for p in self.audit.parent.iterdir())


def write_files(appliance: Appliance) -> None:
    """The town's folders, its config and policy, and the day's files in the inbox."""
    for name in ("inbox/soumu", "inbox/kikaku", "outbox", "spool", "quarantine", "log"):
        appliance.place(name).mkdir(parents=True, exist_ok=True)
    # the town's policy beside the shipped ones, as /etc/cdr holds them: the administrator
    # may re-run an entry with any policy in that folder
    policies = appliance.place("policies")
    policies.mkdir()
    for shipped in ("default.yaml", "strict.yaml"):
        (policies / shipped).write_bytes((ROOT / "policies" / shipped).read_bytes())
    (policies / "town.yaml").write_text(POLICY, encoding="utf-8")
    appliance.config.write_text(
        "inbox: inbox\noutbox: outbox\nspool: spool\nquarantine: quarantine\n"
        "audit: log/audit.jsonl\npolicy: policies/town.yaml\nconsole_db: console.db\nworkers: 1\n",
        encoding="utf-8",
    )
    program = Path("/bin/true").read_bytes()
    files = {
        CLEAN_PDF: pdf_bytes("議事録"),
        PROGRAM: program,
        PPAP: ppap_zip(PPAP_PASSWORD, pdf_bytes("見積書")),
        MACRO: office_builders.docm_with_vba(),
        FORM: office_builders.docm_with_vba(),
        KIKAKU_MACRO: office_builders.docm_with_vba(),
        KIKAKU_PDF: pdf_bytes("計画"),
        **{name: program for name in HOSTILE},
    }
    an_hour_ago = time.time() - 3600  # settled: a batch takes only files nobody wrote to lately
    for name, data in files.items():
        (appliance.inbox / name).write_bytes(data)
        os.utime(appliance.inbox / name, (an_hour_ago, an_hour_ago))


def add_account(appliance: Appliance, name: str, role: str, departments: tuple[str, ...]) -> None:
    """`cdr users add` as the administrator types it, the password given on stdin."""
    args: list[str] = ["users", "add", name, "--role", role, "--password-stdin"]
    for department in departments:
        args += ["--department", department]
    done = appliance.cdr(*args, stdin=f"{PASSWORDS[name]}\n", timeout=60)
    assert done.returncode == 0, f"cdr users add {name}: {done.stdout}{done.stderr}"


def seed(root: Path) -> Appliance:
    """The day's files through the real `cdr batch`, then the accounts."""
    appliance = Appliance(root)
    write_files(appliance)
    batch = appliance.cdr("batch", "--json", timeout=300)
    assert batch.returncode == 1, batch.stdout + batch.stderr  # 1: something was quarantined
    for line in batch.stdout.splitlines():
        result = json.loads(line)
        appliance.lines[result["input"]] = result
    for name, (role, departments) in ACCOUNTS.items():
        add_account(appliance, name, role, departments)
    return appliance


class Process:
    """A long-running `cli.py` command (console, watch) with its output in a log file."""

    def __init__(self, appliance: Appliance, log: Path, *args: str) -> None:
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "cli.py"), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=appliance.root,
                env=appliance.env(),
                start_new_session=True,  # its own process group: gunicorn's workers end with it
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_console(appliance: Appliance) -> tuple[Process, str]:
    """`cdr console` on a free loopback port, waited for until /login answers."""
    port = free_port()
    console = Process(appliance, appliance.server_log, "console", "--listen", f"127.0.0.1:{port}")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if console.process.poll() is not None:
            raise AssertionError(f"cdr console exited with {console.process.returncode}:\n{console.output()}")
        try:
            with urllib.request.urlopen(url + "/login", timeout=5) as answer:
                if answer.status == 200:
                    return console, url
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            console.stop()
            raise AssertionError(f"cdr console did not answer on {url} within 60 s:\n{console.output()}")
        time.sleep(0.2)


def start_watcher(appliance: Appliance) -> Process:
    """The daemon beside the console, as `make run` has it: the dashboard's 'alive' and the
    counts of `cdr status --json` come from it (read back from the audit log at its start).
    Not waited for here: the console and the browser start meanwhile (``watching``)."""
    return Process(appliance, appliance.root / "watch.log", "watch", "--workers", "1")


def watching(appliance: Appliance, watcher: Process) -> None:
    """Wait until the daemon has written its first status."""
    deadline = time.monotonic() + 60
    while not (appliance.place("spool") / "status.json").exists():
        if watcher.process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"cdr watch did not start:\n{watcher.output()}")
        time.sleep(0.2)


def chromium(user_data: Path, *more_flags: str) -> Any:
    """Headless Debian Chromium through Debian's chromedriver, its console log kept (the
    tests look there for Content-Security-Policy violations)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, *more_flags):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def replaced(element: Any) -> bool:
    """Whether the page ``element`` belonged to has been replaced by another. Chromedriver
    says so in two ways: a stale element, or — when asked while the new document is being
    put in place — an inspector error that the node "does not belong to the document"
    (seen once in CI, where Selenium's own ``staleness_of`` let it through as a failure)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as refused:
        if "does not belong to the document" in str(refused.msg):
            return True
        raise
    return False


class Visitor:
    """One person at the browser: open a page, log in as someone, fill and send a form."""

    def __init__(self, driver: Any, url: str) -> None:
        self.driver, self.url = driver, url
        self.sessions: dict[str, list[dict[str, Any]]] = {}  # name → the cookies of their login

    def as_user(self, name: str) -> None:
        """Be ``name`` again: the cookies of their earlier login put back, or a first login.
        Fewer logins than page visits: the console limits logins per client (20 in 5 min)."""
        if name not in self.sessions:
            self.login(name)
            assert not self.errors(), f"login as {name}: {self.errors()}"
            self.sessions[name] = self.driver.get_cookies()
            return
        self.open("/login")  # cookies are set on the console's origin
        self.driver.delete_all_cookies()
        for cookie in self.sessions[name]:
            self.driver.add_cookie(cookie)

    def open(self, path: str) -> None:
        self.driver.get(self.url + path)

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str = "main") -> str:
        return self.find(css).text

    def submit(self, form_css: str, **fields: str) -> None:
        """Fill the form's fields by name and press its submit button, then wait for the
        page the server answers with."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        form = self.find(form_css)
        for name, value in fields.items():
            box = form.find_element(By.NAME, name)
            if box.tag_name == "select":
                from selenium.webdriver.support.ui import Select

                Select(box).select_by_value(value)
            else:
                box.clear()
                box.send_keys(value)
        page = self.find("html")
        form.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit], button:not([type])").click()
        WebDriverWait(self.driver, 120).until(lambda _driver: replaced(page))
        # the old page is gone; the answer (a redirect's page) may still be arriving
        WebDriverWait(self.driver, 120).until(lambda d: d.execute_script("return document.readyState") == "complete")

    def login(self, name: str, password: str | None = None) -> None:
        """A fresh session as ``name`` (the previous one's cookie forgotten)."""
        self.driver.delete_all_cookies()
        self.open("/login")
        self.submit("form[action$='/login']", username=name, password=password or PASSWORDS[name])

    def flashes(self) -> list[str]:
        """The messages after an action (not an error), as the page shows them."""
        return [e.text for e in self.all("div.flash[role=status]")]

    def errors(self) -> list[str]:
        """The refusals and errors after an action."""
        return [e.text for e in self.all("div.flash.error[role=alert]")]

    def cookie_header(self) -> str:
        return "; ".join(f"{c['name']}={c['value']}" for c in self.driver.get_cookies())

    def http(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        """A request outside the browser carrying the browser's session cookie: GET, or a
        POST of ``form`` exactly as given (no CSRF token unless the test puts one in)."""
        from urllib.parse import urlencode

        data = urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.url + path, data=data, headers={"Cookie": self.cookie_header()})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read().decode("utf-8", "replace")

    def csp_violations(self) -> list[str]:
        """The browser's console messages that are Content-Security-Policy refusals."""
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if "Content Security Policy" in entry["message"] or "Content-Security-Policy" in entry["message"]
        ]


@dataclass
class Stage:
    """Everything a browser test needs: the appliance, the console and daemon running on it,
    and a browser pointed at the console."""

    appliance: Appliance
    console: Process
    watcher: Process
    visitor: Visitor


@contextlib.contextmanager
def stage(root: Path, *browser_flags: str) -> Iterator[Stage]:
    """Seed, start the daemon and the console, open a browser; stop them all afterwards."""
    appliance = seed(root)
    watcher = start_watcher(appliance)
    console: Process | None = None
    driver = None
    try:
        console, url = start_console(appliance)
        user_data = Path(tempfile.mkdtemp(prefix="chromium-profile-", dir=root))
        driver = chromium(user_data, *browser_flags)
        watching(appliance, watcher)
        yield Stage(appliance, console, watcher, Visitor(driver, url))
    finally:
        if driver is not None:
            driver.quit()
        if console is not None:
            console.stop()
        watcher.stop()


# ---------------------------------------------------------------- screenshots for the README
SCREENSHOTS = ROOT / "docs" / "console"


def save_screenshot(visitor: Visitor, name: str) -> Path:
    """The whole page (its full height, 1280 wide), made small: a palette PNG."""
    from PIL import Image

    height = visitor.driver.execute_script("return document.documentElement.scrollHeight")
    visitor.driver.set_window_size(1280, max(600, min(int(height) + 140, 3000)))
    shot = Image.open(io.BytesIO(visitor.driver.get_screenshot_as_png())).convert("RGB")
    visitor.driver.set_window_size(1280, 900)
    target = SCREENSHOTS / f"{name}.png"
    shot.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
    return target


def screenshots() -> list[Path]:
    """The main pages as the README shows them: the login; the approver's pending requests
    (tanaka asked for the macro document's original); then, once suzuki approved it, as the
    administrator the dashboard, the held files, the PPAP entry, that document's audit life
    and the monthly report."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    saved = []
    with tempfile.TemporaryDirectory(prefix="cdr-") as work, stage(Path(work), "--hide-scrollbars") as s:
        v, a = s.visitor, s.appliance
        v.open("/login")
        saved.append(save_screenshot(v, "login"))
        v.as_user("tanaka")
        v.open(f"/quarantine/{a.qid(MACRO)}")
        v.submit("#request-form", reason="委託業者から届いた集計表です。マクロで月次集計をするため、原本が必要です。")
        v.as_user("suzuki")
        v.open("/requests")
        saved.append(save_screenshot(v, "requests"))
        v.submit("form.decide", comment="業務上必要と確認しました。開く前にマクロの内容を確認してください。")
        v.as_user("admin")
        for name, path in (
            ("dashboard", "/"),
            ("quarantine", "/quarantine"),
            ("entry", f"/quarantine/{a.qid(PPAP)}"),
            ("audit", f"/audit?file={a.qid(MACRO)}"),
            ("report", "/reports"),
        ):
            v.open(path)
            saved.append(save_screenshot(v, name))
    return saved


if __name__ == "__main__":
    if sys.argv[1:] != ["--screenshots"]:
        sys.exit("usage: tests/browser.py --screenshots")
    if reason := chromium_missing():
        sys.exit(reason)
    for path in screenshots():
        print(path.relative_to(ROOT), path.stat().st_size)
