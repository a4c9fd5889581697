# Compiler warnings and sanitizers for uvdb's own targets.
#
#   uvdb_set_warnings(<target>)   warnings for one target (PRIVATE, so they
#                                 never leak into a consumer's build)
#
# UVDB_WARNINGS_AS_ERRORS=ON adds -Werror. UVDB_SANITIZE ("", "address",
# "thread") adds the sanitizer flags to everything built below the
# directory that includes this file; tests and examples included.

function(uvdb_set_warnings target)
    if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
        target_compile_options(${target} PRIVATE
            -Wall -Wextra -Wpedantic
            $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor>
            $<$<BOOL:${UVDB_WARNINGS_AS_ERRORS}>:-Werror>)
    elseif(MSVC)
        target_compile_options(${target} PRIVATE
            /W4 $<$<BOOL:${UVDB_WARNINGS_AS_ERRORS}>:/WX>)
    endif()
endfunction()

if(UVDB_SANITIZE STREQUAL "address")
    set(UVDB_SANITIZER_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
        -fno-sanitize-recover=undefined)
elseif(UVDB_SANITIZE STREQUAL "thread")
    set(UVDB_SANITIZER_FLAGS -fsanitize=thread)
elseif(UVDB_SANITIZE STREQUAL "")
    set(UVDB_SANITIZER_FLAGS "")
else()
    message(FATAL_ERROR "UVDB_SANITIZE must be empty, \"address\" or \"thread\", not \"${UVDB_SANITIZE}\"")
endif()

if(UVDB_SANITIZER_FLAGS)
    if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
        message(FATAL_ERROR "UVDB_SANITIZE needs GCC or Clang")
    endif()
    message(STATUS "uvdb: building with ${UVDB_SANITIZER_FLAGS}")
    add_compile_options(${UVDB_SANITIZER_FLAGS})
    add_link_options(${UVDB_SANITIZER_FLAGS})
endif()
