#pragma once
// dump(1) of a JSON object with one big array member, made one element at a
// time: the bytes nlohmann's dump(1) gives for the whole tree, without the
// tree (plan.json and cache/manifest.json of a 10^5-unit run are ~10^5
// objects; their trees take hundreds of MB).
#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <string>

namespace ldmg::sweep {

// `head` is the object without `key` (which it must not hold); element(i)
// for i < n gives the array's elements. Returns head with head[key] = [the
// elements], as dump(1) writes it, without the final newline.
std::string dump1_with_array(const nlohmann::json& head, const std::string& key, std::size_t n,
                             const std::function<nlohmann::json(std::size_t)>& element);

}  // namespace ldmg::sweep
