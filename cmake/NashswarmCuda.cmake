# libnashswarm_cuda: machine code for sm_80 (A100) and sm_90a (H100/H200, Hopper-only instructions
# allowed), plus compute_90 PTX that newer GPUs' drivers compile at load. The -gencode form is used
# because CMake's CUDA_ARCHITECTURES does not spell the "a" targets on every version, and nvcc 13.0's
# -arch=sm_90a shorthand also runs a plain sm_90 pass. cudart is linked statically (nvcc's default), so
# the JVM loads only this library and no second CUDA runtime.
#
# NASHSWARM_CUDA: AUTO (default: build when nvcc is found), ON (required), OFF.
set(NASHSWARM_CUDA AUTO CACHE STRING "Build libnashswarm_cuda: AUTO, ON or OFF")

include(CheckLanguage)
if(NOT NASHSWARM_CUDA STREQUAL "OFF")
  check_language(CUDA)
endif()
if(NOT NASHSWARM_CUDA STREQUAL "OFF" AND CMAKE_CUDA_COMPILER)
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_RUNTIME_LIBRARY Static)
  add_library(nashswarm_cuda SHARED ${CMAKE_CURRENT_SOURCE_DIR}/src/ns_cuda.cu)
  set_target_properties(nashswarm_cuda PROPERTIES CUDA_ARCHITECTURES OFF CUDA_VISIBILITY_PRESET hidden)
  target_include_directories(nashswarm_cuda PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_compile_options(nashswarm_cuda PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_90a,code=sm_90a
    -gencode=arch=compute_90,code=compute_90 --threads=0 -Xptxas=-warn-spills -Werror=all-warnings>)
  message(STATUS "nashswarm: building libnashswarm_cuda (sm_80, sm_90a, compute_90 PTX) with ${CMAKE_CUDA_COMPILER}")
elseif(NASHSWARM_CUDA STREQUAL "ON")
  message(FATAL_ERROR "nashswarm: NASHSWARM_CUDA=ON but no CUDA compiler (nvcc) was found")
else()
  message(STATUS "nashswarm: no CUDA compiler found; building the host library only")
endif()
