# CMake toolchain file: tinyq firmware for the Cortex-M4 (ARMv7E-M, DSP, single-precision FPv4),
# linked for QEMU's mps2-an386 machine. See toolchain-common.cmake and README.md.
set(TINYQ_CPU_FLAGS "-mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16 -mthumb")
set(TINYQ_QEMU_MACHINE mps2-an386)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)
