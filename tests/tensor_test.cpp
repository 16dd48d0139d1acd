#include <fmt/format.h>
#include <gtest/gtest.h>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/random.h"

using namespace adx;

TEST(Tensor, CreationAndShape) {
  Tensor z = Tensor::zeros({2, 3});
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.size(-1), 3);
  EXPECT_FLOAT_EQ(Tensor::full({2}, 1.5f).data()[1], 1.5f);
  Tensor a = Tensor::arange(0, 6).reshape({2, 3});
  EXPECT_FLOAT_EQ(a.at({1, 2}), 5.0f);
  EXPECT_THROW(Tensor::from_data({2, 2}, {1, 2, 3}), Error);
  EXPECT_THROW(a.reshape({4, 2}), Error);
}

TEST(Tensor, SeededRandomIsReproducible) {
  Generator g1(42), g2(42), g3(43);
  Tensor a = Tensor::randn({1000}, g1), b = Tensor::randn({1000}, g2), c = Tensor::randn({1000}, g3);
  EXPECT_EQ(a.to_vector(), b.to_vector());
  EXPECT_NE(a.to_vector(), c.to_vector());
  double mean = 0, sq = 0;
  for (float v : a.to_vector()) mean += v, sq += v * v;
  EXPECT_NEAR(mean / 1000, 0.0, 0.1);
  EXPECT_NEAR(sq / 1000, 1.0, 0.1);
}

// What the CUDA random kernels rely on (engine/cuda/random.cu): the cached words are
// the next words drawn, skip(k) leaves the generator where k draws would, and the
// spare of a normal pair is handed over once.
TEST(Generator, SkipAndCachedWordsMatchDrawingOneByOne) {
  for (uint64_t drawn : {0, 1, 2, 3, 4, 5, 7, 9}) {
    for (uint64_t k : {0, 1, 2, 3, 4, 5, 8, 11, 1000}) {
      Generator a(7), b(7);
      for (uint64_t i = 0; i < drawn; ++i) {
        a.next_u32();
        b.next_u32();
      }
      uint32_t cached[4];
      const int count = a.cached_words(cached);
      ASSERT_LE(count, 4);
      Generator peek = a;
      for (int i = 0; i < count; ++i) EXPECT_EQ(cached[i], peek.next_u32()) << "drawn " << drawn;
      a.skip(k);
      for (uint64_t i = 0; i < k; ++i) b.next_u32();
      const Generator::State sa = a.state(), sb = b.state();
      EXPECT_EQ(sa.counter, sb.counter) << "drawn " << drawn << ", skipped " << k;
      EXPECT_EQ(sa.cached, sb.cached) << "drawn " << drawn << ", skipped " << k;
      EXPECT_EQ(sa.buffer, sb.buffer) << "drawn " << drawn << ", skipped " << k;
      for (int i = 0; i < 6; ++i) EXPECT_EQ(a.next_u32(), b.next_u32()) << "drawn " << drawn << ", skipped " << k;
    }
  }
  Generator g(3);
  float spare = 0;
  EXPECT_FALSE(g.take_spare_normal(spare));
  Generator h = g;
  g.normal();
  h.normal();
  const float second = h.normal();
  EXPECT_TRUE(g.take_spare_normal(spare));
  EXPECT_EQ(spare, second);
  EXPECT_FALSE(g.take_spare_normal(spare));
}

TEST(Device, ParseNamesAndRejectsTheRest) {
  EXPECT_EQ(Device::parse("cpu"), Device::cpu());
  EXPECT_EQ(Device::parse("cuda"), Device::cuda(0));
  EXPECT_EQ(Device::parse("cuda:3"), Device::cuda(3));
  for (const char* bad : {"", "gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:12345", "CPU", "cuda:1 "}) {
    try {
      Device::parse(bad, "--device");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), fmt::format("--device: '{}' is not cpu, cuda or cuda:N", bad));
    }
  }
}

TEST(Autograd, SimpleChain) {
  Tensor x = Tensor::from_data({3}, {1, 2, 3}).requires_grad_();
  Tensor y = sum(mul(x, x));
  y.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2, 4, 6}));
}

TEST(Autograd, AccumulatesAcrossBackwardCalls) {
  Tensor x = Tensor::from_data({2}, {1, 2}).requires_grad_();
  sum(x * 3.0f).backward();
  sum(x * 3.0f).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{6, 6}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, SecondOrderOfCube) {
  Tensor x = Tensor::from_data({2}, {2, 3}).requires_grad_();
  Tensor y = sum(pow(x, 3.0f));
  Tensor g = grad({y}, {x}, {}, true)[0];  // 3x²
  EXPECT_EQ(g.to_vector(), (std::vector<float>{12, 27}));
  Tensor gg = grad({sum(g)}, {x})[0];  // 6x
  EXPECT_EQ(gg.to_vector(), (std::vector<float>{12, 18}));
}

TEST(Autograd, NoGradGuardRecordsNothing) {
  Tensor x = Tensor::ones({2}).requires_grad_();
  NoGradGuard guard;
  Tensor y = x * 2.0f;
  EXPECT_FALSE(y.requires_grad());
}

TEST(Autograd, InPlaceModificationAfterSaveIsAnError) {
  Tensor x = Tensor::ones({2}).requires_grad_();
  Tensor w = Tensor::ones({2});
  Tensor y = sum(mul(x, w));
  w.fill_(2.0f);
  EXPECT_THROW(y.backward(), Error);
}
