#pragma once
// Another method's predictions for MS-CXR pairs, read for `ldmground score`
// (pipeline/external_scoring.h scores them). One prediction per pair index
// (the `pair` column of pairs.csv: 0-based, dataset order), in one of:
//
//  h5     HDF5 file: <group>/<pair>/heatmap (any 2-D float map) or
//         <group>/<pair>/heatmap_512 (what `evaluate --save-heatmaps` writes:
//         its final, post-Otsu maps); <group> defaults to /pairs
//         (`evaluate`'s other configs: /configs/<name>/pairs).
//  npy    a folder of <pair>.npy, one 2-D float map each.
//  boxes  CSV with the header columns pair,x,y,w,h,score (others ignored;
//         MedRPG-style): one row per predicted box, several rows per pair
//         allowed, (x, y, w, h) in original image pixels, any finite score.
//
// Heatmaps may be float16, float32 or float64 (converted to float32, round to
// nearest); leading dimensions of size 1 are dropped ([1,1,H,W] -> [H,W]).
// NaN means "no value" (the metrics ignore it, as they ignore the NaN
// padding of our own back-mapped maps and of hi-ml's BioViL maps); +-inf is
// an error. Every error names the file, the pair and the field.
// Torch-free.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ldmg::pipeline {

enum class PredictionFormat { h5, npy, boxes };
// name: "auto" (from `path`: a folder is npy, .h5/.hdf5 h5, .csv boxes) | h5 | npy | boxes.
PredictionFormat parse_prediction_format(const std::string& name, const std::string& path);
const char* to_string(PredictionFormat f);

struct PredictedBox {
  double x = 0, y = 0, w = 0, h = 0, score = 0;
  int line = 0;  // CSV line, for messages
};

struct Prediction {
  std::string origin;  // "'file' /pairs/3/heatmap" or "'file' lines 4,5": names it in messages
  // A heatmap (boxes empty) or boxes (height = width = 0).
  std::vector<float> values;  // row-major height x width
  std::int64_t height = 0, width = 0;
  // True for evaluate's heatmap_512 datasets whose otsu_threshold attribute
  // is finite: the map is already Otsu-thresholded.
  bool thresholded = false;
  std::vector<PredictedBox> boxes;
  bool is_boxes() const { return height == 0; }
};

class PredictionReader {
 public:
  virtual ~PredictionReader() = default;
  // The prediction for `pair`; throws ldmg::Error naming the file and the
  // pair when it is missing or malformed.
  virtual Prediction read(int pair) const = 0;
  virtual PredictionFormat format() const = 0;
  virtual const std::string& path() const = 0;
};

struct PredictionSourceOptions {
  std::string path;
  PredictionFormat format = PredictionFormat::h5;
  std::string h5_group = "/pairs";
  // Pair indices that exist in the dataset (boxes: a row naming another pair
  // is an error, it means another dataset); empty = no check.
  std::vector<int> known_pairs;
};

std::unique_ptr<PredictionReader> open_predictions(const PredictionSourceOptions& options);

}  // namespace ldmg::pipeline
