"""Every Python block of the README's Python section runs as written (in a
fresh directory, in a fresh interpreter) and prints what its comments say;
the examples directory holds the same programs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from conftest import REPO, Server

EXAMPLES = REPO / "crates" / "mnemo-python" / "examples"


def _python_section_blocks() -> List[str]:
    text = (REPO / "README.md").read_text()
    start = text.index("\n## Python\n")
    end = text.index("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.S)


def _expected_lines(code: str) -> List[str]:
    """What the block says it prints: each `print(...)  # text` comment, and
    a comment line right after a print."""
    expected: List[str] = []
    lines = code.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"print\(.*\)\s+# (.*)$", line)
        if m:
            expected.append(m.group(1))
        elif line.strip().startswith("print(") and i + 1 < len(lines):
            nxt = lines[i + 1].strip()
            if nxt.startswith("# "):
                expected.append(nxt[2:])
    return expected


def _run(code: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"the block failed:\n{code}\n{done.stderr}"
    return done.stdout


def _matches(printed: str, expected: str) -> bool:
    """`...` in a comment stands for any text; a comment that explains
    (`True: a Merkle proof`) is compared up to its colon."""
    head = expected.split(":")[0] if expected.startswith(("True:", "False:")) else expected
    pattern = ".*".join(re.escape(part) for part in head.split("..."))
    return re.fullmatch(pattern, printed) is not None or printed.startswith(head)


BLOCKS = _python_section_blocks()


def test_the_section_has_the_examples() -> None:
    assert len(BLOCKS) >= 5
    assert "mnemo.Mnemo(" in BLOCKS[0]
    assert any("mnemo.Client(" in b for b in BLOCKS)
    assert any("MnemoStore" in b for b in BLOCKS)
    assert any("mnemo.Memory(" in b for b in BLOCKS)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs_as_written(
    index: int, tmp_path: Path, server: Server
) -> None:
    code = BLOCKS[index]
    env = dict(os.environ)
    env["MNEMO_URL"] = server.url
    env["MNEMO_TOKEN"] = server.admin_token
    printed = _run(code, tmp_path, env).splitlines()
    expected = _expected_lines(code)
    assert expected, f"block {index} says nothing about its output"
    assert len(printed) == len(expected), (printed, expected)
    for got, want in zip(printed, expected):
        assert _matches(got, want), (got, want)


def test_quickstart_example_is_the_readme_session(tmp_path: Path) -> None:
    quickstart = (EXAMPLES / "quickstart.py").read_text()
    assert BLOCKS[0].strip() in quickstart
    assert _run(quickstart, tmp_path, dict(os.environ)).splitlines()[0] == (
        "Alice moved to Lisbon in May"
    )
    # It left a real data directory behind, which reopens with the memories.
    assert (tmp_path / "mnemo-data" / "alice" / "log").is_dir()


@pytest.mark.parametrize(
    "name", ["own_vectors.py", "async_watch.py", "langgraph_store.py", "mem0_style.py"]
)
def test_example_runs(name: str, tmp_path: Path) -> None:
    code = (EXAMPLES / name).read_text()
    printed = _run(code, tmp_path, dict(os.environ)).splitlines()
    expected = _expected_lines(code)
    assert len(printed) == len(expected), (printed, expected)
    for got, want in zip(printed, expected):
        assert _matches(got, want), (got, want)


def test_client_example_runs_against_the_server(tmp_path: Path, server: Server) -> None:
    env = dict(os.environ)
    env["MNEMO_URL"] = server.url
    env["MNEMO_TOKEN"] = server.admin_token
    printed = _run((EXAMPLES / "client.py").read_text(), tmp_path, env)
    assert printed.strip() == "Alice moved to Lisbon in May"
