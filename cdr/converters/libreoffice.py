"""Legacy Office, RTF, OpenDocument and spreadsheets written as HTML or XML → OOXML with
LibreOffice, one sandboxed run per file.

The converter's output is as untrusted as its input: it goes through the OOXML rebuild
and verification like any dropped .docx. Each run starts from a copy of a prepared
profile (macros disabled, security level "very high"), so no state passes between files
and the profile's first-start cost is paid once per process, not per file.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from cdr.converters.exec_sandbox import JOB, ConverterRun, run_converter
from cdr.descriptors import copy_fd
from cdr.errors import (
    ConverterCannotStart,
    ConverterUnavailable,
    MalformedInput,
    OperationalError,
    SandboxTimeout,
)
from cdr.model import FileType
from cdr.policy import Policy
from cdr.types import HTML_TABLE_IN, Conversion, row

SOFFICE = shutil.which("soffice") or "/usr/bin/soffice"
# The converter's sandbox shows /usr only: the system Python, with its standard library
SYSTEM_PYTHON = "/usr/bin/python3"
# Conversions whose objects LibreOffice keeps with a metafile preview (an .xls's are dropped
# by its xlsx export, preview and all)
DRAWS_OBJECT_PREVIEWS = frozenset({FileType.DOCX, FileType.PPTX})
INSTALL_HINT = (
    "LibreOffice is not installed: apt-get install libreoffice-writer-nogui "
    "libreoffice-calc-nogui libreoffice-impress-nogui"
)

# BlockUntrustedRefererLinks: a document outside the trusted locations (all of them here)
# loads no linked picture. Without it an HTML table's <img src="file:///usr/…png"> pulled a
# picture of the converter's own file system into the released workbook.
SECURITY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseDocumentOLEStorageSettings" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


def available() -> bool:
    return Path(SOFFICE).exists()


class LibreOffice:
    """Converts one file per run, each from a fresh copy of one prepared profile."""

    def __init__(self, work_root: Path | None) -> None:
        self.work_root = work_root
        self._profile: Path | None = None
        self._lock = threading.Lock()

    def _soffice(self, work: Path, policy: Policy, *args: str, offline: bool = False) -> ConverterRun:
        try:
            run = self._run_soffice(work, policy, *args, offline=offline)
        except ConverterUnavailable as exc:
            raise ConverterCannotStart(f"{INSTALL_HINT} ({exc})") from None
        except (OperationalError, OSError) as exc:
            raise ConverterCannotStart(f"LibreOffice could not start: {exc}") from None
        if run.output.startswith("bwrap:"):
            # bubblewrap itself failed (a path it cannot bind, no namespaces): not the file's fault
            raise ConverterCannotStart(f"LibreOffice's sandbox could not start: {_first_line(run.output)}")
        return run

    def _run_soffice(self, work: Path, policy: Policy, *args: str, offline: bool = False) -> ConverterRun:
        """``offline``: the import fetches what the document links, so only the sandbox
        (no network) may run it, even where the policy lets conversions run without one."""
        return self._sandboxed(
            [
                SOFFICE,
                "--headless",
                "--norestore",
                "--nologo",
                "--nodefault",
                "--nolockcheck",
                f"-env:UserInstallation=file://{JOB}/profile",
                *args,
            ],
            work,
            policy,
            offline,
        )

    def _sandboxed(self, argv: list[str], work: Path, policy: Policy, offline: bool = False) -> ConverterRun:
        return run_converter(
            argv,
            work,
            timeout=policy.limits.wall_time,
            memory=policy.limits.memory * 2,
            cpu=int(policy.limits.cpu_time),
            isolation="required" if offline else policy.sandbox.isolation,
            # LibreOffice draws chart axis ids (and other internal ids) at random; seeded, the
            # same document converts to the same bytes, so the released file is reproducible
            environment={"SAL_RAND_REPEATABLE": "1"},
        )

    def _folder(self, prefix: str) -> Path:
        """A fresh folder, as an absolute path: bubblewrap binds it from its own cwd."""
        if self.work_root is not None:
            self.work_root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.work_root)).absolute()

    def profile(self, policy: Policy) -> Path:
        """A prepared LibreOffice profile, made once (its first start is the slow one)."""
        with self._lock:
            if self._profile is None or not self._profile.exists():
                base = self._folder("cdr-lo-")
                run = self._soffice(base, policy, "--terminate_after_init")
                if run.returncode != 0:  # no input is involved yet: LibreOffice itself is broken
                    shutil.rmtree(base, ignore_errors=True)
                    raise ConverterCannotStart(
                        f"LibreOffice could not prepare its profile (exit {run.returncode}): "
                        f"{_first_line(run.output)}"
                    )
                user = base / "profile" / "user"
                user.mkdir(parents=True, exist_ok=True)
                (user / "registrymodifications.xcu").write_text(SECURITY, encoding="utf-8")
                self._profile = base / "profile"
            return self._profile

    def convert(
        self, source_fd: int, file_type: FileType, policy: Policy, charset: str | None = None
    ) -> tuple[Path, FileType]:
        """Convert into a fresh folder, within ``policy``'s limits (the policy the file runs
        with); the caller removes ``path.parent.parent``. ``charset``: the encoding an HTML
        table does not declare (detect's guess), declared to LibreOffice ahead of it."""
        if not available():
            raise ConverterCannotStart(INSTALL_HINT)
        conversion = row(file_type).converter
        if conversion is None:
            raise ValueError(f"LibreOffice does not convert {file_type.value} (cdr/types.py)")
        profile = self.profile(policy)
        work = self._folder("cdr-convert-")
        try:
            shutil.copytree(profile, work / "profile", symlinks=True)
            # LibreOffice picks its import filter by the name too: the canonical extension
            source = work / f"input{row(file_type).extension}"
            with open(source, "wb") as handle:
                handle.write(_declaration(conversion, charset))
                copy_fd(source_fd, handle.write)
            into = ("--convert-to", conversion.filter, "--outdir", f"{JOB}/out")
            if conversion.infilter is not None:
                into = (f"--infilter={conversion.infilter}", *into)
            run = self._soffice(work, policy, *into, f"{JOB}/{source.name}", offline=conversion.fetches_links)
            if run.returncode != 0:
                raise MalformedInput(f"LibreOffice could not convert the file (exit {run.returncode})")
            produced = work / "out" / f"input.{conversion.filter.split(':')[0]}"
            if not produced.is_file() or produced.is_symlink() or produced.stat().st_size == 0:
                raise MalformedInput("LibreOffice produced no output for this file")
            if conversion.to in DRAWS_OBJECT_PREVIEWS:
                self._draw_metafiles(work, policy, produced)
            return produced, conversion.to
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise

    def _draw_metafiles(self, work: Path, policy: Policy, produced: Path) -> None:
        """An embedded object's preview is a metafile the rebuild cannot draw: LibreOffice
        draws it as a PNG beside it, in a second run in the same sandbox (see
        ``metafile_pictures``). Whatever goes wrong here only leaves the object without its
        picture, as before: the package is replaced whole or not at all."""
        shutil.copyfile(Path(__file__).with_name("metafile_pictures.py"), work / "metafile_pictures.py")
        argv = [SYSTEM_PYTHON, "-I", f"{JOB}/metafile_pictures.py", f"{JOB}/out/{produced.name}", SOFFICE,
                f"file://{JOB}/profile"]  # fmt: skip
        try:
            self._sandboxed(argv, work, policy)
        except (SandboxTimeout, ConverterUnavailable, OperationalError, OSError):
            pass

    def close(self) -> None:
        if self._profile is not None:
            shutil.rmtree(self._profile.parent, ignore_errors=True)
            self._profile = None


# What an HTML table may be declared as: the names of detect's guesses, nothing a child
# could smuggle markup in with
DECLARABLE_CHARSETS = frozenset({"UTF-8", "Shift_JIS", "EUC-JP"})


def _declaration(conversion: Conversion, charset: str | None) -> bytes:
    """A meta element naming the encoding, put before an HTML table that names none:
    LibreOffice then reads Shift_JIS as Shift_JIS instead of Latin-1 (the web server named
    it in a header the saved file lost). Only for the HTML import, only known names."""
    if conversion.infilter != HTML_TABLE_IN.infilter or charset not in DECLARABLE_CHARSETS:
        return b""
    return f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">\n'.encode("ascii")


def _first_line(output: str) -> str:
    """LibreOffice's or bubblewrap's own words, cut for one log line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return (lines[0] if lines else "no output")[:300]
