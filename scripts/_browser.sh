# Sourced by scripts/test.sh: Chromium for the browser tests (tests/e2e).
#
# The tests drive Debian's Chromium at /usr/bin/chromium with Playwright; no browser is
# downloaded when they run. When it is missing this installs the `chromium` package (and a font
# for legible screenshots) with apt-get (non-interactive; through `sudo -n` when not root;
# `apt-get update` only if the first attempt fails), logging to a temporary file. It prints one
# line, saying which Chromium is ready or why there is none, and carries on either way: without
# it the browser tests are skipped, with the reason.

_medler_browser=/usr/bin/chromium

_medler_browser_install() {
    local log="$1"
    local -a run=()
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "there is no apt-get to install it with" >>"$log"
        return 1
    fi
    if [ "$(id -u)" != 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "installing it needs root, and there is no sudo" >>"$log"
            return 1
        fi
        run=(sudo -n)
    fi
    local -a install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q
                      --no-install-recommends chromium fonts-dejavu-core)
    "${run[@]}" "${install[@]}" >>"$log" 2>&1 && return 0
    "${run[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$log" 2>&1 \
        && "${run[@]}" "${install[@]}" >>"$log" 2>&1
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
