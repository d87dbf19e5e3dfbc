# Cortex-M firmware and QEMU tests inside tinyq's host build.
#
# include(cmake/CortexM.cmake) from the top-level CMakeLists.txt provides:
#
#   tinyq_qemu_insn_count   host MODULE library: the QEMU instruction-count plugin, built to
#                           ${CMAKE_BINARY_DIR}/targets/libinsn_count.so (TINYQ_INSN_COUNT_PLUGIN)
#   tinyq_add_firmware(NAME TARGET <cortex-m4|cortex-m7|cortex-m55>
#                      SOURCES ... [INCLUDES ...] [DEFINES ...] [OPTIONS ...]
#                      [LINK_OPTIONS ...] [RUNTIME] [OPT_LEVEL -O3])
#       builds ${CMAKE_CURRENT_BINARY_DIR}/NAME.elf with arm-none-eabi-g++ through custom
#       commands (the host toolchain stays the project's toolchain) and a target NAME (ALL).
#       The startup code and tinyq_marker() are always linked in; RUNTIME adds the int8
#       runtime (runtime/src/*.cpp, runtime/include).
#   tinyq_add_qemu_test(NAME FIRMWARE <firmware NAME> [EXPECT_EXIT_CODE n] [TIMEOUT s]
#                       [LABELS ...] [ELF_NAME file.elf])
#       a ctest that runs the firmware on QEMU (targets/cortex-m/run-qemu.sh) and passes
#       when it exits with EXPECT_EXIT_CODE (default 0). Label "mcu". ELF_NAME runs it through
#       a symbolic link of that name beside the firmware: QEMU passes the -kernel file name as
#       the semihosting command line, so one firmware can run differently per test.
#
# Both functions do nothing (one message at configure time) when arm-none-eabi-g++ or
# qemu-system-arm is missing, or when TINYQ_CORTEX_M is OFF. TINYQ_CORTEX_M_FOUND says
# whether firmware is built; TINYQ_CORTEX_M_DIR is targets/cortex-m.

get_filename_component(TINYQ_CORTEX_M_DIR "${CMAKE_CURRENT_LIST_DIR}/../targets/cortex-m" ABSOLUTE)
get_filename_component(_tinyq_source_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

option(TINYQ_CORTEX_M "Build Cortex-M firmware and QEMU tests (needs arm-none-eabi-g++, qemu-system-arm)" ON)

# ---- the instruction-count plugin (host code, loaded by qemu-system-arm) ----
add_library(tinyq_qemu_insn_count MODULE ${TINYQ_CORTEX_M_DIR}/qemu-plugin/insn_count.c)
set_target_properties(tinyq_qemu_insn_count PROPERTIES
  OUTPUT_NAME insn_count
  PREFIX lib
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/targets
  C_STANDARD 11
  C_STANDARD_REQUIRED ON
  C_VISIBILITY_PRESET hidden)
# QEMU is not built with sanitizers: a plugin that needs the ASan/UBSan/libFuzzer runtime
# cannot be dlopen()ed by it. Drop those flags that TINYQ_SANITIZE / TINYQ_FUZZ put on every
# target of the directory.
foreach(_prop COMPILE_OPTIONS LINK_OPTIONS)
  get_target_property(_opts tinyq_qemu_insn_count ${_prop})
  if(_opts)
    list(FILTER _opts EXCLUDE REGEX "^-fsanitize|^-fno-sanitize")
    set_target_properties(tinyq_qemu_insn_count PROPERTIES ${_prop} "${_opts}")
  endif()
endforeach()
set(TINYQ_INSN_COUNT_PLUGIN ${CMAKE_BINARY_DIR}/targets/libinsn_count${CMAKE_SHARED_MODULE_SUFFIX})

# ---- cross toolchain ----
find_program(TINYQ_ARM_GCC arm-none-eabi-gcc)
find_program(TINYQ_ARM_GXX arm-none-eabi-g++)
find_program(TINYQ_QEMU_SYSTEM_ARM qemu-system-arm)
set(TINYQ_CORTEX_M_FOUND FALSE)
if(NOT TINYQ_CORTEX_M)
  message(STATUS "tinyq: Cortex-M firmware and QEMU tests disabled (TINYQ_CORTEX_M=OFF)")
elseif(NOT TINYQ_ARM_GCC OR NOT TINYQ_ARM_GXX OR NOT TINYQ_QEMU_SYSTEM_ARM)
  message(STATUS "tinyq: Cortex-M firmware and QEMU tests skipped: arm-none-eabi-gcc/g++ or qemu-system-arm "
                 "not found (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
                 "libstdc++-arm-none-eabi-newlib qemu-system-arm)")
else()
  set(TINYQ_CORTEX_M_FOUND TRUE)
endif()

# Per core: compiler flags and the QEMU machine whose linker script is used.
set(_tinyq_cpu_flags_cortex-m4 -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16 -mthumb)
set(_tinyq_cpu_flags_cortex-m7 -mcpu=cortex-m7 -mfloat-abi=hard -mfpu=fpv5-d16 -mthumb)
set(_tinyq_cpu_flags_cortex-m55 -mcpu=cortex-m55 -mfloat-abi=hard -mthumb)
set(_tinyq_machine_cortex-m4 mps2-an386)
set(_tinyq_machine_cortex-m7 mps2-an500)
set(_tinyq_machine_cortex-m55 mps3-an547)

# _tinyq_arm_object(<out var> <source> <object dir> <flags...>): one compile custom command
# with a depfile, so header edits rebuild the object.
function(_tinyq_arm_object out_var src obj_dir)
  get_filename_component(src "${src}" ABSOLUTE)
  get_filename_component(name "${src}" NAME)
  # Objects are named after the source path relative to the tree, so two sources with the
  # same file name (e.g. two main.cpp) never collide.
  file(RELATIVE_PATH rel "${_tinyq_source_root}" "${src}")
  string(REGEX REPLACE "[/.]" "_" rel "${rel}")
  set(obj "${obj_dir}/${rel}.o")
  if(src MATCHES "\\.c$")
    set(compiler ${TINYQ_ARM_GCC})
    set(lang_flags -std=c11)
  else()
    set(compiler ${TINYQ_ARM_GXX})
    set(lang_flags -std=c++17 -fno-exceptions -fno-rtti -fno-threadsafe-statics)
  endif()
  add_custom_command(
    OUTPUT "${obj}"
    COMMAND ${compiler} ${lang_flags} ${ARGN} -MMD -MP -MF "${obj}.d" -c "${src}" -o "${obj}"
    DEPENDS "${src}"
    DEPFILE "${obj}.d"
    COMMENT "arm-none-eabi: ${name}"
    VERBATIM COMMAND_EXPAND_LISTS)
  set(${out_var} "${obj}" PARENT_SCOPE)
endfunction()

function(tinyq_add_firmware name)
  cmake_parse_arguments(F "RUNTIME" "TARGET;OPT_LEVEL" "SOURCES;INCLUDES;DEFINES;OPTIONS;LINK_OPTIONS" ${ARGN})
  if(NOT TINYQ_CORTEX_M_FOUND)
    return()
  endif()
  if(NOT F_TARGET OR NOT DEFINED _tinyq_machine_${F_TARGET})
    message(FATAL_ERROR "tinyq_add_firmware(${name}): TARGET must be cortex-m4, cortex-m7 or cortex-m55")
  endif()
  if(NOT F_SOURCES)
    message(FATAL_ERROR "tinyq_add_firmware(${name}): no SOURCES")
  endif()
  if(NOT F_OPT_LEVEL)
    set(F_OPT_LEVEL -O3)
  endif()
  set(cpu_flags ${_tinyq_cpu_flags_${F_TARGET}})
  set(machine ${_tinyq_machine_${F_TARGET}})
  set(obj_dir "${CMAKE_CURRENT_BINARY_DIR}/${name}.dir")
  file(MAKE_DIRECTORY "${obj_dir}")

  set(includes "-I${TINYQ_CORTEX_M_DIR}" "-I${_tinyq_source_root}/runtime/include")
  foreach(dir IN LISTS F_INCLUDES)
    get_filename_component(dir "${dir}" ABSOLUTE)
    list(APPEND includes "-I${dir}")
  endforeach()
  set(defines)
  foreach(def IN LISTS F_DEFINES)
    list(APPEND defines "-D${def}")
  endforeach()
  # -g changes no code; it makes the .elf debuggable (qemu -s + arm-none-eabi-gdb).
  set(flags ${cpu_flags} ${F_OPT_LEVEL} -g -ffunction-sections -fdata-sections -Wall -Wextra ${includes} ${defines}
            ${F_OPTIONS})

  set(objects)
  foreach(src IN LISTS F_SOURCES ITEMS ${TINYQ_CORTEX_M_DIR}/startup.c ${TINYQ_CORTEX_M_DIR}/marker.c)
    _tinyq_arm_object(obj "${src}" "${obj_dir}" ${flags})
    list(APPEND objects "${obj}")
  endforeach()
  if(F_RUNTIME)
    # The runtime is freestanding C++17, as in the host build (docs/DESIGN.md: one kernel source).
    file(GLOB runtime_sources CONFIGURE_DEPENDS ${_tinyq_source_root}/runtime/src/*.cpp)
    foreach(src IN LISTS runtime_sources)
      _tinyq_arm_object(obj "${src}" "${obj_dir}" ${flags} -ffreestanding -Wconversion -Wshadow)
      list(APPEND objects "${obj}")
    endforeach()
  endif()

  set(elf "${CMAKE_CURRENT_BINARY_DIR}/${name}.elf")
  # -nostartfiles: newlib's rdimon crt0 crashes on these machines; startup.c replaces it.
  add_custom_command(
    OUTPUT "${elf}"
    COMMAND ${TINYQ_ARM_GXX} ${cpu_flags} -nostartfiles --specs=rdimon.specs
            "-T${TINYQ_CORTEX_M_DIR}/${machine}.ld" "-L${TINYQ_CORTEX_M_DIR}" -Wl,--gc-sections
            "-Wl,-Map=${CMAKE_CURRENT_BINARY_DIR}/${name}.map" ${F_LINK_OPTIONS} ${objects} -o "${elf}"
    DEPENDS ${objects} ${TINYQ_CORTEX_M_DIR}/${machine}.ld ${TINYQ_CORTEX_M_DIR}/sections.ld
    COMMENT "arm-none-eabi: linking ${name}.elf (${F_TARGET}, ${machine})"
    VERBATIM COMMAND_EXPAND_LISTS)
  add_custom_target(${name} ALL DEPENDS "${elf}")
  set_target_properties(${name} PROPERTIES TINYQ_FIRMWARE_ELF "${elf}" TINYQ_FIRMWARE_CPU ${F_TARGET})
endfunction()

function(tinyq_add_qemu_test name)
  cmake_parse_arguments(T "" "FIRMWARE;EXPECT_EXIT_CODE;TIMEOUT;ELF_NAME" "LABELS" ${ARGN})
  if(NOT TINYQ_CORTEX_M_FOUND)
    return()
  endif()
  if(NOT TARGET ${T_FIRMWARE})
    message(FATAL_ERROR "tinyq_add_qemu_test(${name}): no firmware '${T_FIRMWARE}' (tinyq_add_firmware first)")
  endif()
  get_target_property(elf ${T_FIRMWARE} TINYQ_FIRMWARE_ELF)
  get_target_property(cpu ${T_FIRMWARE} TINYQ_FIRMWARE_CPU)
  if(T_ELF_NAME)
    # A relative link, made at configure time: it dangles until the firmware is built.
    get_filename_component(elf_dir "${elf}" DIRECTORY)
    get_filename_component(elf_file "${elf}" NAME)
    file(CREATE_LINK "${elf_file}" "${elf_dir}/${T_ELF_NAME}" SYMBOLIC)
    set(elf "${elf_dir}/${T_ELF_NAME}")
  endif()
  if(NOT T_EXPECT_EXIT_CODE)
    set(T_EXPECT_EXIT_CODE 0)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set(runner ${TINYQ_CORTEX_M_DIR}/run-qemu.sh)
  if(T_EXPECT_EXIT_CODE EQUAL 0)
    add_test(NAME ${name} COMMAND ${runner} ${cpu} ${elf} --timeout ${T_TIMEOUT})
  else()
    add_test(NAME ${name}
             COMMAND sh -c "\"$0\" \"$1\" \"$2\" --timeout \"$3\"; s=$?; [ $s -eq $4 ] && exit 0; \
echo \"expected exit code $4, got $s\" >&2; exit 1"
                     ${runner} ${cpu} ${elf} ${T_TIMEOUT} ${T_EXPECT_EXIT_CODE})
  endif()
  # ctest's own limit stays above the runner's, so a hang is reported by run-qemu.sh.
  set(labels mcu ${T_LABELS})
  math(EXPR ctest_timeout "${T_TIMEOUT} + 30")
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ctest_timeout} LABELS "${labels}")
endfunction()
