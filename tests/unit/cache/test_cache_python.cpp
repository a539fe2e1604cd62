// h5py reads a unit we wrote: attributes, shapes, chunking and filters as
// docs/cache-format.md says, float16 maps equal to the known values within
// half precision, and the documentation's own example run on the unit.
// Needs a Python with numpy and h5py: $LDMG_PYTHON, else /work/main/.venv's
// (the repository's .venv/bin/python); skips when neither works.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "cache/attention_cache_reader.h"
#include "cache/attention_cache_writer.h"
#include "cache_fixture.h"
#include "io/npy.h"
#include "support/fixtures.h"
#include "support/python.h"

using namespace ldmg;
using namespace ldmg::cache;
namespace fs = std::filesystem;

namespace {

// tests/unit/cache/<this file> -> repository root.
fs::path repo_root() { return fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path(); }

}  // namespace

TEST(CachePython, H5pyReadsTheUnitAndTheDocExampleRuns) {
  if (!test::python_has_numpy_h5py()) GTEST_SKIP() << "no Python with numpy and h5py at '" << test::python() << "' (set LDMG_PYTHON)";
  const std::string dir = test::temp_dir("cache_py");
  const CacheUnitSpec spec = test::make_spec();
  std::string path;
  {
    AttentionCacheWriter w(dir, spec);
    test::produce(w, spec);
    w.commit();
    path = w.path();
  }
  // The known float32 values of prompt 1, layer 8 (all cached steps), for numpy.
  std::vector<at::Tensor> rows;
  for (int s : spec.cached_steps) rows.push_back(test::expected_map(spec, 1, 8, s));
  const at::Tensor want = at::stack(rows).contiguous();  // [R, HW, n]
  io::write_npy(dir + "/want.npy", std::span<const float>(want.data_ptr<float>(), want.numel()),
                {want.size(0), want.size(1), want.size(2)});

  const std::string script = dir + "/check.py";
  std::ofstream(script) << R"PY(
import sys, os
import numpy as np, h5py
path, d = sys.argv[1], sys.argv[2]
with h5py.File(path, 'r') as f:
    assert f.attrs['format'] == 'ldmground.attention_cache'
    assert int(f.attrs['schema_version']) == 1 and int(f.attrs['complete']) == 1
    assert f.attrs['dtype'] == 'float16' and f.attrs['model_digest'] == 'sha256:0123abcd'
    assert f['timesteps'][()].tolist() == [1 + 100 * i for i in range(10)]
    assert f['cached_steps'][()].tolist() == [2, 3, 4, 7]
    assert f['layers/index'][()].tolist() == [0, 3, 8]
    assert list(f['layers/name'].asstr()[()])[1] == 'down_blocks.2.attentions.1.transformer_blocks.0.attn2'
    assert f['layers/h'][()].tolist() == [4, 2, 4] and f['layers/w'][()].tolist() == [4, 3, 4]
    g = f['prompts/1']
    assert g.attrs['category'] == 'Consolidation' and int(g.attrs['pair_index']) == 41
    assert g.attrs['dicom_id'] == 'dicom-\u00e9-42'
    assert g['token_ids'][()].tolist()[0] == 49406 and g['token_ids'][()].tolist()[-1] == 49407
    assert g['token_strings'].asstr()[()].tolist()[1] == 'tok1</w>'
    assert g['boxes'][()].tolist() == [[1, 2, 3, 4], [100, 200, 50.5, 60]]
    m = g['layer_08']
    assert m.dtype == np.float16 and m.shape == (4, 16, 8) and m.chunks == (1, 16, 8), (m.dtype, m.shape, m.chunks)
    assert m.compression == 'gzip' and m.compression_opts == 4 and m.shuffle
    want = np.load(os.path.join(d, 'want.npy'))
    got = m[()].astype(np.float32)
    rel = np.abs(got - want) / np.abs(want)
    assert rel.max() <= 2.0 ** -11, rel.max()
    # numpy's own float16 rounding is the independent oracle: bit-identical.
    assert np.array_equal(m[()].view(np.uint16), want.astype(np.float16).view(np.uint16))
    assert f['prompts/0/layer_03'].shape == (4, 6, 5)
    print('max_rel', rel.max())
)PY";
  auto [rc, out] = test::run_python(script, "'" + path + "' '" + dir + "'");
  EXPECT_EQ(rc, 0) << out;
  std::printf("h5py check: %s", out.c_str());

  // The example block of docs/cache-format.md, run as written.
  std::ifstream doc(repo_root() / "docs" / "cache-format.md");
  ASSERT_TRUE(doc) << "docs/cache-format.md not found";
  std::stringstream ss;
  ss << doc.rdbuf();
  const std::string text = ss.str();
  const std::string begin = "<!-- example: begin -->\n```python\n";
  const std::size_t a = text.find(begin);
  const std::size_t b = text.find("```\n<!-- example: end -->");
  ASSERT_TRUE(a != std::string::npos && b != std::string::npos && b > a) << "example markers missing";
  const std::string example = dir + "/example.py";
  std::ofstream(example) << text.substr(a + begin.size(), b - a - begin.size());
  auto [rc2, out2] = test::run_python(example, "'" + path + "' 3");
  ASSERT_EQ(rc2, 0) << out2;
  std::printf("doc example: %s", out2.c_str());

  // Our reader's token-mean (tokens 1..n-2) of prompt 0, layer 3, step 3.
  const AttentionCacheReader r(path);
  const at::Tensor m = r.maps(0, 3, 3).narrow(1, 1, 3).mean(1);  // [HW]
  std::smatch match;
  ASSERT_TRUE(
      std::regex_search(out2, match, std::regex(R"(token-mean map \(2, 3\) at t=301: mean=([0-9.]+) max=([0-9.]+))")))
      << out2;
  EXPECT_NEAR(std::stod(match[1].str()), m.mean().item<double>(), 2e-6);
  EXPECT_NEAR(std::stod(match[2].str()), m.max().item<double>(), 2e-6);
}
