# The ONE list of addon sources. native/sources.txt is read here (for CMake) and by binding.gyp
# (for node-gyp); test/build-sources.test.ts fails if the two builds ever see different lists.
# Paths in sources.txt are relative to the package root.
get_filename_component(LITEVAULT_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
file(STRINGS "${CMAKE_CURRENT_LIST_DIR}/sources.txt" LITEVAULT_SOURCE_LINES)
set(LITEVAULT_SOURCES "")
foreach(line IN LISTS LITEVAULT_SOURCE_LINES)
  string(STRIP "${line}" line)
  if(line AND NOT line MATCHES "^#")
    list(APPEND LITEVAULT_SOURCES "${LITEVAULT_ROOT}/${line}")
  endif()
endforeach()
# Re-run CMake when the list changes, so an added file is never silently left out of the build.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/sources.txt")
