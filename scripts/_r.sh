# Sourced by scripts/test.sh: R for the R client's tests (clients/r/medler, tests/api).
#
# The R client is tested with Debian's R and Debian's packages of what it imports (httr2,
# jsonlite) and what its tests, vignette and help pages need (testthat, knitr, roxygen2); no
# package is fetched from CRAN. When Rscript or one of those packages is missing this installs them with apt-get
# (scripts/_apt.sh), logging to a temporary file. It prints one line, saying which R is ready or
# why there is none, and carries on either way: without it the R client's tests are skipped,
# with the reason.

source "$(dirname "${BASH_SOURCE[0]}")/_apt.sh"

_medler_r_packages=(r-base-core r-cran-httr2 r-cran-jsonlite r-cran-testthat r-cran-knitr
                    r-cran-roxygen2)

# the R packages the tests load, each on its own line when missing
_medler_r_missing() {
    Rscript -e 'for (p in c("httr2", "jsonlite", "testthat", "knitr", "roxygen2"))
                    if (!requireNamespace(p, quietly = TRUE)) cat(p, "\n")' 2>/dev/null
}

_medler_r_ready() {
    local log version last
    if ! command -v Rscript >/dev/null 2>&1 || [ -n "$(_medler_r_missing)" ]; then
        log="$(mktemp "${TMPDIR:-/tmp}/medler-r.XXXXXX.log" 2>/dev/null || echo /dev/null)"
        if ! medler_apt_install "$log" "${_medler_r_packages[@]}" \
                || ! command -v Rscript >/dev/null 2>&1 || [ -n "$(_medler_r_missing)" ]; then
            last="$(sed '/^[[:space:]]*$/d' "$log" 2>/dev/null | tail -n 1)" || last=""
            echo "== R: not installed${last:+ ($last)}; the R client's tests will be skipped" \
                "(log: $log)"
            return 0
        fi
    fi
    version="$(Rscript -e 'cat(format(getRversion()))' 2>/dev/null)" || version=""
    echo "== R: R ${version:-(version unknown)} ready for the R client's tests"
}

_medler_r_ready
