# CTest script for the uvdb-config tool (registered in examples/CMakeLists.txt):
#   cmake -DTOOL=<uvdb-config> -DEXAMPLE=<examples/uvdb.toml> -DBAD=<bad.toml> -P this-file
# The example file must be valid and print its sources; a bad file or value
# must make the tool exit 1 with the loader's messages; no password is printed.

foreach(var DATABASE_URL DB_POOL_SIZE DB_MAX_OVERFLOW DB_POOL_RECYCLE DB_POOL_PRE_PING
            DB_POOL_TIMEOUT UVDB_CONFIG UVDB_PRESET UVDB_LOG_LEVEL)
    unset(ENV{${var}})
endforeach()
set(ENV{APP_DB_PASSWORD} "example-S3cret")

function(run expected_rc)
    execute_process(COMMAND ${TOOL} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL expected_rc)
        message(FATAL_ERROR "uvdb-config ${ARGN}: exit ${rc}, expected ${expected_rc}\n${out}\n${err}")
    endif()
    if("${out}${err}" MATCHES "example-S3cret")
        message(FATAL_ERROR "uvdb-config ${ARGN} printed the password:\n${out}\n${err}")
    endif()
    set(out "${out}" PARENT_SCOPE)
    set(err "${err}" PARENT_SCOPE)
endfunction()

function(expect text pattern)
    if(NOT text MATCHES "${pattern}")
        message(FATAL_ERROR "expected to match: ${pattern}\ngot:\n${text}")
    endif()
endfunction()

run(0 --file ${EXAMPLE})
expect("${out}" "password_env = \"APP_DB_PASSWORD\" +# file [^\n]*uvdb.toml:25:1")
expect("${out}" "size = 20 +# file [^\n]*uvdb.toml:[0-9]+:1")
expect("${out}" "min_idle = 0 +# default")
expect("${out}" "database_engine_configured pool_size=20 max_overflow=40 pool_recycle=3600 pool_pre_ping=true pool_timeout=30 total_connections=60")

set(ENV{DB_POOL_SIZE} "8")
run(0 --file ${EXAMPLE})
expect("${out}" "size = 8 +# environment DB_POOL_SIZE")

run(1 --file ${BAD})
expect("${err}" "uvdb-config: [^\n]*bad.toml:4:1: \\[pool\\] unknown key \"sise\"; did you mean \"size\"\\?\n")
expect("${err}" "uvdb-config: [^\n]*bad.toml:5:11: \\[pool\\] recycle: expected a duration")

set(ENV{DB_POOL_SIZE} "abc")
run(1 --file ${EXAMPLE})
expect("${err}" "uvdb-config: environment DB_POOL_SIZE=\"abc\": expected a whole number")

set(ENV{DB_POOL_SIZE} "")
run(0 --file ${EXAMPLE} --preset aws-rds)
expect("${out}" "preset = \"aws-rds\" +# code")
expect("${out}" "keepalives_idle = \"60\" +# preset aws-rds")
run(1 --file ${EXAMPLE} --no-env --quiet)
expect("${err}" "password_env: APP_DB_PASSWORD is not set or empty")
run(2 --bogus)
