"""``ringplan solve`` over an instance's parts."""

from __future__ import annotations

import json
from pathlib import Path

from solver import Result
from tests.provinces import assert_checked, provinces, provinces_data
from tests.test_cli import ringplan


def test_solve_in_parts_shows_progress_per_part_and_lists_the_parts(tmp_path: Path) -> None:
    path, out = tmp_path / "provinces.json", tmp_path / "result.json"
    path.write_text(json.dumps(provinces_data(count=3, short=(1,))), encoding="utf-8")
    done = ringplan(
        "solve", str(path), "--split", "in-process", "--time-limit", "20", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "search: " in line]
    assert [line.split("search: ")[1].split(" parts")[0] for line in lines] == ["1/3", "2/3", "3/3"]
    assert "parts: 3" in done.stdout
    result = Result.model_validate_json(out.read_text(encoding="utf-8"))
    assert [p.provinces for p in result.parts] == [("prov-0",), ("prov-2",), ("prov-1",)]
    assert_checked(provinces(count=3, short=(1,)), result)
