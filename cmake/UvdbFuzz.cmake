# libFuzzer targets (clang only), built when UVDB_FUZZ=ON; scripts/fuzz.sh
# configures build-fuzz/ that way and runs each target for a bounded time.
#
#   uvdb_add_fuzzer(<name> <sources...> [DICT <file>] [WITH_CONFIG])
#
# adds the executable fuzz_<name> from <sources> (which define
# LLVMFuzzerTestOneInput), linked against a copy of uvdb's core compiled with
# -fsanitize=fuzzer-no-link,address,undefined, so that coverage guides the
# fuzzer through uvdb's own code; WITH_CONFIG adds the pool library's
# configuration loader (pool/src/config, pool_options.cpp) and toml++'s
# parser, instrumented the same way. (Not the rest of the pool: it uses
# std::source_location, which Debian 12's clang 14 cannot compile with
# libstdc++ 12.)
# Its seed corpus is corpus/<name>/ next to the calling CMakeLists.txt.
# Fuzzers live beside what they fuzz (core/fuzz, pool/fuzz,
# drivers/postgres/fuzz): adding one is a line in that CMakeLists.txt plus a
# corpus folder. The custom target `uvdb_fuzzers` builds them all, and
# <build>/fuzzers.txt lists "name executable corpus dict" for fuzz.sh.

option(UVDB_FUZZ "Build uvdb's libFuzzer targets (needs clang)" OFF)

if(UVDB_FUZZ AND NOT TARGET uvdb_fuzzers)
    if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
        message(FATAL_ERROR "UVDB_FUZZ needs clang (libFuzzer); configure with -DCMAKE_CXX_COMPILER=clang++")
    endif()
    if(UVDB_SANITIZE)
        message(FATAL_ERROR "UVDB_FUZZ brings its own sanitizers; leave UVDB_SANITIZE empty")
    endif()
    set(UVDB_FUZZ_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
        CACHE INTERNAL "")
    add_custom_target(uvdb_fuzzers)
    file(WRITE ${PROJECT_BINARY_DIR}/fuzzers.txt "")
endif()

function(uvdb_add_fuzzer name)
    if(NOT UVDB_FUZZ)
        return()
    endif()
    cmake_parse_arguments(PARSE_ARGV 1 arg "WITH_CONFIG" "DICT" "")
    set(exe fuzz_${name})
    add_executable(${exe} ${arg_UNPARSED_ARGUMENTS})
    target_compile_options(${exe} PRIVATE -fsanitize=fuzzer ${UVDB_FUZZ_FLAGS})
    target_link_options(${exe} PRIVATE -fsanitize=fuzzer ${UVDB_FUZZ_FLAGS})
    if(NOT TARGET uvdb_fuzz_support)
        _uvdb_make_fuzz_support()
    endif()
    if(arg_WITH_CONFIG)
        if(NOT TARGET uvdb_fuzz_config_support)
            _uvdb_make_fuzz_config_support()
        endif()
        target_link_libraries(${exe} PRIVATE uvdb_fuzz_config_support)
    endif()
    target_link_libraries(${exe} PRIVATE uvdb_fuzz_support)
    add_dependencies(uvdb_fuzzers ${exe})
    set(dict "-")
    if(arg_DICT)
        get_filename_component(dict ${arg_DICT} ABSOLUTE)
    endif()
    file(APPEND ${PROJECT_BINARY_DIR}/fuzzers.txt
        "${name} ${CMAKE_CURRENT_BINARY_DIR}/${exe} ${CMAKE_CURRENT_SOURCE_DIR}/corpus/${name} ${dict}\n")
endfunction()

# One static library with the sources of uvdb_core, built with the fuzzing
# instrumentation.
function(_uvdb_make_fuzz_support)
    set(sources "")
    set(includes "")
    set(links "")
    foreach(lib IN ITEMS uvdb_core)
        get_target_property(dir ${lib} SOURCE_DIR)
        get_target_property(srcs ${lib} SOURCES)
        foreach(s IN LISTS srcs)
            if(NOT IS_ABSOLUTE ${s})
                set(s ${dir}/${s})
            endif()
            list(APPEND sources ${s})
        endforeach()
        get_target_property(incs ${lib} INCLUDE_DIRECTORIES)
        list(APPEND includes ${incs})
        get_target_property(deps ${lib} LINK_LIBRARIES)
        foreach(d IN LISTS deps)
            if(NOT d MATCHES "^(uvdb::|uvdb_|tomlplusplus::)")
                list(APPEND links ${d})
            endif()
        endforeach()
    endforeach()
    add_library(uvdb_fuzz_support STATIC EXCLUDE_FROM_ALL ${sources})
    target_include_directories(uvdb_fuzz_support PUBLIC ${includes})
    target_compile_features(uvdb_fuzz_support PUBLIC cxx_std_20)
    target_compile_options(uvdb_fuzz_support PRIVATE -fsanitize=fuzzer-no-link ${UVDB_FUZZ_FLAGS})
    target_link_libraries(uvdb_fuzz_support PUBLIC ${links})
endfunction()

# The pool's configuration loader and pool_options, instrumented, on top of
# uvdb_fuzz_support. toml++ is compiled in (header-only mode) so its parser
# is instrumented too; the system's libtomlplusplus is not.
function(_uvdb_make_fuzz_config_support)
    if(NOT TARGET uvdb_pool)
        message(FATAL_ERROR "uvdb_add_fuzzer(... WITH_CONFIG) needs the uvdb_pool target defined first")
    endif()
    get_target_property(dir uvdb_pool SOURCE_DIR)
    get_target_property(srcs uvdb_pool SOURCES)
    set(sources "")
    foreach(s IN LISTS srcs)
        if(s MATCHES "^src/config/|^src/pool_options\\.cpp$")
            list(APPEND sources ${dir}/${s})
        endif()
    endforeach()
    add_library(uvdb_fuzz_config_support STATIC EXCLUDE_FROM_ALL ${sources})
    target_include_directories(uvdb_fuzz_config_support PUBLIC ${dir}/include PRIVATE ${dir}/src)
    get_target_property(toml_inc tomlplusplus::tomlplusplus INTERFACE_INCLUDE_DIRECTORIES)
    target_include_directories(uvdb_fuzz_config_support PRIVATE ${toml_inc})
    target_compile_definitions(uvdb_fuzz_config_support PRIVATE TOML_HEADER_ONLY=1)
    target_compile_options(uvdb_fuzz_config_support PRIVATE -fsanitize=fuzzer-no-link ${UVDB_FUZZ_FLAGS})
    target_link_libraries(uvdb_fuzz_config_support PUBLIC uvdb_fuzz_support)
endfunction()
