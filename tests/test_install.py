"""`make install` (systemd/install.sh) run for real in a scratch root, then used as the
service user it created — and the contact and file-system questions it asks cdr.

The venv is built without the network: pip gets ``WHEELS`` (the install's own offline
mode, ``--no-index``) pointed at a wheelhouse made here from what is on this machine — the
checkout's ``.venv`` holds every dependency, installed from wheels, so each one is packed
back into a wheel from its installed files (its RECORD); cdr's own wheel is packed from the
checkout the way setuptools would pack it (the packages ``pyproject.toml`` finds, their
``.py`` files and declared package data, the console script). The real system Python
(``/usr/bin/python3``) builds the venv, as on an appliance.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata as metadata
import io
import os
import pty
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
import setuptools
from packaging.requirements import Requirement

from cdr import install
from cdr.errors import CdrError
from cdr.policy import parse_policy
from tests.terminal import read_until, to_the_end, type_keys

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "systemd" / "install.sh"
CONTACT = "総務課 情報係: 内線 123"  # ": " inside: unquoted it would read as a second key
PLACEHOLDER = "情報システム担当（内線 0000）"
DEFAULT_POLICY = (ROOT / "policies" / "default.yaml").read_text(encoding="utf-8")

can_install = pytest.mark.skipif(
    os.geteuid() != 0
    or not Path("/usr/bin/python3").exists()
    or any(shutil.which(tool) is None for tool in ("useradd", "groupadd", "setpriv", "bwrap")),
    reason="needs root, /usr/bin/python3, useradd, setpriv and bubblewrap",
)


# ---- the questions, without installing ----------------------------------------------------


def test_contact_with_a_colon_is_quoted_and_reads_back() -> None:
    text = install.with_contact(DEFAULT_POLICY, "policy.yaml", CONTACT)
    assert parse_policy(text, "policy.yaml").notice.contact == CONTACT
    assert f'  contact: "{CONTACT}"\n' in text
    # only that value changed: every other line, comments included, is as shipped
    assert [line for line in text.splitlines() if "contact:" not in line] == [
        line for line in DEFAULT_POLICY.splitlines() if "contact:" not in line
    ]


def test_contact_with_quotes_and_backslashes_reads_back() -> None:
    odd = '総務課 "情報係" \\ 内線 123 # 平日のみ'
    assert parse_policy(install.with_contact(DEFAULT_POLICY, "p.yaml", odd), "p.yaml").notice.contact == odd


def test_a_policy_without_notice_gets_one() -> None:
    text = install.with_contact("name: local\n", "p.yaml", CONTACT)
    assert text == f'name: local\n\nnotice:\n  contact: "{CONTACT}"\n'


def test_placeholder_given_is_refused_with_what_to_type() -> None:
    with pytest.raises(install.ContactMissing) as refused:
        install.choose_contact(None, PLACEHOLDER, None)
    assert refused.value.exit_code == 2
    lines = str(refused.value).splitlines()
    assert lines[0] == (
        f"指定されたお問い合わせ先「{PLACEHOLDER}」は出荷時の仮の値です。"
        "職員が実際に問い合わせできる部署と内線を、次のように指定してください。"
    )
    assert lines[1] == '  make install CONTACT="総務課 情報係（内線 123）"'
    assert lines[2].startswith("The contact printed in every notice")


def test_nothing_given_and_no_terminal_is_refused() -> None:
    with pytest.raises(install.ContactMissing) as refused:
        install.choose_contact(None, "", None)
    assert str(refused.value).startswith("お知らせに載せるお問い合わせ先（部署・内線）が決まっていません。")


def test_reinstall_keeps_a_real_contact_and_replaces_a_placeholder() -> None:
    assert install.choose_contact(CONTACT, "", None) == CONTACT
    assert install.choose_contact(CONTACT, "税務課（内線 456）", None) == "税務課（内線 456）"
    with pytest.raises(install.ContactMissing):
        install.choose_contact(PLACEHOLDER, "", None)


def test_the_prompt_asks_again_and_gives_up(capsys: pytest.CaptureFixture[str]) -> None:
    answers = iter(["", PLACEHOLDER, "  総務課（内線 123） "])
    assert install.choose_contact(None, "", lambda: next(answers)) == "総務課（内線 123）"
    assert capsys.readouterr().out.count("「内線 0000」は使えません") == 2
    with pytest.raises(install.ContactMissing):
        install.choose_contact(None, "", lambda: "")


def _contact_on_a_terminal(tmp_path: Path, typed: bytes) -> tuple[int, str, Path]:
    """``python -m cdr.install contact`` on a new pseudo-terminal, without CONTACT: what it
    printed, its exit status and the policy it was to write."""
    policy = tmp_path / "policy.yaml"
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the install's question on the new terminal
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        argv = [
            sys.executable,
            "-I",
            "-m",
            "cdr.install",
            "contact",
            str(policy),
            str(ROOT / "policies/default.yaml"),
        ]
        os.execve(sys.executable, argv, env)
    asked = read_until(terminal, install.PROMPT.encode()).decode("utf-8", "replace")
    type_keys(pid, terminal, typed)
    status, said = to_the_end(pid, terminal)
    return status, asked + said, policy


def test_the_contact_is_asked_for_on_a_terminal(tmp_path: Path) -> None:
    status, said, policy = _contact_on_a_terminal(tmp_path, f"{CONTACT}\n".encode())
    assert status == 0, said
    assert said.startswith("お問い合わせ先（部署・内線） / contact (department, extension): "), said
    assert parse_policy(policy.read_text(encoding="utf-8"), str(policy)).notice.contact == CONTACT


def test_ctrl_d_at_the_contact_prompt_refuses_without_a_traceback(tmp_path: Path) -> None:
    status, said, policy = _contact_on_a_terminal(tmp_path, b"\x04")
    assert status == 2, said
    assert "install: お知らせに載せるお問い合わせ先（部署・内線）が決まっていません。" in said
    assert "Traceback" not in said and not policy.exists()


def test_filesystems_refuses_a_spool_elsewhere_saying_what_to_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("/dev/shm is on the same file system as the test's folder")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    spool = Path("/dev/shm") / f"install-test-{os.getpid()}"
    config = tmp_path / "cdr.yaml"
    config.write_text(f"inbox: {inbox}\nspool: {spool}\npolicy: {ROOT / 'policies' / 'default.yaml'}\n")
    monkeypatch.setenv("CDR_CONFIG", str(config))
    try:
        with pytest.raises(CdrError) as refused:
            install.check_filesystems([inbox, tmp_path / "batch-spool"])
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    message = str(refused.value)
    assert f"受付フォルダー {inbox} と作業フォルダー {spool} が別のファイルシステムにあります。" in message
    assert f"（例: {tmp_path / 'spool'}。cdr.yaml の spool を変えます）" in message
    assert "cdr-batch.service" not in message  # the batch pair is on one file system


# ---- the wheelhouse -----------------------------------------------------------------------


def _pack(folder: Path, filename: str, members: dict[str, bytes]) -> Path:
    """A wheel: the members and a RECORD with their hashes (pip reads it)."""
    name = filename.split("-")[0] + "-" + filename.split("-")[1]
    rows = []
    for path, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append([path, f"sha256={digest}", str(len(data))])
    rows.append([f"{name}.dist-info/RECORD", "", ""])
    record = io.StringIO()
    csv.writer(record, lineterminator="\n").writerows(rows)
    wheel = folder / filename
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            archive.writestr(path, data)
        archive.writestr(f"{name}.dist-info/RECORD", record.getvalue())
    return wheel


def _wheel_of_installed(dist: metadata.Distribution, folder: Path) -> Path:
    """An installed distribution packed back into a wheel from the files its RECORD lists
    (scripts outside site-packages are left out: pip writes console scripts anew)."""
    info = next(f for f in dist.files or [] if f.name == "WHEEL" and f.parent.name.endswith(".dist-info"))
    tags = [line.split(": ", 1)[1] for line in info.read_text().splitlines() if line.startswith("Tag: ")]
    # py2-none-any + py3-none-any → py2.py3-none-any: a wheel's name carries every tag it has
    tag = "-".join(".".join(dict.fromkeys(part)) for part in zip(*(t.split("-") for t in tags), strict=True))
    dropped = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
    members = {}
    for file in dist.files or []:
        text = str(file)
        if (
            text.startswith("..")
            or "__pycache__" in text
            or (file.parent == info.parent and file.name in dropped)
        ):
            continue
        members[text] = Path(file.locate()).read_bytes()
    base = info.parent.name.removesuffix(".dist-info")
    return _pack(folder, f"{base}-{tag}.whl", members)


def _wheel_of_checkout(folder: Path) -> Path:
    """cdr's wheel as setuptools packs it: the packages pyproject.toml finds, their .py files
    and declared package data, ``cli`` and the ``cdr`` console script."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    tool = project["tool"]["setuptools"]
    packages = setuptools.find_packages(str(ROOT), include=tool["packages"]["find"]["include"])
    members = {f"{module}.py": (ROOT / f"{module}.py").read_bytes() for module in tool["py-modules"]}
    for package in packages:
        where = ROOT.joinpath(*package.split("."))
        patterns = ["*.py", *tool.get("package-data", {}).get(package, [])]
        for pattern in patterns:
            for file in where.glob(pattern):
                members[file.relative_to(ROOT).as_posix()] = file.read_bytes()
    meta = project["project"]
    info = f"cdr-{meta['version']}.dist-info"
    requires = "".join(f"Requires-Dist: {r}\n" for r in meta["dependencies"])
    members[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: cdr\nVersion: {meta['version']}\n"
        f"Requires-Python: {meta['requires-python']}\n{requires}"
    ).encode()
    members[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: tests/test_install.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    scripts = "".join(f"{name} = {target}\n" for name, target in meta["scripts"].items())
    members[f"{info}/entry_points.txt"] = f"[console_scripts]\n{scripts}".encode()
    return _pack(folder, f"cdr-{meta['version']}-py3-none-any.whl", members)


def _dependencies() -> list[metadata.Distribution]:
    """cdr's runtime dependencies and theirs, as installed beside this interpreter."""
    found: dict[str, metadata.Distribution] = {}
    todo = [
        Requirement(r)
        for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    ]
    while todo:
        requirement = todo.pop()
        key = requirement.name.lower().replace("_", "-")
        if key in found or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        found[key] = metadata.distribution(requirement.name)
        todo += [Requirement(r) for r in found[key].requires or []]
    return list(found.values())


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    for dist in _dependencies():
        _wheel_of_installed(dist, folder)
    _wheel_of_checkout(folder)
    return folder


# ---- the install itself -------------------------------------------------------------------


@dataclass(frozen=True)
class Installed:
    root: Path
    wheels: Path
    uid: int
    gid: int
    first: subprocess.CompletedProcess[str]


def _scratch_root(root: Path) -> Path:
    """An empty system's account files: what useradd --prefix edits."""
    etc = root / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (etc / "group").write_text("root:x:0:\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (etc / "gshadow").write_text("root:*::\n")
    for name in ("shadow", "gshadow"):
        (etc / name).chmod(0o600)
    return root


def run_install(root: Path, wheels: Path, contact: str | None) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "CDR_ROOT": str(root),
        "WHEELS": str(wheels),
    }
    if contact is not None:
        env["CONTACT"] = contact
    return subprocess.run(
        ["sh", str(SCRIPT)], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600
    )


def _account(root: Path, file: str) -> int:
    line = next(x for x in (root / "etc" / file).read_text().splitlines() if x.startswith("cdr:"))
    return int(line.split(":")[2])


def _open_to_others(folder: Path, top: Path) -> None:
    """Let the service user walk from / down to the scratch root (pytest's are 0700)."""
    for step in (folder, *folder.parents):
        if not step.is_relative_to(top):
            break
        step.chmod(step.stat().st_mode | 0o055)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Installed:
    root = _scratch_root(tmp_path_factory.mktemp("root"))
    _open_to_others(root, tmp_path_factory.getbasetemp().parent)
    done = run_install(root, wheelhouse, CONTACT)
    assert done.returncode == 0, done.stderr
    return Installed(root, wheelhouse, _account(root, "passwd"), _account(root, "group"), done)


def as_service(installed: Installed, *command: str | Path) -> subprocess.CompletedProcess[str]:
    ids = ["setpriv", "--reuid", str(installed.uid), "--regid", str(installed.gid), "--clear-groups"]
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "CDR_CONFIG": str(installed.root / "etc/cdr/cdr.yaml")}
    return subprocess.run(
        [*ids, *map(str, command)], env=env, cwd="/", capture_output=True, text=True, timeout=300
    )


@can_install
@pytest.mark.slow
def test_install_makes_a_layout_the_service_user_can_use(installed: Installed) -> None:
    root = installed.root
    assert installed.uid != 0 and installed.gid != 0
    venv = root / "opt/cdr/venv"
    assert "home = /usr/bin\n" in (venv / "pyvenv.cfg").read_text()  # the system Python's venv
    site = next((venv / "lib").glob("python3*/site-packages"))
    for catalogue in (ROOT / "cdr").rglob("*.mo"):  # the administrator's language comes along
        assert (site / catalogue.relative_to(ROOT)).is_file(), catalogue
    version = as_service(installed, venv / "bin/cdr", "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("cdr ")
    # on the administrator's PATH: /usr/local/bin/cdr runs the venv's cdr
    wrapper = subprocess.run([root / "usr/local/bin/cdr", "--version"], capture_output=True, text=True)
    assert wrapper.stdout == version.stdout
    for folder, mode in (
        ("srv/cdr/inbox", 0o2770),
        ("srv/cdr/outbox", 0o2750),
        ("srv/cdr/spool", 0o750),
        ("srv/cdr/batch/spool", 0o750),
        ("srv/cdr/cache", 0o700),
        ("srv/cdr/batch/cache", 0o700),
        ("var/lib/cdr/quarantine", 0o750),
        ("var/log/cdr", 0o750),
    ):
        info = (root / folder).stat()
        assert (info.st_uid, info.st_gid, info.st_mode & 0o7777) == (installed.uid, installed.gid, mode), (
            folder
        )
    assert (root / "srv/cdr/inbox").stat().st_dev == (root / "srv/cdr/spool").stat().st_dev
    config = (root / "etc/cdr/cdr.yaml").read_text()
    assert f"spool: {root}/srv/cdr/spool\n" in config and f"inbox: {root}/srv/cdr/inbox " in config
    assert {p.name for p in (root / "etc/systemd/system").iterdir()} >= {
        "cdr-watch.service",
        "cdr-batch.timer",
    }


@can_install
@pytest.mark.slow
def test_the_contact_is_written_and_checked(installed: Installed) -> None:
    policy = installed.root / "etc/cdr/policy.yaml"
    assert f'  contact: "{CONTACT}"\n' in policy.read_text(encoding="utf-8")
    check = as_service(installed, installed.root / "opt/cdr/venv/bin/cdr", "policy", "check", policy)
    assert check.returncode == 0, check.stderr
    assert parse_policy(policy.read_text(encoding="utf-8"), str(policy)).notice.contact == CONTACT


@can_install
@pytest.mark.slow
def test_the_service_user_sanitizes_a_pdf_in_the_installed_layout(
    installed: Installed, tmp_path: Path
) -> None:
    root = installed.root
    soumu = root / "srv/cdr/inbox/soumu"
    # what the guide says a department folder needs: the service's owner and mode
    subprocess.run(
        ["install", "-d", "-o", str(installed.uid), "-g", str(installed.gid), "-m", "2770", soumu], check=True
    )
    _small_pdf(soumu / "案内.pdf")
    os.chown(soumu / "案内.pdf", installed.uid, installed.gid)
    run = as_service(
        installed,
        root / "opt/cdr/venv/bin/cdr",
        "sanitize",
        soumu,
        "--out",
        root / "srv/cdr/outbox/soumu",
        "--json",
    )
    assert run.returncode == 0, run.stderr + run.stdout
    assert '"verdict": "released"' in run.stdout
    released = root / "srv/cdr/outbox/soumu/案内.pdf"
    assert released.read_bytes().startswith(b"%PDF-")
    assert released.stat().st_uid == installed.uid
    assert (root / "var/log/cdr/audit.jsonl").stat().st_uid == installed.uid


def _small_pdf(path: Path) -> None:
    """One page with a line of text in a standard font."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0]
    font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
    )
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.Contents = pdf.make_stream(b"BT /F1 24 Tf 72 720 Td (installed) Tj ET")
    pdf.save(path)


@can_install
@pytest.mark.slow
def test_a_placeholder_contact_is_refused_and_a_reinstall_keeps_the_real_one(installed: Installed) -> None:
    policy = installed.root / "etc/cdr/policy.yaml"
    before = policy.read_bytes()
    refused = run_install(installed.root, installed.wheels, PLACEHOLDER)
    assert refused.returncode == 2
    assert f"install: 指定されたお問い合わせ先「{PLACEHOLDER}」は出荷時の仮の値です。" in refused.stderr
    assert 'make install CONTACT="総務課 情報係（内線 123）"' in refused.stderr
    assert policy.read_bytes() == before
    again = run_install(installed.root, installed.wheels, None)
    assert again.returncode == 0, again.stderr
    assert f"お問い合わせ先 / contact: {CONTACT}" in again.stdout
    assert policy.read_bytes() == before


@can_install
@pytest.mark.slow
def test_a_spool_on_another_file_system_is_refused(installed: Installed) -> None:
    if os.stat("/dev/shm").st_dev == os.stat(installed.root).st_dev:
        pytest.skip("/dev/shm is on the same file system as the scratch root")
    config = installed.root / "etc/cdr/cdr.yaml"
    shipped = config.read_text()
    spool = Path("/dev/shm") / f"install-spool-{os.getpid()}"
    spool.mkdir()
    os.chown(spool, installed.uid, installed.gid)
    config.write_text(shipped.replace(f"spool: {installed.root}/srv/cdr/spool", f"spool: {spool}"))
    try:
        refused = run_install(installed.root, installed.wheels, None)
    finally:
        config.write_text(shipped)
        shutil.rmtree(spool)
    assert refused.returncode == 2, refused.stderr
    inbox = installed.root / "srv/cdr/inbox"
    assert "must be on one file system" in refused.stderr
    assert (
        f"受付フォルダー {inbox} と作業フォルダー {spool} が別のファイルシステムにあります。"
        in refused.stderr
    )
    assert f"（例: {installed.root}/srv/cdr/spool。cdr.yaml の spool を変えます）" in refused.stderr


@can_install
@pytest.mark.slow
def test_a_venv_the_service_user_cannot_reach_is_refused_naming_the_folder(
    tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path
) -> None:
    closed = tmp_path_factory.mktemp("closed")
    _open_to_others(closed, tmp_path_factory.getbasetemp().parent)
    closed.chmod(0o700)  # as a checkout or /opt made under root's umask 077 would be
    root = _scratch_root(closed / "root")
    refused = run_install(root, wheelhouse, CONTACT)
    assert refused.returncode == 2, refused.stderr
    venv_cdr = root / "opt/cdr/venv/bin/cdr"
    assert (
        f"install: サービス用ユーザー cdr が {venv_cdr} を実行できません（{closed} に入れません。chmod o+x {closed}）。"
        in refused.stderr
    )
    assert f"install: the service user cdr cannot run {venv_cdr}: it cannot enter {closed}" in refused.stderr
    assert not (root / "etc/systemd/system").exists()  # nothing was started or enabled
