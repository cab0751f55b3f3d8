# Sourced by scripts/test.sh and .ci/run: the Debian packages of scripts/system-packages.txt.
#   system_deps_missing   prints the packages whose command is not found (space-separated)
#   system_deps_install   as root with apt-get: installs them (one apt-get update); otherwise, or
#                         if that fails, prints one line naming what is missing (tests that need
#                         it skip, each saying why). EDGEVID_NO_SYSTEM_INSTALL=1: never install.
_system_deps_list="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/system-packages.txt"

_system_deps_have() {  # a command on PATH or in the sbin folders (sshd lives in /usr/sbin), or a
  # path pattern (postgresql's initdb lives in /usr/lib/postgresql/<version>/bin)
  case "$1" in
    */*) compgen -G "$1" >/dev/null ;;
    *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] ;;
  esac
}

system_deps_missing() {
  local cmd pkg _ out=()
  while read -r cmd pkg _; do
    case "$cmd" in ''|'#'*) continue ;; esac
    _system_deps_have "$cmd" || out+=("$pkg")
  done < "$_system_deps_list"
  echo "${out[*]:-}"
}

system_deps_install() {
  local missing
  missing="$(system_deps_missing)"
  [ -z "$missing" ] && return 0
  if [ "${EDGEVID_NO_SYSTEM_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[system] installing: $missing" >&2
    # shellcheck disable=SC2086  # one word per package
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
             $missing >/dev/null; }; then
      echo "[system] apt-get failed" >&2
    fi
    missing="$(system_deps_missing)"
  fi
  if [ -n "$missing" ]; then
    echo "[system] not installed: $missing (apt-get install $missing as root); the tests that need them skip" >&2
  fi
  return 0
}
