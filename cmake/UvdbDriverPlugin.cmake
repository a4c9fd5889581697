# A built-in driver also built as a plugin:
#
#   uvdb_add_driver_plugin(<target> <static driver target> <output name> <source>)
#
# makes lib<output name>.so, a MODULE holding the static driver behind the
# entry point <source> defines (UVDB_DEFINE_DRIVER_PLUGIN), loaded at run time
# with driver_registry::load_plugin() or from UVDB_DRIVER_PATH.
# --exclude-libs hides the static driver's symbols, so only the entry point is
# exported (a program that also links the driver keeps its own copy). uvdb
# core is not inside: a plugin must use the program's libuvdb_core.so, so this
# does nothing unless UVDB_SHARED_CORE is on. Built into <build>/lib/uvdb/drivers
# and installed into <prefix>/lib/uvdb/drivers.
function(uvdb_add_driver_plugin target driver output_name source)
    if(NOT UVDB_SHARED_CORE)
        return()
    endif()
    add_library(${target} MODULE ${source})
    target_link_libraries(${target} PRIVATE ${driver} uvdb::core)
    target_link_options(${target} PRIVATE -Wl,--exclude-libs,ALL)
    set_target_properties(${target} PROPERTIES
        PREFIX "lib"
        OUTPUT_NAME ${output_name}
        CXX_VISIBILITY_PRESET hidden
        VISIBILITY_INLINES_HIDDEN ON
        LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/lib/uvdb/drivers)
    uvdb_set_warnings(${target})
    install(TARGETS ${target}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/uvdb/drivers)
endfunction()
