#include "codegen/single_pixel_conv.hpp"

namespace tinyq {

namespace {

void conv_as_dense(QNode& n) {
  const auto i = [&](const char* key) { return n.get(key); };
  if (i("out_h") != 1 || i("out_w") != 1 || i("batch") != 1 || i("groups") != 1) return;
  if (i("in_h") != i("kernel_h") || i("in_w") != i("kernel_w") || i("pad_top") != 0 || i("pad_left") != 0) return;
  if ((i("kernel_h") > 1 && i("dilation_h") != 1) || (i("kernel_w") > 1 && i("dilation_w") != 1)) return;
  std::map<std::string, std::int64_t> ints{{"rows", 1},
                                           {"in_features", i("in_h") * i("in_w") * i("in_c")},
                                           {"out_features", i("out_c")},
                                           {"input_offset", i("input_offset")},
                                           {"output_offset", i("output_offset")},
                                           {"act_min", i("act_min")},
                                           {"act_max", i("act_max")}};
  if (const auto r = n.ints.find("requant_rounding"); r != n.ints.end()) ints[r->first] = r->second;
  n.ints = std::move(ints);
  n.kernel = QKernel::Dense;
}

}  // namespace

void run_single_pixel_convs_as_dense(QGraph& g) {
  for (QNode& n : g.nodes)
    if (n.kernel == QKernel::Conv) conv_as_dense(n);
}

}  // namespace tinyq
