# cmake -DSOURCE_DIR=<exporter/src> -P no_prometheus_cpp.cmake
#
# Fails when a file of the product includes a prometheus-cpp header: prometheus-cpp is the
# reference the tests and benchmarks compare TextWriter with (tests/support/), never the
# exporter's. The include roots cannot prove this as they prove the layering: Debian installs
# prometheus-cpp's headers in /usr/include, where the compiler looks whatever a target's
# include directories are, so the source is checked instead.
if(NOT DEFINED SOURCE_DIR OR NOT IS_DIRECTORY "${SOURCE_DIR}")
  message(FATAL_ERROR "no_prometheus_cpp.cmake: -DSOURCE_DIR=<a directory> is missing")
endif()

file(GLOB_RECURSE files "${SOURCE_DIR}/*.h" "${SOURCE_DIR}/*.cpp" "${SOURCE_DIR}/*.in")
list(LENGTH files count)
if(count EQUAL 0)
  message(FATAL_ERROR "no source file under ${SOURCE_DIR}: is it exporter/src?")
endif()

set(found "")
foreach(file IN LISTS files)
  file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]prometheus/")
  file(RELATIVE_PATH name "${SOURCE_DIR}" "${file}")
  foreach(line IN LISTS lines)
    string(APPEND found "  ${name}: ${line}\n")
  endforeach()
endforeach()
if(found)
  message(FATAL_ERROR "prometheus-cpp is for the tests and benchmarks only (tests/support/):\n"
                      "${found}")
endif()
message(STATUS "as expected: none of the ${count} files of ${SOURCE_DIR} includes prometheus-cpp")
