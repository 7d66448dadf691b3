// The caching allocator and the inline Shape.
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <nabla/core/allocator.h>
#include <nabla/core/shape.h>
#include <nabla/core/tensor.h>

using nabla::Shape;
using nabla::detail::cached_alloc;
using nabla::detail::cached_free;

TEST(CachedAlloc, BlocksAreAlignedAndWritable) {
  for (std::size_t n : {0, 1, 63, 64, 65, 1000, 1 << 20}) {
    auto* p = static_cast<unsigned char*>(cached_alloc(n));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 64, 0u) << n;
    for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(i);
    cached_free(p, n);
  }
  cached_free(nullptr, 10);  // a no-op, as free(nullptr)
}

TEST(CachedAlloc, BlocksMayBeFreedOnAnotherThread) {
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < 100; ++i) blocks.push_back(cached_alloc(100 + i));
  std::thread t([&] {
    for (std::size_t i = 0; i < 100; ++i) cached_free(blocks[i], 100 + i);
  });
  t.join();  // the thread's free list goes back to the system when it ends
  nabla::Tensor made_here;
  std::thread u([&] { made_here = nabla::full({64, 64}, 2.0); });
  u.join();
  EXPECT_EQ(made_here.to_vector<float>()[4095], 2.0f);
}

TEST(InlineShape, GrowsPastItsInlineCapacityAndBehavesAsAVector) {
  Shape s{1, 2, 3};
  EXPECT_EQ(s.size(), 3u);
  for (std::int64_t i = 4; i <= 20; ++i) s.push_back(i);
  ASSERT_EQ(s.size(), 20u);
  for (std::size_t i = 0; i < s.size(); ++i) EXPECT_EQ(s[i], static_cast<std::int64_t>(i + 1));
  Shape copy = s, moved = std::move(copy);
  EXPECT_EQ(moved, s);
  EXPECT_TRUE(copy.empty());
  s.erase(s.begin() + 1, s.end() - 1);
  EXPECT_EQ(s, (Shape{1, 20}));
  s.insert(s.begin() + 1, {7, 8});
  s.insert(s.begin(), 0);
  EXPECT_EQ(s, (Shape{0, 1, 7, 8, 20}));
  s.resize(2);
  s.resize(4, 9);
  EXPECT_EQ(s, (Shape{0, 1, 9, 9}));
  EXPECT_LT((Shape{1, 2}), (Shape{1, 3}));
  EXPECT_NE((Shape{1, 2}), (Shape{1, 2, 1}));
}

TEST(InlineShape, ConvertsToAndFromStdVector) {
  const std::vector<std::int64_t> v{4, 5, 6};
  const Shape s = v;
  const std::vector<std::int64_t> back = s;
  EXPECT_EQ(back, v);
  EXPECT_EQ(nabla::zeros(v).shape(), s);
  EXPECT_EQ(Shape(3, 7), (Shape{7, 7, 7}));
}
