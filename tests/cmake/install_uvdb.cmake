# The steps the install_consumer and plugin_consumer CTests share: both run
# in script mode (cmake -P), install the built uvdb into a scratch prefix and
# configure projects against it with find_package(uvdb), so they must agree
# on how. Set `test_name` (for messages) before include().
#
# Reads -D: UVDB_BUILD_DIR, PREFIX, and optionally CONFIG, GENERATOR,
# CXX_COMPILER, SANITIZER_FLAGS (uvdb's libraries were built with sanitizers:
# whatever links them must be too).
# Gives: require_vars(<var>...), run(<step> <command>...),
# install_uvdb(<scratch dir>...), and the lists `config_args` (for --build
# and --install) and `configure_args` (to configure a project against PREFIX).

if(NOT test_name)
    message(FATAL_ERROR "set test_name before including install_uvdb.cmake")
endif()

# Fails the test unless each of the named -D variables was given.
function(require_vars)
    foreach(var IN LISTS ARGN)
        if(NOT ${var})
            message(FATAL_ERROR "${test_name}: run.cmake needs -D${var}=...")
        endif()
    endforeach()
endfunction()

# Runs a command; fails the test, naming the step, when it fails.
function(run step)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${test_name}: ${step} failed (${rc})")
    endif()
endfunction()

require_vars(UVDB_BUILD_DIR PREFIX)

set(config_args "")
if(CONFIG)
    set(config_args --config ${CONFIG})
endif()
# No package registry: the test must find the uvdb in PREFIX, not another one.
set(configure_args -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
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
    list(APPEND configure_args "-DCMAKE_CXX_FLAGS=${SANITIZER_FLAGS}"
        "-DCMAKE_EXE_LINKER_FLAGS=${SANITIZER_FLAGS}" "-DCMAKE_MODULE_LINKER_FLAGS=${SANITIZER_FLAGS}")
endif()

# Deletes PREFIX and the given scratch directories left by an earlier run,
# then installs the built uvdb into PREFIX.
function(install_uvdb)
    file(REMOVE_RECURSE ${PREFIX} ${ARGN})
    run(install ${CMAKE_COMMAND} --install ${UVDB_BUILD_DIR} --prefix ${PREFIX} ${config_args})
endfunction()
