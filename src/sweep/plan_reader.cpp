#include "sweep/plan_reader.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "core/check.h"

namespace ldmg::sweep {

namespace {

using nlohmann::json;

// One JSON value from SAX events, as nlohmann's own DOM parser builds it.
class ValueBuilder {
 public:
  void reset() {
    root_ = json();
    open_.clear();
  }
  // Each returns true when the value is complete.
  bool scalar(json&& v) {
    place(std::move(v));
    return open_.empty();
  }
  void start(json&& empty_container) { open_.push_back(place(std::move(empty_container))); }
  void key(std::string&& k) { key_ = std::move(k); }
  bool end() {
    open_.pop_back();
    return open_.empty();
  }
  json& value() { return root_; }

 private:
  // Elements are only added to the innermost open container, so pointers to
  // the outer ones stay valid.
  json* place(json&& v) {
    if (open_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& parent = *open_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    json& slot = parent[key_];
    slot = std::move(v);
    return &slot;
  }

  json root_;
  std::vector<json*> open_;
  std::string key_;
};

// The plan object's members other than "units" are small: each is built as a
// tree (`head`). "units" is read one element at a time, each element built as
// a tree of a few fields and converted at once (unit_from_json). Members
// plan_from_json ignores are skipped unbuilt. The unit errors are kept until
// the end so that the errors come in plan_from_json's order (syntax first,
// then the members, then the units), whatever the order of the members.
class PlanSaxHandler {
 public:
  explicit PlanSaxHandler(std::string what) : what_(std::move(what)) {}

  bool null() { return scalar(json(nullptr)); }
  bool boolean(bool b) { return scalar(json(b)); }
  bool number_integer(json::number_integer_t n) { return scalar(json(n)); }
  bool number_unsigned(json::number_unsigned_t n) { return scalar(json(n)); }
  bool number_float(json::number_float_t x, const std::string& /*text*/) { return scalar(json(x)); }
  bool string(std::string& s) { return scalar(json(std::move(s))); }
  bool binary(json::binary_t& b) { return scalar(json(std::move(b))); }  // not made from JSON text
  bool start_object(std::size_t /*elements*/) { return start(json::object(), false); }
  bool start_array(std::size_t /*elements*/) { return start(json::array(), true); }
  bool end_object() { return end(); }
  bool end_array() { return end(); }
  bool key(std::string& k) {
    if (target_ == Target::head || target_ == Target::unit)
      builder_.key(std::move(k));
    else if (target_ == Target::none)
      member_ = std::move(k);  // a member of the plan object
    return true;
  }
  bool parse_error(std::size_t position, const std::string& /*last_token*/, const json::exception& e) {
    // nlohmann counts the characters read, the failing one (or the end) included.
    const std::size_t offset = position > 0 ? position - 1 : 0;
    syntax_error_ = fmt::format("{}: not valid JSON (truncated or damaged?) at byte offset {}: {}", what_, offset,
                                e.what());
    return false;
  }

  // After a parse without syntax errors: the plan, or plan_from_json's error.
  SweepPlan plan() {
    // plan_from_json on the members and an empty "units" (or the non-array
    // "units" it had) makes the checks and messages of everything but the units.
    if (root_is_object_) {
      if (units_array_) head_["units"] = json::array();
    } else {
      head_ = std::move(root_);
    }
    SweepPlan plan = plan_from_json(head_, what_);
    if (unit_error_) throw Error(*unit_error_);
    plan.units = std::move(units_);
    return plan;
  }
  const std::string& syntax_error() const { return syntax_error_; }

 private:
  enum class Target { none, skip, head, unit, root };

  bool scalar(json&& v) {
    switch (target_) {
      case Target::skip:
        return true;
      case Target::none:
        begin_value(false);
        if (target_ == Target::skip) {  // a scalar is skipped whole
          target_ = Target::none;
          return true;
        }
        builder_.reset();
        break;
      default:
        break;
    }
    if (builder_.scalar(std::move(v))) finish_value();
    return true;
  }

  bool start(json&& empty, bool is_array) {
    switch (target_) {
      case Target::skip:
        ++skip_open_;
        return true;
      case Target::none:
        if (depth_ == 0 && !is_array) {  // the plan object
          root_is_object_ = true;
          depth_ = 1;
          return true;
        }
        if (depth_ == 1 && member_ == "units" && is_array) {
          depth_ = 2;
          units_.clear();  // a repeated member: the last one counts, as in the tree
          unit_error_.reset();
          next_unit_ = 0;
          units_array_ = true;
          head_.erase("units");
          return true;
        }
        begin_value(true);
        if (target_ == Target::skip) {
          skip_open_ = 1;
          return true;
        }
        builder_.reset();
        break;
      default:
        break;
    }
    builder_.start(std::move(empty));
    return true;
  }

  bool end() {
    switch (target_) {
      case Target::skip:
        if (--skip_open_ == 0) target_ = Target::none;
        return true;
      case Target::none:
        --depth_;  // the end of "units" or of the plan object
        return true;
      default:
        if (builder_.end()) finish_value();
        return true;
    }
  }

  // A value starts at the handler's level: where it goes. (An array as
  // "units", and the plan object itself, are not values to build: start()
  // opens them.)
  void begin_value(bool is_container) {
    if (depth_ == 0) {  // not an object: plan_from_json says so
      target_ = Target::root;
    } else if (depth_ == 2) {
      target_ = unit_error_ ? Target::skip : Target::unit;
    } else if (member_ == "units") {  // not an array: plan_from_json says so
      units_array_ = false;
      units_.clear();
      unit_error_.reset();
      if (is_container) {  // an object, kept empty: only its type is reported
        head_["units"] = json::object();
        target_ = Target::skip;
      } else {
        target_ = Target::head;
      }
    } else if (member_ == "format" || member_ == "version" || member_ == "Ts" || member_ == "pairs" ||
               member_ == "settings") {
      target_ = Target::head;
    } else {
      target_ = Target::skip;
    }
  }

  void finish_value() {
    if (target_ == Target::head) {
      head_[member_] = std::move(builder_.value());
    } else if (target_ == Target::root) {
      root_ = std::move(builder_.value());
    } else {  // a unit
      try {
        units_.push_back(unit_from_json(builder_.value(), what_, next_unit_));
      } catch (const Error& e) {
        unit_error_ = e.what();
        units_.clear();
      }
      ++next_unit_;
    }
    target_ = Target::none;
  }

  std::string what_;
  int depth_ = 0;  // 0 outside the plan object, 1 in it, 2 in its "units"
  Target target_ = Target::none;  // what the value being read is for
  int skip_open_ = 0;             // containers open inside a skipped value
  ValueBuilder builder_;
  std::string member_;  // the plan object's member being read
  bool root_is_object_ = false;
  json root_;  // the document when it is not an object
  json head_ = json::object();
  bool units_array_ = false;
  std::vector<SweepUnit> units_;
  std::size_t next_unit_ = 0;
  std::optional<std::string> unit_error_;
  std::string syntax_error_;
};

template <class Input>
SweepPlan read_plan(Input&& input, const std::string& what) {
  PlanSaxHandler handler(what);
  bool ok = false;
  try {
    ok = json::sax_parse(std::forward<Input>(input), &handler);
  } catch (const json::exception& e) {  // the handler returns errors; this is for anything else nlohmann throws
    LDMG_FAIL("{}: not valid JSON: {}", what, e.what());
  }
  if (!ok) {
    LDMG_CHECK(!handler.syntax_error().empty(), "{}: not valid JSON", what);
    throw Error(handler.syntax_error());
  }
  return handler.plan();
}

}  // namespace

SweepPlan read_plan_file(const std::string& path) {
  std::error_code ec;
  LDMG_CHECK(std::filesystem::exists(path, ec), "file not found: '{}'", path);
  LDMG_CHECK(!std::filesystem::is_directory(path, ec), "expected a file but '{}' is a directory", path);
  std::ifstream in(path, std::ios::binary);
  LDMG_CHECK(in, "cannot open '{}': {}", path, std::strerror(errno));
  SweepPlan plan = read_plan(in, path);
  LDMG_CHECK(!in.bad(), "cannot read '{}': {}", path, std::strerror(errno));
  return plan;
}

SweepPlan read_plan_text(const std::string& text, const std::string& what) { return read_plan(text, what); }

}  // namespace ldmg::sweep
