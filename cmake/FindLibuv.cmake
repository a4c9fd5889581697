# FindLibuv
# ---------
# Finds libuv and offers the imported target that upstream libuv's own
# CMake package installs:
#
#   libuv::uv        the libuv library with its include directory
#
# Debian ships only a pkg-config file, so the search order is: an upstream
# CMake package (libuvConfig.cmake), then pkg-config `libuv`, then a plain
# search for uv.h and the library.
#
# Result variables: Libuv_FOUND, Libuv_VERSION, Libuv_INCLUDE_DIRS,
# Libuv_LIBRARIES.

include(FindPackageHandleStandardArgs)

if(TARGET libuv::uv)
    # Found before (or provided by upstream's package): nothing to do.
    set(Libuv_FOUND TRUE)
    return()
endif()

# 1. Upstream's CMake package. It names the shared library libuv::uv and the
#    static one libuv::uv_a (older releases: uv and uv_a without namespace).
find_package(libuv CONFIG QUIET)
if(libuv_FOUND)
    foreach(_uvdb_candidate IN ITEMS libuv::uv libuv::uv_a uv uv_a)
        if(TARGET ${_uvdb_candidate})
            if(NOT _uvdb_candidate STREQUAL "libuv::uv")
                add_library(libuv::uv INTERFACE IMPORTED)
                target_link_libraries(libuv::uv INTERFACE ${_uvdb_candidate})
            endif()
            set(Libuv_VERSION "${libuv_VERSION}")
            set(Libuv_LIBRARIES libuv::uv)
            find_package_handle_standard_args(Libuv
                REQUIRED_VARS Libuv_LIBRARIES
                VERSION_VAR Libuv_VERSION)
            unset(_uvdb_candidate)
            return()
        endif()
    endforeach()
    unset(_uvdb_candidate)
endif()

# 2. pkg-config, which is what Debian's libuv1-dev provides.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
    pkg_check_modules(PC_Libuv QUIET IMPORTED_TARGET libuv)
endif()
if(PC_Libuv_FOUND)
    set(Libuv_VERSION "${PC_Libuv_VERSION}")
    set(Libuv_INCLUDE_DIRS "${PC_Libuv_INCLUDE_DIRS}")
    set(Libuv_LIBRARIES PkgConfig::PC_Libuv)
    find_package_handle_standard_args(Libuv
        REQUIRED_VARS Libuv_LIBRARIES
        VERSION_VAR Libuv_VERSION)
    if(Libuv_FOUND)
        add_library(libuv::uv INTERFACE IMPORTED)
        target_link_libraries(libuv::uv INTERFACE PkgConfig::PC_Libuv)
    endif()
    return()
endif()

# 3. A plain search, for systems without pkg-config.
find_path(Libuv_INCLUDE_DIR NAMES uv.h)
find_library(Libuv_LIBRARY NAMES uv libuv)
if(Libuv_INCLUDE_DIR AND EXISTS "${Libuv_INCLUDE_DIR}/uv/version.h")
    file(STRINGS "${Libuv_INCLUDE_DIR}/uv/version.h" _uvdb_uv_version_lines
        REGEX "^#define UV_VERSION_(MAJOR|MINOR|PATCH) [0-9]+$")
    foreach(_uvdb_part IN ITEMS MAJOR MINOR PATCH)
        string(REGEX REPLACE ".*#define UV_VERSION_${_uvdb_part} ([0-9]+).*" "\\1"
            _uvdb_uv_${_uvdb_part} "${_uvdb_uv_version_lines}")
    endforeach()
    set(Libuv_VERSION "${_uvdb_uv_MAJOR}.${_uvdb_uv_MINOR}.${_uvdb_uv_PATCH}")
    unset(_uvdb_uv_version_lines)
    unset(_uvdb_part)
endif()
find_package_handle_standard_args(Libuv
    REQUIRED_VARS Libuv_LIBRARY Libuv_INCLUDE_DIR
    VERSION_VAR Libuv_VERSION)
mark_as_advanced(Libuv_INCLUDE_DIR Libuv_LIBRARY)
if(Libuv_FOUND)
    set(Libuv_INCLUDE_DIRS "${Libuv_INCLUDE_DIR}")
    set(Libuv_LIBRARIES "${Libuv_LIBRARY}")
    add_library(libuv::uv UNKNOWN IMPORTED)
    set_target_properties(libuv::uv PROPERTIES
        IMPORTED_LOCATION "${Libuv_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${Libuv_INCLUDE_DIR}")
    find_package(Threads QUIET)
    if(Threads_FOUND)
        set_property(TARGET libuv::uv APPEND PROPERTY INTERFACE_LINK_LIBRARIES Threads::Threads)
    endif()
endif()
