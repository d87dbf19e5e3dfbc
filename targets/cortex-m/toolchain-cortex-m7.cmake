# CMake toolchain file: tinyq firmware for the Cortex-M7 (ARMv7E-M, DSP, double-precision FPv5),
# linked for QEMU's mps2-an500 machine. See toolchain-common.cmake and README.md.
set(TINYQ_CPU_FLAGS "-mcpu=cortex-m7 -mfloat-abi=hard -mfpu=fpv5-d16 -mthumb")
set(TINYQ_QEMU_MACHINE mps2-an500)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)
