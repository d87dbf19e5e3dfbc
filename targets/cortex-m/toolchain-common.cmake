# Shared part of the tinyq Cortex-M toolchain files (toolchain-cortex-m4.cmake etc.), for
# users' own firmware projects:
#
#   cmake -S fw -B build-fw -DCMAKE_TOOLCHAIN_FILE=<tinyq>/targets/cortex-m/toolchain-cortex-m4.cmake
#
# The including file sets TINYQ_CPU_FLAGS and TINYQ_QEMU_MACHINE first. Executables link with
# the QEMU machine's linker script and newlib's semihosting library; add
# ${TINYQ_CORTEX_M_STARTUP_SOURCES} (startup code + tinyq_marker) to each executable, e.g.
#   add_executable(fw main.cpp model.cpp ${TINYQ_CORTEX_M_STARTUP_SOURCES})
#   target_include_directories(fw PRIVATE ${TINYQ_CORTEX_M_DIR})
# For a real board (not QEMU), replace the linker script: -DTINYQ_LINKER_SCRIPT=board.ld.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(TINYQ_CORTEX_M_DIR ${CMAKE_CURRENT_LIST_DIR})
set(TINYQ_CORTEX_M_STARTUP_SOURCES ${CMAKE_CURRENT_LIST_DIR}/startup.c ${CMAKE_CURRENT_LIST_DIR}/marker.c)
if(NOT TINYQ_LINKER_SCRIPT)
  set(TINYQ_LINKER_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/${TINYQ_QEMU_MACHINE}.ld)
endif()

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "")
# CMake's compiler checks would try to link a hosted program: compile a library instead.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_C_FLAGS_INIT "${TINYQ_CPU_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT "${TINYQ_CPU_FLAGS} -ffunction-sections -fdata-sections -fno-exceptions -fno-rtti -fno-threadsafe-statics")
set(CMAKE_ASM_FLAGS_INIT "${TINYQ_CPU_FLAGS}")
set(CMAKE_C_FLAGS_RELEASE_INIT "-O3")
set(CMAKE_CXX_FLAGS_RELEASE_INIT "-O3")
# -nostartfiles: startup.c replaces newlib's rdimon crt0, which crashes on these machines.
set(CMAKE_EXE_LINKER_FLAGS_INIT
    "${TINYQ_CPU_FLAGS} -nostartfiles --specs=rdimon.specs -T${TINYQ_LINKER_SCRIPT} -L${CMAKE_CURRENT_LIST_DIR} -Wl,--gc-sections")
set(CMAKE_EXECUTABLE_SUFFIX_C .elf)
set(CMAKE_EXECUTABLE_SUFFIX_CXX .elf)
set(CMAKE_EXECUTABLE_SUFFIX_ASM .elf)

# Headers and libraries come from the cross toolchain only; programs from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
