#include "demo/report_sentences.h"

#include <cctype>

#include "core/check.h"

namespace ldmg::demo {

const std::vector<std::string>& ms_cxr_categories() {
  static const std::vector<std::string> k = {"Pneumonia", "Pneumothorax",     "Consolidation", "Atelectasis",
                                             "Edema",     "Cardiomegaly",     "Lung Opacity",  "Pleural Effusion"};
  return k;
}

std::vector<SentenceTemplate> sentence_templates(const std::string& category) {
  using Z = Zone;
  if (category == "Pneumonia")
    return {{category, "Patchy opacity in the {side} lower lobe concerning for pneumonia.", Z::lower, false, false, 1.0},
            {category, "{Side} lower lobe pneumonia.", Z::lower, false, false, 1.1},
            {category, "Findings concerning for {side} upper lobe pneumonia.", Z::upper, false, false, 1.0}};
  if (category == "Pneumothorax")
    return {{category, "Small {side} apical pneumothorax.", Z::apex, false, true, 0.8},
            {category, "Moderate {side} pneumothorax.", Z::apex, false, true, 1.2},
            {category, "There is a small {side} pneumothorax.", Z::apex, false, true, 0.9}};
  if (category == "Consolidation")
    return {{category, "Consolidation in the {side} lower lobe.", Z::lower, false, false, 1.0},
            {category, "Dense {side} lower lobe consolidation.", Z::lower, false, false, 1.2},
            {category, "{Side} upper lobe consolidation.", Z::upper, false, false, 1.0}};
  if (category == "Atelectasis")
    return {{category, "{Side} basilar atelectasis.", Z::base, false, false, 0.9},
            {category, "Linear atelectasis at the {side} base.", Z::base, false, false, 0.7},
            {category, "Plate-like atelectasis in the {side} lower lung.", Z::lower, false, false, 0.8}};
  if (category == "Edema")
    return {{category, "Moderate pulmonary edema with bilateral perihilar opacities.", Z::perihilar, true, false, 1.1},
            {category, "Mild pulmonary edema.", Z::perihilar, true, false, 0.9},
            {category, "Interstitial edema in both lungs.", Z::perihilar, true, false, 1.0}};
  if (category == "Cardiomegaly")
    return {{category, "Moderate cardiomegaly.", Z::heart, false, false, 1.0},
            {category, "The heart is mildly enlarged.", Z::heart, false, false, 0.9},
            {category, "Stable cardiomegaly.", Z::heart, false, false, 1.0}};
  if (category == "Lung Opacity")
    return {{category, "Patchy opacity in the {side} mid lung.", Z::mid, false, false, 1.0},
            {category, "Ill-defined opacity at the {side} base.", Z::lower, false, false, 0.9},
            {category, "Hazy opacity in the {side} upper lung.", Z::upper, false, false, 1.0}};
  if (category == "Pleural Effusion")
    return {{category, "Small {side} pleural effusion.", Z::base, false, false, 0.8},
            {category, "Moderate {side} pleural effusion.", Z::base, false, false, 1.2},
            {category, "Layering {side} pleural effusion with adjacent atelectasis.", Z::base, false, false, 1.0}};
  LDMG_FAIL("unknown MS-CXR category '{}' (expected one of Pneumonia, Pneumothorax, Consolidation, Atelectasis, "
            "Edema, Cardiomegaly, Lung Opacity, Pleural Effusion)",
            category);
}

std::string render_sentence(const SentenceTemplate& t, Side side) {
  std::string out = t.text;
  const std::string word = side == Side::left ? "left" : side == Side::right ? "right" : "";
  for (const char* key : {"{side}", "{Side}"}) {
    const auto at = out.find(key);
    if (at == std::string::npos) continue;
    LDMG_CHECK(!word.empty(), "sentence template '{}' needs a left or right side", t.text);
    std::string w = word;
    if (key[1] == 'S') w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
    out.replace(at, 6, w);
  }
  return out;
}

std::vector<std::string> report_corpus() {
  std::vector<std::string> out;
  for (const auto& category : ms_cxr_categories())
    for (const auto& t : sentence_templates(category)) {
      if (t.text.find("ide}") == std::string::npos) {
        out.push_back(t.text);
        continue;
      }
      out.push_back(render_sentence(t, Side::right));
      out.push_back(render_sentence(t, Side::left));
    }
  for (const char* s : {"No acute cardiopulmonary process.", "The lungs are clear.", "Heart size is normal.",
                        "No pleural effusion or pneumothorax.", "Compared to the prior study there is no change.",
                        "Lung volumes are low.", "The mediastinal contours are unremarkable.",
                        "Support devices are unchanged in position.", "Increased opacity in the right lung.",
                        "Decreased opacity in the left lung.", "Small bilateral pleural effusions.",
                        "Mild vascular congestion.", "Right middle lobe opacity.", "Left retrocardiac opacity."})
    out.push_back(s);
  return out;
}

}  // namespace ldmg::demo
