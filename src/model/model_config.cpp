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

// What a scalar of type T must be, in messages: one value, and a list of them.
template <typename T>
struct Expected;
template <>
struct Expected<int> {
  static constexpr const char* one = "an integer";
  static constexpr const char* list = "integers";
};
template <>
struct Expected<bool> {
  static constexpr const char* one = "true or false";
  static constexpr const char* list = "booleans";
};
template <>
struct Expected<double> {
  static constexpr const char* one = "a number";
};
template <>
struct Expected<std::string> {
  static constexpr const char* one = "a string";
};

template <typename T>
T scalar(const YAML::Node& n, const std::string& where, const std::string& source) {
  const char* what = Expected<T>::one;
  LDMG_CHECK(n.IsScalar(), "'{}': {} must be {}, got '{}'", source, where, what, dump(n));
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    LDMG_FAIL("'{}': {} must be {}, got '{}'", source, where, what, n.Scalar());
  }
}

int to_int(const YAML::Node& n, const std::string& where, const std::string& source) {
  return scalar<int>(n, where, source);
}
double to_double(const YAML::Node& n, const std::string& where, const std::string& source) {
  return scalar<double>(n, where, source);
}
bool to_bool(const YAML::Node& n, const std::string& where, const std::string& source) {
  return scalar<bool>(n, where, source);
}
std::string to_str(const YAML::Node& n, const std::string& where, const std::string& source) {
  return scalar<std::string>(n, where, source);
}

// A YAML list of T, each entry checked and named by its index (`where[i]`).
// scalar_ok: a single value is also accepted, as a list of one (an int that
// upstream's ensure_tuple_rep repeats per level; see expand_per_level).
template <typename T>
std::vector<T> to_list(const YAML::Node& n, const std::string& where, const std::string& source,
                       bool scalar_ok = false) {
  if (scalar_ok && n.IsScalar()) return {scalar<T>(n, where, source)};
  LDMG_CHECK(n.IsSequence(), "'{}': {} must be a list of {}, got '{}'", source, where, Expected<T>::list, dump(n));
  std::vector<T> v;
  for (std::size_t i = 0; i < n.size(); ++i) v.push_back(scalar<T>(n[i], fmt::format("{}[{}]", where, i), source));
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

// AutoencoderKL and DiffusionModelUNet share these keys, with the same
// upstream meaning: the per-level lists and the normalisation. Each parser
// adds its own keys to this map. `have_spatial`: spatial_dims was given.
template <typename Config>
std::map<std::string, KeyHandler> level_keys(Config& c, bool& have_spatial) {
  Config* p = &c;  // the handlers outlive this call: capture the config, not locals
  bool* spatial = &have_spatial;
  return {{"spatial_dims", [=](auto& n, auto& w) { p->spatial_dims = to_int(n, w, p->source); *spatial = true; }},
          {"num_res_blocks", [=](auto& n, auto& w) { p->num_res_blocks = to_list<int>(n, w, p->source, true); }},
          {"num_channels", [=](auto& n, auto& w) { p->num_channels = to_list<int>(n, w, p->source); }},
          {"attention_levels", [=](auto& n, auto& w) { p->attention_levels = to_list<bool>(n, w, p->source); }},
          {"norm_num_groups", [=](auto& n, auto& w) { p->norm_num_groups = to_int(n, w, p->source); }},
          {"norm_eps", [=](auto& n, auto& w) { p->norm_eps = to_double(n, w, p->source); }},
          {"use_flash_attention", [=](auto& n, auto& w) { p->use_flash_attention = to_bool(n, w, p->source); }}};
}

// The checks of level_keys' values, common to both models.
template <typename Config>
void validate_levels(const Config& c) {
  const std::string& s = c.source;
  LDMG_CHECK(c.spatial_dims == 2, "'{}': spatial_dims = {} is not supported (only 2D models)", s, c.spatial_dims);
  LDMG_CHECK(!c.num_channels.empty(), "'{}': num_channels is empty", s);
  LDMG_CHECK(c.norm_num_groups > 0, "'{}': norm_num_groups must be positive, got {}", s, c.norm_num_groups);
  for (int ch : c.num_channels)
    LDMG_CHECK(ch > 0 && ch % c.norm_num_groups == 0,
               "'{}': every num_channels entry must be a positive multiple of norm_num_groups = {}, got {}", s,
               c.norm_num_groups, ch);
  const std::size_t L = c.num_channels.size();
  LDMG_CHECK(c.attention_levels.size() == L, "'{}': attention_levels has {} entries but num_channels has {}", s,
             c.attention_levels.size(), L);
  LDMG_CHECK(c.num_res_blocks.size() == L, "'{}': num_res_blocks has {} entries but num_channels has {}", s,
             c.num_res_blocks.size(), L);
  for (int n : c.num_res_blocks) LDMG_CHECK(n >= 0, "'{}': num_res_blocks must be >= 0, got {}", s, n);
  LDMG_CHECK(c.norm_eps > 0, "'{}': norm_eps must be positive, got {}", s, c.norm_eps);
}

// The `a.b` mapping of a YAML text (a required section).
YAML::Node load_section(const std::string& yaml_text, const std::string& source, const std::string& a,
                        const std::string& b) {
  return section(load_yaml_text(yaml_text, source), a, b, source, true);
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
  validate_levels(c);
  LDMG_CHECK(c.in_channels > 0 && c.out_channels > 0 && c.latent_channels > 0,
             "'{}': in_channels, out_channels and latent_channels must be positive", c.source);
}

AutoencoderConfig parse_autoencoder_config(const std::string& yaml_text, const std::string& source) {
  const YAML::Node params = load_section(yaml_text, source, "stage1", "params");
  AutoencoderConfig c;
  c.source = source;
  const auto& S = source;
  bool have_spatial = false;
  auto keys = level_keys(c, have_spatial);
  keys.insert({{"in_channels", [&](auto& n, auto& w) { c.in_channels = to_int(n, w, S); }},
               {"out_channels", [&](auto& n, auto& w) { c.out_channels = to_int(n, w, S); }},
               {"latent_channels", [&](auto& n, auto& w) { c.latent_channels = to_int(n, w, S); }},
               {"with_encoder_nonlocal_attn",
                [&](auto& n, auto& w) { c.with_encoder_nonlocal_attn = to_bool(n, w, S); }},
               {"with_decoder_nonlocal_attn",
                [&](auto& n, auto& w) { c.with_decoder_nonlocal_attn = to_bool(n, w, S); }}});
  for_each_key(params, "stage1.params", S, keys);
  LDMG_CHECK(have_spatial, "'{}': stage1.params.spatial_dims is required", S);
  if (c.num_res_blocks.size() == 1) expand_per_level(c.num_res_blocks, c.num_channels.size(), "num_res_blocks", S);
  validate(c);
  return c;
}

// ---- DiffusionModelUNet ----------------------------------------------------

void validate(const UNetConfig& c) {
  validate_levels(c);
  const std::string& s = c.source;
  const std::size_t L = c.num_channels.size();
  LDMG_CHECK(c.in_channels > 0 && c.out_channels > 0, "'{}': in_channels and out_channels must be positive", s);
  LDMG_CHECK(c.num_head_channels.size() == L, "'{}': num_head_channels has {} entries but num_channels has {}", s,
             c.num_head_channels.size(), L);
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
}

UNetConfig parse_unet_config(const std::string& yaml_text, const std::string& source) {
  const YAML::Node params = load_section(yaml_text, source, "ldm", "params");
  UNetConfig c;
  c.source = source;
  const auto& S = source;
  bool have_spatial = false, have_in = false, have_out = false;
  std::vector<int> nhc = {8};
  auto keys = level_keys(c, have_spatial);
  keys.insert(
      {{"in_channels", [&](auto& n, auto& w) { c.in_channels = to_int(n, w, S); have_in = true; }},
       {"out_channels", [&](auto& n, auto& w) { c.out_channels = to_int(n, w, S); have_out = true; }},
       {"resblock_updown", [&](auto& n, auto& w) { c.resblock_updown = to_bool(n, w, S); }},
       {"num_head_channels", [&](auto& n, auto& w) { nhc = to_list<int>(n, w, S, true); }},
       {"with_conditioning", [&](auto& n, auto& w) { c.with_conditioning = to_bool(n, w, S); }},
       {"transformer_num_layers", [&](auto& n, auto& w) { c.transformer_num_layers = to_int(n, w, S); }},
       {"cross_attention_dim",
        [&](auto& n, auto& w) { c.cross_attention_dim = n.IsNull() ? 0 : to_int(n, w, S); }},
       {"num_class_embeds",
        [&](auto& n, auto& w) {
          LDMG_CHECK(n.IsNull(), "'{}': {} (class-conditional U-Nets) is not supported", S, w);
        }},
       {"upcast_attention", [&](auto& n, auto& w) { c.upcast_attention = to_bool(n, w, S); }}});
  for_each_key(params, "ldm.params", S, keys);
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
  const YAML::Node sched = load_section(yaml_text, source, "ldm", "scheduler");
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
