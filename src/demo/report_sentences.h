#pragma once
// Radiology report sentences for the demo dataset, one per finding, in the
// style of MS-CXR's label_text, and the text corpus the demo tokenizer is
// trained on. Each template says where its finding lies (zone), so the
// synthetic image puts the blob, and the box, where the sentence says.
#include <string>
#include <vector>

namespace ldmg::demo {

// The eight MS-CXR categories (SPEC.md §9), in the published table order.
const std::vector<std::string>& ms_cxr_categories();

// Where a finding sits, relative to one lung (or the heart).
enum class Zone { apex, upper, mid, lower, base, perihilar, heart };

// Patient side: the patient's right lung is on the image's LEFT (PA view).
enum class Side { right, left, both, none };

struct SentenceTemplate {
  std::string category;
  std::string text;   // may contain "{side}" (lower case) or "{Side}" (capitalised)
  Zone zone = Zone::mid;
  bool bilateral = false;  // one sentence, one box per lung (a two-box pair)
  bool lucent = false;     // darker than its surroundings (air: pneumothorax)
  double scale = 1.0;      // relative size of the finding ("small" < "moderate")
};

// All templates of one category (never empty for the eight categories).
std::vector<SentenceTemplate> sentence_templates(const std::string& category);

// The template's text with its side filled in.
std::string render_sentence(const SentenceTemplate& t, Side side);

// Every sentence the dataset generator can produce (both sides), plus some
// common report phrases; the BPE training text.
std::vector<std::string> report_corpus();

}  // namespace ldmg::demo
