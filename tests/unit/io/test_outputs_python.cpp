// Interoperability with the Python tools the analysis uses: files we write
// are read by numpy / h5py and compared with the values we meant; files
// numpy / h5py write (float16, fixed-length strings) are read by us. numpy's
// float16 cast is the independent oracle for our float -> half rounding.
// Needs a Python with numpy and h5py: $LDMG_PYTHON, else the repository's
// .venv/bin/python; skips with a message when neither works.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/check.h"
#include "io/hdf5_file.h"
#include "io/npy.h"
#include "support/fixtures.h"
#include "support/python.h"

using namespace ldmg;
using namespace ldmg::io;
namespace fs = std::filesystem;

namespace {


#define REQUIRE_PYTHON()                                                                                  \
  do {                                                                                                    \
    if (!test::python_has_numpy_h5py())                                                                         \
      GTEST_SKIP() << "no Python with numpy and h5py at '" << test::python() << "' (set LDMG_PYTHON); skipped"; \
  } while (0)

std::string floats_literal(const std::vector<float>& v) {
  std::string s = "[";  // float('...') keeps -0, nan and inf
  for (float x : v) s += fmt::format("float('{:.9g}'), ", x);
  return s + "]";
}

}  // namespace

TEST(PythonInterop, NumpyAndH5pyReadWhatWeWrite) {
  REQUIRE_PYTHON();
  const std::string dir = test::temp_dir("pyread");
  std::vector<float> maps(24);
  for (std::size_t i = 0; i < maps.size(); ++i) maps[i] = std::sin(0.37f * i) * 10.0f;
  const std::vector<float> halves = {0.1f, -2.0f, 65504.0f, 1e-5f, 0.3333333f, 70000.f, 2049.f, -0.f};
  write_npy(dir + "/a.npy", std::span<const float>(maps), {2, 3, 4});
  write_npy(dir + "/b.npy", std::span<const std::int64_t>(std::vector<std::int64_t>{-5, 1LL << 50}), {2});
  write_npy(dir + "/c.npy", std::span<const std::uint8_t>(std::vector<std::uint8_t>{0, 128, 255}), {3, 1});
  write_npy(dir + "/d.npy", std::span<const double>(std::vector<double>{0.125}), {});
  {
    h5::File part = h5::File::create(dir + "/part.h5");
    part.write_floats("x", std::vector<float>{1, 2, 3}, {3});
    part.commit();
  }
  {
    h5::File f = h5::File::create(dir + "/out.h5");
    f.set_string_attr("tool", "ldmground");
    f.set_int_attr("schema", 3);
    h5::DatasetOptions opt;
    opt.chunk = {1, 3, 4};
    opt.shuffle = true;
    opt.gzip_level = 4;
    f.write_floats("g/sub/maps", maps, {2, 3, 4}, opt).set_floats_attr("range", std::vector<float>{0.f, 1.f});
    f.write_floats("g/half", halves, {8}, {}, h5::ElemType::f16);
    f.write_strings("g/tokens", {"<|startoftext|>", "", "effusion", "\xc3\xbc"});
    f.open_group("g").set_doubles_attr("sigma", std::vector<double>{2.5, 4.0});
    f.link_external("ext", "part.h5", "/x");
    f.create_virtual_dataset("vds", h5::ElemType::f32, {2, 3}, {{"part.h5", "/x", {1, 0}, {1, 3}}});
    f.commit();
  }
  const std::string script = dir + "/check.py";
  std::ofstream(script) << fmt::format(R"PY(
import sys, os, math
import numpy as np, h5py
d = sys.argv[1]
maps = np.array({maps}, dtype=np.float32).reshape(2, 3, 4)
halves = np.array({halves}, dtype=np.float32)
a = np.load(os.path.join(d, 'a.npy'))
assert a.dtype == np.float32 and a.shape == (2, 3, 4), (a.dtype, a.shape)
assert np.array_equal(a, maps)
b = np.load(os.path.join(d, 'b.npy')); assert b.dtype == np.int64 and b.tolist() == [-5, 2**50]
c = np.load(os.path.join(d, 'c.npy')); assert c.dtype == np.uint8 and c.shape == (3, 1) and c.ravel().tolist() == [0, 128, 255]
s = np.load(os.path.join(d, 'd.npy')); assert s.shape == () and s.dtype == np.float64 and float(s) == 0.125
with h5py.File(os.path.join(d, 'out.h5'), 'r') as f:
    assert f.attrs['tool'] == 'ldmground', f.attrs['tool']
    assert int(f.attrs['schema']) == 3
    m = f['g/sub/maps']
    assert m.dtype == np.float32 and m.chunks == (1, 3, 4) and m.compression == 'gzip' and m.compression_opts == 4 and m.shuffle
    assert np.array_equal(m[()], maps)
    assert m.attrs['range'].tolist() == [0.0, 1.0]
    h = f['g/half']
    assert h.dtype == np.float16, h.dtype
    with np.errstate(over='ignore'):
        want = halves.astype(np.float16)
    assert np.array_equal(h[()].view(np.uint16), want.view(np.uint16)), (h[()], want)
    toks = [t.decode('utf-8') if isinstance(t, bytes) else t for t in f['g/tokens'][()]]
    assert toks == ['<|startoftext|>', '', 'effusion', '\u00fc'], toks
    assert f['g'].attrs['sigma'].tolist() == [2.5, 4.0]
    assert f['ext'][()].tolist() == [1.0, 2.0, 3.0]
    v = f['vds'][()]
    assert np.isnan(v[0]).all() and v[1].tolist() == [1.0, 2.0, 3.0], v
print('OK')
)PY",
                                       fmt::arg("maps", floats_literal(maps)),
                                       fmt::arg("halves", floats_literal(halves)));
  const auto [rc, out] = test::run_python(script, "'" + dir + "'");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("OK"), std::string::npos) << out;
}

TEST(PythonInterop, WeReadWhatNumpyAndH5pyWrite) {
  REQUIRE_PYTHON();
  const std::string dir = test::temp_dir("pywrite");
  const std::string script = dir + "/make.py";
  std::ofstream(script) << R"PY(
import sys, os
import numpy as np, h5py
d = sys.argv[1]
rng = np.random.default_rng(1234)
x = np.concatenate([
    rng.standard_normal(20000) * 10.0 ** rng.integers(-9, 6, 20000),
    rng.uniform(-70000, 70000, 5000),
    # every float32 at and around half-way points between float16 neighbours
    (np.arange(0, 65504, 0.5, dtype=np.float32)[::97]),
    np.array([0.0, -0.0, 65504, 65519.99, 65520, np.inf, -np.inf, 2.0**-24, 2.0**-25, 3 * 2.0**-26, 6e-8, 1e-5]),
]).astype(np.float32)
np.save(os.path.join(d, 'x.npy'), x)
np.save(os.path.join(d, 'bits.npy'), x.astype(np.float16).view(np.uint16).astype(np.int32))
with h5py.File(os.path.join(d, 'py.h5'), 'w') as f:
    f.create_dataset('h', data=x.astype(np.float16), compression='gzip', shuffle=True, chunks=(1000,))
    f.create_dataset('fs', data=np.array([b'left', b'pleural', b''], dtype='S8'))
    f.create_dataset('vs', data=['a', 'b\u00e9'], dtype=h5py.string_dtype())
    f.create_dataset('i32', data=np.arange(5, dtype=np.int32))
    f.create_dataset('f64', data=np.linspace(0, 1, 7))
    f['g/deep'] = np.zeros(3, dtype=np.uint8)
    f.attrs['n'] = np.int32(7)
    f.attrs['w'] = np.array([0.5, 1.5])
    f.attrs['s'] = 'text'
    f.attrs['fixed'] = np.bytes_('fixed')
print('OK')
)PY";
  const auto [rc, out] = test::run_python(script, "'" + dir + "'");
  ASSERT_EQ(rc, 0) << out;

  const std::vector<float> x = read_npy(dir + "/x.npy").values<float>();
  const std::vector<std::int32_t> bits = read_npy(dir + "/bits.npy").values<std::int32_t>();
  ASSERT_EQ(x.size(), bits.size());
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (h5::float_to_half(x[i]) != static_cast<std::uint16_t>(bits[i]) && mismatches++ < 10)
      ADD_FAILURE() << "float_to_half(" << fmt::format("{:.9g}", x[i]) << ") = " << h5::float_to_half(x[i])
                    << ", numpy " << bits[i];
  EXPECT_EQ(mismatches, 0u) << "of " << x.size();

  h5::File f = h5::File::open(dir + "/py.h5");
  const auto h = f.open_dataset("h").read_floats();
  ASSERT_EQ(h.size(), x.size());
  for (std::size_t i = 0; i < h.size(); ++i)
    ASSERT_EQ(h5::float_to_half(h[i]), static_cast<std::uint16_t>(bits[i])) << i;
  EXPECT_EQ(f.open_dataset("h").info().gzip_level, 4);  // h5py's default
  EXPECT_EQ(f.open_dataset("fs").read_strings(), (std::vector<std::string>{"left", "pleural", ""}));
  EXPECT_EQ(f.open_dataset("vs").read_strings(), (std::vector<std::string>{"a", "b\xc3\xa9"}));
  EXPECT_EQ(f.open_dataset("i32").read_ints(), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  const auto lin = f.open_dataset("f64").read_doubles();
  ASSERT_EQ(lin.size(), 7u);
  EXPECT_EQ(lin[3], 0.5);
  EXPECT_EQ(f.open_dataset("g/deep").read_bytes(), (std::vector<std::uint8_t>{0, 0, 0}));
  EXPECT_EQ(f.int_attr("n"), 7);
  EXPECT_EQ(f.doubles_attr("w"), (std::vector<double>{0.5, 1.5}));
  EXPECT_EQ(f.string_attr("s"), "text");
  EXPECT_EQ(f.string_attr("fixed"), "fixed");
  EXPECT_EQ(f.members(), (std::vector<std::string>{"f64", "fs", "g", "h", "i32", "vs"}));
}
