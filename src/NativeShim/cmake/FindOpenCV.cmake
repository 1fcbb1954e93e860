# Finds the OpenCV modules named as COMPONENTS and sets OpenCV_FOUND, OpenCV_VERSION, OpenCV_LIBS
# (imported targets opencv_<component>) and OpenCV_INCLUDE_DIRS.
#
# Why a find module: Debian ships OpenCVConfig.cmake only in libopencv-dev, which drags in every
# OpenCV module (dnn, videoio, highgui, viz ...). The shim needs three, and their per-module -dev
# packages (libopencv-core-dev, libopencv-imgcodecs-dev, libopencv-imgproc-dev) hold only headers
# and libraries. An OpenCV that does ship its config (OpenCV_DIR, or libopencv-dev installed) wins.

find_package(OpenCV CONFIG QUIET COMPONENTS ${OpenCV_FIND_COMPONENTS})
if(OpenCV_FOUND)
  return()
endif()

find_path(OpenCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4)
if(OpenCV_INCLUDE_DIR AND EXISTS "${OpenCV_INCLUDE_DIR}/opencv2/core/version.hpp")
  file(STRINGS "${OpenCV_INCLUDE_DIR}/opencv2/core/version.hpp" _opencv_version_lines
       REGEX "^#define CV_VERSION_(MAJOR|MINOR|REVISION) +[0-9]+")
  foreach(_part MAJOR MINOR REVISION)
    string(REGEX REPLACE ".*#define CV_VERSION_${_part} +([0-9]+).*" "\\1" _opencv_${_part} "${_opencv_version_lines}")
  endforeach()
  set(OpenCV_VERSION "${_opencv_MAJOR}.${_opencv_MINOR}.${_opencv_REVISION}")
endif()

set(OpenCV_LIBS)
foreach(_component IN LISTS OpenCV_FIND_COMPONENTS)
  find_library(OpenCV_${_component}_LIBRARY opencv_${_component})
  if(OpenCV_INCLUDE_DIR AND OpenCV_${_component}_LIBRARY
     AND EXISTS "${OpenCV_INCLUDE_DIR}/opencv2/${_component}.hpp")
    set(OpenCV_${_component}_FOUND TRUE)
    if(NOT TARGET opencv_${_component})
      add_library(opencv_${_component} UNKNOWN IMPORTED)
      set_target_properties(opencv_${_component} PROPERTIES
        IMPORTED_LOCATION "${OpenCV_${_component}_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${OpenCV_INCLUDE_DIR}")
    endif()
    list(APPEND OpenCV_LIBS opencv_${_component})
  else()
    set(OpenCV_${_component}_FOUND FALSE)
  endif()
endforeach()
set(OpenCV_INCLUDE_DIRS "${OpenCV_INCLUDE_DIR}")

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenCV
  REQUIRED_VARS OpenCV_INCLUDE_DIR
  VERSION_VAR OpenCV_VERSION
  HANDLE_COMPONENTS)
