#!/usr/bin/env bash
# Installs everything ldmground needs to build and test, idempotently:
# Debian packages (compiler toolchain, MPI, HDF5, Boost, fmt, JSON, YAML,
# GoogleTest, image codecs, ccache) and a project-local Python venv (.venv)
# holding the pinned PyTorch wheel, whose bundled LibTorch we link against.
# Fast when everything is already present.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TORCH_VERSION="${LDMG_TORCH_VERSION:-2.15.0}"
VENV="${LDMG_VENV:-$here/.venv}"

apt_packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libopenmpi-dev openmpi-bin
  libhdf5-dev hdf5-tools
  libboost-program-options-dev libfmt-dev nlohmann-json3-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev
  libjpeg-dev libpng-dev zlib1g-dev
  libgdcm-dev libgdcm-tools   # DICOM (docs/images.md); the tools complete GDCM's CMake package
  python3-venv
  iproute2   # ip netns: the multinode tests' hosts (tests/multinode)
  clang libclang-rt-14-dev   # libFuzzer + sanitizer runtimes (tests/fuzz, scripts/sanitize.sh)
  chromium   # headless browser: the report tests (tests/browser, label browser)
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[bootstrap] installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python venv: LibTorch comes from the official torch wheel (pinned). We only
# link its C++ libraries; --no-deps keeps the multi-GB CUDA runtime wheels
# out (a CUDA build of LibTorch still runs on CPU; the CUDA toolkit's own
# libcudart/libcupti satisfy libtorch_cpu's links).
py="${LDMG_PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "[bootstrap] creating venv $VENV"
  "$py" -m venv "$VENV"
fi
have_torch="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null || true)"
if [ "$have_torch" != "$TORCH_VERSION" ]; then
  echo "[bootstrap] installing torch==$TORCH_VERSION (LibTorch) into $VENV"
  "$VENV/bin/python" -m pip install -q --no-deps "torch==$TORCH_VERSION"
fi
# LibTorch's CUDA part (libtorch_cuda) also needs cuSPARSELt, cuFile, NVSHMEM
# and a newer NCCL than the CUDA toolkit's: their wheels (libraries, ~550 MB)
# make every build here a CUDA build (LDMG_WITH_CUDA=AUTO), so that CI links
# and checks what a GPU node runs. LDMG_CPU_ONLY=1 skips them (CPU-only build).
if [ "${LDMG_CPU_ONLY:-0}" != 1 ] && [ -d /usr/local/cuda/lib64 ]; then
  # The versions the torch wheel itself pins (its Requires-Dist), so that a
  # different LDMG_TORCH_VERSION brings matching ones; cuFile only has to link.
  # Prints the pins not installed at their version.
  mapfile -t cuda_wheels < <("$VENV/bin/python" - <<'PY'
import importlib.metadata as m
pins = [r.split(";")[0].replace(" ", "") for r in m.requires("torch") or []]
pins = [p for p in pins if p.startswith(("nvidia-cusparselt", "nvidia-nvshmem", "nvidia-nccl"))]
for pin in pins + ["nvidia-cufile==1.15.1.6"]:
    name, _, version = pin.partition("==")
    try:
        if m.version(name) == version:
            continue
    except m.PackageNotFoundError:
        pass
    print(pin)
PY
)
  if ((${#cuda_wheels[@]})); then
    echo "[bootstrap] installing LibTorch's CUDA-side libraries: ${cuda_wheels[*]}"
    "$VENV/bin/python" -m pip install -q --no-deps "${cuda_wheels[@]}"
  fi
fi
# numpy/h5py: used by tests that read our HDF5/NPY outputs from Python;
# matplotlib: the analysis/ figures (Agg backend, no display needed).
if ! "$VENV/bin/python" -c 'import numpy, h5py, matplotlib' 2>/dev/null; then
  echo "[bootstrap] installing numpy, h5py, matplotlib into $VENV"
  "$VENV/bin/python" -m pip install -q numpy h5py matplotlib
fi
echo "[bootstrap] ok: torch $TORCH_VERSION at $("$VENV/bin/python" -c 'import importlib.util as u; import os; print(os.path.dirname(u.find_spec("torch").origin))')"
