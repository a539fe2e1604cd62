# ldmg_module(NAME SOURCES ... [DEPS ...] [TORCH])
# One static library per method module (ldmg_<name>), include root = src/.
# TORCH modules reuse one precompiled <torch/torch.h> (it costs ~18 s per TU).
function(ldmg_module name)
  cmake_parse_arguments(M "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_library(ldmg_${name} STATIC ${M_SOURCES})
  add_library(ldmg::${name} ALIAS ldmg_${name})
  target_include_directories(ldmg_${name} PUBLIC "${PROJECT_SOURCE_DIR}/src" "${PROJECT_BINARY_DIR}/src")
  target_link_libraries(ldmg_${name} PUBLIC ${M_DEPS})
  target_compile_options(ldmg_${name} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(M_TORCH)
    target_link_libraries(ldmg_${name} PUBLIC LibTorch::cpu)
    ldmg_use_torch_pch(ldmg_${name})
  endif()
endfunction()

function(ldmg_use_torch_pch target)
  if(NOT TARGET ldmg_torch_pch)
    file(WRITE "${PROJECT_BINARY_DIR}/_deps/torch_pch.cpp" "// precompiled LibTorch headers\n")
    add_library(ldmg_torch_pch STATIC "${PROJECT_BINARY_DIR}/_deps/torch_pch.cpp")
    target_link_libraries(ldmg_torch_pch PUBLIC LibTorch::cpu)
    target_precompile_headers(ldmg_torch_pch PRIVATE <torch/torch.h>)
  endif()
  target_precompile_headers(${target} REUSE_FROM ldmg_torch_pch)
endfunction()

# Links LibTorch's CUDA part into a program that runs models (the CLI, the
# gpu tests) when this is a CUDA build: --no-as-needed, so that libtorch_cuda's
# kernels register and torch::cuda::is_available() can be true; with it the
# code that needs CUDA types (ldmg_pipeline_cuda: CUDA graph capture).
function(ldmg_link_device_runtime target)
  if(LDMG_HAVE_CUDA)
    target_link_libraries(${target} PRIVATE LibTorch::cuda ldmg_pipeline_cuda)
  endif()
  target_compile_definitions(${target} PRIVATE ${LDMG_CUDA_DEFINITIONS})
endfunction()
