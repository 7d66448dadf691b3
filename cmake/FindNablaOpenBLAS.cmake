# Finds OpenBLAS and its CBLAS header (Debian: libopenblas-dev) as the target nabla::openblas.
find_library(NABLA_OPENBLAS_LIBRARY NAMES openblas)
find_path(NABLA_CBLAS_INCLUDE_DIR NAMES cblas.h PATH_SUFFIXES openblas-pthread openblas x86_64-linux-gnu/openblas-pthread)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(NablaOpenBLAS REQUIRED_VARS NABLA_OPENBLAS_LIBRARY NABLA_CBLAS_INCLUDE_DIR)
if(NablaOpenBLAS_FOUND AND NOT TARGET nabla::openblas)
  add_library(nabla::openblas UNKNOWN IMPORTED)
  set_target_properties(nabla::openblas PROPERTIES IMPORTED_LOCATION ${NABLA_OPENBLAS_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${NABLA_CBLAS_INCLUDE_DIR})
endif()
