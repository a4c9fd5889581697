# CTest plugin_consumer: install the built uvdb into PREFIX; build the
# out-of-tree example plugin (examples/plugin_driver) and the program in this
# folder against it with find_package(uvdb); run the program, which loads
# the plugin through UVDB_DRIVER_PATH and by path, and the installed
# PostgreSQL plugin by path.
#
# cmake -DUVDB_BUILD_DIR=... -DPLUGIN_SOURCE_DIR=... -DCONSUMER_SOURCE_DIR=...
#       -DPREFIX=... -DWORK_DIR=... [-DCONFIG=...] [-DGENERATOR=...]
#       [-DCXX_COMPILER=...] [-DSANITIZER_FLAGS=...] -P run.cmake

set(test_name plugin_consumer)
include(${CMAKE_CURRENT_LIST_DIR}/../cmake/install_uvdb.cmake)
require_vars(PLUGIN_SOURCE_DIR CONSUMER_SOURCE_DIR WORK_DIR)

set(plugin_build ${WORK_DIR}/plugin-build)
set(consumer_build ${WORK_DIR}/consumer-build)
install_uvdb(${WORK_DIR})
run("configure the example plugin" ${CMAKE_COMMAND} -S ${PLUGIN_SOURCE_DIR} -B ${plugin_build} ${configure_args})
run("build the example plugin" ${CMAKE_COMMAND} --build ${plugin_build} ${config_args})
run("configure the consumer" ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${consumer_build} ${configure_args})
run("build the consumer" ${CMAKE_COMMAND} --build ${consumer_build} ${config_args})

file(GLOB_RECURSE kv_plugin ${plugin_build}/libuvdb-kv.so)
file(GLOB_RECURSE pg_plugin ${PREFIX}/libuvdb-postgres.so)
file(GLOB_RECURSE exe ${consumer_build}/uvdb_plugin_consumer)
foreach(var IN ITEMS kv_plugin pg_plugin exe)
    list(LENGTH ${var} n)
    if(NOT n EQUAL 1)
        message(FATAL_ERROR "plugin_consumer: expected one ${var}, found: '${${var}}'")
    endif()
endforeach()
get_filename_component(kv_dir ${kv_plugin} DIRECTORY)
run(run ${CMAKE_COMMAND} -E env UVDB_DRIVER_PATH=${kv_dir} ${exe} ${kv_plugin} ${pg_plugin})

message(STATUS "plugin_consumer: example plugin built against the installed uvdb and loaded at run time")
