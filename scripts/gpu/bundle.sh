#!/usr/bin/env bash
# Builds, on one of our CPU machines, the folder that runs ldmground on the
# bare GPU host described in ../shared/gpu/README.md (torch 2.11.0+cu130 and
# its nvidia wheels under /opt/torch/.venv, Python 3.12; no HDF5, OpenMPI,
# Boost, fmt, yaml-cpp, no network), and packs it as one .tar.xz.
#
#   bash scripts/gpu/bundle.sh                  # everything: download, build, package, check
#   bash scripts/gpu/bundle.sh --steps package,check --binary build/bin/ldmground   # packaging only (test)
#
# Steps (--steps, comma-separated, in this order; each is idempotent):
#   download  the PyPI wheels (pip download --no-deps) into CACHE/wheels: torch==2.11.0
#             (cp312, the cu130 build: the host's LibTorch), the three nvidia wheels
#             FindLibTorch wants, monai-generative 0.2.2 + monai 1.6.1 (pure Python,
#             for the authors' pipeline), and Debian 11's libevent and expat (Debian 12's need
#             glibc 2.36, the host's is older) with apt-get under a private state dir
#   unpack    the wheels into CACHE/site (torch/ and nvidia/ side by side)
#   build     build-gpu/: LIBTORCH_ROOT=CACHE/site/torch, CUDA and NCCL on, no tests;
#             `nice -n 19 cmake --build build-gpu --target ldmground -j JOBS`
#             (a full second compile: ~40 CPU-minutes); checks libtorch_cuda is linked
#   package   CACHE/out/ldmground-gpu/ and CACHE/out/ldmground-gpu.tar.xz (layout below)
#   check     the bundle is self-contained: every library its ELF files resolve is in the
#             bundle, is glibc/libstdc++/libgcc_s, or is LibTorch/CUDA (the host's); no
#             file needs a glibc newer than --host-glibc; the binary answers --help and
#             `env` under `env -i` with LD_LIBRARY_PATH = the bundle + LibTorch; the
#             tarball is under --max-mib
#
# Bundle layout (ldmground-gpu/):
#   bin/ldmground, bin/authors-python (the host's python3 with python/ on its path and
#   without the bundle's libraries), check.sh (scripts/gpu/check.sh), env.sh (source it:
#   LD_LIBRARY_PATH, PATH, the OPAL_*/PMIX_* relocation variables, MCA defaults),
#   lib/ (the runtime closure), mpi/ (OpenMPI 4.1 + PMIx: bin, components, help, conf),
#   python/ (monai, generative), share/ldmground/official_pipeline.py, configs/ (the
#   authors' real-size configs), fixtures/parity/ (trimmed: safetensors models, the
#   dataset, golden/T20; --no-fixtures leaves it out), MANIFEST.txt.
#
# Options: --cache DIR (default .cache/gpu-bundle), --out DIR (CACHE/out), --build-dir DIR (build-gpu), --jobs N (1),
# --binary PATH (package this binary instead of building: tests of the other steps),
# --no-fixtures, --host-glibc X.Y (2.35), --max-mib N (40), --steps LIST.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE="$ROOT/.cache/gpu-bundle"
BUILD="$ROOT/build-gpu"
JOBS=1
BINARY=""
FIXTURES="$ROOT/../shared/fixtures/parity"
CONFIGS="$ROOT/../shared/fixtures/configs"
HOST_GLIBC=2.35
MAX_MIB=40
STEPS="download,unpack,build,package,check"
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cache) CACHE=$(realpath -m "$2"); shift 2 ;;
    --out) OUT=$(realpath -m "$2"); shift 2 ;;
    --build-dir) BUILD=$(realpath -m "$2"); shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --binary) BINARY=$(realpath "$2"); shift 2 ;;
    --no-fixtures) FIXTURES=""; shift ;;
    --host-glibc) HOST_GLIBC=$2; shift 2 ;;
    --max-mib) MAX_MIB=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bundle.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
OUT="${OUT:-$CACHE/out}"
B="$OUT/ldmground-gpu"
SITE="$CACHE/site"
WHEELS="$CACHE/wheels"
APT="$CACHE/apt-bullseye"
PY="${LDMG_PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
has_step() { case ",$STEPS," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
say() { echo "[bundle] $*"; }
die() { echo "[bundle] error: $*" >&2; exit 1; }

# name==version, one per line; the file pip writes starts with the name (- -> _).
WHEEL_SPECS="torch==2.11.0
nvidia-cusparselt-cu13==0.8.0
nvidia-cufile==1.15.1.6
nvidia-nvshmem-cu13==3.4.5
monai-generative==0.2.2
monai==1.6.1"
wheel_file() {  # spec -> the downloaded file, or nothing
  local name=${1%%==*} version=${1##*==}
  ls "$WHEELS/${name//-/_}-${version}-"*.whl 2>/dev/null | head -1
}

# Debian 11 packages (built against glibc 2.31) whose libraries replace Debian 12's in the bundle.
DEB11_PKGS="libevent-core-2.1-7 libevent-pthreads-2.1-7 libexpat1"
DEB11_LIBS="libevent_core-2.1.so.7 libevent_pthreads-2.1.so.7 libexpat.so.1"

# glibc's own libraries and the compiler runtime the host has: never bundled.
SYSTEM_RE='^(linux-vdso\.so|ld-linux|libc\.so|libm\.so|libmvec\.so|libdl\.so|libpthread\.so|librt\.so|libutil\.so|libresolv\.so|libanl\.so|libstdc\+\+\.so|libgcc_s\.so)'
# LibTorch and CUDA: the host's own copies (/opt/torch/.venv torch/lib, nvidia/*/lib).
HOST_RE='^(libtorch|libc10|libcaffe2|libshm\.so|libgomp\.so|libcu|libnv|libnccl|libcudnn|libcusparseLt|libcufile|libnvshmem)'
# OpenMPI/PMIx components that need network fabrics we do not bring (UCX, verbs,
# libfabric, PSM) or OpenSHMEM: left out, with what they would pull in.
SKIP_LIB_RE='^(libuc[pstm]\.so|libibverbs|librdmacm|libfabric|libefa|libpsm|libinfinipath|libnl-|liboshmem)'

# ---------------------------------------------------------------- download
if has_step download; then
  mkdir -p "$WHEELS"
  while read -r spec; do
    if [ -n "$(wheel_file "$spec")" ]; then say "have $(basename "$(wheel_file "$spec")")"; continue; fi
    say "pip download $spec"
    "$PY" -m pip download -q --no-deps -d "$WHEELS" "$spec" --python-version 3.12 --only-binary=:all: \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      --platform any
    [ -n "$(wheel_file "$spec")" ] || die "pip download $spec left no wheel in $WHEELS"
  done <<< "$WHEEL_SPECS"
  # Debian 11's builds of the libraries whose Debian 12 builds need glibc 2.36 (libevent
  # 2.1.12 as in Debian 12; expat 2.2.10, which GDCM's XML reading links, against
  # Debian 12's 2.5: the same C API), from the mirror this machine's apt already uses,
  # under a private apt state.
  missing=""
  for pkg in $DEB11_PKGS; do ls "$APT/${pkg}_"*.deb >/dev/null 2>&1 || missing="$missing $pkg"; done
  if [ -n "$missing" ]; then
    mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list{,.d}"
    mkdir -p "$APT/lists/partial" "$APT/archives/partial" "$APT/cache"
    : > "$APT/status"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bullseye main" > "$APT/sources.list"
    apt_opts=(-o "Dir::Etc::SourceList=$APT/sources.list" -o Dir::Etc::SourceParts=/nonexistent
              -o "Dir::State::Lists=$APT/lists" -o "Dir::State::status=$APT/status" -o "Dir::Cache=$APT/cache"
              -o "Dir::Cache::Archives=$APT/archives")
    say "apt-get download$missing (Debian 11)"
    apt-get -q "${apt_opts[@]}" update >/dev/null
    # shellcheck disable=SC2086
    (cd "$APT" && apt-get -q "${apt_opts[@]}" download $missing 2>&1 | grep -v "unsandboxed" || true)
  fi
  for pkg in $DEB11_PKGS; do ls "$APT/${pkg}_"*.deb >/dev/null 2>&1 || die "Debian 11 $pkg not downloaded"; done
fi

# ---------------------------------------------------------------- unpack
if has_step unpack; then
  stamp=$(while read -r spec; do basename "$(wheel_file "$spec")"; done <<< "$WHEEL_SPECS" | grep -E "^(torch|nvidia)" | LC_ALL=C sort)
  if [ -f "$SITE/.unpacked" ] && [ "$(cat "$SITE/.unpacked")" = "$stamp" ]; then
    say "have $SITE"
  else
    rm -rf "$SITE" && mkdir -p "$SITE"
    for w in $stamp; do say "unzip $w"; "$PY" -m zipfile -e "$WHEELS/$w" "$SITE"; done
    echo "$stamp" > "$SITE/.unpacked"
  fi
  mkdir -p "$APT/root"
  for pkg in $DEB11_PKGS; do dpkg-deb -x "$(ls "$APT/${pkg}_"*.deb | head -1)" "$APT/root"; done
fi

# ---------------------------------------------------------------- build
if has_step build && [ -z "$BINARY" ]; then
  [ -f "$SITE/torch/lib/libtorch_cuda.so" ] || die "no $SITE/torch (run the download and unpack steps)"
  if ! grep -q "^LibTorch_ROOT:PATH=$SITE/torch$" "$BUILD/CMakeCache.txt" 2>/dev/null ||
     ! grep -q "^LDMG_BUILD_TESTS:BOOL=ON$" "$BUILD/CMakeCache.txt"; then
    say "configure $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLIBTORCH_ROOT="$SITE/torch" \
      -DLDMG_WITH_CUDA=ON -DLDMG_WITH_NCCL=ON -DLDMG_BUILD_TESTS=ON
  fi
  say "build $BUILD (nice -n 19, -j$JOBS)"
  # test_gpu: the gpu-labelled GoogleTest program (tests/gpu/test_gpu.cpp), run by check.sh.
  nice -n 19 cmake --build "$BUILD" --target ldmground test_gpu -j "$JOBS"
fi
BIN="${BINARY:-$BUILD/bin/ldmground}"

# The LibTorch folder a binary resolves (its libtorch_cpu.so) and the CUDA library
# folders next to it: what the host provides, standing in for it here.
torch_lib_path() {
  local tl
  tl=$(dirname "$(ldd "$1" | awk '$1 ~ /^libtorch_cpu\.so/ {print $3}')")
  [ -d "$tl" ] || die "cannot find the LibTorch that $1 uses"
  local dirs="$tl"
  for d in "$tl"/../../nvidia/*/lib /usr/local/cuda/lib64; do [ -d "$d" ] && dirs="$dirs:$(realpath "$d")"; done
  echo "$dirs"
}

# Every NAME => PATH line of ldd for the given files: "NAME PATH" (PATH "not-found").
ldd_pairs() {
  local f
  for f in "$@"; do
    env -i LD_LIBRARY_PATH="$LDLP" ldd "$f" 2>/dev/null | awk '
      $2 == "=>" && $3 == "not" {print $1, "not-found"; next}
      $2 == "=>" {print $1, $3; next}
      $1 ~ /^\// {n = split($1, p, "/"); print p[n], $1}'
  done | sort -u
}

# ---------------------------------------------------------------- package
if has_step package; then
  [ -x "$BIN" ] || die "no binary $BIN (run the build step or pass --binary)"
  if [ -z "$BINARY" ]; then
    readelf -d "$BIN" | grep -q 'NEEDED.*libtorch_cuda\.so' \
      || die "$BIN does not link libtorch_cuda: --device cuda could not work (LDMG_WITH_CUDA / LibTorch::cuda)"
  fi
  LDLP="$(torch_lib_path "$BIN")"
  rm -rf "$B" && mkdir -p "$B"/{bin,lib,share/ldmground,python,configs}
  cp "$BIN" "$B/bin/ldmground"
  TEST_GPU="$(dirname "$BIN")/test_gpu"
  if [ -x "$TEST_GPU" ]; then cp "$TEST_GPU" "$B/bin/test_gpu"; else say "no $TEST_GPU: the bundle carries no gpu tests"; fi
  cp "$ROOT/scripts/gpu/check.sh" "$B/check.sh"
  cp "$ROOT/bench/official_pipeline.py" "$B/share/ldmground/"
  [ -d "$CONFIGS" ] && cp -r "$CONFIGS/." "$B/configs/"

  # OpenMPI 4.1 and PMIx as Debian installs them, relocated under mpi/.
  ompi=/usr/lib/x86_64-linux-gnu/openmpi
  pmix=/usr/lib/x86_64-linux-gnu/pmix2
  M="$B/mpi"
  mkdir -p "$M"/{bin,lib/openmpi3,share/openmpi,etc,pmix/lib/pmix,pmix/share/pmix,pmix/etc}
  cp -L /usr/bin/orterun /usr/bin/orted "$M/bin/"
  ln -s orterun "$M/bin/mpirun"
  ln -s orterun "$M/bin/mpiexec"
  cp -r /usr/share/openmpi/. "$M/share/openmpi/"
  cp /etc/openmpi/openmpi-mca-params.conf /etc/openmpi/openmpi-default-hostfile "$M/etc/"
  cp -r "$pmix/share/pmix/." "$M/pmix/share/pmix/"
  cp "$pmix/share/pmix-mca-params.conf" "$M/pmix/etc/"
  skipped=""
  for c in "$ompi"/lib/openmpi3/*.so "$pmix"/lib/pmix/*.so; do
    if ldd "$c" | awk '{print $1}' | grep -qE "$SKIP_LIB_RE"; then skipped="$skipped $(basename "$c")"; continue; fi
    case "$c" in "$pmix"/*) cp "$c" "$M/pmix/lib/pmix/" ;; *) cp "$c" "$M/lib/openmpi3/" ;; esac
  done
  say "left out $(echo "$skipped" | wc -w) MPI components that need UCX/verbs/libfabric/PSM/OpenSHMEM"

  # The runtime closure: everything the ELF files resolve that the host does not have.
  elfs=("$B/bin/ldmground" $( [ -f "$B/bin/test_gpu" ] && echo "$B/bin/test_gpu") "$M/bin/orterun" "$M/bin/orted" "$M"/lib/openmpi3/*.so "$M"/pmix/lib/pmix/*.so)
  while read -r name path; do
    [[ "$name" =~ $SYSTEM_RE || "$name" =~ $HOST_RE ]] && continue
    [ "$path" = "not-found" ] && die "$name: not found on this machine"
    cp -L "$path" "$B/lib/$name"
  done < <(ldd_pairs "${elfs[@]}")
  # Debian 11's libevent and expat instead of Debian 12's (glibc 2.36).
  for l in $DEB11_LIBS; do
    if [ -f "$B/lib/$l" ]; then
      f=""
      for c in "$APT/root/usr/lib/x86_64-linux-gnu/$l" "$APT/root/lib/x86_64-linux-gnu/$l"; do
        [ -e "$c" ] && { f=$c; break; }
      done
      [ -n "$f" ] || die "Debian 11's $l is not in $APT/root (run the unpack step)"
      cp -L "$f" "$B/lib/$l"
    fi
  done

  # The authors' pipeline: pure-Python wheels, unpacked.
  for spec in monai-generative==0.2.2 monai==1.6.1; do
    w=$(wheel_file "$spec"); [ -n "$w" ] || die "no wheel for $spec (run the download step)"
    "$PY" -m zipfile -e "$w" "$B/python"
  done

  # Parity fixtures, trimmed to what `parity --golden T20` reads.
  if [ -n "$FIXTURES" ] && [ -d "$FIXTURES" ]; then
    F="$B/fixtures/parity"
    mkdir -p "$F/models/text_encoder" "$F/golden"
    cp "$FIXTURES"/models/*.safetensors "$FIXTURES/models/fixture_notes.json" "$F/models/"
    cp -r "$FIXTURES/models/configs" "$FIXTURES/models/tokenizer" "$F/models/"
    cp "$FIXTURES/models/text_encoder/config.json" "$FIXTURES/models/text_encoder/model.safetensors" "$F/models/text_encoder/"
    cp -r "$FIXTURES/dataset" "$F/"
    cp -r "$FIXTURES/golden/T20" "$F/golden/"
    [ -f "$FIXTURES/README.md" ] && cp "$FIXTURES/README.md" "$F/"
  fi

  cat > "$B/env.sh" <<'EOF'
# Source me (bash): the bundle's libraries and OpenMPI, the host's LibTorch and CUDA.
# LDMG_HOST_PYTHON (default /opt/torch/.venv/bin/python3, else python3) finds the
# host's torch; LDMG_TORCH_DIR overrides the torch folder itself.
LDMG_BUNDLE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LDMG_BUNDLE
export LDMG_HOST_LD_LIBRARY_PATH="${LDMG_HOST_LD_LIBRARY_PATH-${LD_LIBRARY_PATH-}}"
if [ -z "${LDMG_HOST_PYTHON:-}" ]; then
  LDMG_HOST_PYTHON=/opt/torch/.venv/bin/python3
  [ -x "$LDMG_HOST_PYTHON" ] || LDMG_HOST_PYTHON=$(command -v python3 || true)
fi
export LDMG_HOST_PYTHON
if [ -z "${LDMG_TORCH_DIR:-}" ]; then
  LDMG_TORCH_DIR=$(env LD_LIBRARY_PATH="$LDMG_HOST_LD_LIBRARY_PATH" "$LDMG_HOST_PYTHON" -c \
    'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("torch").origin))' 2>/dev/null || true)
fi
export LDMG_TORCH_DIR
_ldmg_nv=""
for _d in "$LDMG_TORCH_DIR"/../nvidia/*/lib; do [ -d "$_d" ] && _ldmg_nv="$_ldmg_nv:$_d"; done
export LD_LIBRARY_PATH="$LDMG_BUNDLE/lib:$LDMG_TORCH_DIR/lib$_ldmg_nv${LDMG_HOST_LD_LIBRARY_PATH:+:$LDMG_HOST_LD_LIBRARY_PATH}"
unset _d _ldmg_nv
export PATH="$LDMG_BUNDLE/bin:$LDMG_BUNDLE/mpi/bin:$PATH"
# OpenMPI 4.1 + PMIx relocated (Debian's build; ../shared/gpu/README.md).
M="$LDMG_BUNDLE/mpi"
export OPAL_PREFIX="$M" OPAL_EXEC_PREFIX="$M" OPAL_BINDIR="$M/bin" OPAL_LIBDIR="$LDMG_BUNDLE/lib"
export OPAL_PKGLIBDIR="$M/lib/openmpi3" OPAL_DATADIR="$M/share" OPAL_PKGDATADIR="$M/share/openmpi"
export OPAL_SYSCONFDIR="$M/etc" OMPI_MCA_mca_base_component_path="$M/lib/openmpi3"
export PMIX_PREFIX="$M/pmix" PMIX_DATADIR="$M/pmix/share" PMIX_PKGDATADIR="$M/pmix/share/pmix"
export PMIX_SYSCONFDIR="$M/pmix/etc" PMIX_MCA_mca_base_component_path="$M/pmix/lib/pmix"
# No ssh (a singleton's orted too), shared memory without CMA (containers), no UCX.
export OMPI_MCA_plm=isolated OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader,tcp OMPI_MCA_osc=^ucx,pt2pt
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset M
EOF
  cat > "$B/bin/authors-python" <<'EOF'
#!/bin/sh
# The host's Python for official_pipeline.py: the bundle's monai + monai-generative
# on its path, and the LD_LIBRARY_PATH it had before env.sh (the bundle's OpenSSL,
# curl, ... must not shadow the host's).
B=$(cd "$(dirname "$0")/.." && pwd)
PY=${LDMG_HOST_PYTHON:-/opt/torch/.venv/bin/python3}
[ -x "$PY" ] || PY=$(command -v python3)
if [ -n "${LDMG_HOST_LD_LIBRARY_PATH-}" ]; then export LD_LIBRARY_PATH="$LDMG_HOST_LD_LIBRARY_PATH"; else unset LD_LIBRARY_PATH; fi
export PYTHONPATH="$B/python${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" "$@"
EOF
  chmod +x "$B/bin/authors-python" "$B/check.sh"

  {
    echo "ldmground GPU bundle"
    echo "made: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname) ($(. /etc/os-release && echo "$PRETTY_NAME"))"
    echo "ldmground: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "binary: $BIN"
    echo "LibTorch it was built against: $(dirname "$(echo "$LDLP" | cut -d: -f1)")"
    echo "glibc needed (max over the bundle): $(find "$B" -type f \( -name '*.so*' -o -perm -u+x \) -exec objdump -T {} \; 2>/dev/null | grep -o 'GLIBC_2\.[0-9]*' | sort -uV | tail -1)"
    echo "libstdc++ needed: $(objdump -T "$B/bin/ldmground" | grep -o 'GLIBCXX_[0-9.]*' | sort -uV | tail -1)"
    echo "MPI components left out:$skipped"
    echo "files:"
    (cd "$B" && find . -type f -printf '%10s %p\n' | sort -k2)
  } > "$B/MANIFEST.txt"
  say "packing $OUT/ldmground-gpu.tar.xz"
  tar -C "$OUT" -cf - ldmground-gpu | xz -T2 -6 > "$OUT/ldmground-gpu.tar.xz.tmp"
  mv "$OUT/ldmground-gpu.tar.xz.tmp" "$OUT/ldmground-gpu.tar.xz"
  say "bundle: $(du -sh "$B" | cut -f1) unpacked, $(du -h "$OUT/ldmground-gpu.tar.xz" | cut -f1) as tar.xz"
fi

# ---------------------------------------------------------------- check
if has_step check; then
  [ -x "$B/bin/ldmground" ] || die "no bundle at $B (run the package step)"
  LDLP="$B/lib:$(torch_lib_path "$B/bin/ldmground")"
  fail=0
  elfs=()
  while IFS= read -r f; do [ "$(head -c 4 "$f" | tr -d '\0' | cut -c2-4)" = "ELF" ] && elfs+=("$f"); done \
    < <(find "$B/bin" "$B/lib" "$B/mpi" -type f)
  while read -r name path; do
    [[ "$name" =~ $SYSTEM_RE || "$name" =~ $HOST_RE ]] && continue
    case "$path" in "$B"/*) continue ;; esac
    echo "[bundle] check: $name resolves to $path, outside the bundle (the host lacks it)" >&2
    fail=1
  done < <(ldd_pairs "${elfs[@]}")
  need=$(for f in "${elfs[@]}"; do objdump -T "$f" 2>/dev/null | grep -o 'GLIBC_2\.[0-9]*'; done | sort -uV | tail -1)
  if [ "$(printf '%s\n%s\n' "GLIBC_$HOST_GLIBC" "$need" | sort -V | tail -1)" != "GLIBC_$HOST_GLIBC" ]; then
    echo "[bundle] check: the bundle needs $need, the host has glibc $HOST_GLIBC (--host-glibc):" >&2
    for f in "${elfs[@]}"; do objdump -T "$f" 2>/dev/null | grep -q "$need" && echo "  $f" >&2; done
    fail=1
  fi
  for args in "--help" "env"; do
    if ! env -i PATH=/usr/bin:/bin HOME=/tmp LD_LIBRARY_PATH="$LDLP" "$B/bin/ldmground" $args > "$OUT/check_${args#--}.txt" 2>&1; then
      echo "[bundle] check: 'env -i ... ldmground $args' failed:" >&2
      tail -5 "$OUT/check_${args#--}.txt" >&2
      fail=1
    fi
  done
  # The relocated OpenMPI launches 2 processes with env.sh alone (plm isolated, no ssh).
  if ! env -i PATH=/usr/bin:/bin HOME=/tmp LDMG_TORCH_DIR="$(dirname "$(echo "$LDLP" | cut -d: -f2)")" \
      bash -c ". '$B/env.sh' && mpirun -np 2 --oversubscribe /bin/true" > "$OUT/check_mpirun.txt" 2>&1; then
    echo "[bundle] check: the bundled orterun does not start:" >&2; tail -5 "$OUT/check_mpirun.txt" >&2; fail=1
  fi
  if [ -f "$OUT/ldmground-gpu.tar.xz" ]; then
    mib=$(( $(stat -c %s "$OUT/ldmground-gpu.tar.xz") / 1048576 ))
    [ "$mib" -lt "$MAX_MIB" ] || { echo "[bundle] check: tar.xz is $mib MiB, over --max-mib $MAX_MIB" >&2; fail=1; }
  fi
  [ "$fail" = 0 ] || die "the bundle is not self-contained (see above)"
  say "check: self-contained (${#elfs[@]} ELF files; glibc <= ${need#GLIBC_}; --help and env run under env -i)"
fi
