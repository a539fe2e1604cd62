#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <cmath>

#include "model/attention_math.h"
#include "model/timestep_embedding.h"
#include "model_test_util.h"

using namespace ldmg;
using namespace ldmg::model;

TEST(AttentionMath, FusedMatchesExplicitProbabilities) {
  c10::InferenceMode guard;
  at::manual_seed(3);
  for (std::int64_t heads : {1, 2, 4}) {
    const std::int64_t B = 2, L = 256, S = 77, d = 16;
    at::Tensor q = at::randn({B, L, heads * d}) * 2, k = at::randn({B, S, heads * d}) * 2,
               v = at::randn({B, S, heads * d});
    const double scale = 1.0 / std::sqrt(double(d));
    at::Tensor probs;
    at::Tensor e = explicit_attention(q, k, v, heads, scale, &probs);
    at::Tensor f = fused_attention(q, k, v, heads, scale);
    EXPECT_LT(test::max_abs_diff(e, f), 1e-5) << "heads " << heads;
    ASSERT_EQ(probs.sizes(), (at::IntArrayRef{B * heads, L, S}));
    EXPECT_LT(test::max_abs_diff(probs.sum(-1), at::ones({B * heads, L})), 1e-5);
    // Independent reference: per batch and head, softmax(q_h k_h^T * scale) v_h.
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t h = 0; h < heads; ++h) {
        at::Tensor qh = q[b].slice(1, h * d, (h + 1) * d), kh = k[b].slice(1, h * d, (h + 1) * d);
        at::Tensor p = (at::matmul(qh.to(at::kDouble), kh.to(at::kDouble).t()) * scale).softmax(-1);
        // upstream order: batch index b*heads + h
        EXPECT_LT(test::max_abs_diff(probs[b * heads + h], p), 1e-6);
        at::Tensor oh = at::matmul(p, v[b].slice(1, h * d, (h + 1) * d).to(at::kDouble));
        EXPECT_LT(test::max_abs_diff(f[b].slice(1, h * d, (h + 1) * d), oh), 1e-5);
      }
  }
}

TEST(AttentionMath, HeadsRoundTrip) {
  at::Tensor x = at::arange(2 * 3 * 8, at::kFloat).reshape({2, 3, 8});
  at::Tensor y = heads_to_batch(x, 4);  // [8, 3, 2]
  EXPECT_EQ(y.sizes(), (at::IntArrayRef{8, 3, 2}));
  // batch 1, head 2, position 1 = x[1, 1, 4:6]
  EXPECT_TRUE(at::equal(y[1 * 4 + 2][1], x[1][1].slice(0, 4, 6)));
  EXPECT_TRUE(at::equal(batch_to_heads(y, 4), x));
}

TEST(TimestepEmbedding, CosFirstThenSin) {
  at::Tensor t = at::tensor({0, 449}, at::kLong);
  at::Tensor e = timestep_embedding(t, 8);  // half = 4
  ASSERT_EQ(e.sizes(), (at::IntArrayRef{2, 8}));
  for (int i = 0; i < 4; ++i) {
    const double f = std::exp(-std::log(10000.0) * i / 4.0);
    EXPECT_NEAR(e[0][i].item<float>(), 1.0, 1e-7);       // cos(0)
    EXPECT_NEAR(e[0][4 + i].item<float>(), 0.0, 1e-7);   // sin(0)
    EXPECT_NEAR(e[1][i].item<float>(), std::cos(449 * f), 2e-4);
    EXPECT_NEAR(e[1][4 + i].item<float>(), std::sin(449 * f), 2e-4);
  }
  EXPECT_EQ(timestep_embedding(t, 9).size(1), 9);  // odd: zero padded
  EXPECT_EQ(timestep_embedding(t, 9)[1][8].item<float>(), 0.f);
}
