from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["CDR_ALLOW_TEST_OPS"] = "1"
os.environ.pop("CDR_CONFIG", None)
# the suite asserts English messages: a developer's Japanese locale must not change them
# (tests of the Japanese catalogue set LANG themselves, per command)
for _variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_variable, None)
os.environ["LANG"] = "C.UTF-8"

from hypothesis import settings as hypothesis_settings  # noqa: E402

# Under CI the property tests draw the same examples every run: a new case they find fails a
# developer's run (which explores afresh each time), not a landing. `make fuzz` explores long.
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("repeatable")

from cdr.pipeline import Pipeline, Places  # noqa: E402
from cdr.policy import Policy, load_policy  # noqa: E402
from cdr.sandbox import SandboxPool  # noqa: E402


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """A test that leaves a thread running (an observer, a worker) is a defect."""
    before = set(threading.enumerate())
    yield
    # the sandbox's spawner thread lives as long as the process, by design (cdr/sandbox.py)
    leaked = [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive() and not t.name.startswith("cdr-spawner")
    ]
    for thread in leaked:
        thread.join(timeout=5)
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"threads leaked: {still}"


@pytest.fixture
def places(tmp_path: Path) -> Places:
    (tmp_path / "out").mkdir()  # an outbox is a share that exists; cdr never creates its root
    return Places(tmp_path / "out", tmp_path / "quarantine", tmp_path / "audit.jsonl", tmp_path / "work")


@pytest.fixture(scope="session")
def default_policy() -> Policy:
    """The shipped policy, read once: a Policy is frozen, so tests can share it."""
    return load_policy(ROOT / "policies" / "default.yaml")


@pytest.fixture(scope="session")
def sandbox_pool(default_policy: Policy) -> Iterator[SandboxPool]:
    """One zygote for the whole session, as a daemon keeps one for all its files: starting
    one costs ~0.4 s, and a job leaves nothing behind for the next (invariant 9, proven in
    tests/test_sandbox_escape.py). A zygote that dies is replaced on the next job.
    Tests of the sandbox's own start-up and death use ``fresh_sandbox_pool``."""
    with SandboxPool(1, default_policy.sandbox.isolation) as pool:
        yield pool


@pytest.fixture
def fresh_sandbox_pool(default_policy: Policy) -> Iterator[SandboxPool]:
    """A zygote of this test's own, for tests that kill it or watch it start."""
    with SandboxPool(1, default_policy.sandbox.isolation) as pool:
        yield pool


@pytest.fixture
def pipeline(places: Places, default_policy: Policy, sandbox_pool: SandboxPool) -> Iterator[Pipeline]:
    pipe = Pipeline(default_policy, places, sandbox_pool)
    pipe.start()
    yield pipe
    pipe.close()
