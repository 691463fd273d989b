# Sourced by the scripts that install a system package the tests need (_postgres.sh,
# _browser.sh, _java.sh).
#
# medler_apt_install LOG PACKAGE... installs the packages with apt-get: non-interactive, without
# recommended packages, through `sudo -n` when not root, and with `apt-get update` only if the
# first attempt fails. Everything it prints goes to LOG; it returns non-zero (with the reason as
# LOG's last line) when the packages cannot be installed.

medler_apt_install() {
    local log="$1"
    shift
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
                      --no-install-recommends "$@")
    "${run[@]}" "${install[@]}" >>"$log" 2>&1 && return 0
    "${run[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$log" 2>&1 \
        && "${run[@]}" "${install[@]}" >>"$log" 2>&1
}
