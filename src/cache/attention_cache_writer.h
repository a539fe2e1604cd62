#pragma once
// Writes one work unit's attention cache (docs/cache-format.md) while the
// inversion runs: an AttentionSink that keeps the cached (prompt, layer,
// step) maps, token columns 0..n-1, and streams each one to
// `<dir>/<unit_id>.h5.tmp` as it arrives; commit() checks that every expected
// map arrived and renames the file to `<unit_id>.h5`. Destroyed without
// commit(), it leaves no file behind.
//
// Memory: each map is copied into a host float buffer and queued for a writer
// thread; at most `max_slabs_in_flight` maps / `max_bytes_in_flight` bytes are
// queued or being written (on_maps blocks until there is room), so memory is
// bounded whatever T is. HDF5 adds its chunk cache per open dataset
// (prompts x layers datasets, 1 MiB each at most). A map on a GPU is copied
// without blocking into pinned host memory on the compute stream (an event
// marks its arrival; the writer thread waits for it), so caching adds no
// host synchronisation to the inversion.
//
// Threads: every HDF5 call on this file happens on ONE thread: the writer
// thread (background, the default) or the caller's (background = false).
// Background writers of several units alive at once take turns (one
// process-wide lock around their HDF5 calls).
// With an HDF5 library built without thread safety, no other thread of the
// process may call HDF5 while a background writer lives (from construction to
// commit() or destruction): commit the cache before writing other HDF5 files
// or opening an AttentionCacheReader (which checks this and refuses).
//
// Errors of the writer thread (disk full, ...) are kept and thrown as
// ldmg::Error, naming the file, by the next on_maps() or by commit().
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "cache/attention_cache_format.h"
#include "diffusion/attention_sink.h"

namespace ldmg::cache {

struct AttentionCacheOptions {
  CacheDType dtype = CacheDType::f16;  // converted from float32 on the writing thread
  int gzip_level = 4;                  // 0 = no deflate
  bool shuffle = true;
  bool background = true;  // false: write synchronously in on_maps()
  std::size_t max_slabs_in_flight = 64;
  std::size_t max_bytes_in_flight = std::size_t{64} << 20;  // one slab is always allowed
  // Tests only: the writer sleeps this long before each map (a slow disk).
  std::chrono::microseconds test_write_delay{0};
};

// Queue counters (maps copied but not yet written).
struct AttentionCacheStats {
  std::size_t in_flight_slabs = 0;
  std::size_t in_flight_bytes = 0;
  std::size_t peak_slabs = 0;
  std::size_t peak_bytes = 0;
  std::size_t slabs_written = 0;
  std::size_t slabs_ignored = 0;  // steps or layers outside the plan
};

class AttentionCacheWriter : public diffusion::AttentionSink {
 public:
  // Creates <dir>/<spec.unit_id>.h5.tmp with all metadata and empty map
  // datasets; throws (naming the file) if that fails.
  AttentionCacheWriter(const std::string& dir, const CacheUnitSpec& spec, const AttentionCacheOptions& options = {});
  ~AttentionCacheWriter() override;
  AttentionCacheWriter(const AttentionCacheWriter&) = delete;
  AttentionCacheWriter& operator=(const AttentionCacheWriter&) = delete;

  // Keeps columns 0..n-1 of `probs` ([HW, S] float, any device) if `step` is
  // a cached step and `layer` a cached layer; ignores other steps/layers.
  // Throws on a prompt out of range, a map size differing from the layer
  // table, S < n, a map delivered twice, or an earlier writer error.
  void on_maps(int step, int layer, int prompt, const at::Tensor& probs, std::int64_t h, std::int64_t w) override;

  // Waits for the queue to drain, checks that every (prompt, layer, cached
  // step) map arrived (else throws naming the missing ones), marks the file
  // complete and renames it into place.
  void commit();

  const std::string& path() const;  // the final path, <dir>/<unit_id>.h5
  AttentionCacheStats stats() const;
  // Background writers alive in this process (see the thread note above).
  static int live_background_writers();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ldmg::cache
