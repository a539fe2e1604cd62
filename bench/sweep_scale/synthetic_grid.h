#pragma once
// A synthetic MS-CXR-shaped dataset for the scale simulator: `images` tiny
// distinct image files (the stub never decodes them; the plan hashes them)
// in folders of at most 1000, and a CSV with `prompts` pairs per image, one
// box each. With the T grid, units = images x T values.
#include <string>

namespace ldmg::bench {

struct SyntheticGrid {
  std::string csv;          // <dir>/grid.csv
  std::string images_root;  // <dir>/images
};

// Writes the dataset into `dir` unless it is already there with the same
// sizes (a marker file records them); returns its paths.
SyntheticGrid write_synthetic_grid(const std::string& dir, int images, int prompts);

}  // namespace ldmg::bench
