#include "sweep/json_text.h"

#include "core/check.h"

namespace ldmg::sweep {

std::string dump1_with_array(const nlohmann::json& head, const std::string& key, std::size_t n,
                             const std::function<nlohmann::json(std::size_t)>& element) {
  LDMG_ASSERT(head.is_object() && !head.contains(key), "dump1_with_array: '{}' must be a new member", key);
  nlohmann::json outer = head;
  outer[key] = nlohmann::json::array();
  const std::string text = outer.dump(1);
  // The member's own spelling: escaped strings inside other values never
  // contain this (their quotes are escaped), and keys are unique.
  const std::string empty = nlohmann::json(key).dump() + ": []";
  const std::size_t at = text.find("\n " + empty);
  LDMG_ASSERT(at != std::string::npos, "dump1_with_array: no '{}' member at depth 1", key);
  std::string out = text.substr(0, at + 2 + empty.size() - 1);  // up to and with the '['
  if (n == 0) {
    out += "]";
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      out += i ? ",\n  " : "\n  ";
      for (char c : element(i).dump(1)) {  // dump escapes newlines inside strings: a raw one ends a line
        out += c;
        if (c == '\n') out += "  ";
      }
    }
    out += "\n ]";
  }
  out += text.substr(at + 2 + empty.size());
  return out;
}

}  // namespace ldmg::sweep
