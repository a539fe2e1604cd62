#include "text/clip_text_config.h"

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/file_bytes.h"

namespace ldmg::text {

namespace {
using nlohmann::json;

std::int64_t positive_int(const json& j, const char* key, const std::string& source) {
  LDMG_CHECK(j.contains(key), "{}: missing key '{}' (expected a CLIPTextModel config.json)", source, key);
  LDMG_CHECK(j[key].is_number_integer(), "{}: '{}' must be an integer, found {}", source, key, j[key].dump());
  auto v = j[key].get<std::int64_t>();
  LDMG_CHECK(v > 0, "{}: '{}' must be positive, found {}", source, key, v);
  return v;
}
}  // namespace

std::string_view to_string(HiddenAct act) { return act == HiddenAct::kGelu ? "gelu" : "quick_gelu"; }

ClipTextConfig parse_clip_text_config(std::string_view json_text, const std::string& source) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    LDMG_FAIL("{}: not valid JSON ({})", source, e.what());
  }
  LDMG_CHECK(j.is_object(), "{}: expected a JSON object", source);
  LDMG_CHECK(!(j.contains("text_config") && !j.contains("hidden_size")),
             "{}: this is a full CLIPModel config; point to the text encoder's own config.json", source);
  ClipTextConfig c;
  c.source = source;
  c.hidden_size = positive_int(j, "hidden_size", source);
  c.intermediate_size = positive_int(j, "intermediate_size", source);
  c.num_attention_heads = positive_int(j, "num_attention_heads", source);
  c.num_hidden_layers = positive_int(j, "num_hidden_layers", source);
  c.max_position_embeddings = positive_int(j, "max_position_embeddings", source);
  c.vocab_size = positive_int(j, "vocab_size", source);

  LDMG_CHECK(j.contains("hidden_act"), "{}: missing key 'hidden_act'", source);
  LDMG_CHECK(j["hidden_act"].is_string(), "{}: 'hidden_act' must be a string, found {}", source, j["hidden_act"].dump());
  const auto act = j["hidden_act"].get<std::string>();
  if (act == "gelu") c.hidden_act = HiddenAct::kGelu;
  else if (act == "quick_gelu") c.hidden_act = HiddenAct::kQuickGelu;
  else LDMG_FAIL("{}: hidden_act '{}' is not supported (expected 'gelu' or 'quick_gelu')", source, act);

  LDMG_CHECK(j.contains("layer_norm_eps"), "{}: missing key 'layer_norm_eps'", source);
  LDMG_CHECK(j["layer_norm_eps"].is_number(), "{}: 'layer_norm_eps' must be a number, found {}", source,
             j["layer_norm_eps"].dump());
  c.layer_norm_eps = j["layer_norm_eps"].get<double>();
  LDMG_CHECK(c.layer_norm_eps > 0, "{}: 'layer_norm_eps' must be positive, found {}", source, c.layer_norm_eps);

  LDMG_CHECK(c.hidden_size % c.num_attention_heads == 0,
             "{}: hidden_size {} is not divisible by num_attention_heads {}", source, c.hidden_size,
             c.num_attention_heads);
  return c;
}

ClipTextConfig read_clip_text_config(const std::string& path) {
  return parse_clip_text_config(io::read_file_bytes(path), path);
}

}  // namespace ldmg::text
