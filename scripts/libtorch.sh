#!/usr/bin/env bash
# Run a command with LibTorch set up for the `tch` feature.
#
#   scripts/libtorch.sh cargo test --features tch --test backend_parity
#   scripts/libtorch.sh --install-only
#
# burn-tch 0.22.1 builds against tch 0.22.0, whose torch-sys wants libtorch 2.9.0. The
# simplest reliable source of it without tch's downloader is PyPI's torch==2.9.0 wheel, so
# this script installs that wheel into a git-ignored virtual environment (by default
# `.venv-torch/` at the repository root; set VALUEFN_TORCH_VENV to share one between clones)
# and then runs the given command with:
#   - that venv's python3 first on PATH and LIBTORCH_USE_PYTORCH=1 (torch-sys reads the
#     include and library paths from the installed torch at build time), and
#   - LD_LIBRARY_PATH pointing at torch/lib (the binaries load libtorch at run time).
# The wheel is about 4 GB with its CUDA libraries, which even the CPU path loads, so
# `--no-deps` is not an option. The same install serves CUDA GPUs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VALUEFN_TORCH_VENV:-$root/.venv-torch}"
torch_version="${VALUEFN_TORCH_VERSION:-2.9.0}"
python="${PYTHON:-python3}"

installed_version() {
    # Package metadata only: importing torch is slow and noisy.
    "$venv/bin/python3" -c 'import importlib.metadata as m; print(m.version("torch").split("+")[0])' 2>/dev/null || true
}

if [[ "$(installed_version)" != "$torch_version" ]]; then
    echo "libtorch.sh: installing torch==$torch_version into $venv (about 4 GB)" >&2
    "$python" -m venv "$venv"
    "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check \
        "torch==$torch_version"
    if [[ "$(installed_version)" != "$torch_version" ]]; then
        echo "libtorch.sh: torch $torch_version did not install into $venv" >&2
        exit 1
    fi
fi

if [[ "${1:-}" == "--install-only" ]]; then
    exit 0
fi
if [[ $# -eq 0 ]]; then
    echo "usage: scripts/libtorch.sh <command...> | --install-only" >&2
    exit 2
fi

torch_lib="$("$venv/bin/python3" -c 'import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec("torch").origin), "lib"))')"
export PATH="$venv/bin:$PATH"
export LIBTORCH_USE_PYTORCH=1
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$@"
