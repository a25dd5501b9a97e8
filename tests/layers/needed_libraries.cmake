# afp_exporter links none of OpenSSL, yaml-cpp and libcrypt: they are the module's
# (afp_web_security.so), loaded only for --web.config.file. Reads the NEEDED entries of both,
# so the check cannot pass for a module that stopped needing them either.
#
#   cmake -DREADELF=... -DEXPORTER=<binary> -DMODULE=<afp_web_security.so> -P needed_libraries.cmake
set(module_only libssl libcrypto libyaml-cpp libcrypt)

function(needed_of file out)
  execute_process(COMMAND ${READELF} -d ${file} OUTPUT_VARIABLE dynamic RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "readelf -d ${file} failed")
  endif()
  string(REGEX MATCHALL "\\(NEEDED\\)[^[]*\\[[^]]+\\]" entries "${dynamic}")
  set(names "")
  foreach(entry IN LISTS entries)
    string(REGEX REPLACE ".*\\[([^]]+)\\]" "\\1" name "${entry}")
    list(APPEND names ${name})
  endforeach()
  set(${out} ${names} PARENT_SCOPE)
endfunction()

needed_of(${EXPORTER} exporter_needs)
needed_of(${MODULE} module_needs)
foreach(library IN LISTS module_only)
  foreach(name IN LISTS exporter_needs)
    if(name MATCHES "^${library}\\.so")
      message(FATAL_ERROR "afp_exporter links ${name}: only afp_web_security.so may")
    endif()
  endforeach()
  string(REGEX MATCH "${library}\\.so[^;]*" found "${module_needs}")
  if(NOT found)
    message(FATAL_ERROR "afp_web_security.so does not link ${library}: ${module_needs}")
  endif()
endforeach()
message(STATUS "afp_exporter needs: ${exporter_needs}")
