#pragma once
// The fidelity check shared by the zoo-family CLI tests (models/hard, models/sequence): quantize
// a model with a preset on the first 500 training images, evaluate on the first 2000 test
// images, and require int8 top-1 within `max_drop_pp` of float top-1 (one image is 0.05 pp).
#include <nlohmann/json.hpp>

#include "cli_fixture.hpp"

namespace tinyq::testing {

inline const std::string kTrainImages = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

class FidelityCli : public Cli {
 protected:
  void expect_int8_near_float(const fs::path& model, const std::string& preset, double max_drop_pp) {
    if (!fs::exists(model) || !fs::exists(kImages) || !fs::exists(kTrainImages))
      GTEST_SKIP() << "needs " << model << " and dataset-fashion-mnist";
    const fs::path tqm = dir_ / "m.tqm";
    auto q = run_argv({"quantize", model.string(), "--calib", kTrainImages, "--calib-count", "500", "--preset", preset,
                       "-o", tqm.string(), "--json"});
    ASSERT_EQ(q.code, 0) << q.err;
    auto e = run_argv({"eval", tqm.string(), "--data", kImages, "--labels", kLabels, "--count", "2000", "--json"});
    ASSERT_EQ(e.code, 0) << e.err;
    const auto j = nlohmann::json::parse(e.out);
    const double drop = 100.0 * (j["float"]["top1"].get<double>() - j["int8"]["top1"].get<double>());
    EXPECT_LE(drop, max_drop_pp) << model.stem() << " " << preset << ": float " << j["float"]["top1"] << ", int8 "
                                 << j["int8"]["top1"];
  }
};

}  // namespace tinyq::testing
