# CTest install_consumer: install the built uvdb into PREFIX, then configure,
# build and run the program in this folder against it with find_package(uvdb);
# check that the installed uvdb-config and uvdb-bench run; build
# pkgconfig_main.cpp with make and the installed pkg-config files, and run it.
#
# cmake -DUVDB_BUILD_DIR=... -DCONSUMER_SOURCE_DIR=... -DPREFIX=...
#       -DCONSUMER_BUILD_DIR=... [-DCONFIG=...] [-DGENERATOR=...]
#       [-DCXX_COMPILER=...] [-DSANITIZER_FLAGS=...] -P run.cmake

set(test_name install_consumer)
include(${CMAKE_CURRENT_LIST_DIR}/../cmake/install_uvdb.cmake)
require_vars(CONSUMER_SOURCE_DIR CONSUMER_BUILD_DIR)
# The consumer checks that find_package(uvdb) found this prefix.
list(APPEND configure_args -DUVDB_EXPECTED_PREFIX=${PREFIX})

install_uvdb(${CONSUMER_BUILD_DIR})
run(configure ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${CONSUMER_BUILD_DIR} ${configure_args})
run(build ${CMAKE_COMMAND} --build ${CONSUMER_BUILD_DIR} ${config_args})

set(exe ${CONSUMER_BUILD_DIR}/uvdb_install_consumer)
if(CONFIG AND EXISTS ${CONSUMER_BUILD_DIR}/${CONFIG}/uvdb_install_consumer)
    set(exe ${CONSUMER_BUILD_DIR}/${CONFIG}/uvdb_install_consumer)  # multi-config generators
endif()
run(run ${exe})

# The programs are installed too (when the examples were built), and run from
# the prefix (their RPATH finds the installed libuvdb_core.so).
load_cache(${UVDB_BUILD_DIR} READ_WITH_PREFIX built_ UVDB_BUILD_EXAMPLES)
set(programs "")
if(built_UVDB_BUILD_EXAMPLES)
    set(programs uvdb-config uvdb-bench)
endif()
foreach(program IN LISTS programs)
    set(path ${PREFIX}/bin/${program})
    if(NOT EXISTS ${path})
        message(FATAL_ERROR "${test_name}: ${program} was not installed into ${PREFIX}/bin")
    endif()
    execute_process(COMMAND ${path} --help RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0 OR NOT out MATCHES "usage")
        message(FATAL_ERROR "${test_name}: ${program} --help failed (${rc}): ${out}${err}")
    endif()
endforeach()

# Without CMake: plain make and the installed pkg-config files.
find_program(PKG_CONFIG_EXE pkg-config)
find_program(MAKE_EXE make)
if(NOT PKG_CONFIG_EXE OR NOT MAKE_EXE)
    message(FATAL_ERROR "${test_name}: needs pkg-config and make (apt-get install pkgconf make)")
endif()
file(GLOB pc_dirs ${PREFIX}/lib*/pkgconfig ${PREFIX}/lib/*/pkgconfig)
list(LENGTH pc_dirs pc_dir_count)
if(NOT pc_dir_count EQUAL 1)
    message(FATAL_ERROR "${test_name}: expected one pkgconfig directory under ${PREFIX}, found: ${pc_dirs}")
endif()
cmake_path(GET pc_dirs PARENT_PATH lib_dir)
set(ENV{PKG_CONFIG_PATH} ${pc_dirs})
run(pkg-config ${PKG_CONFIG_EXE} --exists --print-errors uvdb-core uvdb-pool uvdb-postgres)
set(make_dir ${CONSUMER_BUILD_DIR}/make)
file(MAKE_DIRECTORY ${make_dir})
set(make_args OUT=${make_dir} "SANITIZER_FLAGS=${SANITIZER_FLAGS}")
if(CXX_COMPILER)
    list(APPEND make_args CXX=${CXX_COMPILER})
endif()
run(make ${MAKE_EXE} -C ${CONSUMER_SOURCE_DIR} ${make_args})
# The .pc files name no run path, as usual: the loader is told where uvdb is.
run(run-pkgconfig ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${lib_dir} ${make_dir}/uvdb_pkgconfig_consumer)
message(STATUS "install_consumer: uvdb installed, found, built against (CMake and pkg-config + make) and run; "
               "uvdb-config and uvdb-bench installed and run")
