"""The R client (clients/r/medler) against the dummy service: the package installed with
``R CMD INSTALL`` into a library of the test's own, its testthat tests run with the service's
address and the dummy researcher's token in the environment, and its vignette's R code
(extracted with ``knitr::purl``) and the R blocks of docs/how-to/use-r-or-stata.md run as a
reader would. Skipped, with the reason, where R or
the Debian packages it needs are missing (``scripts/_r.sh`` installs them)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dummy_service import DummyService, dummy_service

__all__ = ["dummy_service"]

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "clients" / "r" / "medler"
HOW_TO = REPO / "docs" / "how-to" / "use-r-or-stata.md"
R_PACKAGES = ("httr2", "jsonlite", "testthat", "knitr", "roxygen2")
INSTALL_HINT = (
    "bash scripts/test.sh installs them with scripts/_r.sh: Debian's r-base-core, r-cran-httr2, "
    "r-cran-jsonlite, r-cran-testthat, r-cran-knitr and r-cran-roxygen2"
)

# testthat's results as one line of counts, so that the test knows what ran
RUN_TESTS = f"""
results <- as.data.frame(testthat::test_dir(
  {str(PACKAGE / "tests" / "testthat")!r}, package = "medler", load_package = "installed",
  reporter = "summary", stop_on_failure = FALSE))
cat(sprintf("\\nCOUNTS expectations=%d failed=%d skipped=%d errors=%d\\n", sum(results$nb),
            sum(results$failed), sum(results$skipped), sum(results$error)))
"""

# an R script run as a reader would: any warning but the dummy data's fails the run
RUN_SCRIPT = """
withCallingHandlers(
  source({script!r}, echo = TRUE, max.deparse.length = Inf),
  medler_dummy_data = function(w) invokeRestart("muffleWarning"),
  warning = function(w) stop("the script warned: ", conditionMessage(w))
)
cat("\\nSCRIPT DONE\\n")
"""
# the vignette's code, as purl writes it
RUN_VIGNETTE = f"""
knitr::purl({str(PACKAGE / "vignettes" / "medler.Rmd")!r}, output = "vignette.R", quiet = TRUE)
{RUN_SCRIPT.format(script="vignette.R")}
"""


def _missing_r() -> str | None:
    """Why R cannot run the client's tests here, or None."""
    if shutil.which("Rscript") is None or shutil.which("R") is None:
        return f"R is not installed; {INSTALL_HINT}"
    names = ", ".join(f'"{p}"' for p in R_PACKAGES)
    probe = subprocess.run(
        [
            "Rscript",
            "-e",
            f"for (p in c({names})) if (!requireNamespace(p, quietly = TRUE)) cat(p, '')",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    missing = probe.stdout.split()
    if probe.returncode != 0 or missing:
        return f"R lacks the packages {', '.join(missing) or '(unknown)'}; {INSTALL_HINT}"
    return None


@pytest.fixture(scope="module")
def r_library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The package installed into a library of its own."""
    why = _missing_r()
    if why is not None:
        pytest.skip(why)
    library = tmp_path_factory.mktemp("r-library")
    done = subprocess.run(
        ["R", "CMD", "INSTALL", "--no-test-load", f"--library={library}", str(PACKAGE)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"R CMD INSTALL failed:\n{done.stdout}\n{done.stderr}"
    yield library


def _rscript(
    code: str, library: Path, cwd: Path, service: DummyService | None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDLER_")}
    env["R_LIBS"] = os.pathsep.join([str(library), *filter(None, [os.environ.get("R_LIBS")])])
    if service is not None:
        env["MEDLER_URL"] = service.url
        env["MEDLER_TOKEN"] = service.researcher_token
    return subprocess.run(
        ["Rscript", "-e", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _counts(output: str) -> dict[str, int]:
    line = next(line for line in output.splitlines() if line.startswith("COUNTS "))
    return {k: int(v) for k, v in (part.split("=") for part in line.split()[1:])}


@pytest.mark.slow
def test_the_r_package_tests_pass_against_the_dummy_service(
    r_library: Path, dummy_service: DummyService, tmp_path: Path
) -> None:
    run = _rscript(RUN_TESTS, r_library, tmp_path, dummy_service)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    counts = _counts(run.stdout)
    assert counts["failed"] == 0 and counts["errors"] == 0, output
    assert counts["skipped"] == 0 and "service: S" not in output, output  # none skipped
    assert counts["expectations"] >= 150, output
    assert dummy_service.researcher_token not in output  # the token is never shown


def test_without_a_service_the_r_tests_say_why_they_skip(r_library: Path, tmp_path: Path) -> None:
    run = _rscript(RUN_TESTS, r_library, tmp_path, None)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    counts = _counts(run.stdout)
    assert counts["failed"] == 0 and counts["errors"] == 0, output
    assert 0 < counts["expectations"] < 150, output  # the offline tests only
    assert (
        "no medler service: start `medler serve --dummy` and set MEDLER_URL and MEDLER_TOKEN"
        in output
    )


@pytest.mark.slow
def test_the_vignette_runs_against_the_dummy_service(
    r_library: Path, dummy_service: DummyService, tmp_path: Path
) -> None:
    run = _rscript(RUN_VIGNETTE, r_library, tmp_path, dummy_service)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "SCRIPT DONE" in run.stdout
    for shown in (
        "<medler client: ",
        "<medler spec>",
        '"mode": "dp"',
        "medler_not_found",
        "(403 refused)",
        '[1] "held"',
    ):
        assert shown in run.stdout, f"{shown!r} is not in the vignette's output:\n{output}"
    assert (tmp_path / "Rplots.pdf").stat().st_size > 0  # plot_release() drew
    assert dummy_service.researcher_token not in output


@pytest.mark.slow
def test_the_how_to_s_r_blocks_run_against_the_dummy_service(
    r_library: Path, dummy_service: DummyService, tmp_path: Path
) -> None:
    code = re.findall(r"```r\n(.*?)```", HOW_TO.read_text(encoding="utf-8"), re.DOTALL)
    assert len(code) >= 2
    (tmp_path / "how-to.R").write_text("\n".join(code), encoding="utf-8")
    run = _rscript(RUN_SCRIPT.format(script="how-to.R"), r_library, tmp_path, dummy_service)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "SCRIPT DONE" in run.stdout
    assert "there is no release 'r-20200101T000000-00000000' of yours" in run.stdout
    assert "remaining_rho" in run.stdout
    assert dummy_service.researcher_token not in output


def test_the_help_pages_are_what_roxygen2_makes_of_the_comments(tmp_path: Path) -> None:
    why = _missing_r()
    if why is not None:
        pytest.skip(why)
    copy = tmp_path / "medler"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("man"))
    code = f'roxygen2::roxygenise({str(copy)!r}, roclets = "rd")'
    done = subprocess.run(
        ["Rscript", "-e", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    made = {p.name: p.read_text(encoding="utf-8") for p in (copy / "man").glob("*.Rd")}
    committed = {p.name: p.read_text(encoding="utf-8") for p in (PACKAGE / "man").glob("*.Rd")}
    assert made == committed, (
        'clients/r/medler/man is out of date: run roxygen2::roxygenise(roclets = "rd") in '
        "clients/r/medler"
    )
