# pkg-config files for the installed libraries:
#
#   uvdb_install_pkgconfig(<target> <module name> <description>)
#
# writes <module name>.pc into <libdir>/pkgconfig. Its Requires and Libs are
# read from the target's link dependencies when the whole project has been
# configured (call it after every add_subdirectory), so moving a dependency
# from one library to another moves it in the .pc files too. Each CMake
# dependency maps to a pkg-config module (uvdb_pkgconfig_module below) or to
# a linker flag; one that maps to neither stops the configure, because a .pc
# file that forgets a library only fails on the user's machine.
#
# Placement: a public dependency goes to Requires (Libs for a flag). A private
# one goes to Requires.private (Libs.private) when the library is shared: its
# users never link that dependency themselves. A static archive's users must
# link its private dependencies too, and `pkg-config --libs` without --static
# reads only Requires and Libs, so for a static library they go there.
#
# The files are relocatable (${pcfiledir}), so `cmake --install --prefix`
# anywhere gives working files. uvdb's headers need C++20: users compile with
# -std=c++20 (or later), which the files do not force on them.

# The pkg-config module of a CMake dependency into `out_module`, or its linker
# flag into `out_flag`; both empty when it needs nothing of its own.
function(uvdb_pkgconfig_module dep out_module out_flag)
    set(module "")
    set(flag "")
    if(dep MATCHES "^uvdb::(.+)$")
        set(module "uvdb-${CMAKE_MATCH_1} = ${PROJECT_VERSION}")
    elseif(dep MATCHES "^uvdb_(.+)$")
        set(module "uvdb-${CMAKE_MATCH_1} = ${PROJECT_VERSION}")
    elseif(dep STREQUAL "libuv::uv")
        set(module libuv)
    elseif(dep STREQUAL "spdlog::spdlog")
        set(module spdlog)
    elseif(dep STREQUAL "tomlplusplus::tomlplusplus")
        set(module tomlplusplus)
    elseif(dep STREQUAL "PQ::libpq" OR dep STREQUAL "PostgreSQL::PostgreSQL")
        set(module libpq)
    elseif(dep STREQUAL "SQLite::SQLite3")
        set(module sqlite3)
    elseif(dep STREQUAL "OpenSSL::SSL")
        set(module libssl)
    elseif(dep STREQUAL "OpenSSL::Crypto")
        set(module libcrypto)
    elseif(dep STREQUAL "Threads::Threads")
        set(flag -pthread)
    elseif(dep MATCHES "^-")
        set(flag ${dep})
    elseif(dep MATCHES "^[A-Za-z0-9_]+$" AND NOT TARGET ${dep})
        set(flag -l${dep})  # a system library by name (dl)
    else()
        message(FATAL_ERROR "uvdb_install_pkgconfig: no pkg-config module known for ${dep}; "
                            "add it to uvdb_pkgconfig_module() in cmake/UvdbPkgConfig.cmake")
    endif()
    set(${out_module} "${module}" PARENT_SCOPE)
    set(${out_flag} "${flag}" PARENT_SCOPE)
endfunction()

function(uvdb_install_pkgconfig target pc_name pc_description)
    get_target_property(type ${target} TYPE)
    get_target_property(all_deps ${target} LINK_LIBRARIES)
    get_target_property(interface_deps ${target} INTERFACE_LINK_LIBRARIES)
    if(NOT all_deps)
        set(all_deps "")
    endif()
    if(NOT interface_deps)
        set(interface_deps "")
    endif()
    # Public: named by the interface as such; a static library's private
    # dependencies appear there too, wrapped in $<LINK_ONLY:…>.
    set(public "")
    foreach(dep IN LISTS interface_deps)
        if(NOT dep MATCHES "^\\$<LINK_ONLY:")
            list(APPEND public ${dep})
        endif()
    endforeach()

    set(pc_requires "")
    set(pc_requires_private "")
    set(pc_libs "")
    set(pc_libs_private "")
    foreach(dep IN LISTS all_deps)
        uvdb_pkgconfig_module("${dep}" module flag)
        if(dep IN_LIST public OR NOT type STREQUAL "SHARED_LIBRARY")
            list(APPEND pc_requires ${module})
            list(APPEND pc_libs ${flag})
        else()
            list(APPEND pc_requires_private ${module})
            list(APPEND pc_libs_private ${flag})
        endif()
    endforeach()
    foreach(var IN ITEMS pc_requires pc_requires_private pc_libs pc_libs_private)
        list(REMOVE_DUPLICATES ${var})
    endforeach()
    list(JOIN pc_requires ", " pc_requires)
    list(JOIN pc_requires_private ", " pc_requires_private)
    get_target_property(pc_lib ${target} OUTPUT_NAME)
    if(NOT pc_lib)
        set(pc_lib ${target})
    endif()
    list(PREPEND pc_libs "-L\${libdir}" -l${pc_lib})
    list(JOIN pc_libs " " pc_libs)
    list(JOIN pc_libs_private " " pc_libs_private)

    # From <prefix>/<libdir>/pkgconfig back up to <prefix>.
    set(pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
    file(RELATIVE_PATH pc_to_prefix /root/${pc_dir} /root)
    string(REGEX REPLACE "/$" "" pc_to_prefix "${pc_to_prefix}")
    set(pc_target ${target})

    configure_file(${PROJECT_SOURCE_DIR}/cmake/uvdb.pc.in
        ${PROJECT_BINARY_DIR}/pkgconfig/${pc_name}.pc @ONLY)
    install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${pc_name}.pc DESTINATION ${pc_dir})
endfunction()
