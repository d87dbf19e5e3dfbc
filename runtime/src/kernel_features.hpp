// tinyq runtime, internal: which kernel variants a build carries. Code generated for one model
// brings tinyq/model_features.hpp (tinyq generate), which switches off the variants none of
// its layers can reach, so that a build at -Os links only code that runs. Without that header
// (the runtime library, the tests) every variant is present. A variant switched off is never
// needed by the model: unrolled forms fall back to the general one (the same bytes); a
// left-out gather or rounding traps, since only mismatched sources can reach it.
#ifndef TINYQ_RUNTIME_KERNEL_FEATURES_HPP
#define TINYQ_RUNTIME_KERNEL_FEATURES_HPP

#if __has_include("tinyq/model_features.hpp")
#include "tinyq/model_features.hpp"
#endif

// Helium depthwise (depthwise_arm_mve.cpp): pixel runs with 3 and 2 taps per kernel row
// unrolled (any layer with kernel_w >= 3, >= 2), and gathered input channels (a channel
// multiplier above 1).
#ifndef TINYQ_DW_MVE_UNROLL3
#define TINYQ_DW_MVE_UNROLL3 1
#endif
#ifndef TINYQ_DW_MVE_UNROLL2
#define TINYQ_DW_MVE_UNROLL2 1
#endif
#ifndef TINYQ_DW_MVE_GATHER
#define TINYQ_DW_MVE_GATHER 1
#endif
// ... and layers over one line of pixels with the taps in the lanes (depthwise_arm_mve_line.cpp).
#ifndef TINYQ_DW_MVE_LINE
#define TINYQ_DW_MVE_LINE 1
#endif
// ... and few-pixel layers' requantization per rounding (tinyq's single rounding, TFLite's).
#ifndef TINYQ_DW_MVE_ROUND_SINGLE
#define TINYQ_DW_MVE_ROUND_SINGLE 1
#endif
#ifndef TINYQ_DW_MVE_ROUND_TFLITE
#define TINYQ_DW_MVE_ROUND_TFLITE 1
#endif
// ... and the pixel runs' output stages (DwRunForms): TFLite's rounding with a shift of 0 in
// some channel (otherwise every TFLite-rounded layer's shifts are negative), an activation
// range narrower than int8, the full int8 range.
#ifndef TINYQ_DW_MVE_TFLITE_ZERO_SHIFT
#define TINYQ_DW_MVE_TFLITE_ZERO_SHIFT 1
#endif
#ifndef TINYQ_DW_MVE_CLAMP
#define TINYQ_DW_MVE_CLAMP 1
#endif
#ifndef TINYQ_DW_MVE_FULL_RANGE
#define TINYQ_DW_MVE_FULL_RANGE 1
#endif
// DSP depthwise (depthwise_arm_dsp_rows.cpp): the 3x3 four-pixel passes' requantization with
// TFLite's rounding (a 3x3 depthwise layer with TFLite's rounding); without it, those layers'
// accumulators go to the C requantization (the same bytes).
#ifndef TINYQ_DW_DSP_QUAD_TFLITE
#define TINYQ_DW_DSP_QUAD_TFLITE 1
#endif
// ... and the four-pixel passes over blocks of 8 channels (a 3x3 depthwise layer whose
// channels are a multiple of 8 but not of 16); without them, those layers take the row pairs.
#ifndef TINYQ_DW_DSP_QUAD8
#define TINYQ_DW_DSP_QUAD8 1
#endif

#endif
