"""A corpus of bad inputs through the command line (issue 13): every case exits with code 2 and prints
exactly one line, ``error: …``, naming the file and the field (or row); nothing is written and nothing is
deleted (the whole temporary folder, results copied into it and a user's "foreign" files included, is
byte-for-byte and link-for-link the same afterwards).

Data-reader cases (areas and incident files) are in tests/cli/test_bad_inputs_data.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fairpatrol.cli import app
from tests.conftest import TINY_SCENARIO

runner = CliRunner()
ROOT = os.geteuid() == 0  # permission bits do not stop root

BASE = TINY_SCENARIO
BASE_TEXT = yaml.safe_dump(BASE, sort_keys=False)
GRID = {
    "name": "g",
    "data": {"city": "chicago", "incidents": "chicago-theft"},
    "start": "2023-01-10",
    "days": 2,
    "algorithms": ["NaiveKDE"],
}
SWEEP = {
    "name": "tiny",
    "scenario": {**BASE, "algorithms": ["Uniform"]},
    "grid": {"officers": [40, 100]},
}


# ----------------------------------------------------------------------------------------- fixtures


def _ok(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("run")
    (tmp / "s.yaml").write_text(BASE_TEXT)
    _ok("run", str(tmp / "s.yaml"), "--out", str(tmp / "res"), "-q")
    return tmp / "res"


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("sweep")
    (tmp / "w.yaml").write_text(yaml.safe_dump(SWEEP))
    _ok("sweep", str(tmp / "w.yaml"), "--out", str(tmp / "res"), "--workers", "0", "-q")
    return tmp / "res"


@pytest.fixture(scope="module")
def eval_dir(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("eval")
    (tmp / "e.yaml").write_text(yaml.safe_dump(GRID))
    _ok("evaluate", str(tmp / "e.yaml"), "--out", str(tmp / "res"), "-q")
    return tmp / "res"


@dataclass
class Env:
    """What a case's setup may use: its temporary folder and copies of finished results."""

    tmp: Path
    request: pytest.FixtureRequest

    def write(self, name: str, content: str | bytes | dict | list) -> str:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict | list):
            content = yaml.safe_dump(content, sort_keys=False)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return str(path)

    def scenario(self, **changes) -> str:
        doc = {**BASE, **changes}
        return self.write("s.yaml", {k: v for k, v in doc.items() if v is not DROP})

    def copy(self, kind: str) -> Path:
        """A copy of a finished results directory ('run', 'sweep' or 'evaluate') as tmp/res."""
        src = self.request.getfixturevalue(
            {"run": "run_dir", "sweep": "sweep_dir", "evaluate": "eval_dir"}[kind]
        )
        shutil.copytree(src, self.tmp / "res", symlinks=True)
        return self.tmp / "res"

    def foreign(self, name: str = "mine") -> Path:
        """A folder of the user's own files (never written by fairpatrol)."""
        folder = self.tmp / name
        folder.mkdir()
        (folder / "thesis.txt").write_text("four years of work")
        (folder / "data").mkdir()
        (folder / "data" / "interviews.csv").write_text("a,b\n1,2\n")
        return folder

    def out(self) -> str:
        return str(self.tmp / "out")


DROP = object()


@dataclass
class Case:
    id: str
    setup: Callable[[Env], list[str]]
    needles: tuple[str, ...]
    marks: tuple = field(default=())

    def param(self):
        return pytest.param(self, id=self.id, marks=list(self.marks))


def run_case(case_id: str, change: dict | None = None, *needles: str, text: str | None = None) -> Case:
    """A `fairpatrol run` of a scenario with ``change`` applied (or the literal YAML ``text``)."""

    def setup(env: Env) -> list[str]:
        path = env.write("s.yaml", text) if text is not None else env.scenario(**(change or {}))
        return ["run", path, "--out", env.out()]

    return Case(case_id, setup, ("s.yaml", *needles))


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def garble(path: Path) -> None:
    path.write_bytes(b"\x00\xff" * 200)


def flip_pages(path: Path) -> None:
    """Damage a Parquet file's data pages, not its footer: the file opens, its data do not read."""
    data = bytearray(path.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little")
    for i in range(64, min(len(data) - 8 - footer, 1200), 7):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def plant_link(folder: Path, name: str, target: Path) -> None:
    os.symlink(target, folder / name)


NOT_ROOT = (pytest.mark.skipif(ROOT, reason="permission bits do not stop root"),)


RES = "<res>"  # stands for the copied results directory in an on_copy command
SCENARIO = Env.scenario
SWEEP_FILE = lambda env: env.write("w.yaml", SWEEP)  # noqa: E731
GRID_FILE = lambda env: env.write("e.yaml", GRID)  # noqa: E731


def on_copy(kind: str, change, *command) -> Callable[[Env], list[str]]:
    """A case on a copy of finished results of ``kind`` (tmp/res), first changed by ``change(res, env)``;
    in ``command``, :data:`RES` is the copy's path and a callable is called with the env."""

    def setup(env: Env) -> list[str]:
        res = env.copy(kind)
        if change is not None:
            change(res, env)
        return [str(res) if a == RES else a(env) if callable(a) else a for a in command]

    return setup


def link(name: str, replace: bool = False):
    """Plant ``res/name`` -> a folder of the user's (replacing what is there)."""

    def change(res: Path, env: Env) -> None:
        if replace:
            shutil.rmtree(res / name)
        (res / name).parent.mkdir(parents=True, exist_ok=True)
        plant_link(res / Path(name).parent, Path(name).name, env.foreign("other"))

    return change


def damage(pattern: str, how: Callable[[Path], None]):
    """Damage the first file of the results matching ``pattern``."""
    return lambda res, env: how(sorted(res.glob(pattern))[0])


def write(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def add(name: str, data: bytes):
    def change(res: Path, env: Env) -> None:
        (res / name).parent.mkdir(parents=True, exist_ok=True)
        (res / name).write_bytes(data)

    return change


def linked_file(env: Env, name: str) -> str:
    os.symlink(env.write("target.html", "mine"), env.tmp / name)
    return str(env.tmp / name)


# ---------------------------------------------------------------------------------------- the corpus

CASES: list[Case] = [
    # --- strict YAML -----------------------------------------------------------------------------------
    run_case("yaml-duplicate-key", None, "line 14", "'runs' is given twice", text=BASE_TEXT + "runs: 5\n"),
    run_case(
        "yaml-duplicate-nested-key",
        None,
        "'city' is given twice",
        text=BASE_TEXT.replace("  city: baltimore\n", "  city: baltimore\n  city: chicago\n"),
    ),
    run_case(
        "yaml-impossible-date",
        None,
        "line 5",
        "'2019-02-30' is not a calendar date",
        text=BASE_TEXT.replace("start: '2019-03-01'", "start: 2019-02-30"),
    ),
    run_case("yaml-impossible-month", {"start": "2019-13-01"}, "start", "not a calendar date"),
    run_case("yaml-syntax-error", None, "line 3", "not valid YAML", text="name: x\nofficers: [40\nruns: 2\n"),
    run_case("yaml-tab-indentation", None, "not valid YAML", text="data:\n\tcity: baltimore\n"),
    run_case("yaml-a-list", None, "must be a YAML mapping", text="- 1\n- 2\n"),
    run_case("yaml-empty-file", None, "must be a YAML mapping", text=""),
    run_case("yaml-two-documents", None, "not valid YAML", text=BASE_TEXT + "---\nname: again\n"),
    Case(
        "yaml-not-utf8",
        lambda env: [
            "run",
            env.write("s.yaml", BASE_TEXT.replace("t\n", "Bogot\xe1\n", 1).encode("latin-1")),
            "--out",
            env.out(),
        ],
        ("s.yaml", "not UTF-8"),
    ),
    Case(
        "yaml-binary-garbage",
        lambda env: ["run", env.write("s.yaml", bytes(range(256)) * 4), "--out", env.out()],
        ("s.yaml",),
    ),
    Case(
        "scenario-is-a-directory",
        lambda env: ["run", str(env.foreign("s.yaml")), "--out", env.out()],
        ("s.yaml", "is a directory"),
    ),
    Case(
        "scenario-missing",
        lambda env: ["run", str(env.tmp / "s.yaml"), "--out", env.out()],
        ("s.yaml", "No such file"),
    ),
    Case(
        "scenario-unreadable",
        lambda env: [os.chmod(env.scenario(), 0), "run", str(env.tmp / "s.yaml"), "--out", env.out()][1:],
        ("s.yaml", "Permission denied"),
        NOT_ROOT,
    ),
    # --- types: nothing is coerced ----------------------------------------------------------------------
    run_case("runs-true", {"runs": True}, "'runs'", "expected an integer, got True"),
    run_case("days-true", {"days": True}, "'days'", "expected an integer"),
    run_case("runs-float", {"runs": 2.5}, "'runs'", "expected an integer"),
    run_case("runs-string", {"runs": "20"}, "'runs'", "expected an integer"),
    run_case("officers-true", {"officers": [True]}, "'officers.0'", "expected an integer"),
    run_case("officers-float", {"officers": [1e12]}, "'officers.0'", "expected an integer"),
    run_case("officers-scalar", {"officers": 40}, "'officers'", "valid list"),
    run_case("detection-string", {"detection_p": "half"}, "'detection_p'", "expected a number"),
    run_case("detection-bool", {"detection_p": True}, "'detection_p'", "expected a number"),
    run_case("report-prob-bool", {"report_probs": [True]}, "'report_probs.0'"),
    run_case("start-number", {"start": 20190101}, "'start'", "expected a date"),
    run_case("start-with-time", {"start": "2019-01-01 10:00:00"}, "'start'", "not a calendar date"),
    run_case("start-words", {"start": "yesterday"}, "'start'", "not a calendar date"),
    run_case("name-list", {"name": [1, 2]}, "'name'", "valid string"),
    run_case(
        "crime-types-string",
        {"data": {**BASE["data"], "crime_types": "AGG. ASSAULT"}},
        "'data.crime_types'",
        "valid list",
    ),
    run_case(
        "compat-switch-string", {"compat": {"relative_detection": "yes"}}, "'compat.relative_detection'"
    ),
    run_case(
        "remedy-ipw-int", {"remedies": {"ipw": {"ipw": 1}}}, "'remedies.ipw.ipw'", "expected true or false"
    ),
    # --- values and bounds ------------------------------------------------------------------------------
    run_case("runs-zero", {"runs": 0}, "'runs'", "greater than or equal to 1"),
    run_case("runs-negative", {"runs": -1}, "'runs'"),
    run_case("runs-too-many", {"runs": 10_001}, "'runs'", "less than or equal to 10000"),
    run_case("days-zero", {"days": 0}, "'days'"),
    run_case("days-too-many", {"days": 3651}, "'days'", "less than or equal to 3650"),
    run_case("officers-zero", {"officers": [40, 0]}, "'officers.1'", "greater than or equal to 1"),
    run_case("officers-too-many", {"officers": [2_000_000]}, "'officers.0'", "less than or equal to 1000000"),
    run_case("seed-negative", {"seed": -1}, "'seed'"),
    run_case("seed-huge", {"seed": 2**70}, "'seed'", "less than or equal to"),
    run_case("start-far-future", {"start": "2999-01-01"}, "'start'", "between 1900-01-01 and 2200-12-31"),
    run_case("start-long-ago", {"start": "1066-10-14"}, "'start'", "between"),
    run_case("detection-above-one", {"detection_p": 1.5}, "'detection_p'"),
    run_case("detection-nan", {"detection_p": float("nan")}, "'detection_p'", "finite number"),
    run_case("detection-inf", {"detection_p": float("inf")}, "'detection_p'", "finite number"),
    run_case("report-prob-above-one", {"report_probs": [1.2]}, "'report_probs.0'"),
    run_case("report-probs-empty", {"report_probs": []}, "'report_probs'"),
    run_case("report-model-unknown", {"report_probs": ["nosuch.csv"]}, "'report_probs'", "nosuch.csv"),
    run_case("algorithms-empty", {"algorithms": []}, "'algorithms'"),
    run_case("algorithm-unknown", {"algorithms": ["Oracle"]}, "'algorithms'", "Oracle"),
    run_case("algorithm-twice", {"algorithms": ["PredPol", "PredPol"]}, "'algorithms'", "twice"),
    run_case("allocation-unknown", {"allocation": "random"}, "'allocation'"),
    run_case("unknown-key", {"oficers": [40]}, "'oficers'", "unknown key"),
    run_case("missing-start", {"start": DROP}, "'start'", "required key is missing"),
    run_case("missing-data", {"data": DROP}, "'data'", "required key is missing"),
    run_case(
        "city-unknown", {"data": {**BASE["data"], "city": "atlantis"}}, "'data'", "unknown city 'atlantis'"
    ),
    run_case("tolerance-negative", {"data": {**BASE["data"], "tolerance_m": -1}}, "'data.tolerance_m'"),
    run_case("world-displacement-above-one", {"world": {"displacement": 2}}, "'world.displacement'"),
    run_case("world-delay-negative", {"world": {"report_delay_days": -1}}, "'world.report_delay_days'"),
    run_case("world-delay-huge", {"world": {"report_delay_days": 10**6}}, "'world.report_delay_days'"),
    run_case(
        "world-elasticity-negative",
        {"world": {"deterrence_elasticity": -0.5}},
        "'world.deterrence_elasticity'",
    ),
    run_case("world-unknown-key", {"world": {"deterence": 0.1}}, "'world.deterence'", "unknown key"),
    run_case("remedy-cap-below-one", {"remedies": {"cap": {"pcr_cap": 0.5}}}, "'remedies.cap.pcr_cap'"),
    run_case(
        "remedy-prevention-all",
        {"remedies": {"p": {"prevention_share": 1.0}}},
        "'remedies'",
        "at least one officer",
    ),
    run_case("remedies-empty", {"remedies": {}}, "'remedies'"),
    run_case("compat-unknown-preset", {"compat": "paper2020"}, "'compat'", "unknown compat preset"),
    # --- model settings: one validation path, named models.<Model>.<setting> --------------------------
    run_case(
        "kde-bandwidth-negative",
        {"models": {"ShortTermKDE": {"bandwidth": -3}}},
        "'models.ShortTermKDE.bandwidth'",
        "got -3",
    ),
    run_case(
        "kde-bandwidth-string",
        {"models": {"ShortTermKDE": {"bandwidth": "wide"}}},
        "'models.ShortTermKDE.bandwidth'",
    ),
    run_case(
        "kde-bandwidth-inf",
        {"models": {"ShortTermKDE": {"bandwidth": float("inf")}}},
        "'models.ShortTermKDE.bandwidth'",
    ),
    run_case(
        "kde-cell-size-tiny",
        {"models": {"ShortTermKDE": {"cell_size": 0.001}}},
        "'models.ShortTermKDE.cell_size'",
        "in [10, 1000]",
    ),
    run_case("kde-cutoff-zero", {"models": {"LongTermKDE": {"cutoff": 0}}}, "'models.LongTermKDE.cutoff'"),
    run_case(
        "kde-window-huge",
        {"models": {"LongTermKDE": {"window_days": 100_000}}},
        "'models.LongTermKDE.window_days'",
        "in [1, 3650]",
    ),
    run_case(
        "kde-window-float",
        {"models": {"ShortTermKDE": {"window_days": 7.5}}},
        "'models.ShortTermKDE.window_days'",
        "an integer",
    ),
    run_case(
        "kde-unknown-setting",
        {"models": {"ShortTermKDE": {"bandwith": 3}}},
        "'models.ShortTermKDE.bandwith'",
        "unknown setting",
    ),
    run_case("predpol-theta0", {"models": {"PredPol": {"theta0": 1.5}}}, "'models.PredPol.theta0'"),
    run_case("predpol-tol-zero", {"models": {"PredPol": {"tol": 0}}}, "'models.PredPol.tol'"),
    run_case("predpol-max-iter-zero", {"models": {"PredPol": {"max_iter": 0}}}, "'models.PredPol.max_iter'"),
    run_case(
        "predpol-max-iter-float", {"models": {"PredPol": {"max_iter": 2.5}}}, "'models.PredPol.max_iter'"
    ),
    run_case(
        "predpol-warm-start-string",
        {"models": {"PredPol": {"warm_start": "yes"}}},
        "'models.PredPol.warm_start'",
        "true or false",
    ),
    run_case(
        "predpol-solver-unknown",
        {"models": {"PredPol": {"solver": "bfgs"}}},
        "'models.PredPol.solver'",
        "'em' or 'newton'",
    ),
    run_case("predpol-omega0-negative", {"models": {"PredPol": {"omega0": -1}}}, "'models.PredPol.omega0'"),
    run_case(
        "previous-counts-window",
        {"models": {"PreviousCounts": {"window_days": -5}}},
        "'models.PreviousCounts.window_days'",
    ),
    run_case(
        "population-column-number",
        {"models": {"Population": {"column": 3}}},
        "'models.Population.column'",
        "a string",
    ),
    run_case("model-unknown", {"models": {"Oracle": {}}}, "'models.Oracle'", "unknown algorithm"),
    run_case("model-settings-not-mapping", {"models": {"ShortTermKDE": 300}}, "'models.ShortTermKDE'"),
    # --- reporting-rate CSV files, checked when the scenario is read --------------------------------------
    Case(
        "rates-csv-not-a-number",
        lambda env: [
            "run",
            env.scenario(
                report_probs=[env.write("rates.csv", "crime_type,rate\nAGG. ASSAULT,0.5\nROBBERY,half\n")]
            ),
            "--out",
            env.out(),
        ],
        ("rates.csv", "field 'rate', row 2", "'half' is not a number"),
    ),
    Case(
        "rates-csv-above-one",
        lambda env: [
            "run",
            env.scenario(report_probs=[env.write("rates.csv", "area_id,rate\nA,1.5\n")]),
            "--out",
            env.out(),
        ],
        ("rates.csv", "row 1", "outside [0, 1]"),
    ),
    Case(
        "rates-csv-wrong-columns",
        lambda env: [
            "run",
            env.scenario(report_probs=[env.write("rates.csv", "type,p\nX,0.5\n")]),
            "--out",
            env.out(),
        ],
        ("rates.csv", "expected columns crime_type,rate or area_id,rate"),
    ),
    Case(
        "rates-csv-duplicate",
        lambda env: [
            "run",
            env.scenario(report_probs=[env.write("rates.csv", "crime_type,rate\nX,0.5\nX,0.6\n")]),
            "--out",
            env.out(),
        ],
        ("rates.csv", "row 2", "given twice"),
    ),
    Case(
        "rates-csv-empty",
        lambda env: ["run", env.scenario(report_probs=[env.write("rates.csv", "")]), "--out", env.out()],
        ("rates.csv", "not a readable CSV"),
    ),
    Case(
        "rates-csv-not-utf8",
        lambda env: [
            "run",
            env.scenario(
                report_probs=[env.write("rates.csv", "crime_type,rate\nBogot\xe1,0.5\n".encode("latin-1"))]
            ),
            "--out",
            env.out(),
        ],
        ("rates.csv", "not UTF-8"),
    ),
    Case(
        "rates-csv-missing-area",
        lambda env: [
            "run",
            env.scenario(report_probs=[env.write("rates.csv", "area_id,rate\nNOWHERE,0.5\n")]),
            "--out",
            env.out(),
        ],
        ("rates.csv", "no rate for area"),
    ),
    Case(
        "rates-area-column-unknown",
        lambda env: ["run", env.scenario(report_probs=["area:income"]), "--out", env.out()],
        ("area:income", "no column 'income'"),
    ),
    # --- command-line options --------------------------------------------------------------------------
    Case(
        "run-days-zero", lambda env: ["run", env.scenario(), "--days", "0", "--out", env.out()], ("'days'",)
    ),
    Case(
        "run-runs-too-many",
        lambda env: ["run", env.scenario(), "--runs", "20000", "--out", env.out()],
        ("'runs'", "10000"),
    ),
    Case(
        "run-seed-negative",
        lambda env: ["run", env.scenario(), "--seed", "-5", "--out", env.out()],
        ("'seed'",),
    ),
    Case(
        "run-file-and-preset",
        lambda env: ["run", env.scenario(), "--preset", "baltimore-agg", "--out", env.out()],
        ("either a scenario file or --preset",),
    ),
    Case("run-no-scenario", lambda env: ["run", "--out", env.out()], ("either a scenario file or --preset",)),
    Case(
        "run-unknown-preset",
        lambda env: ["run", "--preset", "atlantis", "--out", env.out()],
        ("unknown preset 'atlantis'",),
    ),
    Case(
        "run-memory-budget",
        lambda env: [
            "run",
            "--preset",
            "baltimore-agg",
            "--runs",
            "10000",
            "--days",
            "1500",
            "--out",
            env.out(),
        ],
        ("preset baltimore-agg", "'runs'", "needs about", "GB of memory", "10000 runs × 1500 days"),
    ),
    # --- output directory of run: checked before any work, foreign files never touched ------------------
    Case(
        "run-out-is-a-file",
        lambda env: ["run", env.scenario(), "--out", env.write("out", "x")],
        ("out", "exists and is not a directory"),
    ),
    Case(
        "run-out-parent-is-a-file",
        lambda env: ["run", env.scenario(), "--out", env.write("f", "x") + "/sub"],
        ("f/sub", "is not a directory"),
    ),
    Case(
        "run-out-foreign-dir",
        lambda env: ["run", env.scenario(), "--out", str(env.foreign())],
        ("mine", "not a fairpatrol results directory", "nothing was changed"),
    ),
    Case(
        "run-overwrite-foreign-dir",
        lambda env: ["run", env.scenario(), "--out", str(env.foreign()), "--overwrite"],
        ("mine", "not a fairpatrol results directory", "nothing was changed"),
    ),
    Case(
        "run-out-earlier-results",
        on_copy("run", None, "run", SCENARIO, "--out", RES),
        ("res", "earlier fairpatrol run", "--overwrite"),
    ),
    Case(
        "run-overwrite-planted-symlink",
        on_copy("run", link("metrics"), "run", SCENARIO, "--out", RES, "--overwrite"),
        ("res/metrics", "unexpected symbolic link", "nothing was changed"),
    ),
    Case(
        "run-overwrite-planted-deep-symlink",
        on_copy("run", link("extra/data"), "run", SCENARIO, "--out", RES, "--overwrite"),
        ("res/extra/data", "unexpected symbolic link"),
    ),
    Case(
        "run-out-is-a-symlink",
        lambda env: [
            os.symlink(env.foreign(), env.tmp / "out"),
            "run",
            env.scenario(),
            "--out",
            env.out(),
            "--overwrite",
        ][1:],
        ("out", "is a symbolic link"),
    ),
    Case(
        "run-out-not-writable",
        lambda env: [
            env.foreign("ro"),
            os.chmod(env.tmp / "ro", 0o555),
            "run",
            env.scenario(),
            "--out",
            str(env.tmp / "ro" / "out"),
        ][2:],
        ("ro/out", "no write permission"),
        NOT_ROOT,
    ),
    Case(
        "run-out-disk-full",
        lambda env: [env.request.getfixturevalue("disk_full"), "run", env.scenario(), "--out", env.out()][1:],
        ("out", "MiB free", "at least 100 MiB"),
    ),
    # --- sweeps ---------------------------------------------------------------------------------------
    Case(
        "sweep-duplicate-key",
        lambda env: [
            "sweep",
            env.write("w.yaml", yaml.safe_dump(SWEEP) + "name: again\n"),
            "--out",
            env.out(),
        ],
        ("w.yaml", "'name' is given twice"),
    ),
    Case(
        "sweep-unknown-axis",
        lambda env: ["sweep", env.write("w.yaml", {**SWEEP, "grid": {"oficers": [1]}}), "--out", env.out()],
        ("w.yaml", "'grid.oficers'", "unknown scenario key"),
    ),
    Case(
        "sweep-bad-model-setting",
        lambda env: [
            "sweep",
            env.write("w.yaml", {**SWEEP, "grid": {"models.ShortTermKDE.bandwidth": [300, -3]}}),
            "--out",
            env.out(),
        ],
        ("w.yaml", "'models.ShortTermKDE.bandwidth'", "got -3"),
    ),
    Case(
        "sweep-runs-true",
        lambda env: ["sweep", env.write("w.yaml", {**SWEEP, "fixed": {"runs": True}}), "--out", env.out()],
        ("w.yaml", "'runs'", "expected an integer"),
    ),
    Case(
        "sweep-allocations-int",
        lambda env: ["sweep", env.write("w.yaml", {**SWEEP, "allocations": 1}), "--out", env.out()],
        ("w.yaml", "'allocations'", "expected true or false"),
    ),
    Case(
        "sweep-base-and-scenario",
        lambda env: ["sweep", env.write("w.yaml", {**SWEEP, "base": "baltimore-agg"}), "--out", env.out()],
        ("w.yaml", "'base'", "exactly one"),
    ),
    Case(
        "sweep-base-unknown",
        lambda env: ["sweep", env.write("w.yaml", {"name": "x", "base": "atlantis"}), "--out", env.out()],
        ("w.yaml", "'base'", "neither a preset"),
    ),
    Case(
        "sweep-empty-axis",
        lambda env: ["sweep", env.write("w.yaml", {**SWEEP, "grid": {"officers": []}}), "--out", env.out()],
        ("w.yaml", "'grid.officers'", "at least one"),
    ),
    Case(
        "sweep-fixed-and-swept",
        lambda env: ["sweep", env.write("w.yaml", {**SWEEP, "fixed": {"officers": [5]}}), "--out", env.out()],
        ("w.yaml", "'grid.officers'", "both fixed and swept"),
    ),
    Case(
        "sweep-workers-negative",
        lambda env: ["sweep", env.write("w.yaml", SWEEP), "--workers", "-1", "--out", env.out()],
        ("'workers'", "0 or more"),
    ),
    Case(
        "sweep-no-out", lambda env: ["sweep", env.write("w.yaml", SWEEP)], ("'out'", "--out DIR is required")
    ),
    Case(
        "sweep-out-is-a-file",
        lambda env: ["sweep", env.write("w.yaml", SWEEP), "--out", env.write("out", "x")],
        ("out", "exists and is not a directory"),
    ),
    Case(
        "sweep-out-foreign-dir",
        lambda env: ["sweep", env.write("w.yaml", SWEEP), "--out", str(env.foreign())],
        ("mine", "not a sweep directory", "nothing was changed"),
    ),
    Case(
        "sweep-overwrite-foreign-dir",
        lambda env: ["sweep", env.write("w.yaml", SWEEP), "--out", str(env.foreign()), "--overwrite"],
        ("mine", "not a sweep directory", "nothing was changed"),
    ),
    Case(
        "sweep-out-run-results",
        on_copy("run", None, "sweep", SWEEP_FILE, "--out", RES),
        ("res", "results of a fairpatrol run, not a sweep"),
    ),
    Case(
        "sweep-resume-planted-symlink",
        on_copy("sweep", link("metrics_old"), "sweep", SWEEP_FILE, "--workers", "0", "--out", RES),
        ("res/metrics_old", "unexpected symbolic link", "nothing was changed"),
    ),
    Case(
        "sweep-resume-symlinked-table",
        on_copy("sweep", link("metrics", replace=True), "sweep", SWEEP_FILE, "--workers", "0", "--out", RES),
        ("res/metrics", "unexpected symbolic link"),
    ),
    Case(
        "sweep-overwrite-planted-symlink",
        on_copy("sweep", link("metrics_old"), "sweep", SWEEP_FILE, "--out", RES, "--overwrite"),
        ("res/metrics_old", "unexpected symbolic link"),
    ),
    Case(
        "sweep-resume-corrupt-manifest",
        on_copy(
            "sweep",
            damage("sweep.yaml", write(b"cells: [\n")),
            "sweep",
            SWEEP_FILE,
            "--workers",
            "0",
            "--out",
            RES,
        ),
        ("res/sweep.yaml", "not valid YAML"),
    ),
    Case(
        "sweep-cluster-unreachable",
        lambda env: [
            "sweep",
            env.write("w.yaml", SWEEP),
            "--cluster",
            "tcp://127.0.0.1:9",
            "--worker-timeout",
            "1",
            "--out",
            env.out(),
        ],
        ("cannot connect to the Dask scheduler at tcp://127.0.0.1:9",),
    ),
    Case(
        "sweep-cluster-without-workers",
        lambda env: [
            "sweep",
            env.write("w.yaml", SWEEP),
            "--cluster",
            env.request.getfixturevalue("no_workers"),
            "--worker-timeout",
            "1",
            "--out",
            env.out(),
        ],
        ("has no worker", "waited 1 s", "--worker-timeout"),
    ),
    # --- analyze --------------------------------------------------------------------------------------
    Case(
        "analyze-not-a-sweep", lambda env: ["analyze", str(env.foreign())], ("mine", "not a sweep directory")
    ),
    Case(
        "analyze-missing",
        lambda env: ["analyze", str(env.tmp / "nothing")],
        ("nothing", "not a sweep directory"),
    ),
    Case("analyze-run-results", on_copy("run", None, "analyze", RES), ("res", "not a sweep directory")),
    Case(
        "analyze-truncated-parquet",
        on_copy("sweep", damage("metrics/cell=*/part-0.parquet", truncate), "analyze", RES),
        ("part-0.parquet", "not a readable Parquet file"),
    ),
    Case(
        "analyze-damaged-pages",
        on_copy("sweep", damage("metrics/cell=*/part-0.parquet", flip_pages), "analyze", RES),
        ("part-0.parquet", "corrupt data in a Parquet file", "run the study again"),
    ),
    Case(
        "analyze-garbled-summary",
        on_copy("sweep", damage("summary/cell=*/part-0.parquet", garble), "analyze", RES),
        ("summary/cell=", "not a readable Parquet file"),
    ),
    Case(
        "analyze-corrupt-cell-config",
        on_copy("sweep", damage("configs/*.yaml", write(b"a: 1\na: 2\n")), "analyze", RES),
        ("configs/", "'a' is given twice"),
    ),
    Case(
        "analyze-corrupt-failure-record",
        on_copy("sweep", add("failures/x.json", b"{not json"), "analyze", RES),
        ("failures/x.json", "unreadable failure record"),
    ),
    Case(
        "analyze-planted-symlink",
        on_copy("sweep", link("analysis"), "analyze", RES),
        ("res/analysis", "unexpected symbolic link"),
    ),
    Case(
        "analyze-foreign-analysis-folder",
        on_copy("sweep", lambda res, env: env.foreign("res/analysis"), "analyze", RES),
        ("res/analysis", "not a fairpatrol results directory"),
    ),
    Case(
        "analyze-no-finished-cell",
        on_copy("sweep", lambda res, env: shutil.rmtree(res / "metrics"), "analyze", RES),
        ("res", "no finished cell"),
    ),
    # --- evaluate -------------------------------------------------------------------------------------
    Case(
        "evaluate-duplicate-key",
        lambda env: ["evaluate", env.write("e.yaml", yaml.safe_dump(GRID) + "days: 3\n"), "--out", env.out()],
        ("e.yaml", "'days' is given twice"),
    ),
    Case(
        "evaluate-trigger-unknown",
        lambda env: [
            "evaluate",
            env.write("e.yaml", {**GRID, "models": {"SEPP": {"trigger": "exp"}}}),
            "--out",
            env.out(),
        ],
        ("e.yaml", "'models.SEPP.trigger'", "'cell' or 'gaussian'"),
    ),
    Case(
        "evaluate-bandwidth-negative",
        lambda env: [
            "evaluate",
            env.write("e.yaml", {**GRID, "models": {"NaiveKDE": {"bandwidth": -1}}}),
            "--out",
            env.out(),
        ],
        ("e.yaml", "'models.NaiveKDE.bandwidth'", "or 'scott'"),
    ),
    Case(
        "evaluate-sigma-min-cross-check",
        lambda env: [
            "evaluate",
            env.write("e.yaml", {**GRID, "models": {"SEPP": {"sigma_min": 900}}}),
            "--out",
            env.out(),
        ],
        ("e.yaml", "'models.SEPP.sigma_min'", "space_cutoff / 3"),
    ),
    Case(
        "evaluate-days-true",
        lambda env: ["evaluate", env.write("e.yaml", {**GRID, "days": True}), "--out", env.out()],
        ("e.yaml", "'days'", "expected an integer"),
    ),
    Case(
        "evaluate-impossible-date",
        lambda env: [
            "evaluate",
            env.write("e.yaml", yaml.safe_dump(GRID).replace("'2023-01-10'", "2023-02-29")),
            "--out",
            env.out(),
        ],
        ("e.yaml", "'2023-02-29' is not a calendar date"),
    ),
    Case(
        "evaluate-start-option-impossible",
        lambda env: ["evaluate", "--preset", "chicago-grid", "--start", "2023-02-30", "--out", env.out()],
        ("preset chicago-grid", "'start'", "not a calendar date"),
    ),
    Case(
        "evaluate-map-day-outside",
        lambda env: ["evaluate", env.write("e.yaml", {**GRID, "map_day": "2024-01-01"}), "--out", env.out()],
        ("e.yaml", "map_day"),
    ),
    Case(
        "evaluate-coverage-step-zero",
        lambda env: ["evaluate", env.write("e.yaml", {**GRID, "coverage": {"step": 0}}), "--out", env.out()],
        ("e.yaml", "'coverage.step'"),
    ),
    Case(
        "evaluate-cell-size-negative",
        lambda env: [
            "evaluate",
            env.write("e.yaml", {**GRID, "grid": {"cell_size": -5}}),
            "--out",
            env.out(),
        ],
        ("e.yaml", "'grid.cell_size'"),
    ),
    Case(
        "evaluate-models-option-unknown",
        lambda env: ["evaluate", "--preset", "chicago-grid", "--models", "Oracle", "--out", env.out()],
        ("'algorithms'", "unknown grid model 'Oracle'"),
    ),
    Case(
        "evaluate-out-is-a-file",
        lambda env: ["evaluate", env.write("e.yaml", GRID), "--out", env.write("out", "x")],
        ("out", "exists and is not a directory"),
    ),
    Case(
        "evaluate-overwrite-foreign-dir",
        lambda env: ["evaluate", env.write("e.yaml", GRID), "--out", str(env.foreign()), "--overwrite"],
        ("mine", "not a fairpatrol results directory"),
    ),
    Case(
        "evaluate-out-earlier-results",
        on_copy("evaluate", None, "evaluate", GRID_FILE, "--out", RES),
        ("res", "earlier fairpatrol evaluate", "--overwrite"),
    ),
    Case(
        "evaluate-overwrite-planted-symlink",
        on_copy("evaluate", link("cells.parquet.bak"), "evaluate", GRID_FILE, "--out", RES, "--overwrite"),
        ("res/cells.parquet.bak", "unexpected symbolic link"),
    ),
    # --- report ---------------------------------------------------------------------------------------
    Case(
        "report-not-results", lambda env: ["report", str(env.foreign())], ("mine", "not a results directory")
    ),
    Case(
        "report-missing-dir", lambda env: ["report", str(env.tmp / "nothing")], ("nothing", "not a directory")
    ),
    Case(
        "report-out-foreign-file",
        on_copy(
            "run", None, "report", RES, "-o", lambda env: env.write("thesis.html", "<html>my thesis</html>")
        ),
        ("thesis.html", "not written by fairpatrol", "nothing was changed"),
    ),
    Case(
        "report-out-is-a-directory",
        on_copy("run", None, "report", RES, "-o", lambda env: str(env.foreign())),
        ("mine", "is a directory"),
    ),
    Case(
        "report-out-parent-is-a-file",
        on_copy("run", None, "report", RES, "-o", lambda env: env.write("f", "x") + "/r.html"),
        ("f/r.html", "is not a directory"),
    ),
    Case(
        "report-out-symlink",
        on_copy("run", None, "report", RES, "-o", lambda env: linked_file(env, "r.html")),
        ("r.html", "is a symbolic link"),
    ),
    Case(
        "report-truncated-metrics",
        on_copy("run", damage("metrics.parquet", truncate), "report", RES),
        ("res/metrics.parquet", "not a readable Parquet file"),
    ),
    Case(
        "report-garbled-allocations",
        on_copy("run", damage("allocations.parquet", garble), "report", RES),
        ("res/allocations.parquet", "not a readable Parquet file"),
    ),
    Case(
        "report-damaged-metrics-pages",
        on_copy("run", damage("metrics.parquet", flip_pages), "report", RES),
        ("res/metrics.parquet", "corrupt data in a Parquet file", "run the study again"),
    ),
    Case(
        "report-damaged-allocations-pages",
        on_copy("run", damage("allocations.parquet", flip_pages), "report", RES),
        ("res/allocations.parquet", "corrupt data in a Parquet file"),
    ),
    Case(
        "report-empty-allocations",
        on_copy("run", damage("allocations.parquet", write(b"")), "report", RES),
        ("res/allocations.parquet", "not a readable Parquet file"),
    ),
    Case(
        "report-config-duplicate-key",
        on_copy("run", damage("config.yaml", write(b"a: 1\na: 2\n")), "report", RES),
        ("res/config.yaml", "'a' is given twice"),
    ),
    Case(
        "report-summary-not-utf8",
        on_copy("run", damage("summary.csv", garble), "report", RES),
        ("res/summary.csv", "not UTF-8"),
    ),
    Case(
        "report-sweep-truncated-cell",
        on_copy("sweep", damage("metrics/cell=*/part-0.parquet", truncate), "report", RES),
        ("part-0.parquet", "not a readable Parquet file"),
    ),
    Case(
        "report-evaluation-truncated",
        on_copy("evaluate", damage("predictions.parquet", truncate), "report", RES),
        ("res/predictions.parquet", "not a readable Parquet file"),
    ),
    Case(
        "report-planted-symlink",
        on_copy("run", link("extra"), "report", RES),
        ("res/extra", "unexpected symbolic link"),
    ),
    Case(
        "report-dp-epsilon-negative",
        on_copy("run", None, "report", RES, "--dp-epsilon", "-1"),
        ("--dp-epsilon must be positive",),
    ),
    Case(
        "report-dp-epsilon-nan",
        on_copy("run", None, "report", RES, "--dp-epsilon", "nan"),
        ("--dp-epsilon must be positive",),
    ),
    Case(
        "report-cell-of-a-run",
        on_copy("run", None, "report", RES, "--cell", "x"),
        ("res", "--cell selects a cell of a sweep"),
    ),
]


@pytest.fixture
def disk_full(monkeypatch):
    """The output's file system has 1 MiB free."""
    import fairpatrol.atomic

    real = shutil.disk_usage
    monkeypatch.setattr(
        fairpatrol.atomic.shutil, "disk_usage", lambda p: real(p)._replace(free=2**20), raising=True
    )


@pytest.fixture(scope="module")
def no_workers():
    """The address of a Dask scheduler without any worker."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file, folder and link under ``root`` (links not followed): kind, size, content digest."""
    import hashlib

    out = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            p = Path(folder) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = ("dir",)
            else:
                try:
                    digest = hashlib.sha256(p.read_bytes()).hexdigest()
                except PermissionError:  # a case's unreadable file (not as root)
                    digest = "unreadable"
                out[rel] = ("file", p.stat().st_mode & 0o777, digest)
    return out


def assert_one_error_line(output: str, needles: tuple[str, ...]) -> str:
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(case: Case, tmp_path: Path, request):
    env = Env(tmp_path, request)
    args = case.setup(env)
    before = snapshot(tmp_path)
    result = runner.invoke(app, args)
    after = snapshot(tmp_path)
    assert result.exit_code == 2, result.output
    assert_one_error_line(result.output, case.needles)
    assert after == before  # nothing written, nothing deleted, no link followed
    for folder in ("mine", "other"):  # the user's own files are all there (also covered by the snapshot)
        if (tmp_path / folder).is_dir():
            assert (tmp_path / folder / "thesis.txt").read_text() == "four years of work"


# ------------------------------------------------------------------------------ Python entry points
# Each case prepares its inputs and returns the call that must fail (the folder is compared around it).


def _fit(make_model, **kw):
    def prepare(env: Env):
        inc = env.request.getfixturevalue("baltimore")
        return lambda: make_model().fit(inc.frame, until="2019-01-01", areas=inc.areas, **kw)

    return prepare


def _load(loader: str, name: str, content):
    def prepare(env: Env):
        import importlib

        module, fn = loader.rsplit(".", 1)
        path = env.write(name, content)
        return lambda: getattr(importlib.import_module(module), fn)(path)

    return prepare


def _write_results_over_foreign(env: Env):
    from fairpatrol.config import parse_scenario
    from fairpatrol.results import write_study

    config = parse_scenario({**BASE, "algorithms": ["Uniform"]})
    mine = env.foreign()
    return lambda: write_study(config, mine, overwrite=True)


def _report_over_foreign(env: Env):
    from fairpatrol.report import write_report

    res, thesis = env.copy("run"), env.write("thesis.html", "<html>mine</html>")
    return lambda: write_report(res, thesis)


def _store_over_foreign(env: Env):
    from fairpatrol.results.sweep import SweepStore

    mine = env.foreign()
    return lambda: SweepStore.open(mine, {"definition": {"allocations": True}, "cells": []}, overwrite=True)


def _run_sweep_into_file(env: Env):
    from fairpatrol.sweep import parse_sweep, run_sweep

    plan, out = parse_sweep(SWEEP), env.write("out", "x")
    return lambda: run_sweep(plan, out, inline=True)


def _atomic_through_link(env: Env):
    from fairpatrol.atomic import atomic_directory

    os.symlink(env.foreign(), env.tmp / "out")

    def call():
        with atomic_directory(env.tmp / "out", kind="run", overwrite=True):
            pytest.fail("the block must not run")

    return call


def _remove_through_link(env: Env):
    from fairpatrol.atomic import remove_tree

    (env.tmp / "res").mkdir()
    os.symlink(env.foreign("other"), env.tmp / "res" / "metrics")
    return lambda: remove_tree(env.tmp / "res" / "metrics" / "data", root=env.tmp / "res")


def _rates(content: str):
    def prepare(env: Env):
        from fairpatrol.sim.victim_reporting import read_rate_table

        path = env.write("rates.csv", content)
        return lambda: read_rate_table(path)

    return prepare


def _study_too_large(env: Env):
    from fairpatrol.config import load_preset
    from fairpatrol.sim.study import run_study

    return lambda: run_study(load_preset("baltimore-agg", runs=10_000, days=1500))


def _grid_settings(settings: dict):
    def prepare(env: Env):
        from fairpatrol.grid.models import GRID_MODELS
        from fairpatrol.models.base import check_model_settings

        return lambda: check_model_settings(GRID_MODELS, settings)

    return prepare


def _models():
    import fairpatrol.models

    return fairpatrol.models


PYTHON_CASES = [
    (
        "kde-fit-bandwidth",
        _fit(lambda: _models().ShortTermKDE(bandwidth=-3)),
        "ShortTermKDE: field 'bandwidth'",
    ),
    (
        "kde-fit-cell-size",
        _fit(lambda: _models().LongTermKDE(cell_size=0.01)),
        "LongTermKDE: field 'cell_size'",
    ),
    ("predpol-fit-theta0", _fit(lambda: _models().PredPol(theta0=2)), "PredPol: field 'theta0'"),
    (
        "predpol-fit-max-iter-bool",
        _fit(lambda: _models().PredPol(max_iter=True)),
        "PredPol: field 'max_iter'",
    ),
    (
        "previous-counts-fit-window",
        _fit(lambda: _models().PreviousCounts(window_days=0)),
        "PreviousCounts: field 'window_days'",
    ),
    ("grid-settings-trigger", _grid_settings({"SEPP": {"trigger": "exp"}}), "field 'SEPP.trigger'"),
    (
        "grid-settings-bandwidth",
        _grid_settings({"NaiveKDE": {"bandwidth": "wide"}}),
        "field 'NaiveKDE.bandwidth'",
    ),
    (
        "load-scenario-duplicate-key",
        _load("fairpatrol.config.load_scenario", "s.yaml", BASE_TEXT + "days: 4\n"),
        "s.yaml: line 14: not valid YAML: key 'days' is given twice",
    ),
    (
        "load-scenario-runs-true",
        _load("fairpatrol.config.load_scenario", "s.yaml", {**BASE, "runs": True}),
        "s.yaml: field 'runs'",
    ),
    (
        "load-evaluate-trigger",
        _load(
            "fairpatrol.grid.config.load_evaluate", "e.yaml", {**GRID, "models": {"SEPP": {"trigger": "exp"}}}
        ),
        "field 'models.SEPP.trigger'",
    ),
    (
        "load-sweep-setting",
        _load("fairpatrol.sweep.load_sweep", "w.yaml", {**SWEEP, "fixed": {"models": {"Uniform": {"x": 1}}}}),
        "field 'models.Uniform.x'",
    ),
    ("read-rates-not-a-number", _rates("crime_type,rate\nX,abc\n"), "rates.csv: field 'rate', row 1"),
    ("read-rates-negative", _rates("area_id,rate\nA,-0.1\n"), "rates.csv: field 'rate', row 1"),
    ("write-results-over-foreign", _write_results_over_foreign, "mine: is not empty and is not a fairpatrol"),
    (
        "write-report-over-foreign",
        _report_over_foreign,
        "thesis.html: exists and was not written by fairpatrol",
    ),
    ("sweep-store-over-foreign", _store_over_foreign, "mine: the directory is not empty"),
    ("run-sweep-into-a-file", _run_sweep_into_file, "out: exists and is not a directory"),
    ("atomic-directory-through-link", _atomic_through_link, "out: is a symbolic link"),
    ("remove-tree-through-link", _remove_through_link, "reached through a symbolic link"),
    ("run-study-too-large", _study_too_large, "this study needs about"),
]


@pytest.mark.parametrize(("case_id", "prepare", "needle"), PYTHON_CASES, ids=[c[0] for c in PYTHON_CASES])
def test_python_entry_points_raise_one_line_errors(case_id, prepare, needle, tmp_path, request):
    from fairpatrol.errors import FairpatrolError

    call = prepare(Env(tmp_path, request))
    before = snapshot(tmp_path)
    with pytest.raises(FairpatrolError) as err:
        call()
    text = str(err.value)
    assert "\n" not in text and needle in text, text
    assert snapshot(tmp_path) == before  # nothing written, nothing deleted


def test_the_corpus_is_longer_than_the_issues():
    assert len(CASES) + len(PYTHON_CASES) >= 104
    assert len({c.id for c in CASES} | {c[0] for c in PYTHON_CASES}) == len(CASES) + len(PYTHON_CASES)
