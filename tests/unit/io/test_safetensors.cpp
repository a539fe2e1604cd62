#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/check.h"
#include "io/byte_store.h"
#include "io/file_bytes.h"
#include "io/safetensors.h"
#include "support/fixtures.h"

using namespace ldmg;
using namespace ldmg::io;

namespace {
std::string f32_bytes(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}
float f32_at(const TensorArchive& ar, const TensorRecord& r, std::size_t i) {
  float x;
  std::memcpy(&x, ar.bytes.data() + r.data_offset + 4 * i, 4);
  return x;
}
std::string header_of(const std::string& json) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  return out + json;
}
}  // namespace

TEST(Safetensors, RoundTripSortsNamesAndPadsHeader) {
  std::vector<TensorBlob> blobs = {{"b", DType::F32, {2}, f32_bytes({1.5f, -2.f})},
                                   {"a", DType::I64, {1, 1}, std::string("\x07\0\0\0\0\0\0\0", 8)}};
  const std::string bytes = serialize_safetensors(blobs, {{"format", "pt"}});
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  const TensorArchive ar = parse_safetensors(bytes, "mem");
  ASSERT_EQ(ar.tensors.size(), 2u);
  EXPECT_EQ(ar.metadata.at("format"), "pt");
  const TensorRecord* b = ar.find("b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->shape, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(f32_at(ar, *b, 1), -2.f);
  EXPECT_LT(ar.find("a")->data_offset, b->data_offset);  // sorted by name in the buffer
}

TEST(Safetensors, RejectsMalformedFiles) {
  auto expect_error = [](const std::string& bytes, const std::string& needle) {
    try {
      parse_safetensors(bytes, "bad.safetensors");
      ADD_FAILURE() << "no error for case expecting '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos) << e.what();
    }
  };
  expect_error("abc", "at least the 8-byte header");
  expect_error(header_of("{}").substr(0, 9), "runs past the end");
  expect_error(header_of("{not json"), "not valid JSON");
  expect_error(header_of("[]"), "must be a JSON object");
  expect_error(header_of(R"({"x":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}})") + "x", "unsupported tensor dtype");
  expect_error(header_of(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})") + "1234", "outside the 4-byte");
  expect_error(header_of(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})") + "1234", "expected 8");
  expect_error(header_of(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})") +
                   "12345678", "overlap");
  expect_error(header_of(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})") + "1234", "non-negative");
  expect_error(header_of(R"({"x":{"dtype":"F32"}})"), "needs dtype, shape and data_offsets");
}

TEST(Safetensors, MissingFileNamesThePath) {
  try {
    read_safetensors("/nonexistent/model.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.safetensors"), std::string::npos);
  }
}

TEST(Safetensors, ReadsParityFixtures) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const auto dir = test::parity_dir() + "/models/";
  const TensorArchive ae = read_safetensors(dir + "autoencoder.safetensors");
  EXPECT_EQ(ae.metadata.at("format"), "pt");
  std::int64_t params = 0;
  for (const auto& t : ae.tensors) params += numel_of(t.shape);
  EXPECT_EQ(params, 74256);  // fixture_notes.json param_counts.autoencoder
  const TensorArchive te = read_safetensors(dir + "text_encoder/model.safetensors");
  const TensorRecord* pos = te.find("text_model.embeddings.position_ids");
  ASSERT_TRUE(pos);
  EXPECT_EQ(pos->dtype, DType::I64);
}

TEST(FileBytes, AtomicWriteReplacesWholeFile) {
  const std::string dir = test::temp_dir("io");
  const std::string p = dir + "/f.bin";
  write_file_atomic(p, "first");
  write_file_atomic(p, "second!");
  EXPECT_EQ(read_file_bytes(p), "second!");
  EXPECT_FALSE(std::filesystem::exists(p + ".tmp"));
}

namespace {
// Resident bytes of this process (file-backed pages included, as in ru_maxrss).
std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}
}  // namespace

TEST(ByteStore, MappedFileReadsTheSameBytesAndReleasesItsPages) {
  const std::string p = test::temp_dir("io") + "/mapped.bin";
  std::string bytes(32u << 20, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 2654435761u) >> 13);
  write_file_atomic(p, bytes);
  const ByteStore m = ByteStore::map_file(p);
  ASSERT_EQ(m.size(), bytes.size());
  const std::size_t before = resident_bytes();
  EXPECT_TRUE(m.view() == bytes);  // touches every page
  const std::size_t touched = resident_bytes();
  m.release(0, m.size());
  const std::size_t released = resident_bytes();
  // All 32 MiB were faulted in by the comparison and handed back by release().
  EXPECT_GE(touched - before, 24u << 20);
  EXPECT_GE(touched - released, 24u << 20);
  // Released pages are read from the file again when touched.
  EXPECT_TRUE(m.view() == bytes);
  // A partial release keeps the pages it only partly covers.
  m.release(100, 10);
  EXPECT_EQ(m.view().substr(90, 30), std::string_view(bytes).substr(90, 30));
  // Views share ownership: the mapping outlives the store they were copied from.
  ByteStore copy = m;
  EXPECT_EQ(copy.data(), m.data());
}

TEST(ByteStore, ErrorsNameThePath) {
  const std::string dir = test::temp_dir("io");
  test::expect_error_mentions([&] { ByteStore::map_file(dir + "/absent.safetensors"); }, {"file not found", "absent.safetensors"});
  test::expect_error_mentions([&] { ByteStore::map_file(dir); }, {"is a directory"});
  write_file_atomic(dir + "/empty.bin", "");
  EXPECT_TRUE(ByteStore::map_file(dir + "/empty.bin").empty());
  test::expect_error_mentions([&] { read_safetensors(dir + "/empty.bin"); }, {"empty.bin", "not a safetensors file"});
  const ByteStore s(std::string("abc"));
  s.release(0, 3);  // a buffer keeps its bytes
  EXPECT_EQ(s.view(), "abc");
}
