# Sourced by the other scripts (and by hand: `source scripts/uv.sh`): puts `uv` on PATH.
#
# When uv is missing it goes into a private virtual environment of the project
# (.tools/uv-venv), never into the system's Python: Debian's and Ubuntu's own python3 refuse
# `pip install` outside a virtual environment (PEP 668, "externally managed"). `uv` is then
# linked from .tools/bin, a real executable on PATH (so `exec uv ...` works too).
_keepwell_uv_setup() {
  local root tools version found
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  tools="$root/.tools"
  if command -v uv >/dev/null 2>&1; then return 0; fi
  if [[ -x "$tools/bin/uv" ]] && "$tools/bin/uv" --version >/dev/null 2>&1; then
    export PATH="$tools/bin:$PATH"
    return 0
  fi
  # uv installed as a package of this python3 (`python3 -m uv`): link its binary.
  if found="$(python3 -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null)" && [[ -x "$found" ]]; then
    mkdir -p "$tools/bin" && ln -sf "$found" "$tools/bin/uv"
    export PATH="$tools/bin:$PATH"
    return 0
  fi
  if ! command -v python3 >/dev/null 2>&1; then
    echo "error: Keepwell needs Python 3.11 or newer as python3 (or uv: https://docs.astral.sh/uv/); there is no python3 on PATH" >&2
    return 1
  fi
  version="$(python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "error: Keepwell needs Python 3.11 or newer; python3 here is $version ($(command -v python3))" >&2
    return 1
  fi
  echo "uv not found: installing it into $tools/uv-venv, a private virtual environment (the system's Python is left alone)" >&2
  if ! python3 -m venv --clear "$tools/uv-venv" >/dev/null 2>&1; then
    echo "error: python3 -m venv failed (Python $version at $(command -v python3)); on Debian or Ubuntu install the python3-venv package (apt install python3-venv) and retry" >&2
    return 1
  fi
  if ! "$tools/uv-venv/bin/python" -m pip install --quiet --disable-pip-version-check uv; then
    echo "error: could not install uv with pip into $tools/uv-venv (pip's reason above)" >&2
    return 1
  fi
  mkdir -p "$tools/bin" && ln -sf "$tools/uv-venv/bin/uv" "$tools/bin/uv"
  export PATH="$tools/bin:$PATH"
}
_keepwell_uv_setup
