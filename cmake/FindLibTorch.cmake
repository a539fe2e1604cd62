# FindLibTorch
# ------------
# Locates the LibTorch that ships inside the official `torch` wheel (installed
# by scripts/bootstrap.sh into .venv) or a stand-alone LibTorch (LIBTORCH_ROOT).
#
# We do not use the wheel's TorchConfig.cmake: for a CUDA build of the wheel it
# insists on a matching CUDA toolkit and on the CUDA runtime wheels, although a
# CPU-only program needs just libtorch_cpu and libc10. Targets:
#   LibTorch::cpu   libtorch_cpu + libc10, include dirs (without the bundled fmt,
#                   so that our fmt is the system one)
#   LibTorch::cuda  adds libtorch_cuda + libc10_cuda (only if present and every
#                   library they need is found), linked --no-as-needed
#                   with the CUDA-side library folders on the run path
# Variables: LibTorch_FOUND, LibTorch_VERSION, LibTorch_ROOT, LibTorch_HAS_CUDA
# (libtorch_cuda and all its runtime libraries found), LibTorch_CUDA_MISSING.

set(_ldmg_torch_hints)
if(LIBTORCH_ROOT)
  list(APPEND _ldmg_torch_hints "${LIBTORCH_ROOT}")
endif()
if(DEFINED ENV{LIBTORCH_ROOT})
  list(APPEND _ldmg_torch_hints "$ENV{LIBTORCH_ROOT}")
endif()
file(GLOB _ldmg_venv_torch "${PROJECT_SOURCE_DIR}/.venv/lib/python3*/site-packages/torch")
list(APPEND _ldmg_torch_hints ${_ldmg_venv_torch})

find_path(LibTorch_ROOT
  NAMES include/torch/csrc/api/include/torch/torch.h
  HINTS ${_ldmg_torch_hints}
  NO_DEFAULT_PATH)

if(LibTorch_ROOT)
  find_library(LibTorch_TORCH_CPU torch_cpu HINTS "${LibTorch_ROOT}/lib" NO_DEFAULT_PATH)
  find_library(LibTorch_C10 c10 HINTS "${LibTorch_ROOT}/lib" NO_DEFAULT_PATH)
  find_library(LibTorch_TORCH_CUDA torch_cuda HINTS "${LibTorch_ROOT}/lib" NO_DEFAULT_PATH)
  find_library(LibTorch_C10_CUDA c10_cuda HINTS "${LibTorch_ROOT}/lib" NO_DEFAULT_PATH)
  # Version from the MAJOR/MINOR/PATCH macros (their home moved across releases).
  foreach(_vf torch/headeronly/version.h torch/csrc/api/include/torch/version.h)
    if(NOT LibTorch_VERSION AND EXISTS "${LibTorch_ROOT}/include/${_vf}")
      file(STRINGS "${LibTorch_ROOT}/include/${_vf}" _vl REGEX "#define TORCH_VERSION_(MAJOR|MINOR|PATCH) ")
      set(_parts)
      foreach(_l IN LISTS _vl)
        string(REGEX REPLACE ".*TORCH_VERSION_[A-Z]+ ([0-9]+).*" "\\1" _n "${_l}")
        list(APPEND _parts ${_n})
      endforeach()
      list(LENGTH _parts _np)
      if(_np EQUAL 3)
        list(JOIN _parts "." LibTorch_VERSION)
      endif()
    endif()
  endforeach()
  # The CUDA part is usable only when every library libtorch_cuda needs is
  # present (the CUDA runtime wheels or a full CUDA + cuDNN + cuSPARSELt install).
  if(LibTorch_TORCH_CUDA)
    file(GLOB _nv_dirs "${LibTorch_ROOT}/../nvidia/*/lib" "${LibTorch_ROOT}/../nvidia/cu*/lib")
    set(LibTorch_CUDA_DEPS_FOUND TRUE)
    set(LibTorch_CUDA_LIBRARY_DIRS)
    # nvshmem_host: libtorch_nvshmem (a NEEDED of libtorch_cuda) links it.
    foreach(_dep cudnn cusparseLt cufile cublas nccl nvshmem_host)
      find_library(LibTorch_DEP_${_dep}
        NAMES ${_dep} lib${_dep}.so.0 lib${_dep}.so.9 lib${_dep}.so.2 lib${_dep}.so.13 lib${_dep}.so.3 NAMES_PER_DIR
        HINTS ${_nv_dirs} ENV CUDA_HOME /usr/local/cuda PATH_SUFFIXES lib64 lib)
      if(NOT LibTorch_DEP_${_dep})
        set(LibTorch_CUDA_DEPS_FOUND FALSE)
        list(APPEND LibTorch_CUDA_MISSING ${_dep})
      else()
        get_filename_component(_dep_dir "${LibTorch_DEP_${_dep}}" DIRECTORY)
        list(APPEND LibTorch_CUDA_LIBRARY_DIRS "${_dep_dir}")
      endif()
    endforeach()
    list(REMOVE_DUPLICATES LibTorch_CUDA_LIBRARY_DIRS)
    # The wheels' folders first: the toolkit's older libnccl.so.2 must not
    # shadow the NCCL that libtorch_cuda was built against (one soname, one copy).
    set(_wheel_dirs ${LibTorch_CUDA_LIBRARY_DIRS})
    list(FILTER _wheel_dirs INCLUDE REGEX "/nvidia/")
    list(REMOVE_ITEM LibTorch_CUDA_LIBRARY_DIRS ${_wheel_dirs})
    list(PREPEND LibTorch_CUDA_LIBRARY_DIRS ${_wheel_dirs})
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LibTorch
  REQUIRED_VARS LibTorch_ROOT LibTorch_TORCH_CPU LibTorch_C10
  VERSION_VAR LibTorch_VERSION
  FAIL_MESSAGE "LibTorch not found: run scripts/bootstrap.sh (installs the pinned torch wheel into .venv) or set LIBTORCH_ROOT")

if(LibTorch_FOUND AND NOT TARGET LibTorch::cpu)
  # Include shim: every entry of LibTorch's include dir except its private fmt copy.
  set(_shim "${CMAKE_BINARY_DIR}/_deps/libtorch_include")
  file(MAKE_DIRECTORY "${_shim}")
  file(GLOB _entries RELATIVE "${LibTorch_ROOT}/include" "${LibTorch_ROOT}/include/*")
  foreach(_e IN LISTS _entries)
    if(NOT _e STREQUAL "fmt" AND NOT EXISTS "${_shim}/${_e}")
      file(CREATE_LINK "${LibTorch_ROOT}/include/${_e}" "${_shim}/${_e}" SYMBOLIC)
    endif()
  endforeach()

  # libtorch_cpu of the CUDA wheel links libcudart/libcupti: find them in the
  # CUDA toolkit (present on our machines; never used for CPU work).
  find_path(LibTorch_CUDART_DIR NAMES libcudart.so.13 libcudart.so.12 libcudart.so
    HINTS ENV CUDA_HOME /usr/local/cuda PATH_SUFFIXES lib64 lib targets/x86_64-linux/lib)

  add_library(LibTorch::cpu INTERFACE IMPORTED)
  set_target_properties(LibTorch::cpu PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_shim};${LibTorch_ROOT}/include/torch/csrc/api/include"
    INTERFACE_LINK_LIBRARIES "${LibTorch_TORCH_CPU};${LibTorch_C10}")
  set(_rpath "${LibTorch_ROOT}/lib")
  if(LibTorch_TORCH_CUDA AND LibTorch_C10_CUDA AND LibTorch_CUDA_DEPS_FOUND)
    list(JOIN LibTorch_CUDA_LIBRARY_DIRS ":" _cuda_rpath)
    set(_rpath "${_rpath}:${_cuda_rpath}")
  endif()
  if(LibTorch_CUDART_DIR)
    set(_rpath "${_rpath}:${LibTorch_CUDART_DIR}")
    set_property(TARGET LibTorch::cpu APPEND PROPERTY INTERFACE_LINK_OPTIONS "LINKER:-rpath-link,${LibTorch_CUDART_DIR}")
  endif()
  set_property(TARGET LibTorch::cpu APPEND PROPERTY INTERFACE_LINK_OPTIONS "LINKER:-rpath,${_rpath}")
  # Warnings inside LibTorch headers are not ours to fix.
  set_property(TARGET LibTorch::cpu PROPERTY INTERFACE_SYSTEM_INCLUDE_DIRECTORIES
    "${_shim};${LibTorch_ROOT}/include/torch/csrc/api/include")

  set(LibTorch_HAS_CUDA FALSE)
  if(LibTorch_TORCH_CUDA AND LibTorch_C10_CUDA AND LibTorch_CUDA_DEPS_FOUND)
    set(LibTorch_HAS_CUDA TRUE)
    add_library(LibTorch::cuda INTERFACE IMPORTED)
    # --no-as-needed: torch_cuda registers its kernels from static initialisers.
    set_target_properties(LibTorch::cuda PROPERTIES
      INTERFACE_LINK_LIBRARIES "LibTorch::cpu;-Wl,--no-as-needed;${LibTorch_TORCH_CUDA};${LibTorch_C10_CUDA};-Wl,--as-needed")
    # The CUDA-side library folders (wheels first, then the toolkit) are on
    # LibTorch::cpu's run path above, so the binary starts without
    # LD_LIBRARY_PATH; a GPU host's own copies win when LD_LIBRARY_PATH names
    # them (scripts/gpu/).
    set_property(TARGET LibTorch::cuda APPEND PROPERTY INTERFACE_LINK_OPTIONS "LINKER:-rpath-link,${_cuda_rpath}")
  endif()
endif()
