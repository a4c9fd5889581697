# CTest install_consumer: install the built uvdb into PREFIX, then configure,
# build and run the program in this folder against it with find_package(uvdb).
#
# cmake -DUVDB_BUILD_DIR=... -DCONSUMER_SOURCE_DIR=... -DPREFIX=...
#       -DCONSUMER_BUILD_DIR=... [-DCONFIG=...] [-DGENERATOR=...]
#       [-DCXX_COMPILER=...] [-DSANITIZER_FLAGS=...] -P run.cmake

foreach(var IN ITEMS UVDB_BUILD_DIR CONSUMER_SOURCE_DIR PREFIX CONSUMER_BUILD_DIR)
    if(NOT ${var})
        message(FATAL_ERROR "run.cmake needs -D${var}=...")
    endif()
endforeach()

function(run step)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "install_consumer: ${step} failed (${rc})")
    endif()
endfunction()

set(config_args "")
if(CONFIG)
    set(config_args --config ${CONFIG})
endif()
set(configure_args -DCMAKE_PREFIX_PATH=${PREFIX} -DUVDB_EXPECTED_PREFIX=${PREFIX}
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(GENERATOR)
    list(APPEND configure_args -G ${GENERATOR})
endif()
if(CXX_COMPILER)
    list(APPEND configure_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()
if(CONFIG)
    list(APPEND configure_args -DCMAKE_BUILD_TYPE=${CONFIG})
endif()
if(SANITIZER_FLAGS)
    # uvdb's libraries were built with sanitizers: the program must link them too.
    list(APPEND configure_args "-DCMAKE_CXX_FLAGS=${SANITIZER_FLAGS}"
        "-DCMAKE_EXE_LINKER_FLAGS=${SANITIZER_FLAGS}")
endif()

file(REMOVE_RECURSE ${PREFIX} ${CONSUMER_BUILD_DIR})
run(install ${CMAKE_COMMAND} --install ${UVDB_BUILD_DIR} --prefix ${PREFIX} ${config_args})
run(configure ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${CONSUMER_BUILD_DIR} ${configure_args})
run(build ${CMAKE_COMMAND} --build ${CONSUMER_BUILD_DIR} ${config_args})

set(exe ${CONSUMER_BUILD_DIR}/uvdb_install_consumer)
if(CONFIG AND EXISTS ${CONSUMER_BUILD_DIR}/${CONFIG}/uvdb_install_consumer)
    set(exe ${CONSUMER_BUILD_DIR}/${CONFIG}/uvdb_install_consumer)  # multi-config generators
endif()
run(run ${exe})
message(STATUS "install_consumer: uvdb installed, found, built against and run")
