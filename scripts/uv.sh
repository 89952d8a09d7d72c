# Sourced by the other scripts: makes `uv` available, installing it with pip when missing.
if ! command -v uv >/dev/null 2>&1; then
  if ! python3 -m uv --version >/dev/null 2>&1; then
    echo "installing uv with pip..." >&2
    python3 -m pip install --quiet --disable-pip-version-check uv
  fi
  uv() { python3 -m uv "$@"; }
fi
