# Sourced by scripts/test.sh: Chromium for the browser tests (tests/e2e).
#
# The tests drive Debian's Chromium at /usr/bin/chromium with Playwright; no browser is
# downloaded when they run. When it is missing this installs the `chromium` package (and a font
# for legible screenshots) with apt-get (scripts/_apt.sh), logging to a temporary file. It
# prints one line, saying which Chromium is ready or why there is none, and carries on either
# way: without it the browser tests are skipped, with the reason.

source "$(dirname "${BASH_SOURCE[0]}")/_apt.sh"

_medler_browser=/usr/bin/chromium

_medler_browser_install() {
    medler_apt_install "$1" chromium fonts-dejavu-core
}

_medler_browser_ready() {
    local log version last
    if [ ! -x "$_medler_browser" ]; then
        log="$(mktemp "${TMPDIR:-/tmp}/medler-browser.XXXXXX.log" 2>/dev/null || echo /dev/null)"
        if ! _medler_browser_install "$log" || [ ! -x "$_medler_browser" ]; then
            last="$(sed '/^[[:space:]]*$/d' "$log" 2>/dev/null | tail -n 1)" || last=""
            echo "== chromium: not installed${last:+ ($last)}; the browser tests will be" \
                "skipped (log: $log)"
            return 0
        fi
    fi
    version="$("$_medler_browser" --version 2>/dev/null \
        | sed -n 's/^[^0-9]*\([0-9][0-9.]*\).*/\1/p')" || version=""
    echo "== chromium: Chromium ${version:-(version unknown)} ready for the browser tests"
}

_medler_browser_ready
