#include "model/model_config.h"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>

#include "core/check.h"
#include "io/file_bytes.h"

namespace ldmg::model {

namespace {

YAML::Node load_yaml_text(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    LDMG_FAIL("'{}' is not valid YAML: {}", source, e.what());
  }
}

std::string dump(const YAML::Node& n) {
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

// The mapping at `a.b`, or an error naming the file and the path.
YAML::Node section(const YAML::Node& root, const std::string& a, const std::string& b, const std::string& source,
                   bool required) {
  LDMG_CHECK(root.IsMap(), "'{}': expected a YAML mapping at the top level", source);
  const YAML::Node top = root[a];
  if (!top) {
    LDMG_CHECK(!required, "'{}' has no '{}' section (is this the right config file?)", source, a);
    return YAML::Node();
  }
  LDMG_CHECK(top.IsMap(), "'{}': '{}' must be a mapping", source, a);
  const YAML::Node sub = top[b];
  if (!sub || sub.IsNull()) {
    LDMG_CHECK(!required, "'{}' has no '{}.{}' section", source, a, b);
    return YAML::Node();
  }
  LDMG_CHECK(sub.IsMap(), "'{}': '{}.{}' must be a mapping", source, a, b);
  return sub;
}

template <typename T>
T scalar(const YAML::Node& n, const std::string& where, const std::string& source, const char* what) {
  LDMG_CHECK(n.IsScalar(), "'{}': {} must be {}, got '{}'", source, where, what, dump(n));
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    LDMG_FAIL("'{}': {} must be {}, got '{}'", source, where, what, n.Scalar());
  }
}

int to_int(const YAML::Node& n, const std::string& where, const std::string& source) {
  return scalar<int>(n, where, source, "an integer");
}
double to_double(const YAML::Node& n, const std::string& where, const std::string& source) {
  return scalar<double>(n, where, source, "a number");
}
bool to_bool(const YAML::Node& n, const std::string& where, const std::string& source) {
  return scalar<bool>(n, where, source, "true or false");
}
std::string to_str(const YAML::Node& n, const std::string& where, const std::string& source) {
  return scalar<std::string>(n, where, source, "a string");
}

std::vector<int> to_int_list(const YAML::Node& n, const std::string& where, const std::string& source) {
  LDMG_CHECK(n.IsSequence(), "'{}': {} must be a list of integers, got '{}'", source, where, dump(n));
  std::vector<int> v;
  for (std::size_t i = 0; i < n.size(); ++i) v.push_back(to_int(n[i], fmt::format("{}[{}]", where, i), source));
  return v;
}

// An int (repeated `levels` times later) or a list.
std::vector<int> to_int_or_list(const YAML::Node& n, const std::string& where, const std::string& source) {
  if (n.IsScalar()) return {to_int(n, where, source)};
  return to_int_list(n, where, source);
}

std::vector<bool> to_bool_list(const YAML::Node& n, const std::string& where, const std::string& source) {
  LDMG_CHECK(n.IsSequence(), "'{}': {} must be a list of booleans, got '{}'", source, where, dump(n));
  std::vector<bool> v;
  for (std::size_t i = 0; i < n.size(); ++i) v.push_back(to_bool(n[i], fmt::format("{}[{}]", where, i), source));
  return v;
}

using KeyHandler = std::function<void(const YAML::Node&, const std::string& where)>;

// Calls the handler of every key of `params`; an unknown key is an error
// (a typo would otherwise silently build a different model).
void for_each_key(const YAML::Node& params, const std::string& prefix, const std::string& source,
                  const std::map<std::string, KeyHandler>& handlers) {
  for (const auto& kv : params) {
    const std::string key = kv.first.as<std::string>();
    auto it = handlers.find(key);
    if (it == handlers.end()) {
      std::string known;
      for (const auto& h : handlers) known += (known.empty() ? "" : ", ") + h.first;
      LDMG_FAIL("'{}': unknown key '{}.{}' (known keys: {})", source, prefix, key, known);
    }
    it->second(kv.second, prefix + "." + key);
  }
}

void expand_per_level(std::vector<int>& v, std::size_t levels, const char* key, const std::string& source) {
  if (v.size() == 1 && levels != 1) v.assign(levels, v[0]);
  LDMG_CHECK(v.size() == levels, "'{}': {} has {} entries but num_channels has {} levels", source, key, v.size(),
             levels);
}

}  // namespace

std::string to_string(NoiseSchedule s) {
  switch (s) {
    case NoiseSchedule::Linear: return "linear_beta";
    case NoiseSchedule::ScaledLinear: return "scaled_linear_beta";
    case NoiseSchedule::Sigmoid: return "sigmoid_beta";
    case NoiseSchedule::Cosine: return "cosine";
  }
  return "?";
}

std::string to_string(PredictionType p) {
  switch (p) {
    case PredictionType::Epsilon: return "epsilon";
    case PredictionType::Sample: return "sample";
    case PredictionType::VPrediction: return "v_prediction";
  }
  return "?";
}

// ---- AutoencoderKL ---------------------------------------------------------

void validate(const AutoencoderConfig& c) {
  const std::string& s = c.source;
  LDMG_CHECK(c.spatial_dims == 2, "'{}': spatial_dims = {} is not supported (only 2D models)", s, c.spatial_dims);
  LDMG_CHECK(!c.num_channels.empty(), "'{}': num_channels is empty", s);
  LDMG_CHECK(c.norm_num_groups > 0, "'{}': norm_num_groups must be positive, got {}", s, c.norm_num_groups);
  for (int ch : c.num_channels)
    LDMG_CHECK(ch > 0 && ch % c.norm_num_groups == 0,
               "'{}': every num_channels entry must be a positive multiple of norm_num_groups = {}, got {}", s,
               c.norm_num_groups, ch);
  LDMG_CHECK(c.attention_levels.size() == c.num_channels.size(),
             "'{}': attention_levels has {} entries but num_channels has {}", s, c.attention_levels.size(),
             c.num_channels.size());
  LDMG_CHECK(c.num_res_blocks.size() == c.num_channels.size(),
             "'{}': num_res_blocks has {} entries but num_channels has {}", s, c.num_res_blocks.size(),
             c.num_channels.size());
  for (int n : c.num_res_blocks) LDMG_CHECK(n >= 0, "'{}': num_res_blocks must be >= 0, got {}", s, n);
  LDMG_CHECK(c.in_channels > 0 && c.out_channels > 0 && c.latent_channels > 0,
             "'{}': in_channels, out_channels and latent_channels must be positive", s);
  LDMG_CHECK(c.norm_eps > 0, "'{}': norm_eps must be positive, got {}", s, c.norm_eps);
}

AutoencoderConfig parse_autoencoder_config(const std::string& yaml_text, const std::string& source) {
  const YAML::Node root = load_yaml_text(yaml_text, source);
  const YAML::Node params = section(root, "stage1", "params", source, true);
  AutoencoderConfig c;
  c.source = source;
  bool have_spatial = false;
  const auto& S = source;
  for_each_key(params, "stage1.params", S,
               {{"spatial_dims", [&](auto& n, auto& w) { c.spatial_dims = to_int(n, w, S); have_spatial = true; }},
                {"in_channels", [&](auto& n, auto& w) { c.in_channels = to_int(n, w, S); }},
                {"out_channels", [&](auto& n, auto& w) { c.out_channels = to_int(n, w, S); }},
                {"num_res_blocks", [&](auto& n, auto& w) { c.num_res_blocks = to_int_or_list(n, w, S); }},
                {"num_channels", [&](auto& n, auto& w) { c.num_channels = to_int_list(n, w, S); }},
                {"attention_levels", [&](auto& n, auto& w) { c.attention_levels = to_bool_list(n, w, S); }},
                {"latent_channels", [&](auto& n, auto& w) { c.latent_channels = to_int(n, w, S); }},
                {"norm_num_groups", [&](auto& n, auto& w) { c.norm_num_groups = to_int(n, w, S); }},
                {"norm_eps", [&](auto& n, auto& w) { c.norm_eps = to_double(n, w, S); }},
                {"with_encoder_nonlocal_attn", [&](auto& n, auto& w) { c.with_encoder_nonlocal_attn = to_bool(n, w, S); }},
                {"with_decoder_nonlocal_attn", [&](auto& n, auto& w) { c.with_decoder_nonlocal_attn = to_bool(n, w, S); }},
                {"use_flash_attention", [&](auto& n, auto& w) { c.use_flash_attention = to_bool(n, w, S); }}});
  LDMG_CHECK(have_spatial, "'{}': stage1.params.spatial_dims is required", S);
  if (c.num_res_blocks.size() == 1) expand_per_level(c.num_res_blocks, c.num_channels.size(), "num_res_blocks", S);
  validate(c);
  return c;
}

// ---- DiffusionModelUNet ----------------------------------------------------

void validate(const UNetConfig& c) {
  const std::string& s = c.source;
  LDMG_CHECK(c.spatial_dims == 2, "'{}': spatial_dims = {} is not supported (only 2D models)", s, c.spatial_dims);
  LDMG_CHECK(c.in_channels > 0 && c.out_channels > 0, "'{}': in_channels and out_channels must be positive", s);
  LDMG_CHECK(!c.num_channels.empty(), "'{}': num_channels is empty", s);
  LDMG_CHECK(c.norm_num_groups > 0, "'{}': norm_num_groups must be positive, got {}", s, c.norm_num_groups);
  for (int ch : c.num_channels)
    LDMG_CHECK(ch > 0 && ch % c.norm_num_groups == 0,
               "'{}': every num_channels entry must be a positive multiple of norm_num_groups = {}, got {}", s,
               c.norm_num_groups, ch);
  const std::size_t L = c.num_channels.size();
  LDMG_CHECK(c.attention_levels.size() == L, "'{}': attention_levels has {} entries but num_channels has {}", s,
             c.attention_levels.size(), L);
  LDMG_CHECK(c.num_head_channels.size() == L, "'{}': num_head_channels has {} entries but num_channels has {}", s,
             c.num_head_channels.size(), L);
  LDMG_CHECK(c.num_res_blocks.size() == L, "'{}': num_res_blocks has {} entries but num_channels has {}", s,
             c.num_res_blocks.size(), L);
  for (int n : c.num_res_blocks) LDMG_CHECK(n >= 0, "'{}': num_res_blocks must be >= 0, got {}", s, n);
  LDMG_CHECK(!(c.with_conditioning && c.cross_attention_dim <= 0),
             "'{}': with_conditioning is true but cross_attention_dim is not set", s);
  LDMG_CHECK(!(!c.with_conditioning && c.cross_attention_dim > 0),
             "'{}': cross_attention_dim is set but with_conditioning is false", s);
  LDMG_CHECK(c.transformer_num_layers >= 1, "'{}': transformer_num_layers must be >= 1", s);
  // Attention levels and the middle block (always attention, upstream
  // get_mid_block) need heads = channels // num_head_channels >= 1.
  for (std::size_t i = 0; i < L; ++i) {
    if (!c.attention_levels[i] && i + 1 != L) continue;
    const int nhc = c.num_head_channels[i];
    LDMG_CHECK(nhc > 0 && nhc <= c.num_channels[i],
               "'{}': num_head_channels[{}] = {} must be in 1..num_channels[{}] = {} (level {} has attention{})", s,
               i, nhc, i, c.num_channels[i], i, i + 1 == L ? " or feeds the middle block" : "");
  }
  LDMG_CHECK(c.norm_eps > 0, "'{}': norm_eps must be positive, got {}", s, c.norm_eps);
}

UNetConfig parse_unet_config(const std::string& yaml_text, const std::string& source) {
  const YAML::Node root = load_yaml_text(yaml_text, source);
  const YAML::Node params = section(root, "ldm", "params", source, true);
  UNetConfig c;
  c.source = source;
  const auto& S = source;
  bool have_spatial = false, have_in = false, have_out = false;
  std::vector<int> nhc = {8};
  for_each_key(
      params, "ldm.params", S,
      {{"spatial_dims", [&](auto& n, auto& w) { c.spatial_dims = to_int(n, w, S); have_spatial = true; }},
       {"in_channels", [&](auto& n, auto& w) { c.in_channels = to_int(n, w, S); have_in = true; }},
       {"out_channels", [&](auto& n, auto& w) { c.out_channels = to_int(n, w, S); have_out = true; }},
       {"num_res_blocks", [&](auto& n, auto& w) { c.num_res_blocks = to_int_or_list(n, w, S); }},
       {"num_channels", [&](auto& n, auto& w) { c.num_channels = to_int_list(n, w, S); }},
       {"attention_levels", [&](auto& n, auto& w) { c.attention_levels = to_bool_list(n, w, S); }},
       {"norm_num_groups", [&](auto& n, auto& w) { c.norm_num_groups = to_int(n, w, S); }},
       {"norm_eps", [&](auto& n, auto& w) { c.norm_eps = to_double(n, w, S); }},
       {"resblock_updown", [&](auto& n, auto& w) { c.resblock_updown = to_bool(n, w, S); }},
       {"num_head_channels", [&](auto& n, auto& w) { nhc = to_int_or_list(n, w, S); }},
       {"with_conditioning", [&](auto& n, auto& w) { c.with_conditioning = to_bool(n, w, S); }},
       {"transformer_num_layers", [&](auto& n, auto& w) { c.transformer_num_layers = to_int(n, w, S); }},
       {"cross_attention_dim",
        [&](auto& n, auto& w) { c.cross_attention_dim = n.IsNull() ? 0 : to_int(n, w, S); }},
       {"num_class_embeds",
        [&](auto& n, auto& w) {
          LDMG_CHECK(n.IsNull(), "'{}': {} (class-conditional U-Nets) is not supported", S, w);
        }},
       {"upcast_attention", [&](auto& n, auto& w) { c.upcast_attention = to_bool(n, w, S); }},
       {"use_flash_attention", [&](auto& n, auto& w) { c.use_flash_attention = to_bool(n, w, S); }}});
  LDMG_CHECK(have_spatial && have_in && have_out,
             "'{}': ldm.params needs spatial_dims, in_channels and out_channels", S);
  // Upstream repeats an int num_head_channels over attention_levels and an
  // int num_res_blocks over num_channels (ensure_tuple_rep).
  if (nhc.size() == 1) nhc.assign(c.attention_levels.size(), nhc[0]);
  c.num_head_channels = nhc;
  if (c.num_res_blocks.size() == 1) expand_per_level(c.num_res_blocks, c.num_channels.size(), "num_res_blocks", S);
  validate(c);
  return c;
}

// ---- Scheduler -------------------------------------------------------------

SchedulerConfig parse_scheduler_config(const std::string& yaml_text, const std::string& source) {
  const YAML::Node root = load_yaml_text(yaml_text, source);
  const YAML::Node sched = section(root, "ldm", "scheduler", source, true);
  SchedulerConfig c;
  c.source = source;
  const auto& S = source;
  std::map<std::string, bool> seen;
  for_each_key(sched, "ldm.scheduler", S,
               {{"schedule",
                 [&](auto& n, auto& w) {
                   const std::string v = to_str(n, w, S);
                   if (v == "linear_beta") c.schedule = NoiseSchedule::Linear;
                   else if (v == "scaled_linear_beta") c.schedule = NoiseSchedule::ScaledLinear;
                   else if (v == "sigmoid_beta") c.schedule = NoiseSchedule::Sigmoid;
                   else if (v == "cosine") c.schedule = NoiseSchedule::Cosine;
                   else
                     LDMG_FAIL("'{}': unknown {} '{}' (expected linear_beta, scaled_linear_beta, sigmoid_beta or cosine)",
                               S, w, v);
                   seen["schedule"] = true;
                 }},
                {"num_train_timesteps",
                 [&](auto& n, auto& w) { c.num_train_timesteps = to_int(n, w, S); seen["num_train_timesteps"] = true; }},
                {"beta_start", [&](auto& n, auto& w) { c.beta_start = to_double(n, w, S); seen["beta_start"] = true; }},
                {"beta_end", [&](auto& n, auto& w) { c.beta_end = to_double(n, w, S); seen["beta_end"] = true; }},
                {"prediction_type",
                 [&](auto& n, auto& w) {
                   const std::string v = to_str(n, w, S);
                   if (v == "epsilon") c.prediction_type = PredictionType::Epsilon;
                   else if (v == "sample") c.prediction_type = PredictionType::Sample;
                   else if (v == "v_prediction") c.prediction_type = PredictionType::VPrediction;
                   else LDMG_FAIL("'{}': unknown {} '{}' (expected epsilon, sample or v_prediction)", S, w, v);
                   seen["prediction_type"] = true;
                 }},
                {"clip_sample", [&](auto& n, auto& w) { c.clip_sample = to_bool(n, w, S); }}});
  // get_models.py:134-141 indexes these five keys directly (KeyError if absent).
  for (const char* k : {"schedule", "num_train_timesteps", "beta_start", "beta_end", "prediction_type"})
    LDMG_CHECK(seen.count(k), "'{}': ldm.scheduler.{} is required", S, k);
  LDMG_CHECK(c.num_train_timesteps > 1, "'{}': ldm.scheduler.num_train_timesteps must be > 1, got {}", S,
             c.num_train_timesteps);
  LDMG_CHECK(c.beta_start > 0 && c.beta_end > 0 && c.beta_start < 1 && c.beta_end < 1,
             "'{}': ldm.scheduler.beta_start/beta_end must lie in (0, 1), got {} / {}", S, c.beta_start, c.beta_end);
  return c;
}

// ---- files -----------------------------------------------------------------

namespace {
std::string read_text(const std::string& path) { return io::read_file_bytes(path); }
}  // namespace

AutoencoderConfig load_autoencoder_config(const std::string& yaml_path) {
  return parse_autoencoder_config(read_text(yaml_path), yaml_path);
}
UNetConfig load_unet_config(const std::string& yaml_path) { return parse_unet_config(read_text(yaml_path), yaml_path); }
SchedulerConfig load_scheduler_config(const std::string& yaml_path) {
  return parse_scheduler_config(read_text(yaml_path), yaml_path);
}

}  // namespace ldmg::model
