# CTest install_consumer: install the built uvdb into PREFIX, then configure,
# build and run the program in this folder against it with find_package(uvdb).
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
message(STATUS "install_consumer: uvdb installed, found, built against and run")
