#include "cache/attention_cache_writer.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <c10/core/Event.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "core/check.h"
#include "core/log.h"
#include "io/hdf5_file.h"

namespace ldmg::cache {

namespace {

std::atomic<int> g_live_background_writers{0};
// Background writers of several units at once (sweep --batch-images) take
// turns: HDF5 built without thread safety must see one call at a time.
std::mutex g_writer_threads_hdf5;

// One map on its way to the file: columns 0..n-1 of [HW, S], float32.
struct Slab {
  int prompt = 0;
  int layer_pos = 0;
  int row = 0;
  std::vector<float> values;  // [HW, n]
  std::size_t bytes = 0;      // of the map, counted against the in-flight limit
  // A map on a GPU (background writer only): copied without blocking into
  // pinned host memory on the compute stream, with an event recorded after
  // the copy, so the inversion never waits for the host; the writer thread
  // waits for the event and takes the values (to_host()).
  at::Tensor pinned;
  std::optional<c10::Event> copied;

  // Writer thread: wait for a device copy, move it into `values`, release the
  // pinned buffer (only after the copy has landed: the host allocator reuses it).
  void to_host() {
    if (!pinned.defined()) return;
    copied->synchronize();
    const float* src = pinned.data_ptr<float>();
    values.assign(src, src + pinned.numel());
    pinned = at::Tensor();
    copied.reset();
  }
};

// Every HDF5 object of one unit file. Created, used and destroyed on a single
// thread; destroyed before finish(), it removes the .tmp (File's abandon).
class UnitFile {
 public:
  UnitFile(const std::string& path, const CacheUnitSpec& spec, const AttentionCacheOptions& opt)
      : file_(io::h5::File::create(path, /*atomic=*/true)) {
    namespace h5 = io::h5;
    file_.set_string_attr("format", kAttentionCacheFormat);
    file_.set_int_attr("schema_version", kAttentionCacheSchemaVersion);
    file_.set_string_attr("unit_id", spec.unit_id);
    file_.set_int_attr("T", spec.T);
    file_.set_string_attr("config", spec.config_json);
    file_.set_string_attr("provenance", spec.provenance_json);
    file_.set_string_attr("model_digest", spec.model_digest);
    file_.set_string_attr("dtype", to_string(opt.dtype));
    file_.set_string_attr("hdf5_version", h5::library_version());
    file_.set_int_attr("n_prompts", static_cast<std::int64_t>(spec.prompts.size()));

    const auto n_steps = static_cast<std::int64_t>(spec.timesteps.size());
    const auto n_rows = static_cast<std::int64_t>(spec.cached_steps.size());
    file_.write_ints("timesteps", spec.timesteps, {n_steps});
    std::vector<std::int64_t> cached(spec.cached_steps.begin(), spec.cached_steps.end());
    std::vector<std::int64_t> cached_t;
    for (int s : spec.cached_steps) cached_t.push_back(spec.timesteps[static_cast<std::size_t>(s)]);
    file_.write_ints("cached_steps", cached, {n_rows});
    file_.write_ints("cached_timesteps", cached_t, {n_rows});

    const auto n_layers = static_cast<std::int64_t>(spec.layers.size());
    std::vector<std::int64_t> index, hs, ws;
    std::vector<std::string> names;
    for (const CachedLayer& l : spec.layers) {
      index.push_back(l.index);
      hs.push_back(l.h);
      ws.push_back(l.w);
      names.push_back(l.name);
    }
    file_.write_ints("layers/index", index, {n_layers});
    file_.write_strings("layers/name", names);
    file_.write_ints("layers/h", hs, {n_layers});
    file_.write_ints("layers/w", ws, {n_layers});

    const h5::ElemType stored = opt.dtype == CacheDType::f16 ? h5::ElemType::f16 : h5::ElemType::f32;
    for (std::size_t p = 0; p < spec.prompts.size(); ++p) {
      const CachedPrompt& pr = spec.prompts[p];
      const int pi = static_cast<int>(p);
      h5::Group g = file_.create_group(cache_prompt_group(pi));
      g.set_string_attr("prompt", pr.text);
      g.set_string_attr("category", pr.category);
      g.set_int_attr("pair_index", pr.pair_index);
      g.set_string_attr("dicom_id", pr.dicom_id);
      g.set_string_attr("image_path", pr.image_path);
      g.set_int_attr("image_width", pr.image_width);
      g.set_int_attr("image_height", pr.image_height);
      g.set_int_attr("n_tokens", pr.n_tokens());
      g.write_ints("token_ids", pr.token_ids, {pr.n_tokens()});
      g.write_strings("token_strings", pr.token_strings);
      std::vector<double> boxes;
      for (const auto& b : pr.boxes) boxes.insert(boxes.end(), b.begin(), b.end());
      g.write_doubles("boxes", boxes, {static_cast<std::int64_t>(pr.boxes.size()), 4});

      std::vector<h5::Dataset>& row = maps_.emplace_back();
      for (const CachedLayer& l : spec.layers) {
        h5::DatasetOptions dopt;
        dopt.chunk = {1, l.h * l.w, pr.n_tokens()};  // one (layer, step) map per chunk
        dopt.shuffle = opt.shuffle;
        dopt.gzip_level = opt.gzip_level;
        h5::Dataset d =
            file_.create_dataset(cache_layer_dataset(pi, l.index), stored, {n_rows, l.h * l.w, pr.n_tokens()}, dopt);
        d.set_int_attr("layer_index", l.index);
        d.set_string_attr("layer_name", l.name);
        d.set_int_attr("h", l.h);
        d.set_int_attr("w", l.w);
        row.push_back(std::move(d));
      }
      slab_dims_.emplace_back();
      for (const CachedLayer& l : spec.layers) slab_dims_.back().push_back({1, l.h * l.w, pr.n_tokens()});
    }
  }

  void write(const Slab& s) {
    const auto p = static_cast<std::size_t>(s.prompt);
    const auto l = static_cast<std::size_t>(s.layer_pos);
    maps_[p][l].write_slab({s.row, 0, 0}, slab_dims_[p][l], s.values);
  }

  // Marks the file complete, closes every dataset and renames it into place.
  void finish() {
    file_.set_int_attr("complete", 1);
    maps_.clear();
    file_.commit();
  }

 private:
  io::h5::File file_;                                              // destroyed last
  std::vector<std::vector<io::h5::Dataset>> maps_;                 // [prompt][layer position]
  std::vector<std::vector<std::vector<std::int64_t>>> slab_dims_;  // [prompt][layer position]
};

}  // namespace

struct AttentionCacheWriter::Impl {
  std::string path;
  CacheUnitSpec spec;
  AttentionCacheOptions opt;
  std::vector<std::uint8_t> received;  // [prompt][layer position][row]
  std::size_t n_rows = 0;
  bool committed = false;

  std::unique_ptr<UnitFile> file;  // synchronous mode only

  std::thread thread;  // background mode
  bool thread_live = false;
  mutable std::mutex mu;
  std::condition_variable cv_work;   // writer waits for slabs / finish / stop
  std::condition_variable cv_space;  // producer waits for room in the queue
  std::condition_variable cv_state;  // caller waits for opened / finished
  std::deque<Slab> queue;
  bool opened = false;
  bool stop = false;
  bool finish_requested = false;
  bool finished = false;
  std::string error;  // the first failure of the writing thread
  AttentionCacheStats stats;

  ~Impl() { stop_thread(); }

  std::size_t slot(int prompt, int layer_pos, int row) const {
    return (static_cast<std::size_t>(prompt) * spec.layers.size() + static_cast<std::size_t>(layer_pos)) * n_rows +
           static_cast<std::size_t>(row);
  }

  void set_error(const std::string& what) {
    std::lock_guard lk(mu);
    if (error.empty()) error = what;
  }

  void throw_if_failed() const {
    std::string e;
    {
      std::lock_guard lk(mu);
      e = error;
    }
    LDMG_CHECK(e.empty(), "attention cache '{}': writing failed, the unit is lost: {}", path, e);
  }

  void stop_thread() noexcept {
    if (!thread.joinable()) return;
    {
      std::lock_guard lk(mu);
      stop = true;
    }
    cv_work.notify_all();
    thread.join();
    if (thread_live) {
      thread_live = false;
      --g_live_background_writers;
    }
  }

  // The writer thread: opens the file, writes slabs in arrival order, finishes
  // on request. Every HDF5 call of the unit happens here.
  void run() noexcept {
    std::unique_ptr<UnitFile> f;
    try {
      std::lock_guard hdf5(g_writer_threads_hdf5);
      f = std::make_unique<UnitFile>(path, spec, opt);
    } catch (const std::exception& e) {
      set_error(e.what());
    }
    {
      std::lock_guard lk(mu);
      opened = true;
    }
    cv_state.notify_all();
    for (;;) {
      Slab s;
      bool have = false;
      bool failed = false;
      {
        std::unique_lock lk(mu);
        cv_work.wait(lk, [&] { return stop || !queue.empty() || finish_requested; });
        if (stop) break;
        if (!queue.empty()) {
          s = std::move(queue.front());
          queue.pop_front();
          have = true;
        }
        failed = !error.empty();
      }
      if (have) {
        try {
          s.to_host();  // always, so that a pinned buffer is never freed under a pending copy
        } catch (const std::exception& e) {
          set_error(fmt::format("attention cache '{}': copying a map from the device failed: {}", path, e.what()));
          failed = true;
        }
        if (!failed && f) {
          if (opt.test_write_delay.count() > 0) std::this_thread::sleep_for(opt.test_write_delay);
          try {
            std::lock_guard hdf5(g_writer_threads_hdf5);
            f->write(s);
          } catch (const std::exception& e) {
            set_error(e.what());
            failed = true;
          }
        }
        {
          std::lock_guard lk(mu);
          stats.in_flight_slabs -= 1;
          stats.in_flight_bytes -= s.bytes;
          if (!failed) stats.slabs_written += 1;
        }
        cv_space.notify_all();
        continue;
      }
      // finish_requested with an empty queue.
      if (!failed && f) {
        try {
          std::lock_guard hdf5(g_writer_threads_hdf5);
          f->finish();
        } catch (const std::exception& e) {
          set_error(e.what());
        }
      }
      {
        std::lock_guard lk(mu);
        finished = true;
      }
      cv_state.notify_all();
      break;
    }
    try {
      std::lock_guard hdf5(g_writer_threads_hdf5);
      f.reset();  // an unfinished file removes its .tmp here, on this thread
    } catch (...) {
    }
  }
};

AttentionCacheWriter::AttentionCacheWriter(const std::string& dir, const CacheUnitSpec& spec,
                                           const AttentionCacheOptions& options)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = cache_unit_path(dir, spec.unit_id);
  validate_spec(spec, m.path);
  LDMG_CHECK(options.gzip_level >= 0 && options.gzip_level <= 9, "attention cache '{}': gzip level {} outside 0..9",
             m.path, options.gzip_level);
  LDMG_CHECK(options.max_slabs_in_flight >= 1, "attention cache '{}': max_slabs_in_flight must be >= 1", m.path);
  m.spec = spec;
  m.opt = options;
  m.n_rows = spec.cached_steps.size();
  m.received.assign(spec.prompts.size() * spec.layers.size() * m.n_rows, 0);
  if (!options.background) {
    m.file = std::make_unique<UnitFile>(m.path, m.spec, m.opt);
    return;
  }
  ++g_live_background_writers;
  m.thread_live = true;
  m.thread = std::thread([&m] { m.run(); });
  std::unique_lock lk(m.mu);
  m.cv_state.wait(lk, [&] { return m.opened; });
  const std::string e = m.error;
  lk.unlock();
  if (!e.empty()) {
    m.stop_thread();
    LDMG_FAIL("attention cache '{}': cannot create the unit file: {}", m.path, e);
  }
}

AttentionCacheWriter::~AttentionCacheWriter() = default;

const std::string& AttentionCacheWriter::path() const { return impl_->path; }

AttentionCacheStats AttentionCacheWriter::stats() const {
  std::lock_guard lk(impl_->mu);
  return impl_->stats;
}

int AttentionCacheWriter::live_background_writers() { return g_live_background_writers.load(); }

void AttentionCacheWriter::on_maps(int step, int layer, int prompt, const at::Tensor& probs, std::int64_t h,
                                   std::int64_t w) {
  Impl& m = *impl_;
  LDMG_CHECK(!m.committed, "attention cache '{}': maps delivered after commit()", m.path);
  m.throw_if_failed();
  LDMG_CHECK(prompt >= 0 && prompt < static_cast<int>(m.spec.prompts.size()),
             "attention cache '{}': prompt {} outside 0..{}", m.path, prompt, m.spec.prompts.size() - 1);
  const int pos = m.spec.layer_position(layer);
  const int row = m.spec.row_of_step(step);
  if (pos < 0 || row < 0) {
    std::lock_guard lk(m.mu);
    m.stats.slabs_ignored += 1;
    return;
  }
  const CachedLayer& L = m.spec.layers[static_cast<std::size_t>(pos)];
  const std::int64_t n = m.spec.prompts[static_cast<std::size_t>(prompt)].n_tokens();
  LDMG_CHECK(h == L.h && w == L.w, "attention cache '{}': layer {} ('{}') delivered a {}x{} map, the table says {}x{}",
             m.path, layer, L.name, h, w, L.h, L.w);
  LDMG_CHECK(probs.defined() && probs.dim() == 2 && probs.size(0) == h * w && probs.size(1) >= n,
             "attention cache '{}': prompt {} layer {} step {}: probs of shape [{}] where [{}, >= {}] was expected",
             m.path, prompt, layer, step, probs.defined() ? fmt::format("{}", fmt::join(probs.sizes(), ", ")) : "",
             h * w, n);
  const std::size_t slot = m.slot(prompt, pos, row);
  LDMG_CHECK(!m.received[slot], "attention cache '{}': prompt {} layer {} step {} delivered twice", m.path, prompt,
             layer, step);

  Slab s;
  s.prompt = prompt;
  s.layer_pos = pos;
  s.row = row;
  const std::size_t count = static_cast<std::size_t>(h * w * n);
  const std::size_t bytes = count * sizeof(float);
  s.bytes = bytes;
  auto copy_in = [&] {
    if (probs.is_cuda() && m.opt.background) {
      s.pinned = at::empty({h * w, n}, at::TensorOptions().dtype(at::kFloat).pinned_memory(true));  // [HW, n]
      s.pinned.copy_(probs.narrow(1, 0, n), /*non_blocking=*/true);
      const c10::impl::VirtualGuardImpl guard(probs.device().type());
      s.copied.emplace(probs.device().type());
      s.copied->record(guard.getStream(probs.device()));
      return;
    }
    s.values.resize(count);
    at::Tensor dst = at::from_blob(s.values.data(), {h * w, n}, at::TensorOptions().dtype(at::kFloat));  // [HW, n]
    dst.copy_(probs.narrow(1, 0, n));  // device -> host and dtype -> float32 as needed
  };

  if (!m.opt.background) {
    copy_in();
    try {
      m.file->write(s);
    } catch (const std::exception& e) {
      m.set_error(e.what());
      m.throw_if_failed();
    }
    m.received[slot] = 1;
    m.stats.slabs_written += 1;
    m.stats.peak_slabs = std::max<std::size_t>(m.stats.peak_slabs, 1);
    m.stats.peak_bytes = std::max(m.stats.peak_bytes, bytes);
    return;
  }

  {  // Back-pressure: wait for room before allocating the copy.
    std::unique_lock lk(m.mu);
    m.cv_space.wait(lk, [&] {
      return !m.error.empty() || m.stats.in_flight_slabs == 0 ||
             (m.stats.in_flight_slabs < m.opt.max_slabs_in_flight &&
              m.stats.in_flight_bytes + bytes <= m.opt.max_bytes_in_flight);
    });
    if (!m.error.empty()) {
      lk.unlock();
      m.throw_if_failed();
    }
    m.stats.in_flight_slabs += 1;
    m.stats.in_flight_bytes += bytes;
    m.stats.peak_slabs = std::max(m.stats.peak_slabs, m.stats.in_flight_slabs);
    m.stats.peak_bytes = std::max(m.stats.peak_bytes, m.stats.in_flight_bytes);
  }
  try {
    copy_in();
  } catch (...) {
    {
      std::lock_guard lk(m.mu);
      m.stats.in_flight_slabs -= 1;
      m.stats.in_flight_bytes -= bytes;
    }
    m.cv_space.notify_all();
    throw;
  }
  {
    std::lock_guard lk(m.mu);
    m.queue.push_back(std::move(s));
  }
  m.received[slot] = 1;
  m.cv_work.notify_one();
}

void AttentionCacheWriter::commit() {
  Impl& m = *impl_;
  LDMG_CHECK(!m.committed, "attention cache '{}': commit() called twice", m.path);
  m.throw_if_failed();

  // Every (prompt, layer, cached step) must have arrived.
  std::size_t missing = 0;
  std::vector<std::string> examples;
  for (std::size_t p = 0; p < m.spec.prompts.size(); ++p)
    for (std::size_t l = 0; l < m.spec.layers.size(); ++l)
      for (std::size_t r = 0; r < m.n_rows; ++r) {
        if (m.received[m.slot(static_cast<int>(p), static_cast<int>(l), static_cast<int>(r))]) continue;
        if (++missing <= 5) {
          const int step = m.spec.cached_steps[r];
          examples.push_back(fmt::format("prompt {} layer {} ('{}') step {} (t={})", p, m.spec.layers[l].index,
                                         m.spec.layers[l].name, step,
                                         m.spec.timesteps[static_cast<std::size_t>(step)]));
        }
      }
  LDMG_CHECK(missing == 0, "attention cache '{}': {} of {} maps never arrived ({}{}); not committed", m.path, missing,
             m.received.size(), fmt::join(examples, "; "), missing > examples.size() ? "; ..." : "");

  if (!m.opt.background) {
    try {
      m.file->finish();
    } catch (const std::exception& e) {
      m.set_error(e.what());
      m.file.reset();
      m.throw_if_failed();
    }
    m.file.reset();
    m.committed = true;
    return;
  }
  {
    std::unique_lock lk(m.mu);
    m.finish_requested = true;
    m.cv_work.notify_all();
    m.cv_state.wait(lk, [&] { return m.finished; });
  }
  m.stop_thread();
  m.throw_if_failed();
  m.committed = true;
}

}  // namespace ldmg::cache
