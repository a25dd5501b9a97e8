# cmake -DCXX=... -DINCLUDE_DIRS=a|b -DSOURCE_DIR=... -DALLOWED=<header> -DFORBIDDEN=<header>
#       -DWORK_DIR=... -P wrong_include.cmake
#
# Compiles a one-line file including ALLOWED, then one including FORBIDDEN, with a layer's
# include directories: the first must compile, the second must fail because the header is
# not found (not for any other reason), though it exists in the source tree.
foreach(var CXX INCLUDE_DIRS SOURCE_DIR ALLOWED FORBIDDEN WORK_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "wrong_include.cmake: -D${var}=... is missing")
  endif()
endforeach()
if(NOT EXISTS "${SOURCE_DIR}/${FORBIDDEN}")
  message(FATAL_ERROR "${FORBIDDEN} is not in ${SOURCE_DIR}: pick a header that exists")
endif()

string(REPLACE "|" ";" dirs "${INCLUDE_DIRS}")
set(flags -std=c++20 -fsyntax-only)
foreach(dir IN LISTS dirs)
  list(APPEND flags "-I${dir}")
endforeach()

# Sets <prefix>_rc and <prefix>_err to the compiler's exit code and diagnostics.
function(compile_including header prefix)
  string(MAKE_C_IDENTIFIER "${header}" name)
  set(file "${WORK_DIR}/${name}.cpp")
  file(WRITE "${file}" "#include \"${header}\"\n")
  execute_process(COMMAND ${CXX} ${flags} "${file}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(${prefix}_rc "${rc}" PARENT_SCOPE)
  set(${prefix}_err "${out}${err}" PARENT_SCOPE)
endfunction()

compile_including("${ALLOWED}" allowed)
if(NOT allowed_rc EQUAL 0)
  message(FATAL_ERROR "#include \"${ALLOWED}\" should compile but did not:\n${allowed_err}")
endif()

compile_including("${FORBIDDEN}" forbidden)
if(forbidden_rc EQUAL 0)
  message(FATAL_ERROR "#include \"${FORBIDDEN}\" compiled: the layer can see it")
endif()
# GCC: "pg/query.h: No such file or directory"; clang: "'pg/query.h' file not found".
string(REGEX MATCH "[^\n]*(${FORBIDDEN}: No such file or directory|'${FORBIDDEN}' file not found)[^\n]*"
       line "${forbidden_err}")
if(NOT line)
  message(FATAL_ERROR "#include \"${FORBIDDEN}\" failed, but not for a missing file:\n"
                      "${forbidden_err}")
endif()
message(STATUS "as expected: ${line}")
