# CMake toolchain file: tinyq firmware for the Cortex-M55 (ARMv8.1-M, MVE/Helium, FPU; -mcpu=cortex-m55 implies both),
# linked for QEMU's mps3-an547 machine. See toolchain-common.cmake and README.md.
set(TINYQ_CPU_FLAGS "-mcpu=cortex-m55 -mfloat-abi=hard -mthumb")
set(TINYQ_QEMU_MACHINE mps3-an547)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)
