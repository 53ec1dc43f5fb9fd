"""The pytest fixtures: used directly here, and loaded as a plugin in a separate pytest run."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import aiohttp

from leadway_async.testing import ThreadedEmulator
from leadway_async.testing.pytest_plugin import EmulatorFactory

REPO = Path(__file__).resolve().parents[2]
PLUGIN = "leadway_async.testing.pytest_plugin"
# The inner run has no configuration file: keep other plugins' defaults from warning.
ISOLATED = ("-p", "no:cacheprovider", "-p", "no:asyncio")


def test_the_emulator_fixture_in_a_sync_test(leadway_emulator: ThreadedEmulator) -> None:
    assert isinstance(leadway_emulator, ThreadedEmulator)
    assert len(leadway_emulator.conversations) == 500
    assert leadway_emulator.url.startswith("http://127.0.0.1:")
    assert leadway_emulator.requests == []


async def test_the_emulator_fixture_in_an_async_test(
    leadway_emulator: ThreadedEmulator, http: aiohttp.ClientSession
) -> None:
    async with http.get(
        f"{leadway_emulator.url}/conversations/search",
        params={"locationId": leadway_emulator.location_id, "limit": "3"},
        headers={"Authorization": f"Bearer {leadway_emulator.token}", "Version": "2021-04-15"},
    ) as answer:
        body = await answer.json()
    assert body["total"] == 500
    assert len(body["conversations"]) == 3


def test_the_factory_takes_the_emulators_keywords(
    leadway_emulator_factory: EmulatorFactory,
) -> None:
    small = leadway_emulator_factory(conversations=7, seed=3, token="pit-other")
    default = leadway_emulator_factory()
    assert (len(small.conversations), small.token) == (7, "pit-other")
    assert len(default.conversations) == 500
    assert small.url != default.url


def test_the_plugin_module_imports_nothing_else_of_the_emulator() -> None:
    code = (
        f"import sys, {PLUGIN}; "
        "print(sorted(m for m in sys.modules if m.startswith('leadway_async.testing')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    )
    assert result.stdout.strip() == str(["leadway_async.testing", PLUGIN])


def test_as_a_plugin_the_fixtures_work_and_stop_their_emulators(tmp_path: Path) -> None:
    (tmp_path / "test_uses_fixtures.py").write_text(
        textwrap.dedent(
            """
            import urllib.error
            import urllib.request

            URLS = []

            def test_fixtures(leadway_emulator, leadway_emulator_factory):
                other = leadway_emulator_factory(conversations=3)
                URLS.extend([leadway_emulator.url, other.url])
                assert len(leadway_emulator.conversations) == 500
                assert len(other.conversations) == 3

            def test_they_were_stopped():
                assert len(URLS) == 2
                for url in URLS:
                    try:
                        urllib.request.urlopen(url, timeout=5).close()
                    except urllib.error.HTTPError as still_serving:
                        still_serving.close()
                        raise AssertionError(url)
                    except OSError:
                        continue
                    raise AssertionError(url)
            """
        )
    )
    # When the package is installed its pytest11 entry point loads the plugin; from a plain
    # checkout, name it with -p (doing both would register it twice).
    installed = any(ep.value == PLUGIN for ep in importlib.metadata.entry_points(group="pytest11"))
    load = [] if installed else ["-p", PLUGIN]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *load, *ISOLATED, "-W", "error", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def _env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}
