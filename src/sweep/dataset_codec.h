#pragma once
// The dataset as compact bytes: rank 0 reads the CSV and broadcasts these,
// instead of every rank reading it. Reading resolves every image path under
// the images root (symlink checks), ~50 us a row: with every rank reading, a
// 50,000-pair CSV cost each of 8 ranks on 2 cores 2.5 s of CPU at start-up.
#include <string>

#include "data/ms_cxr.h"

namespace ldmg::sweep {

// Every field of every pair, length-prefixed; decode_dataset(encode_dataset(d))
// equals d. decode throws ldmg::Error on bytes that are not an encoded dataset.
std::string encode_dataset(const data::MsCxrDataset& dataset);
data::MsCxrDataset decode_dataset(const std::string& bytes);

}  // namespace ldmg::sweep
