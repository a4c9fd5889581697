# The layering rule, checked by reading #include lines (run with cmake -P):
#
#   core/      includes no pool header (<uvdb/pool*.hpp>, lease, coro, config,
#              the umbrella <uvdb/uvdb.hpp>, the timer seam) and no driver
#              header (<uvdb/postgres/…>, <uvdb/sqlite/…>, libpq-fe.h,
#              sqlite3.h, a driver's private "pg_*.hpp" / "sqlite_*.hpp");
#   drivers/X/ includes no pool header and no other driver's header.
#
#   cmake -DROOT=<source dir> -P check_layering.cmake
#
# Fails (FATAL_ERROR) listing every offending file:line. That it can fail is
# itself a test: ctest layering_check_catches runs it on fixtures/bad/, a
# tree with one bad include of each kind, and expects each to be named.
# (Also tried by hand: adding `#include <uvdb/pool.hpp>` to
# core/src/error.cpp made `ctest -R '^layering$'` fail naming that line.)

if(NOT ROOT)
    message(FATAL_ERROR "usage: cmake -DROOT=<uvdb source dir> -P check_layering.cmake")
endif()

set(pool_headers "uvdb/pool[a-z_]*\\.hpp|uvdb/lease\\.hpp|uvdb/coro\\.hpp|uvdb/config\\.hpp|uvdb/uvdb\\.hpp|uvdb/detail/timer_source\\.hpp|timer_source\\.hpp|pool_core\\.hpp|config/config_[a-z_]*\\.hpp")
set(pg_headers "uvdb/postgres/[^>\"]*|libpq-fe\\.h|libpq-int\\.h|pg_[a-z_]*\\.hpp")
set(sqlite_headers "uvdb/sqlite/[^>\"]*|sqlite3\\.h|sqlite_[a-z_]*\\.hpp")

set(violations "")

# check(<folder> <rule name> <forbidden regex>)
function(check folder rule forbidden)
    if(NOT IS_DIRECTORY ${ROOT}/${folder})
        return()
    endif()
    file(GLOB_RECURSE files LIST_DIRECTORIES false
        ${ROOT}/${folder}/*.hpp ${ROOT}/${folder}/*.cpp ${ROOT}/${folder}/*.h
        ${ROOT}/${folder}/*.inc ${ROOT}/${folder}/*.in)
    foreach(f IN LISTS files)
        file(STRINGS ${f} lines REGEX "^[ \t]*#[ \t]*include")
        foreach(line IN LISTS lines)
            if(line MATCHES "#[ \t]*include[ \t]*[<\"](${forbidden})[>\"]")
                file(RELATIVE_PATH rel ${ROOT} ${f})
                list(APPEND violations "${rel}: ${rule}: ${line}")
            endif()
        endforeach()
    endforeach()
    set(violations "${violations}" PARENT_SCOPE)
endfunction()

check(core "core includes the pool" "${pool_headers}")
check(core "core includes a driver" "${pg_headers}|${sqlite_headers}")
check(drivers/postgres "a driver includes the pool" "${pool_headers}")
check(drivers/postgres "a driver includes another driver" "${sqlite_headers}")
check(drivers/sqlite "a driver includes the pool" "${pool_headers}")
check(drivers/sqlite "a driver includes another driver" "${pg_headers}")

if(violations)
    list(JOIN violations "\n  " text)
    message(FATAL_ERROR "layering violation(s):\n  ${text}\n"
        "core must not know the pool or a backend, and a driver must not know the pool or another driver.")
endif()
message(STATUS "layering: core names no pool and no driver; no driver names the pool or another driver")
